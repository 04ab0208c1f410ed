// Package transform turns canonical Perfect Portal records into the
// Pipedrive payloads that carry them, and lists, for each payload, which
// source field went into which Pipedrive field with what value: the
// field-level diff a firm reviews before approving a run. It makes no
// calls: field keys, pipeline and stage ids and the ids of records already
// written come from the caller through Schema and Refs.
package transform

import (
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// Kind is a Pipedrive record kind that has custom fields.
type Kind string

// Kinds with custom fields.
const (
	Deal         Kind = "deal"
	Person       Kind = "person"
	Organization Kind = "organization"
)

// Logical field names, as the schema step names the fields it finds or
// creates (the mapping configuration's fields.deal/person/organization
// keys; stage fields are "stage_entered:<Stage>", custom columns
// "custom:<Name>").
const (
	FieldMatterNumber       = "matter_number"
	FieldMatterType         = "matter_type"
	FieldCreated            = "created_at"
	FieldPropertyAddress    = "property_address"
	FieldPurchasePrice      = "purchase_price"
	FieldMortgageLender     = "mortgage_lender"
	FieldReferringSolicitor = "referring_solicitor"
	FieldSourceID           = "source_id"
	FieldStageTimestamps    = "stage_timestamps"
	FieldRole               = "role"
	stageEnteredPrefix      = "stage_entered:"
	customPrefix            = "custom:"
)

// StageEnteredField is the logical name of a stage's "entered" date field.
func StageEnteredField(stage string) string { return stageEnteredPrefix + stage }

// CustomField is the logical name of a custom.<Name> column's field.
func CustomField(name string) string { return customPrefix + name }

// Schema resolves logical names to what Pipedrive calls them in this account.
type Schema interface {
	// FieldKey returns the 40-hex key of a custom field.
	FieldKey(kind Kind, logical string) (string, bool)
	// OptionID returns the id of an enum or set field's option.
	OptionID(kind Kind, logical, option string) (int, bool)
	PipelineID(pipeline string) (int, bool)
	StageID(pipeline, stage string) (int, bool)
	// ActivityType returns the key_string of the Pipedrive activity type
	// for a canonical type (call, email, meeting, sms, task).
	ActivityType(canonical string) (string, bool)
}

// Refs resolves source records to the Pipedrive records written for them.
type Refs interface {
	// Person returns the Pipedrive person of a client or referrer
	// ("client/C1", "referrer/R1").
	Person(source string) (int, bool)
	// Organization returns the Pipedrive organization of a client
	// organisation ("organisation/O1") or of a referrer's firm
	// ("referrer-firm/<name>").
	Organization(source string) (int, bool)
	// ClientOrganisation returns the organisation id a client belongs to.
	ClientOrganisation(clientID string) (string, bool)
	// Owner returns the Pipedrive user for a fee earner (the default
	// owner when unresolved).
	Owner(feeEarnerID string) int
}

// Change is one value a payload sets: the field-level diff.
type Change struct {
	Kind     string `json:"kind"`
	SourceID string `json:"source_id"`
	// Source is the source table and column, "matters.legal_fee".
	Source string `json:"source"`
	// Field is the Pipedrive field: a built-in name or a custom field's label.
	Field string `json:"field"`
	// Key is the custom field's key, empty for built-in fields.
	Key   string `json:"key,omitempty"`
	Value any    `json:"value"`
}

// Mapper holds what every transformation needs.
type Mapper struct {
	Config *mapping.Config
	Schema Schema
}

type builder struct {
	m       Mapper
	kind    Kind
	id      string
	changes []Change
	custom  map[string]any
	missing []string
}

func (m Mapper) builder(kind Kind, id string) *builder {
	return &builder{m: m, kind: kind, id: id, custom: map[string]any{}}
}

func (b *builder) set(source, field string, value any) {
	b.changes = append(b.changes, Change{Kind: string(b.kind), SourceID: b.id, Source: source, Field: field, Value: value})
}

// setCustom sets a custom field by logical name, recording a missing key.
func (b *builder) setCustom(source, logical string, value any) {
	key, ok := b.m.Schema.FieldKey(b.kind, logical)
	if !ok {
		b.missing = append(b.missing, logical)
		return
	}
	b.custom[key] = value
	b.changes = append(b.changes, Change{Kind: string(b.kind), SourceID: b.id, Source: source, Field: b.m.label(b.kind, logical), Key: key, Value: value})
}

// label is the configured label of a logical field, for the diff.
func (m Mapper) label(kind Kind, logical string) string {
	var fields map[string]mapping.Field
	switch kind {
	case Deal:
		fields = m.Config.Fields.Deal
	case Person:
		fields = m.Config.Fields.Person
	case Organization:
		fields = m.Config.Fields.Organization
	}
	switch {
	case strings.HasPrefix(logical, stageEnteredPrefix):
		return strings.ReplaceAll(m.Config.Fields.Deal["stage_entered"].Label, "{stage}", logical[len(stageEnteredPrefix):])
	case strings.HasPrefix(logical, customPrefix):
		return m.Config.CustomField(logical[len(customPrefix):]).Label
	}
	if f, ok := fields[logical]; ok {
		return f.Label
	}
	return logical
}

// MissingFieldsError lists logical fields the schema has no key for: the
// schema step has not run, or the account changed since.
type MissingFieldsError struct {
	Kind   string
	Fields []string
}

func (e *MissingFieldsError) Error() string {
	return fmt.Sprintf("transform: the %s fields %s have no key in this account; run the schema step", e.Kind, strings.Join(e.Fields, ", "))
}

func (b *builder) err() error {
	if len(b.missing) == 0 {
		return nil
	}
	sort.Strings(b.missing)
	return &MissingFieldsError{Kind: string(b.kind), Fields: b.missing}
}

func (b *builder) customFields() map[string]any {
	if len(b.custom) == 0 {
		return nil
	}
	return b.custom
}

// Organisation is the payload for a client organisation.
func (m Mapper) Organisation(o pp.Organisation) (pipedrive.OrganizationInput, []Change, error) {
	b := m.builder(Organization, o.ID)
	in := pipedrive.OrganizationInput{Name: o.Name, Website: o.Website}
	b.set("organisations.name", "name", o.Name)
	if o.Website != "" {
		b.set("organisations.website", "website", o.Website)
	}
	if addr := address(o.Address); addr != nil {
		in.Address = addr
		b.set("organisations.address_*", "address", addr.Value)
	}
	b.setCustom("organisations.organisation_id", FieldSourceID, o.ID)
	in.CustomFields = b.customFields()
	return in, b.changes, b.err()
}

// ReferrerFirm is the payload for the organisation a referrer works for,
// and false when the referrer names no firm.
func (m Mapper) ReferrerFirm(r pp.Referrer) (pipedrive.OrganizationInput, []Change, bool) {
	name := strings.TrimSpace(r.CompanyName)
	if name == "" {
		return pipedrive.OrganizationInput{}, nil, false
	}
	b := m.builder(Organization, r.ID)
	b.set("referrers.company_name", "name", name)
	return pipedrive.OrganizationInput{Name: name}, b.changes, true
}

// Client is the payload for a client; orgID is its organisation's
// Pipedrive id, 0 for none.
func (m Mapper) Client(c pp.Client, orgID int) (pipedrive.PersonInput, []Change, error) {
	b := m.builder(Person, c.ID)
	in := pipedrive.PersonInput{Name: personName(c.Title, c.FirstName, c.LastName, c.Email, c.ID), OrgID: orgID}
	b.set("clients.title+first_name+last_name", "name", in.Name)
	if c.Email != "" {
		in.Emails = []pipedrive.ContactValue{{Value: c.Email, Primary: true, Label: "work"}}
		b.set("clients.email", "emails", c.Email)
	}
	in.Phones = phones(b, "clients", c.Phone, c.Mobile)
	if addr := address(c.Address); addr != nil {
		in.PostalAddress = addr
		b.set("clients.address_*", "postal_address", addr.Value)
	}
	if orgID != 0 {
		b.set("clients.organisation_id", "org_id", orgID)
	}
	ids := append([]string{c.ID}, c.MergedIDs...)
	b.setCustom("clients.client_id", FieldSourceID, strings.Join(ids, ";"))
	in.CustomFields = b.customFields()
	return in, b.changes, b.err()
}

// Referrer is the payload for a third party; orgID is its firm's
// Pipedrive id, 0 for none.
func (m Mapper) Referrer(r pp.Referrer, orgID int) (pipedrive.PersonInput, []Change, error) {
	b := m.builder(Person, r.ID)
	in := pipedrive.PersonInput{Name: personName("", r.FirstName, r.LastName, r.Email, r.ID), OrgID: orgID}
	if in.Name == r.ID && r.CompanyName != "" {
		in.Name = r.CompanyName
	}
	b.set("referrers.first_name+last_name", "name", in.Name)
	if r.Email != "" {
		in.Emails = []pipedrive.ContactValue{{Value: r.Email, Primary: true, Label: "work"}}
		b.set("referrers.email", "emails", r.Email)
	}
	in.Phones = phones(b, "referrers", r.Phone, "")
	if orgID != 0 {
		b.set("referrers.company_name", "org_id", orgID)
	}
	if r.Role != "" {
		b.setCustom("referrers.role", FieldRole, r.Role)
	}
	b.setCustom("referrers.referrer_id", FieldSourceID, r.ID)
	in.CustomFields = b.customFields()
	return in, b.changes, b.err()
}

func personName(title, first, last, email, id string) string {
	name := strings.Join(strings.Fields(strings.Join([]string{title, first, last}, " ")), " ")
	switch {
	case name != "":
		return name
	case email != "":
		return email
	}
	return id
}

func phones(b *builder, table, phone, mobile string) []pipedrive.ContactValue {
	var out []pipedrive.ContactValue
	if phone != "" {
		out = append(out, pipedrive.ContactValue{Value: phone, Primary: true, Label: "work"})
		b.set(table+".phone", "phones", phone)
	}
	if mobile != "" {
		out = append(out, pipedrive.ContactValue{Value: mobile, Primary: len(out) == 0, Label: "mobile"})
		b.set(table+".mobile", "phones", mobile)
	}
	return out
}

func address(a pp.Address) *pipedrive.Address {
	if a.IsZero() {
		return nil
	}
	var parts []string
	for _, p := range []string{a.Line1, a.Line2, a.Town, a.County, a.Postcode, a.Country} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return &pipedrive.Address{Value: strings.Join(parts, ", "), Locality: a.Town, AdminAreaLevel2: a.County, PostalCode: a.Postcode, Country: a.Country}
}

// londonDate is the Europe/London calendar date of an instant, as
// Pipedrive's date fields hold it.
func londonDate(t time.Time) string { return t.In(pp.London).Format("2006-01-02") }

// Deal is a matter's deal. The people come separately (DealPeople); its
// person and organisation are the lead client's, when already written.
func (m Mapper) Deal(rec extract.MatterRecord, refs Refs) (pipedrive.DealInput, []Change, error) {
	mt := rec.Matter
	b := m.builder(Deal, mt.ID)
	typeName, ok := m.Config.MatterType(mt.Type)
	if !ok {
		typeName = mt.Type
	}
	pl := m.Config.PipelineFor(typeName)
	in := pipedrive.DealInput{Title: mt.Title, Currency: mt.Currency, OwnerID: refs.Owner(mt.FeeEarnerID)}
	b.set("matters.description", "title", mt.Title)
	b.set("matters.fee_earner_id", "owner_id", in.OwnerID)
	if mt.LegalFee != nil {
		v := float64(*mt.LegalFee) / 100
		in.Value = &v
		b.set("matters.legal_fee", "value", v)
		b.set("matters.currency", "currency", mt.Currency)
	}
	if id, ok := m.Schema.PipelineID(pl.Name); ok {
		in.PipelineID = id
		b.set("matters.matter_type", "pipeline_id", id)
	} else {
		b.missing = append(b.missing, "pipeline:"+pl.Name)
	}
	if stage := currentStage(rec, pl); stage != "" {
		if id, ok := m.Schema.StageID(pl.Name, stage); ok {
			in.StageID = id
			b.set("matters.key_stage", "stage_id", id)
		} else {
			b.missing = append(b.missing, "stage:"+pl.Name+"/"+stage)
		}
	}
	switch status, _ := m.Config.Status(mt.Status); status {
	case mapping.StatusCompleted:
		in.Status = "won"
	case mapping.StatusAborted:
		in.Status = "lost"
	default:
		in.Status = "open"
	}
	b.set("matters.status", "status", in.Status)
	if mt.ExpectedCompletion != nil && !mt.ExpectedCompletion.IsZero() {
		in.ExpectedCloseDate = mt.ExpectedCompletion.String()
		b.set("matters.expected_completion_date", "expected_close_date", in.ExpectedCloseDate)
	}
	if lead, ok := leadClient(rec); ok {
		if id, ok := refs.Person("client/" + lead); ok {
			in.PersonID = id
			b.set("matter_clients.client_id", "person_id", id)
		}
		if org, ok := refs.ClientOrganisation(lead); ok {
			if id, ok := refs.Organization("organisation/" + org); ok {
				in.OrgID = id
				b.set("clients.organisation_id", "org_id", id)
			}
		}
	}

	if mt.Number != "" {
		b.setCustom("matters.matter_number", FieldMatterNumber, mt.Number)
	}
	if typeName != "" {
		if id, ok := m.Schema.OptionID(Deal, FieldMatterType, typeName); ok {
			b.setCustom("matters.matter_type", FieldMatterType, id)
		} else {
			b.missing = append(b.missing, FieldMatterType+" option "+strconv.Quote(typeName))
		}
	}
	if mt.CreatedAt != nil {
		b.setCustom("matters.created_at", FieldCreated, londonDate(*mt.CreatedAt))
	}
	if mt.PropertyAddress != "" {
		addr := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(mt.PropertyAddress), mt.PropertyPostcode))
		value := strings.TrimRight(addr, ", ")
		if mt.PropertyPostcode != "" {
			value += " " + mt.PropertyPostcode
		}
		b.setCustom("matters.property_address", FieldPropertyAddress, map[string]any{"value": value})
	}
	if mt.PurchasePrice != nil {
		b.setCustom("matters.purchase_price", FieldPurchasePrice, map[string]any{"value": float64(*mt.PurchasePrice) / 100, "currency": mt.Currency})
	}
	if mt.MortgageLender != "" {
		b.setCustom("matters.mortgage_lender", FieldMortgageLender, mt.MortgageLender)
	}
	if mt.ReferringSolicitor != "" {
		b.setCustom("matters.referring_solicitor", FieldReferringSolicitor, mt.ReferringSolicitor)
	}
	entered, stamps := stageDates(rec.Stages, pl)
	for _, stage := range sortedKeys(entered) {
		b.setCustom("key_stages.entered_at", StageEnteredField(stage), londonDate(entered[stage]))
	}
	if len(stamps) > 0 {
		b.setCustom("key_stages.entered_at", FieldStageTimestamps, strings.Join(stamps, "\n"))
	}
	for _, name := range sortedKeys(mt.Custom) {
		if v, ok := m.customValue(name, mt.Custom[name]); ok {
			b.setCustom("matters.custom."+name, CustomField(name), v)
		}
	}
	b.setCustom("matters.matter_id", FieldSourceID, mt.ID)
	in.CustomFields = b.customFields()
	return in, b.changes, b.err()
}

