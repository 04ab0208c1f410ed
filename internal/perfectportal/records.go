package perfectportal

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Source locates a record in the bundle, for the audit, the ledger and the report.
type Source struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// Address is a postal address as the export gives it.
type Address struct {
	Line1    string `json:"line1,omitempty"`
	Line2    string `json:"line2,omitempty"`
	Town     string `json:"town,omitempty"`
	County   string `json:"county,omitempty"`
	Postcode string `json:"postcode,omitempty"`
	Country  string `json:"country,omitempty"`
}

// IsZero reports whether the address has no part at all.
func (a Address) IsZero() bool { return a == Address{} }

// FeeEarner is a user of the firm.
type FeeEarner struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
	Active bool   `json:"active"`
	Source Source `json:"source"`
}

// Organisation is a client that is a business.
type Organisation struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	CompanyNumber string     `json:"company_number,omitempty"`
	Website       string     `json:"website,omitempty"`
	Address       Address    `json:"address"`
	CreatedAt     *time.Time `json:"created_at,omitempty"`
	UpdatedAt     *time.Time `json:"updated_at,omitempty"`
	Source        Source     `json:"source"`
}

// Client is a client contact: one Pipedrive Person per email.
type Client struct {
	ID             string     `json:"id"`
	Title          string     `json:"title,omitempty"`
	FirstName      string     `json:"first_name,omitempty"`
	LastName       string     `json:"last_name,omitempty"`
	Email          string     `json:"email,omitempty"` // normalised: trimmed, lower case
	Phone          string     `json:"phone,omitempty"`
	Mobile         string     `json:"mobile,omitempty"`
	Address        Address    `json:"address"`
	OrganisationID string     `json:"organisation_id,omitempty"`
	CreatedAt      *time.Time `json:"created_at,omitempty"`
	UpdatedAt      *time.Time `json:"updated_at,omitempty"`
	// MergedIDs are the ids of other client rows that share this client's
	// email and became this one person.
	MergedIDs []string `json:"merged_ids,omitempty"`
	Source    Source   `json:"source"`
}

// Referrer is a third party: an estate agent, mortgage broker, introducer.
type Referrer struct {
	ID          string     `json:"id"`
	Role        string     `json:"role,omitempty"`
	FirstName   string     `json:"first_name,omitempty"`
	LastName    string     `json:"last_name,omitempty"`
	CompanyName string     `json:"company_name,omitempty"`
	Email       string     `json:"email,omitempty"`
	Phone       string     `json:"phone,omitempty"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
	Source      Source     `json:"source"`
}

// Matter is a case; it becomes a Deal.
type Matter struct {
	ID          string `json:"id"`
	Number      string `json:"matter_number,omitempty"`
	Description string `json:"description,omitempty"`
	// Title is the deal title: the description, or the fallback
	// "<matter_number> <property_address>" when there is none.
	Title              string            `json:"title"`
	Type               string            `json:"matter_type,omitempty"`
	LeadSource         string            `json:"lead_source,omitempty"`
	FeeEarnerID        string            `json:"fee_earner_id,omitempty"`
	Status             string            `json:"status,omitempty"`
	KeyStage           string            `json:"key_stage,omitempty"`
	PropertyAddress    string            `json:"property_address,omitempty"`
	PropertyPostcode   string            `json:"property_postcode,omitempty"`
	PurchasePrice      *Money            `json:"purchase_price,omitempty"` // nil when 0 or absent: not known
	LegalFee           *Money            `json:"legal_fee,omitempty"`
	Currency           string            `json:"currency"`
	MortgageLender     string            `json:"mortgage_lender,omitempty"`
	ReferringSolicitor string            `json:"referring_solicitor,omitempty"`
	ExpectedCompletion *Date             `json:"expected_completion_date,omitempty"`
	CreatedAt          *time.Time        `json:"created_at,omitempty"`
	UpdatedAt          *time.Time        `json:"updated_at,omitempty"`
	Custom             map[string]string `json:"custom,omitempty"`
	Source             Source            `json:"source"`
}

// MatterClient puts a client on a matter; joint clients are several.
type MatterClient struct {
	MatterID string `json:"matter_id"`
	ClientID string `json:"client_id"`
	IsLead   bool   `json:"is_lead"`
	Source   Source `json:"source"`
	// OrganisationID is the client's organisation, filled in at staging
	// from the client's own row (not a column of matter_clients), so that
	// a matters chunk carries what its deals need without the clients.
	OrganisationID string `json:"organisation_id,omitempty"`
}

// MatterReferrer puts a third party on a matter.
type MatterReferrer struct {
	MatterID    string `json:"matter_id"`
	ReferrerID  string `json:"referrer_id"`
	Role        string `json:"role,omitempty"`
	ReferralFee *Money `json:"referral_fee,omitempty"`
	Source      Source `json:"source"`
}

// KeyStage is a stage a matter entered, and when.
type KeyStage struct {
	MatterID  string    `json:"matter_id"`
	Stage     string    `json:"stage"`
	EnteredAt time.Time `json:"entered_at"`
	Source    Source    `json:"source"`
}

// Activity is a call, email, meeting, SMS, task or note on a matter.
type Activity struct {
	ID       string `json:"id"`
	MatterID string `json:"matter_id"`
	// Type is the canonical type (call, email, meeting, sms, task, note);
	// SourceType is the type as written when it differs.
	Type            string    `json:"type"`
	SourceType      string    `json:"source_type,omitempty"`
	Direction       string    `json:"direction,omitempty"`
	Subject         string    `json:"subject,omitempty"`
	Body            string    `json:"body,omitempty"`
	OccurredAt      time.Time `json:"occurred_at"`
	DurationMinutes int       `json:"duration_minutes,omitempty"`
	FeeEarnerID     string    `json:"fee_earner_id,omitempty"`
	Done            bool      `json:"done"`
	Source          Source    `json:"source"`
}

// Document is a file on a matter; Path is relative to the bundle root.
type Document struct {
	ID          string     `json:"id"`
	MatterID    string     `json:"matter_id"`
	FileName    string     `json:"file_name"`
	Path        string     `json:"path"`
	SizeBytes   int64      `json:"size_bytes"`
	SHA256      string     `json:"sha256,omitempty"`
	ContentType string     `json:"content_type,omitempty"`
	Category    string     `json:"category,omitempty"`
	UploadedAt  *time.Time `json:"uploaded_at,omitempty"`
	FeeEarnerID string     `json:"fee_earner_id,omitempty"`
	// OverLimit is set when the file is larger than the attachment size limit.
	OverLimit bool   `json:"over_limit,omitempty"`
	Source    Source `json:"source"`
}

// Template is an automated notification; it goes into the rebuild plan.
type Template struct {
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"`
	Channel      string `json:"channel,omitempty"`
	TriggerStage string `json:"trigger_stage,omitempty"`
	Audience     string `json:"audience,omitempty"`
	Subject      string `json:"subject,omitempty"`
	Body         string `json:"body,omitempty"`
	Active       bool   `json:"active"`
	Source       Source `json:"source"`
}

