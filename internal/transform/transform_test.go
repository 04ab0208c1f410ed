package transform

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// schema is a fixed account: every logical field has a key "k-<name>".
type schema struct{ missing map[string]bool }

func (s schema) FieldKey(kind Kind, logical string) (string, bool) {
	if s.missing[logical] {
		return "", false
	}
	return "k-" + string(kind) + "-" + logical, true
}
func (s schema) OptionID(kind Kind, logical, option string) (int, bool) {
	ids := map[string]int{"Purchase": 11, "Sale": 12, "Freehold": 21, "Leasehold": 22}
	id, ok := ids[option]
	return id, ok
}
func (s schema) PipelineID(p string) (int, bool) {
	return map[string]int{"Conveyancing": 3}[p], p == "Conveyancing"
}
func (s schema) StageID(p, st string) (int, bool) {
	id, ok := map[string]int{"Instructed": 31, "Searches": 32, "Compliance": 33, "Completion": 34}[st]
	return id, ok && p == "Conveyancing"
}
func (s schema) ActivityType(c string) (string, bool) {
	k, ok := map[string]string{"call": "call", "email": "email", "meeting": "meeting", "task": "task", "sms": "sms_1"}[c]
	return k, ok
}

type refs struct{}

func (refs) Person(src string) (int, bool) {
	id, ok := map[string]int{"client/C1": 101, "client/C2": 102, "referrer/R1": 201}[src]
	return id, ok
}
func (refs) Organization(src string) (int, bool) {
	id, ok := map[string]int{"organisation/O1": 501}[src]
	return id, ok
}
func (refs) ClientOrganisation(c string) (string, bool) {
	return map[string]string{"C1": "O1"}[c], c == "C1"
}
func (refs) Owner(fe string) int {
	if fe == "FE1" {
		return 7
	}
	return 1
}