// customValue converts a custom.<Name> cell to its field type's value;
// false when it cannot be (it is left out rather than sent wrong).
func (m Mapper) customValue(name, raw string) (any, bool) {
	f := m.Config.CustomField(name)
	switch f.Type {
	case "double":
		v, err := strconv.ParseFloat(strings.ReplaceAll(raw, ",", ""), 64)
		return v, err == nil
	case "monetary":
		v, err := pp.ParseMoney(raw)
		return map[string]any{"value": float64(v) / 100, "currency": "GBP"}, err == nil
	case "date":
		d, err := pp.ParseDate(raw)
		return d.String(), err == nil
	case "enum":
		id, ok := m.Schema.OptionID(Deal, CustomField(name), raw)
		return id, ok
	case "set":
		var ids []int
		for _, item := range pp.SplitList(raw) {
			id, ok := m.Schema.OptionID(Deal, CustomField(name), item)
			if !ok {
				return nil, false
			}
			ids = append(ids, id)
		}
		return ids, len(ids) > 0
	}
	return raw, true
}

// currentStage is the matter's current Pipedrive stage: its key_stage
// mapped, else the stage it entered last.
func currentStage(rec extract.MatterRecord, pl *mapping.Pipeline) string {
	if s, ok := pl.StageFor(rec.Matter.KeyStage); ok && rec.Matter.KeyStage != "" {
		return s
	}
	var last pp.KeyStage
	for _, ks := range rec.Stages {
		if ks.EnteredAt.After(last.EnteredAt) {
			last = ks
		}
	}
	s, _ := pl.StageFor(last.Stage)
	return s
}