// Issue is something wrong with one value of a row. A fatal issue makes
// the row unusable (it is quarantined); others are warnings and the value is
// left empty.
type Issue struct {
	Column  string
	Code    string
	Message string
	Fatal   bool
}

// rowDecoder reads typed values from a row and collects issues.
type rowDecoder struct {
	r      *Row
	issues []Issue
}

func (d *rowDecoder) str(col string) string { return d.r.Get(col) }

func (d *rowDecoder) required(col string) string {
	v := d.r.Get(col)
	if v == "" {
		d.issues = append(d.issues, Issue{Column: col, Code: "missing_value", Fatal: true,
			Message: fmt.Sprintf("%s is empty; it is needed to use the row", col)})
	}
	return v
}

func (d *rowDecoder) fail(col, code string, fatal bool, err error) {
	d.issues = append(d.issues, Issue{Column: col, Code: code, Fatal: fatal, Message: fmt.Sprintf("%s: %v", col, err)})
}

func (d *rowDecoder) timestamp(col string, fatal bool) (time.Time, bool) {
	v := d.r.Get(col)
	if v == "" {
		if fatal {
			d.issues = append(d.issues, Issue{Column: col, Code: "missing_value", Fatal: true,
				Message: fmt.Sprintf("%s is empty; it is needed to use the row", col)})
		}
		return time.Time{}, false
	}
	t, err := ParseTime(v)
	if err != nil && d.r.Format == FormatXLSX {
		if xt, xerr := ParseExcelTime(v); xerr == nil {
			return xt, true
		}
	}
	if err != nil {
		d.fail(col, "bad_timestamp", fatal, err)
		return time.Time{}, false
	}
	return t, true
}

func (d *rowDecoder) optTime(col string) *time.Time {
	t, ok := d.timestamp(col, false)
	if !ok {
		return nil
	}
	return &t
}

func (d *rowDecoder) date(col string) *Date {
	v := d.r.Get(col)
	if v == "" {
		return nil
	}
	dt, err := ParseDate(v)
	if err != nil && d.r.Format == FormatXLSX {
		if xt, xerr := ParseExcelTime(v); xerr == nil {
			l := xt.In(London)
			dt, err = Date{Year: l.Year(), Month: l.Month(), Day: l.Day()}, nil
		}
	}
	if err != nil {
		d.fail(col, "bad_date", false, err)
		return nil
	}
	return &dt
}