func mapper(t *testing.T, yaml string) Mapper {
	t.Helper()
	cfg := mapping.Default()
	if yaml != "" {
		var err error
		if cfg, err = mapping.Parse("t.yaml", []byte("version: 1\n"+yaml)); err != nil {
			t.Fatal(err)
		}
	}
	return Mapper{Config: cfg, Schema: schema{}}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptrTime(s string) *time.Time { t := at(s); return &t }
func money(p int64) *pp.Money     { m := pp.Money(p); return &m }

func matterRecord() extract.MatterRecord {
	d := pp.Date{Year: 2026, Month: 12, Day: 24}
	return extract.MatterRecord{
		Matter: pp.Matter{ID: "M1", Number: "CONV/1", Title: "Purchase of 1 High St", Type: "purchase", FeeEarnerID: "FE1",
			Status: "Completed", KeyStage: "Exchange", PropertyAddress: "1 High St, Leeds LS1 1AA", PropertyPostcode: "LS1 1AA",
			PurchasePrice: money(25000000), LegalFee: money(120000), Currency: "GBP", MortgageLender: "Northern BS",
			ExpectedCompletion: &d, CreatedAt: ptrTime("2026-03-31T23:30:00Z"),
			Custom: map[string]string{"Tenure": "Freehold", "Lender Ref": "LR-9"}},
		Clients:   []pp.MatterClient{{MatterID: "M1", ClientID: "C2"}, {MatterID: "M1", ClientID: "C1", IsLead: true}},
		Referrers: []pp.MatterReferrer{{MatterID: "M1", ReferrerID: "R1"}},
		Stages: []pp.KeyStage{
			{MatterID: "M1", Stage: "Quote accepted", EnteredAt: at("2026-04-01T08:00:00Z")},
			{MatterID: "M1", Stage: "Instructed", EnteredAt: at("2026-04-02T08:00:00Z")},
			{MatterID: "M1", Stage: "Searches", EnteredAt: at("2026-06-30T23:30:00Z")},
			{MatterID: "M1", Stage: "Exchange", EnteredAt: at("2026-08-01T10:00:00Z")},
		},
	}
}

func TestDeal(t *testing.T) {
	m := mapper(t, "fields:\n  custom:\n    Tenure: {label: Tenure, type: enum}\n")
	in, changes, err := m.Deal(matterRecord(), refs{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Title != "Purchase of 1 High St" || in.Value == nil || *in.Value != 1200 || in.Currency != "GBP" || in.Status != "won" {
		t.Errorf("deal = %+v", in)
	}
	if in.PipelineID != 3 || in.StageID != 34 || in.OwnerID != 7 || in.PersonID != 101 || in.OrgID != 501 || in.ExpectedCloseDate != "2026-12-24" {
		t.Errorf("deal ids = %+v", in)
	}
	want := map[string]any{
		"k-deal-matter_number":            "CONV/1",
		"k-deal-matter_type":              11,
		"k-deal-created_at":               "2026-04-01", // 23:30Z on 31 March is 00:30 BST on 1 April
		"k-deal-property_address":         map[string]any{"value": "1 High St, Leeds LS1 1AA"},
		"k-deal-purchase_price":           map[string]any{"value": 250000.0, "currency": "GBP"},
		"k-deal-mortgage_lender":          "Northern BS",
		"k-deal-stage_entered:Instructed": "2026-04-01", // the first source stage mapped to it (Quote accepted)
		"k-deal-stage_entered:Searches":   "2026-07-01", // London date of a late-evening UTC time
		"k-deal-stage_entered:Completion": "2026-08-01",
		"k-deal-stage_timestamps":         "Quote accepted: 2026-04-01T08:00:00Z\nInstructed: 2026-04-02T08:00:00Z\nSearches: 2026-06-30T23:30:00Z\nExchange: 2026-08-01T10:00:00Z",
		"k-deal-custom:Tenure":            21,
		"k-deal-custom:Lender Ref":        "LR-9",
		"k-deal-source_id":                "M1",
	}
	if !reflect.DeepEqual(in.CustomFields, want) {
		gotJSON, _ := json.MarshalIndent(in.CustomFields, "", " ")
		t.Errorf("custom fields =\n%s", gotJSON)
	}
	labels := map[string]bool{}
	for _, c := range changes {
		labels[c.Field] = true
		if c.SourceID != "M1" || c.Source == "" {
			t.Errorf("change %+v lacks its source", c)
		}
	}
	for _, l := range []string{"title", "value", "stage_id", "Matter number", "Stage entered: Searches", "Tenure", "Perfect Portal ID"} {
		if !labels[l] {
			t.Errorf("diff lacks %q", l)
		}
	}
	if got := DealPeople(matterRecord()); !reflect.DeepEqual(got, []string{"client/C2", "referrer/R1"}) {
		t.Errorf("participants = %v", got)
	}
}

func TestDealStatusesAndMissingKeys(t *testing.T) {
	m := mapper(t, "")
	rec := matterRecord()
	for status, want := range map[string]string{"aborted": "lost", "open": "open", "On hold": "open", "Completed": "won"} {
		rec.Matter.Status = status
		in, _, err := m.Deal(rec, refs{})
		if err != nil || in.Status != want {
			t.Errorf("status %q → %q, %v; want %q", status, in.Status, err, want)
		}
	}
	m.Schema = schema{missing: map[string]bool{"matter_number": true, "source_id": true}}
	_, _, err := m.Deal(rec, refs{})
	var mf *MissingFieldsError
	if !errors.As(err, &mf) || !reflect.DeepEqual(mf.Fields, []string{"matter_number", "source_id"}) {
		t.Errorf("err = %v; want MissingFieldsError for matter_number and source_id", err)
	}
}

func TestPeople(t *testing.T) {
	m := mapper(t, "")
	c := pp.Client{ID: "C1", Title: "Mrs", FirstName: "Ann", LastName: "Smith", Email: "ann@example.com", Phone: "0113 496 0000", Mobile: "07700 900123",
		Address: pp.Address{Line1: "1 High St", Town: "Leeds", Postcode: "LS1 1AA"}, MergedIDs: []string{"C9"}}
	in, _, err := m.Client(c, 501)
	if err != nil {
		t.Fatal(err)
	}
	if in.Name != "Mrs Ann Smith" || in.OrgID != 501 || len(in.Emails) != 1 || len(in.Phones) != 2 || in.Phones[1].Label != "mobile" || in.Phones[1].Primary {
		t.Errorf("person = %+v", in)
	}
	if in.PostalAddress == nil || in.PostalAddress.Value != "1 High St, Leeds, LS1 1AA" {
		t.Errorf("address = %+v", in.PostalAddress)
	}
	if got := in.CustomFields["k-person-source_id"]; got != "C1;C9" {
		t.Errorf("source id = %v; want the merged ids too", got)
	}
	noName, _, _ := m.Client(pp.Client{ID: "C5", Email: "x@example.com"}, 0)
	if noName.Name != "x@example.com" {
		t.Errorf("nameless client named %q", noName.Name)
	}
	r := pp.Referrer{ID: "R1", Role: "estate agent", FirstName: "Gus", LastName: "Hart", CompanyName: "Hart & Co"}
	rin, _, err := m.Referrer(r, 601)
	if err != nil || rin.Name != "Gus Hart" || rin.CustomFields["k-person-role"] != "estate agent" || rin.OrgID != 601 {
		t.Errorf("referrer = %+v, %v", rin, err)
	}
	if firm, _, ok := m.ReferrerFirm(r); !ok || firm.Name != "Hart & Co" {
		t.Errorf("firm = %+v %v", firm, ok)
	}
	if _, _, ok := m.ReferrerFirm(pp.Referrer{ID: "R2"}); ok {
		t.Errorf("a referrer without a firm has one")
	}
	o, _, err := m.Organisation(pp.Organisation{ID: "O1", Name: "Acme Ltd", Website: "https://example.com"})
	if err != nil || o.Name != "Acme Ltd" || o.CustomFields["k-organization-source_id"] != "O1" {
		t.Errorf("organisation = %+v, %v", o, err)
	}
}

func TestActivitiesAndNotes(t *testing.T) {
	m := mapper(t, "")
	a := pp.Activity{ID: "A1", MatterID: "M1", Type: "sms", Direction: "outbound", Subject: "Update", Body: "Exchange <today>\nRegards",
		OccurredAt: at("2026-07-01T08:05:00+01:00"), DurationMinutes: 75, FeeEarnerID: "FE1", Done: true}
	in, _, err := m.Activity(a, 900, refs{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Type != "sms_1" || in.DueDate != "2026-07-01" || in.DueTime != "07:05" || in.Duration != "01:15" || in.DealID != 900 || in.OwnerID != 7 || in.Done == nil || !*in.Done {
		t.Errorf("activity = %+v", in)
	}
	if in.Note != "Outbound<br>Exchange &lt;today&gt;<br>Regards" {
		t.Errorf("note = %q", in.Note)
	}
	if _, _, err := m.Activity(pp.Activity{ID: "A2", Type: "fax"}, 1, refs{}); err == nil {
		t.Errorf("an activity type without a Pipedrive type mapped")
	}
	n := pp.Activity{ID: "A3", Type: "note", Subject: "File note", Body: "Called <lender>", OccurredAt: at("2026-02-01T10:00:00Z")}
	if !IsNote(n) || IsNote(a) {
		t.Errorf("IsNote wrong")
	}
	nin, changes := m.Note(n, 900, refs{})
	if nin.Content != "<b>File note</b><br>Called &lt;lender&gt;" || !nin.AddTime.Equal(at("2026-02-01T10:00:00Z")) || nin.DealID != 900 {
		t.Errorf("note = %+v", nin)
	}
	if nin.UserID != 1 {
		t.Errorf("note author = %d; want the default owner for a note without a fee earner", nin.UserID)
	}
	if len(changes) != 3 || !strings.Contains(changes[2].Value.(string), "2026-02-01 10:00:00") {
		t.Errorf("note diff = %+v", changes)
	}
}
