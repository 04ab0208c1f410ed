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
	v := &verifier{e: e, ctx: ctx, st: st, in: in, m: transform.Mapper{Config: e.config(), Schema: TransformSchema(sm)},
		rep:  &VerifyReport{MigrationID: in.MigrationID, Kinds: map[string]*KindCheck{}, Completion: map[string]Completeness{}},
		refs: &LedgerRefs{Ledger: e.Ledger, Migration: in.MigrationID, Owners: owners, ClientOrgs: map[string]string{}, Ctx: ctx}}
	if err := v.prepare(); err != nil {
		return VerifyOutput{}, err
	}
	if err := v.run(); err != nil {
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
	st   *staged
	in   VerifyInput
	m    transform.Mapper
	rep  *VerifyReport
	refs *LedgerRefs

	wantMatters map[string]bool
	wantPeople  map[string]bool
	// dealIDs holds each written matter's deal id, from the deals' pass,
	// for the passes over its activities, notes and files.
	dealIDs map[string]int
}

// expected is one record verify looks for: its ledger key, the payload the
// source says it should hold (as JSON: smaller than the decoded payload,
// and decoded only when its record comes by), and, for a link, the fields
// the migration filled (its ledger entry's Previous): only those are the
// migration's.
type expected struct {
	key    string
	want   []byte
	link   bool
	filled json.RawMessage
}

// pending is one kind's expected records by Pipedrive id, waiting for the
// kind's listing. Verify goes a kind at a time: it reads the staged export
// for the kind's expected records, then lists the kind from Pipedrive and
// checks each record as its page comes, keeping no listed record; what the
// listing never brought is missing. So it holds one kind's expected
// payloads at a time, not the account's records.
type pending struct {
	v    *verifier
	kind string
	byID map[int]expected
	// more holds the second and later records expected of one id (two
	// source records linked to one existing Pipedrive record); rare, so
	// kept apart from byID to keep its entries small.
	more map[int][]expected
}

func (v *verifier) pending(kind string) *pending {
	return &pending{v: v, kind: kind, byID: map[int]expected{}, more: map[int][]expected{}}
}

// expect counts one expected record and, when the ledger has it written,
// waits for its Pipedrive id; otherwise the key is missing.
func (p *pending) expect(key string, want any) (bool, error) {
	e, ok := p.v.written(p.kind, key)
	if !ok {
		return false, nil
	}
	return true, p.add(key, e, want)
}

// add waits for a written record's Pipedrive id.
func (p *pending) add(key string, e ledger.Entry, want any) error {
	data, err := json.Marshal(want)
	if err != nil {
		return fmt.Errorf("verify: %s %s: %w", p.kind, key, err)
	}
	x := expected{key: key, want: data, link: e.Op != ledger.OpCreate}
	if x.link {
		x.filled = e.Previous
	}
	id := int(e.TargetID)
	if _, dup := p.byID[id]; dup {
		p.more[id] = append(p.more[id], x)
		return nil
	}
	p.byID[id] = x
	return nil
}

// meet checks a listed record against what was expected of its id, and
// returns how many expected records it answered (0 when none: a record
// the migration did not write, or one already met).
func (p *pending) meet(id int, got any) int {
	x, ok := p.byID[id]
	if !ok {
		return 0
	}
	delete(p.byID, id)
	p.v.check(p.kind, x, got)
	more := p.more[id]
	delete(p.more, id)
	for _, x := range more {
		p.v.check(p.kind, x, got)
	}
	return 1 + len(more)
}

// done counts what the listing never brought as missing.
func (p *pending) done() {
	for id, x := range p.byID {
		p.v.rep.Missing = append(p.v.rep.Missing, x.key)
		for _, x := range p.more[id] {
			p.v.rep.Missing = append(p.v.rep.Missing, x.key)
		}
	}
	p.byID, p.more = nil, nil
}