func (d *rowDecoder) money(col string) *Money {
	v := d.r.Get(col)
	if v == "" {
		return nil
	}
	m, err := ParseMoney(v)
	if err != nil {
		d.fail(col, "bad_money", false, err)
		return nil
	}
	return &m
}

func (d *rowDecoder) boolean(col string, def bool) bool {
	v := d.r.Get(col)
	if v == "" {
		return def
	}
	b, err := ParseBool(v)
	if err != nil {
		d.fail(col, "bad_boolean", false, err)
		return def
	}
	return b
}

func (d *rowDecoder) integer(col string) int64 {
	v := d.r.Get(col)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(v, ",", ""), 10, 64)
	if err != nil {
		if f, ferr := strconv.ParseFloat(v, 64); ferr == nil && f >= 0 && f == float64(int64(f)) {
			return int64(f)
		}
		d.fail(col, "bad_number", false, errors.New("is not a whole number"))
		return 0
	}
	if n < 0 {
		d.fail(col, "bad_number", false, errors.New("is negative"))
		return 0
	}
	return n
}

func (d *rowDecoder) email(col string) string {
	v := NormalizeEmail(d.r.Get(col))
	if v != "" && !ValidEmail(v) {
		d.issues = append(d.issues, Issue{Column: col, Code: "invalid_email",
			Message: fmt.Sprintf("%s is not a valid email address; it is migrated as written, correct it in Pipedrive or the export", col)})
	}
	return v
}

func (d *rowDecoder) phone(col string) string {
	v := d.r.Get(col)
	if v == "" {
		return ""
	}
	if _, ok := NormalizePhone(v); !ok {
		d.issues = append(d.issues, Issue{Column: col, Code: "invalid_phone",
			Message: fmt.Sprintf("%s is not a plausible phone number; it is migrated as written", col)})
	}
	return v
}

func (d *rowDecoder) source() Source { return Source{File: d.r.File, Line: d.r.Line} }

func (d *rowDecoder) address() Address {
	return Address{Line1: d.str("address_line1"), Line2: d.str("address_line2"), Town: d.str("town"),
		County: d.str("county"), Postcode: strings.ToUpper(d.str("postcode")), Country: d.str("country")}
}

// DecodeFeeEarner reads a fee_earners row.
func DecodeFeeEarner(r *Row) (FeeEarner, []Issue) {
	d := rowDecoder{r: r}
	fe := FeeEarner{ID: d.required("fee_earner_id"), Name: d.str("name"), Email: d.email("email"),
		Active: d.boolean("active", true), Source: d.source()}
	return fe, d.issues
}

// DecodeOrganisation reads an organisations row.
func DecodeOrganisation(r *Row) (Organisation, []Issue) {
	d := rowDecoder{r: r}
	o := Organisation{ID: d.required("organisation_id"), Name: d.required("name"), CompanyNumber: d.str("company_number"),
		Website: d.str("website"), Address: d.address(), CreatedAt: d.optTime("created_at"), UpdatedAt: d.optTime("updated_at"),
		Source: d.source()}
	return o, d.issues
}

// DecodeClient reads a clients row.
func DecodeClient(r *Row) (Client, []Issue) {
	d := rowDecoder{r: r}
	c := Client{ID: d.required("client_id"), Title: d.str("title"), FirstName: d.str("first_name"), LastName: d.str("last_name"),
		Email: d.email("email"), Phone: d.phone("phone"), Mobile: d.phone("mobile"), Address: d.address(),
		OrganisationID: d.str("organisation_id"), CreatedAt: d.optTime("created_at"), UpdatedAt: d.optTime("updated_at"),
		Source: d.source()}
	return c, d.issues
}

// DecodeReferrer reads a referrers row.
func DecodeReferrer(r *Row) (Referrer, []Issue) {
	d := rowDecoder{r: r}
	x := Referrer{ID: d.required("referrer_id"), Role: d.str("role"), FirstName: d.str("first_name"), LastName: d.str("last_name"),
		CompanyName: d.str("company_name"), Email: d.email("email"), Phone: d.phone("phone"),
		CreatedAt: d.optTime("created_at"), UpdatedAt: d.optTime("updated_at"), Source: d.source()}
	return x, d.issues
}

