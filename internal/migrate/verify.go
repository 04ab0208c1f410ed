package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/transform"
)

// VerifyInput names the migration to check and its staged export.
type VerifyInput struct {
	MigrationID string `json:"migration_id"`
	Manifest    string `json:"manifest"`
	// Matters, when set, limits the check to these matters and their
	// people (a sample run).
	Matters []string `json:"matters,omitempty"`
}

// VerifyOutput counts what was checked and where the report is.
type VerifyOutput struct {
	MigrationID string `json:"migration_id"`
	Checked     int    `json:"checked"`
	Missing     int    `json:"missing"`
	Mismatches  int    `json:"mismatches"`
	Report      string `json:"report"`
}

// VerifyReport is the read-back, written to migrations/<id>/verify.json.
// Its values are the firm's data: it is kept in the store, never logged.
type VerifyReport struct {
	MigrationID string                  `json:"migration_id"`
	Kinds       map[string]*KindCheck   `json:"kinds"`
	Mismatches  []Mismatch              `json:"mismatches"`
	Missing     []string                `json:"missing"`
	Completion  map[string]Completeness `json:"completeness"`
}

// KindCheck counts one kind of record.
type KindCheck struct {
	// Expected is how many records the staged export says should be there
	// (migrated or linked); Written how many the ledger has written;
	// Found how many of those Pipedrive has; Matching how many agree field
	// by field.
	Expected int `json:"expected"`
	Written  int `json:"written"`
	Found    int `json:"found"`
	Matching int `json:"matching"`
}

// Completeness is how many of a kind's records have a field filled, in
// the source and in Pipedrive.
type Completeness struct {
	Source    int `json:"source"`
	Pipedrive int `json:"pipedrive"`
}

// Mismatch is one field that differs.
type Mismatch struct {
	Key   string `json:"key"`
	Field string `json:"field"`
	Want  any    `json:"want"`
	Got   any    `json:"got"`
}

// VerifyMismatchError fails a run whose read-back differs from the source;
// the report says where.
type VerifyMismatchError struct {
	Report              string
	Missing, Mismatches int
}

func (e *VerifyMismatchError) Error() string {
	return fmt.Sprintf("verify: %d records missing and %d fields differing from the source; see %s", e.Missing, e.Mismatches, e.Report)
}

// Verify reads the migrated records back with paginated lists and compares
// every mapped field with what the source says it should be. It writes the
// report and returns *VerifyMismatchError when anything is missing or
// differs; the client's named errors come back unwrapped.
func (e *Env) Verify(ctx context.Context, in VerifyInput) (VerifyOutput, error) {
	if err := checkInput(in.MigrationID, in.Manifest); err != nil {
		return VerifyOutput{}, err
	}
	st, err := openStaged(ctx, e.Store, in.Manifest)
	if err != nil {
		return VerifyOutput{}, err
	}
	sm, err := LoadSchemaMap(ctx, e.Store, in.MigrationID)
	if err != nil {
		return VerifyOutput{}, err
	}
	owners, err := LoadOwnerMap(ctx, e.Store, in.MigrationID)
	if err != nil {
		return VerifyOutput{}, err
	}
	v := &verifier{e: e, ctx: ctx, in: in, m: transform.Mapper{Config: e.config(), Schema: TransformSchema(sm)},
		rep:  &VerifyReport{MigrationID: in.MigrationID, Kinds: map[string]*KindCheck{}, Completion: map[string]Completeness{}},
		refs: &LedgerRefs{Ledger: e.Ledger, Migration: in.MigrationID, Owners: owners, ClientOrgs: map[string]string{}, Ctx: ctx}}
	if err := v.load(st); err != nil {
		return VerifyOutput{}, err
	}
	if err := v.run(st); err != nil {
		return VerifyOutput{}, err
	}
	key := Prefix(in.MigrationID) + "verify.json"
	sort.Strings(v.rep.Missing)
	if err := e.putJSON(ctx, key, v.rep); err != nil {
		return VerifyOutput{}, err
	}
	out := VerifyOutput{MigrationID: in.MigrationID, Missing: len(v.rep.Missing), Mismatches: len(v.rep.Mismatches), Report: key}
	for _, k := range v.rep.Kinds {
		out.Checked += k.Written
	}
	e.log().Info("verify", "migration", in.MigrationID, "checked", out.Checked, "missing", out.Missing, "mismatches", out.Mismatches)
	if out.Missing > 0 || out.Mismatches > 0 {
		return out, &VerifyMismatchError{Report: key, Missing: out.Missing, Mismatches: out.Mismatches}
	}
	return out, nil
}

