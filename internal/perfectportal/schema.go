// Package perfectportal reads a Perfect Portal export bundle (format 1, see
// docs/export-format.md): its tables in CSV, NDJSON or one export.xlsx, its
// manifest, and the values inside them as they really arrive from a firm.
package perfectportal

import (
	"strings"
	"unicode"
)

// Table names, in the order a migration depends on them.
const (
	TableFeeEarners      = "fee_earners"
	TableOrganisations   = "organisations"
	TableClients         = "clients"
	TableReferrers       = "referrers"
	TableMatters         = "matters"
	TableMatterClients   = "matter_clients"
	TableMatterReferrers = "matter_referrers"
	TableKeyStages       = "key_stages"
	TableActivities      = "activities"
	TableDocuments       = "documents"
	TableTemplates       = "templates"
)

// CustomColumnPrefix starts a matters column that holds a firm's own matter
// property (custom.<Name>); the name after the prefix is kept as written.
const CustomColumnPrefix = "custom."

// TableSpec describes one table of the bundle.
type TableSpec struct {
	// Name is the table name and the file's base name (NAME.csv, NAME.ndjson, sheet NAME).
	Name string
	// Key is the column that identifies a row; empty for link tables.
	Key string
	// Columns are the columns format 1 defines, key first.
	Columns []string
	// Required columns must be present in the file's header for its rows to be usable.
	Required []string
}

// Schema lists the eleven tables of format 1 in dependency order.
var Schema = []TableSpec{
	{Name: TableFeeEarners, Key: "fee_earner_id",
		Columns:  []string{"fee_earner_id", "name", "email", "active"},
		Required: []string{"fee_earner_id"}},
	{Name: TableOrganisations, Key: "organisation_id",
		Columns:  []string{"organisation_id", "name", "company_number", "website", "address_line1", "address_line2", "town", "county", "postcode", "country", "created_at", "updated_at"},
		Required: []string{"organisation_id", "name"}},
	{Name: TableClients, Key: "client_id",
		Columns:  []string{"client_id", "title", "first_name", "last_name", "email", "phone", "mobile", "address_line1", "address_line2", "town", "county", "postcode", "country", "organisation_id", "created_at", "updated_at"},
		Required: []string{"client_id"}},
	{Name: TableReferrers, Key: "referrer_id",
		Columns:  []string{"referrer_id", "role", "first_name", "last_name", "company_name", "email", "phone", "created_at", "updated_at"},
		Required: []string{"referrer_id"}},
	{Name: TableMatters, Key: "matter_id",
		Columns:  []string{"matter_id", "matter_number", "description", "matter_type", "lead_source", "fee_earner_id", "status", "key_stage", "property_address", "property_postcode", "purchase_price", "legal_fee", "currency", "mortgage_lender", "referring_solicitor", "expected_completion_date", "created_at", "updated_at"},
		Required: []string{"matter_id"}},
	{Name: TableMatterClients,
		Columns:  []string{"matter_id", "client_id", "is_lead"},
		Required: []string{"matter_id", "client_id"}},
	{Name: TableMatterReferrers,
		Columns:  []string{"matter_id", "referrer_id", "role", "referral_fee"},
		Required: []string{"matter_id", "referrer_id"}},
	{Name: TableKeyStages,
		Columns:  []string{"matter_id", "stage", "entered_at"},
		Required: []string{"matter_id", "stage", "entered_at"}},
	{Name: TableActivities, Key: "activity_id",
		Columns:  []string{"activity_id", "matter_id", "type", "direction", "subject", "body", "occurred_at", "duration_minutes", "fee_earner_id", "done"},
		Required: []string{"activity_id", "matter_id", "type", "occurred_at"}},
	{Name: TableDocuments, Key: "document_id",
		Columns:  []string{"document_id", "matter_id", "file_name", "path", "size_bytes", "sha256", "content_type", "category", "uploaded_at", "fee_earner_id"},
		Required: []string{"document_id", "matter_id", "path"}},
	{Name: TableTemplates, Key: "template_id",
		Columns:  []string{"template_id", "name", "channel", "trigger_stage", "audience", "subject", "body", "active"},
		Required: []string{"template_id"}},
}

// Spec returns the specification of the named table, or false if format 1
// has no such table.
func Spec(table string) (TableSpec, bool) {
	for _, s := range Schema {
		if s.Name == table {
			return s, true
		}
	}
	return TableSpec{}, false
}

// HasColumn reports whether format 1 defines column col in this table.
func (s TableSpec) HasColumn(col string) bool {
	for _, c := range s.Columns {
		if c == col {
			return true
		}
	}
	return false
}

// NormalizeHeader returns the canonical spelling of a column header: case
// folded, surrounding space trimmed, and runs of space, '-' and '_' turned
// into a single '_' ("  Matter-Number " and "matter_number" are the same).
// Byte-order marks and zero-width spaces are dropped wherever they are, and
// any Unicode space (a spreadsheet's no-break space) counts as a space. A
// custom.<Name> header keeps its name as written, trimmed, behind a
// lower-case prefix.
func NormalizeHeader(h string) string {
	if strings.ContainsAny(h, "\ufeff\u200b") {
		// Rune by rune: dropping the marks bytewise could join stray bytes
		// around them into a new mark.
		h = strings.Map(func(r rune) rune {
			if r == '\ufeff' || r == '\u200b' {
				return -1
			}
			return r
		}, h)
	}
	h = strings.TrimFunc(h, unicode.IsSpace)
	if len(h) >= len(CustomColumnPrefix) && strings.EqualFold(h[:len(CustomColumnPrefix)], CustomColumnPrefix) {
		return CustomColumnPrefix + strings.TrimFunc(h[len(CustomColumnPrefix):], unicode.IsSpace)
	}
	var b strings.Builder
	b.Grow(len(h))
	sep := false
	for _, r := range strings.ToLower(h) {
		if r == '-' || r == '_' || unicode.IsSpace(r) {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('_')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}