// prepare reads what the passes need besides each kind's records: a
// sample's matters and people, and the clients' organisations.
func (v *verifier) prepare() error {
	if len(v.in.Matters) > 0 {
		v.wantMatters, v.wantPeople = map[string]bool{}, map[string]bool{}
		for _, id := range v.in.Matters {
			v.wantMatters[id] = true
		}
		if err := v.st.eachMatter(v.ctx, func(rec *extract.MatterRecord) error {
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
	return each(v.ctx, v.st, extract.KindClients, func(c *pp.Client) error {
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

// check compares one expected record with the record Pipedrive holds.
// For a link only the fields the migration filled are the migration's.
func (v *verifier) check(kind string, x expected, got any) {
	k := v.kind(kind)
	k.Found++
	before := len(v.rep.Mismatches)
	var want any
	_ = json.Unmarshal(x.want, &want)
	if !x.link {
		v.compare(x.key, "", want, toJSON(got))
	} else if len(x.filled) > 0 {
		var filled map[string]any
		_ = json.Unmarshal(x.filled, &filled)
		w, _ := want.(map[string]any)
		g, _ := toJSON(got).(map[string]any)
		for field := range filled {
			v.compare(x.key, field, w[field], g[field])
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

// run checks every kind in dependency order, a kind at a time.
func (v *verifier) run() error {
	passes := []func() error{v.persons, v.deals, v.activities, v.notes, v.files}
	if v.wantMatters == nil { // a sample's organizations are not checked
		passes = append([]func() error{v.organizations}, passes...)
	}
	for _, pass := range passes {
		if err := pass(); err != nil {
			return err
		}
	}
	return nil
}

// check fills p from the staged export, then meets it with the kind's
// listing (named by what, for its error) and counts what never came.
func (p *pending) check(what string, fill, list func() error) error {
	if err := fill(); err != nil {
		return err
	}
	if err := list(); err != nil {
		return fromPipedrive("verify: list "+what, err)
	}
	p.done()
	return nil
}

// organizations checks the organisations.
func (v *verifier) organizations() error {
	p := v.pending("organization")
	return p.check("organizations", func() error {
		return each(v.ctx, v.st, extract.KindOrganisations, func(o *pp.Organisation) error {
			want, _, err := v.m.Organisation(*o)
			if err != nil {
				return err
			}
			_, err = p.expect(OrganisationKey(o.ID), want)
			return err
		})
	}, func() error {
		return v.e.Pipedrive.ListOrganizations(v.ctx, pipedrive.ListOptions{}, func(got pipedrive.Organization) error {
			p.meet(got.ID, got)
			return nil
		})
	})
}

// persons checks the clients and the referrers.
func (v *verifier) persons() error {
	p := v.pending("person")
	expect := func(key string, want pipedrive.PersonInput) error {
		if ok, err := p.expect(key, want); !ok || err != nil {
			return err
		}
		v.complete("person.email", len(want.Emails) > 0, false)
		v.complete("person.phone", len(want.Phones) > 0, false)
		return nil
	}
	return p.check("persons", func() error {
		if err := each(v.ctx, v.st, extract.KindClients, func(c *pp.Client) error {
			key := ClientKey(c.ID)
			if !v.wantPerson(key) {
				return nil
			}
			orgID, _ := v.refs.Organization(OrganisationKey(c.OrganisationID))
			want, _, err := v.m.Client(*c, orgID)
			if err != nil {
				return err
			}
			return expect(key, want)
		}); err != nil {
			return err
		}
		return each(v.ctx, v.st, extract.KindReferrers, func(r *pp.Referrer) error {
			key := ReferrerKey(r.ID)
			if !v.wantPerson(key) {
				return nil
			}
			orgID, _ := v.refs.Organization(ReferrerFirmKey(r.CompanyName))
			want, _, err := v.m.Referrer(*r, orgID)
			if err != nil {
				return err
			}
			return expect(key, want)
		})
	}, func() error {
		return v.e.Pipedrive.ListPersons(v.ctx, pipedrive.ListOptions{}, func(got pipedrive.Person) error {
			for range p.meet(got.ID, got) {
				v.complete("person.email", false, len(got.Emails) > 0)
				v.complete("person.phone", false, len(got.Phones) > 0)
			}
			return nil
		})
	})
}

// deals checks the matters' deals and keeps the written ones' ids for the
// passes after it: a matter whose deal was not written has its
// activities, notes and files counted with it, as missing.
func (v *verifier) deals() error {
	p := v.pending("deal")
	v.dealIDs = map[string]int{}
	return p.check("deals", func() error {
		return v.st.eachMatter(v.ctx, func(rec *extract.MatterRecord) error {
			if v.wantMatters != nil && !v.wantMatters[rec.Matter.ID] {
				return nil
			}
			key := MatterKey(rec.Matter.ID)
			e, ok := v.written("deal", key)
			if !ok {
				return nil
			}
			v.dealIDs[rec.Matter.ID] = int(e.TargetID)
			want, _, err := v.m.Deal(*rec, v.refs)
			if err != nil {
				return err
			}
			v.complete("deal.value", want.Value != nil, false)
			return p.add(key, e, want)
		})
	}, func() error {
		return v.e.Pipedrive.ListDeals(v.ctx, pipedrive.DealListOptions{}, func(got pipedrive.Deal) error {
			for range p.meet(got.ID, got) {
				v.complete("deal.value", false, got.Value != 0)
			}
			return nil
		})
	})
}

// eachDeal calls fn with every checked matter whose deal was written, and
// the deal's id.
func (v *verifier) eachDeal(fn func(rec *extract.MatterRecord, dealID int) error) error {
	return v.st.eachMatter(v.ctx, func(rec *extract.MatterRecord) error {
		if dealID, ok := v.dealIDs[rec.Matter.ID]; ok {
			return fn(rec, dealID)
		}
		return nil
	})
}

// eachActivity calls fn with every activity row of the checked matters
// that became a note (notes) or did not (!notes) and whose record the
// ledger has written (an unwritten one is counted missing), with its
// ledger key and entry and its deal's id.
func (v *verifier) eachActivity(p *pending, notes bool, fn func(a pp.Activity, key string, e ledger.Entry, dealID int) error) error {
	return v.eachDeal(func(rec *extract.MatterRecord, dealID int) error {
		for _, a := range rec.Activities {
			if transform.IsNote(a) != notes {
				continue
			}
			key := ActivityKey(a.ID)
			e, ok := v.written(p.kind, key)
			if !ok {
				continue
			}
			if err := fn(a, key, e, dealID); err != nil {
				return err
			}
		}
		return nil
	})
}

// activities checks the matters' activities that are not notes.
func (v *verifier) activities() error {
	p := v.pending("activity")
	return p.check("activities", func() error {
		return v.eachActivity(p, false, func(a pp.Activity, key string, e ledger.Entry, dealID int) error {
			want, _, err := v.m.Activity(a, dealID, v.refs)
			if err != nil {
				return err
			}
			want.Note = ""
			return p.add(key, e, want)
		})
	}, func() error {
		return v.e.Pipedrive.ListActivities(v.ctx, pipedrive.ActivityListOptions{}, func(got pipedrive.Activity) error {
			// Pipedrive answers due_time with seconds; the payload has none.
			if len(got.DueTime) > 5 {
				got.DueTime = got.DueTime[:5]
			}
			if len(got.Duration) > 5 {
				got.Duration = got.Duration[:5]
			}
			p.meet(got.ID, got)
			return nil
		})
	})
}

// notes checks the matters' activities that became notes.
func (v *verifier) notes() error {
	p := v.pending("note")
	return p.check("notes", func() error {
		return v.eachActivity(p, true, func(a pp.Activity, key string, e ledger.Entry, dealID int) error {
			want, _ := v.m.Note(a, dealID, v.refs)
			return p.add(key, e, noteView(want.Content, want.DealID, want.AddTime))
		})
	}, func() error {
		return v.e.Pipedrive.ListNotes(v.ctx, pipedrive.NoteListOptions{}, func(got pipedrive.Note) error {
			p.meet(got.ID, noteView(got.Content, got.DealID, got.AddTime.Time))
			return nil
		})
	})
}

// files checks that each matter's documents are attached to its deal.
func (v *verifier) files() error {
	p := v.pending("file")
	return p.check("files", func() error {
		return v.eachDeal(func(rec *extract.MatterRecord, dealID int) error {
			for _, d := range rec.Documents {
				if _, err := p.expect(DocumentKey(d.ID, 1), map[string]any{"deal_id": dealID}); err != nil {
					return err
				}
			}
			return nil
		})
	}, func() error {
		return v.e.Pipedrive.ListFiles(v.ctx, pipedrive.ListOptions{}, func(got pipedrive.File) error {
			p.meet(got.ID, got)
			return nil
		})
	})
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