// DecodeMatter reads a matters row. Title is left for the caller's policy.
// A purchase price of 0 means "not known" and is read as absent.
func DecodeMatter(r *Row) (Matter, []Issue) {
	d := rowDecoder{r: r}
	m := Matter{ID: d.required("matter_id"), Number: d.str("matter_number"), Description: d.str("description"),
		Type: d.str("matter_type"), LeadSource: d.str("lead_source"), FeeEarnerID: d.str("fee_earner_id"),
		Status: d.str("status"), KeyStage: d.str("key_stage"), PropertyAddress: d.str("property_address"),
		PropertyPostcode: strings.ToUpper(d.str("property_postcode")), PurchasePrice: d.money("purchase_price"),
		LegalFee: d.money("legal_fee"), Currency: strings.ToUpper(d.str("currency")), MortgageLender: d.str("mortgage_lender"),
		ReferringSolicitor: d.str("referring_solicitor"), ExpectedCompletion: d.date("expected_completion_date"),
		CreatedAt: d.optTime("created_at"), UpdatedAt: d.optTime("updated_at"), Custom: r.Custom(), Source: d.source()}
	if m.Currency == "" {
		m.Currency = "GBP"
	}
	if m.PurchasePrice != nil && *m.PurchasePrice == 0 {
		m.PurchasePrice = nil
	}
	m.Title = m.Description
	return m, d.issues
}

// DecodeMatterClient reads a matter_clients row.
func DecodeMatterClient(r *Row) (MatterClient, []Issue) {
	d := rowDecoder{r: r}
	x := MatterClient{MatterID: d.required("matter_id"), ClientID: d.required("client_id"), IsLead: d.boolean("is_lead", false), Source: d.source()}
	return x, d.issues
}

// DecodeMatterReferrer reads a matter_referrers row.
func DecodeMatterReferrer(r *Row) (MatterReferrer, []Issue) {
	d := rowDecoder{r: r}
	x := MatterReferrer{MatterID: d.required("matter_id"), ReferrerID: d.required("referrer_id"), Role: d.str("role"),
		ReferralFee: d.money("referral_fee"), Source: d.source()}
	return x, d.issues
}

// DecodeKeyStage reads a key_stages row; entered_at is required.
func DecodeKeyStage(r *Row) (KeyStage, []Issue) {
	d := rowDecoder{r: r}
	x := KeyStage{MatterID: d.required("matter_id"), Stage: d.required("stage"), Source: d.source()}
	x.EnteredAt, _ = d.timestamp("entered_at", true)
	return x, d.issues
}

// DecodeActivity reads an activities row; occurred_at is required. Type is
// left as written for the caller to map.
func DecodeActivity(r *Row) (Activity, []Issue) {
	d := rowDecoder{r: r}
	x := Activity{ID: d.required("activity_id"), MatterID: d.required("matter_id"), SourceType: d.required("type"),
		Direction: strings.ToLower(d.str("direction")), Subject: d.str("subject"), Body: r.getRaw("body"),
		DurationMinutes: int(d.integer("duration_minutes")), FeeEarnerID: d.str("fee_earner_id"),
		Done: d.boolean("done", true), Source: d.source()}
	x.OccurredAt, _ = d.timestamp("occurred_at", true)
	return x, d.issues
}

// DecodeDocument reads a documents row; the path must stay inside the bundle.
func DecodeDocument(r *Row) (Document, []Issue) {
	d := rowDecoder{r: r}
	x := Document{ID: d.required("document_id"), MatterID: d.required("matter_id"), FileName: d.str("file_name"),
		SizeBytes: d.integer("size_bytes"), SHA256: strings.ToLower(d.str("sha256")), ContentType: d.str("content_type"),
		Category: d.str("category"), UploadedAt: d.optTime("uploaded_at"), FeeEarnerID: d.str("fee_earner_id"), Source: d.source()}
	if p := d.required("path"); p != "" {
		clean, err := CleanPath(p)
		if err != nil {
			d.issues = append(d.issues, Issue{Column: "path", Code: "bad_path", Fatal: true, Message: err.Error() + " (documents.path)"})
		}
		x.Path = clean
	}
	if x.FileName == "" && x.Path != "" {
		x.FileName = x.Path[strings.LastIndexByte(x.Path, '/')+1:]
	}
	return x, d.issues
}

// DecodeTemplate reads a templates row.
func DecodeTemplate(r *Row) (Template, []Issue) {
	d := rowDecoder{r: r}
	x := Template{ID: d.required("template_id"), Name: d.str("name"), Channel: strings.ToLower(d.str("channel")),
		TriggerStage: d.str("trigger_stage"), Audience: d.str("audience"), Subject: d.str("subject"), Body: r.getRaw("body"),
		Active: d.boolean("active", true), Source: d.source()}
	return x, d.issues
}

// getRaw returns a value untrimmed except for trailing line ends: bodies
// keep their layout.
func (r *Row) getRaw(col string) string {
	i, ok := r.h.index[col]
	if !ok || i >= len(r.values) {
		return ""
	}
	return strings.TrimRight(r.values[i], "\r\n")
}