type verifier struct {
	e    *Env
	ctx  context.Context
	in   VerifyInput
	m    transform.Mapper
	rep  *VerifyReport
	refs *LedgerRefs

	persons    map[int]pipedrive.Person
	orgs       map[int]pipedrive.Organization
	deals      map[int]pipedrive.Deal
	activities map[int]pipedrive.Activity
	notes      map[int]pipedrive.Note
	files      map[int]pipedrive.File

	wantMatters map[string]bool
	wantPeople  map[string]bool
}

// load lists the account once: every page of each kind.
func (v *verifier) load(st *staged) error {
	c := v.e.Pipedrive
	v.persons, v.orgs, v.deals = map[int]pipedrive.Person{}, map[int]pipedrive.Organization{}, map[int]pipedrive.Deal{}
	v.activities, v.notes, v.files = map[int]pipedrive.Activity{}, map[int]pipedrive.Note{}, map[int]pipedrive.File{}
	steps := []struct {
		what string
		run  func() error
	}{
		{"persons", func() error {
			return c.ListPersons(v.ctx, pipedrive.ListOptions{}, func(p pipedrive.Person) error { v.persons[p.ID] = p; return nil })
		}},
		{"organizations", func() error {
			return c.ListOrganizations(v.ctx, pipedrive.ListOptions{}, func(o pipedrive.Organization) error { v.orgs[o.ID] = o; return nil })
		}},
		{"deals", func() error {
			return c.ListDeals(v.ctx, pipedrive.DealListOptions{}, func(d pipedrive.Deal) error { v.deals[d.ID] = d; return nil })
		}},
		{"activities", func() error {
			return c.ListActivities(v.ctx, pipedrive.ActivityListOptions{}, func(a pipedrive.Activity) error { v.activities[a.ID] = a; return nil })
		}},
		{"notes", func() error {
			return c.ListNotes(v.ctx, pipedrive.NoteListOptions{}, func(n pipedrive.Note) error { v.notes[n.ID] = n; return nil })
		}},
		{"files", func() error {
			return c.ListFiles(v.ctx, pipedrive.ListOptions{}, func(f pipedrive.File) error { v.files[f.ID] = f; return nil })
		}},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return fromPipedrive("verify: list "+s.what, err)
		}
	}
	if len(v.in.Matters) > 0 {
		v.wantMatters, v.wantPeople = map[string]bool{}, map[string]bool{}
		for _, id := range v.in.Matters {
			v.wantMatters[id] = true
		}
		if err := st.eachMatter(v.ctx, func(rec *extract.MatterRecord) error {
			if v.wantMatters[rec.Matter.ID] {
				for _, c := range rec.Clients {
					v.wantPeople[ClientKey(c.ClientID)] = true
				}
				for _, r := range rec.Referrers {
					v.wantPeople[ReferrerKey(r.ReferrerID)] = true
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return each(v.ctx, st, extract.KindClients, func(c *pp.Client) error {
		if c.OrganisationID != "" {
			v.refs.ClientOrgs[c.ID] = c.OrganisationID
		}
		return nil
	})
}

func (v *verifier) kind(name string) *KindCheck {
	k := v.rep.Kinds[name]
	if k == nil {
		k = &KindCheck{}
		v.rep.Kinds[name] = k
	}
	return k
}

// written counts one expected record of kind and returns its written
// ledger entry, or records the key as missing and returns false.
func (v *verifier) written(kind, key string) (ledger.Entry, bool) {
	k := v.kind(kind)
	k.Expected++
	e, ok := v.entry(key)
	if !ok {
		v.rep.Missing = append(v.rep.Missing, key)
		return e, false
	}
	k.Written++
	return e, true
}

// entry returns the written ledger entry for a key, if any.
func (v *verifier) entry(key string) (ledger.Entry, bool) {
	e, err := v.e.Ledger.Get(v.ctx, v.in.MigrationID, key)
	return e, err == nil && e.Status == ledger.StatusWritten && e.TargetID != 0
}

// check compares one expected payload with the record Pipedrive holds.
// For a link only the fields the migration filled are the migration's.
func (v *verifier) check(kind, key string, want any, got any, found bool, e ledger.Entry) {
	k := v.kind(kind)
	if !found {
		v.rep.Missing = append(v.rep.Missing, key)
		return
	}
	k.Found++
	before := len(v.rep.Mismatches)
	if e.Op == ledger.OpCreate {
		v.compare(key, "", toJSON(want), toJSON(got))
	} else if len(e.Previous) > 0 {
		var filled map[string]any
		_ = json.Unmarshal(e.Previous, &filled)
		w, g := toJSON(want).(map[string]any), toJSON(got).(map[string]any)
		for field := range filled {
			v.compare(key, field, w[field], g[field])
		}
	}
	if len(v.rep.Mismatches) == before {
		k.Matching++
	}
}

func toJSON(v any) any {
	data, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}

// compare records where got lacks or differs from want: objects by the keys
// want has, lists by each wanted element appearing in got, numbers to a
// cent.
func (v *verifier) compare(key, path string, want, got any) {
	switch w := want.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		for k, wv := range w {
			p := k
			if path != "" {
				p = path + "." + k
			}
			v.compare(key, p, wv, g[k])
		}
	case []any:
		g, _ := got.([]any)
		for _, wv := range w {
			if !containsValue(g, wv) {
				v.rep.Mismatches = append(v.rep.Mismatches, Mismatch{Key: key, Field: path, Want: wv, Got: got})
			}
		}
	case float64:
		if got == nil && w == 0 { // a zero Pipedrive's typed record left out
			return
		}
		if g, ok := got.(float64); !ok || math.Abs(g-w) > 0.005 {
			v.rep.Mismatches = append(v.rep.Mismatches, Mismatch{Key: key, Field: path, Want: want, Got: got})
		}
	case nil:
	case bool:
		if g, _ := got.(bool); g != w { // false and left out are the same
			v.rep.Mismatches = append(v.rep.Mismatches, Mismatch{Key: key, Field: path, Want: want, Got: got})
		}
	default:
		if !equalText(want, got) {
			v.rep.Mismatches = append(v.rep.Mismatches, Mismatch{Key: key, Field: path, Want: want, Got: got})
		}
	}
}

func equalText(want, got any) bool {
	ws, wok := want.(string)
	gs, gok := got.(string)
	if wok && gok {
		return strings.TrimSpace(ws) == strings.TrimSpace(gs)
	}
	return fmt.Sprint(want) == fmt.Sprint(got)
}

func containsValue(list []any, want any) bool {
	for _, g := range list {
		probe := &verifier{rep: &VerifyReport{}}
		probe.compare("", "", want, g)
		if len(probe.rep.Mismatches) == 0 {
			return true
		}
	}
	return false
}

func (v *verifier) wantPerson(key string) bool { return v.wantPeople == nil || v.wantPeople[key] }

// run checks every kind in dependency order.
func (v *verifier) run(st *staged) error {
	if v.wantMatters == nil {
		if err := each(v.ctx, st, extract.KindOrganisations, func(o *pp.Organisation) error {
			want, _, err := v.m.Organisation(*o)
			if err != nil {
				return err
			}
			e, ok := v.written("organization", OrganisationKey(o.ID))
			if !ok {
				return nil
			}
			got, found := v.orgs[int(e.TargetID)]
			v.check("organization", OrganisationKey(o.ID), want, got, found, e)
			return nil
		}); err != nil {
			return err
		}
	}
	if err := each(v.ctx, st, extract.KindClients, func(c *pp.Client) error {
		key := ClientKey(c.ID)
		if !v.wantPerson(key) {
			return nil
		}
		orgID, _ := v.refs.Organization(OrganisationKey(c.OrganisationID))
		want, _, err := v.m.Client(*c, orgID)
		if err != nil {
			return err
		}
		return v.person(key, want)
	}); err != nil {
		return err
	}
	if err := each(v.ctx, st, extract.KindReferrers, func(r *pp.Referrer) error {
		key := ReferrerKey(r.ID)
		if !v.wantPerson(key) {
			return nil
		}
		orgID, _ := v.refs.Organization(ReferrerFirmKey(r.CompanyName))
		want, _, err := v.m.Referrer(*r, orgID)
		if err != nil {
			return err
		}
		return v.person(key, want)
	}); err != nil {
		return err
	}
	return st.eachMatter(v.ctx, func(rec *extract.MatterRecord) error {
		if v.wantMatters != nil && !v.wantMatters[rec.Matter.ID] {
			return nil
		}
		return v.matter(rec)
	})
}

func (v *verifier) person(key string, want pipedrive.PersonInput) error {
	e, ok := v.written("person", key)
	if !ok {
		return nil
	}
	got, found := v.persons[int(e.TargetID)]
	v.check("person", key, want, got, found, e)
	v.complete("person.email", len(want.Emails) > 0, found && len(got.Emails) > 0)
	v.complete("person.phone", len(want.Phones) > 0, found && len(got.Phones) > 0)
	return nil
}

func (v *verifier) complete(field string, source, pipedrive bool) {
	c := v.rep.Completion[field]
	if source {
		c.Source++
	}
	if pipedrive {
		c.Pipedrive++
	}
	v.rep.Completion[field] = c
}

func (v *verifier) matter(rec *extract.MatterRecord) error {
	key := MatterKey(rec.Matter.ID)
	e, ok := v.written("deal", key)
	if !ok {
		return nil
	}
	want, _, err := v.m.Deal(*rec, v.refs)
	if err != nil {
		return err
	}
	got, found := v.deals[int(e.TargetID)]
	v.check("deal", key, want, got, found, e)
	v.complete("deal.value", want.Value != nil, found && got.Value != 0)
	dealID := int(e.TargetID)
	for _, a := range rec.Activities {
		akey := ActivityKey(a.ID)
		if transform.IsNote(a) {
			ae, ok := v.written("note", akey)
			if !ok {
				continue
			}
			want, _ := v.m.Note(a, dealID, v.refs)
			got, found := v.notes[int(ae.TargetID)]
			wantView := map[string]any{"content": want.Content, "deal_id": want.DealID, "add_time": want.AddTime.UTC().Format("2006-01-02 15:04:05")}
			gotView := map[string]any{"content": got.Content, "deal_id": got.DealID, "add_time": got.AddTime.UTC().Format("2006-01-02 15:04:05")}
			v.check("note", akey, wantView, gotView, found, ae)
			continue
		}
		ae, ok := v.written("activity", akey)
		if !ok {
			continue
		}
		want, _, err := v.m.Activity(a, dealID, v.refs)
		if err != nil {
			return err
		}
		got, found := v.activities[int(ae.TargetID)]
		// Pipedrive answers due_time with seconds; the payload has none.
		if found && len(got.DueTime) > 5 {
			got.DueTime = got.DueTime[:5]
		}
		if found && len(got.Duration) > 5 {
			got.Duration = got.Duration[:5]
		}
		want.Note = ""
		v.check("activity", akey, want, got, found, ae)
	}
	for _, d := range rec.Documents {
		fe, ok := v.written("file", DocumentKey(d.ID, 1))
		if !ok {
			continue
		}
		got, found := v.files[int(fe.TargetID)]
		v.check("file", DocumentKey(d.ID, 1), map[string]any{"deal_id": dealID}, got, found, fe)
	}
	return nil
}