// stageDates gives each Pipedrive stage the first time the matter entered
// it, and the exact UTC time of every source stage entered.
func stageDates(stages []pp.KeyStage, pl *mapping.Pipeline) (map[string]time.Time, []string) {
	sorted := append([]pp.KeyStage(nil), stages...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].EnteredAt.Before(sorted[j].EnteredAt) })
	entered := map[string]time.Time{}
	var stamps []string
	for _, ks := range sorted {
		stamps = append(stamps, fmt.Sprintf("%s: %s", ks.Stage, ks.EnteredAt.UTC().Format(time.RFC3339)))
		dest, ok := pl.StageFor(ks.Stage)
		if !ok {
			continue
		}
		if _, seen := entered[dest]; !seen {
			entered[dest] = ks.EnteredAt
		}
	}
	return entered, stamps
}

func leadClient(rec extract.MatterRecord) (string, bool) {
	for _, c := range rec.Clients {
		if c.IsLead {
			return c.ClientID, true
		}
	}
	if len(rec.Clients) > 0 {
		return rec.Clients[0].ClientID, true
	}
	return "", false
}

// DealPeople lists the sources of the deal's participants: every client
// but the lead, then every referrer.
func DealPeople(rec extract.MatterRecord) []string {
	lead, _ := leadClient(rec)
	var out []string
	seen := map[string]bool{}
	for _, c := range rec.Clients {
		if key := "client/" + c.ClientID; c.ClientID != lead && !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	for _, r := range rec.Referrers {
		if key := "referrer/" + r.ReferrerID; !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	return out
}

// IsNote reports whether an activity becomes a Pipedrive note.
func IsNote(a pp.Activity) bool { return a.Type == mapping.ActivityNote }

// Activity is the payload for a call, email, meeting, SMS or task on a deal:
// due at the original time (Pipedrive keeps due dates and times in UTC), done
// as it was, owned by its fee earner.
func (m Mapper) Activity(a pp.Activity, dealID int, refs Refs) (pipedrive.ActivityInput, []Change, error) {
	b := m.builder("activity", a.ID)
	typ, ok := m.Schema.ActivityType(a.Type)
	if !ok {
		return pipedrive.ActivityInput{}, nil, &MissingFieldsError{Kind: "activity type", Fields: []string{a.Type}}
	}
	done := a.Done
	utc := a.OccurredAt.UTC()
	in := pipedrive.ActivityInput{Subject: a.Subject, Type: typ, DealID: dealID, OwnerID: refs.Owner(a.FeeEarnerID),
		DueDate: utc.Format("2006-01-02"), DueTime: utc.Format("15:04"), Done: &done}
	if in.Subject == "" {
		in.Subject = strings.ToUpper(a.Type[:1]) + a.Type[1:]
	}
	b.set("activities.subject", "subject", in.Subject)
	b.set("activities.type", "type", typ)
	b.set("activities.occurred_at", "due_date", in.DueDate)
	b.set("activities.occurred_at", "due_time", in.DueTime)
	b.set("activities.done", "done", done)
	b.set("activities.fee_earner_id", "owner_id", in.OwnerID)
	if a.DurationMinutes > 0 {
		in.Duration = fmt.Sprintf("%02d:%02d", a.DurationMinutes/60, a.DurationMinutes%60)
		b.set("activities.duration_minutes", "duration", in.Duration)
	}
	if note := activityNote(a); note != "" {
		in.Note = note
		b.set("activities.body", "note", note)
	}
	return in, b.changes, nil
}

// Note is the payload for a note on a deal, with its original time and
// its fee earner as the author.
func (m Mapper) Note(a pp.Activity, dealID int, refs Refs) (pipedrive.NoteInput, []Change) {
	b := m.builder("note", a.ID)
	content := activityNote(a)
	if content == "" {
		content = html.EscapeString(a.Subject)
	}
	in := pipedrive.NoteInput{Content: content, DealID: dealID, UserID: refs.Owner(a.FeeEarnerID), AddTime: a.OccurredAt.UTC()}
	b.set("activities.subject+body", "content", content)
	b.set("activities.fee_earner_id", "user_id", in.UserID)
	b.set("activities.occurred_at", "add_time", in.AddTime.Format("2006-01-02 15:04:05"))
	return in, b.changes
}

// activityNote is the body as Pipedrive's HTML: escaped, line breaks kept,
// with the subject of a note and the direction of a call or email first.
func activityNote(a pp.Activity) string {
	var parts []string
	if a.Type == mapping.ActivityNote && a.Subject != "" {
		parts = append(parts, "<b>"+html.EscapeString(a.Subject)+"</b>")
	}
	if a.Direction != "" {
		parts = append(parts, html.EscapeString(strings.ToUpper(a.Direction[:1])+a.Direction[1:]))
	}
	if body := strings.TrimSpace(a.Body); body != "" {
		parts = append(parts, strings.ReplaceAll(html.EscapeString(body), "\n", "<br>"))
	}
	return strings.Join(parts, "<br>")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
