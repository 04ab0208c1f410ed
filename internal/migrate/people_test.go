package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pdindex"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

// peopleEnv is a test environment on a staged messy sample export with
// the schema applied and the owners resolved.
type peopleEnv struct {
	*testEnv
	orgs      []pp.Organisation
	clients   []pp.Client
	referrers []pp.Referrer
	logs      *bytes.Buffer
}

func newPeopleEnv(t *testing.T, matters int) *peopleEnv {
	t.Helper()
	ctx := context.Background()
	env := newTestEnv(t, envOptions{matters: matters})
	env.manifest = peopleStageMessy(t, env, matters)
	logs := &bytes.Buffer{}
	env.Log = slog.New(slog.NewTextHandler(logs, nil))
	if _, err := env.Schema(ctx, SchemaInput{MigrationID: testMigration, Run: "schema", Manifest: env.manifest, Apply: true}); err != nil {
		t.Fatalf("Schema: %v", err)
	}
	if _, err := env.ResolveOwners(ctx, OwnersInput{MigrationID: testMigration, Manifest: env.manifest}); err != nil {
		t.Fatalf("ResolveOwners: %v", err)
	}
	pe := &peopleEnv{testEnv: env, logs: logs}
	st, err := openStaged(ctx, env.store, env.manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := each(ctx, st, extract.KindOrganisations, func(o *pp.Organisation) error { pe.orgs = append(pe.orgs, *o); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := each(ctx, st, extract.KindClients, func(c *pp.Client) error { pe.clients = append(pe.clients, *c); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := each(ctx, st, extract.KindReferrers, func(r *pp.Referrer) error { pe.referrers = append(pe.referrers, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(pe.orgs) == 0 || len(pe.clients) == 0 || len(pe.referrers) == 0 {
		t.Fatalf("staged %d organisations, %d clients, %d referrers; want some of each", len(pe.orgs), len(pe.clients), len(pe.referrers))
	}
	return pe
}

// peopleStageMessy stages a messy sample export in place of the clean one.
func peopleStageMessy(t *testing.T, env *testEnv, matters int) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "messy")
	if _, err := sampleexport.Write(dir, sampleexport.Options{Matters: matters, Seed: 7, Messy: true, LargeDocuments: -1}); err != nil {
		t.Fatalf("sampleexport.Write: %v", err)
	}
	b, err := pp.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open bundle: %v", err)
	}
	defer b.Close()
	prefix := extract.StagePrefix(testMigration)
	if _, err := extract.Run(ctx, b, extract.Options{Config: env.Config, Stage: env.store, StagePrefix: prefix}); err != nil {
		t.Fatalf("extract.Run: %v", err)
	}
	return prefix + extract.StageManifestName
}

// peopleSteps are the people load's inputs for every chunk, in the order
// the workflow runs them.
func (pe *peopleEnv) peopleSteps(t *testing.T, apply bool, matters []string) []LoadInput {
	t.Helper()
	st, err := openStaged(context.Background(), pe.store, pe.manifest)
	if err != nil {
		t.Fatal(err)
	}
	var out []LoadInput
	for _, s := range []struct{ kind, source string }{
		{LoadOrganisations, extract.KindOrganisations}, {LoadOrganisations, extract.KindReferrers},
		{LoadPersons, extract.KindClients}, {LoadPersons, extract.KindReferrers},
	} {
		for i := range st.manifest.Kinds[s.source].Chunks {
			out = append(out, LoadInput{MigrationID: testMigration, Run: "r1", Manifest: pe.manifest, Kind: s.kind,
				Source: s.source, Chunk: i, Apply: apply, Matters: matters})
		}
	}
	return out
}

// runPeople runs every step, stopping at the first error.
func (pe *peopleEnv) runPeople(t *testing.T, apply bool, matters []string) ([]LoadOutput, error) {
	t.Helper()
	var outs []LoadOutput
	for _, in := range pe.peopleSteps(t, apply, matters) {
		out, err := pe.LoadPeople(context.Background(), in)
		if err != nil {
			return outs, err
		}
		outs = append(outs, out)
	}
	return outs, nil
}

func (pe *peopleEnv) planOps(t *testing.T, key string) []PlannedOp {
	t.Helper()
	data := pe.getJSON(t, key, nil)
	var ops []PlannedOp
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var op PlannedOp
		if err := json.Unmarshal(line, &op); err != nil {
			t.Fatalf("plan %s: %v", key, err)
		}
		ops = append(ops, op)
	}
	return ops
}

// peopleTotals sums the outputs of one kind.
func peopleTotals(outs []LoadOutput, kind string) LoadOutput {
	var sum LoadOutput
	for _, o := range outs {
		if o.Kind != kind {
			continue
		}
		sum.Planned += o.Planned
		sum.Created += o.Created
		sum.Updated += o.Updated
		sum.Linked += o.Linked
		sum.Skipped += o.Skipped
		sum.Failed += o.Failed
		sum.Flags += o.Flags
	}
	return sum
}

// peopleLive returns the live entities of a kind in a snapshot.
func peopleLive(st sandbox.State, kind string) []*sandbox.Entity {
	var out []*sandbox.Entity
	for _, e := range st.Items[kind] {
		if !e.Deleted {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// peopleBySource counts, per Perfect Portal id, the live entities of a
// kind that carry it.
func peopleBySource(st sandbox.State, kind, key string) map[string]int {
	out := map[string]int{}
	for _, e := range peopleLive(st, kind) {
		s, _ := e.Custom[key].(string)
		for _, id := range strings.Split(s, ";") {
			if id = strings.TrimSpace(id); id != "" {
				out[id]++
			}
		}
	}
	return out
}

func (pe *peopleEnv) sourceKeys(t *testing.T) (person, org string) {
	t.Helper()
	sm, err := LoadSchemaMap(context.Background(), pe.store, testMigration)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := sm.Field("person", "source_id")
	o, _ := sm.Field("organization", "source_id")
	return p.Key, o.Key
}

// firms are the distinct referrers' firms, by normalised name.
func (pe *peopleEnv) firms() map[string]bool {
	out := map[string]bool{}
	for _, r := range pe.referrers {
		if n := pdindex.NormalizeOrgName(r.CompanyName); n != "" {
			out[n] = true
		}
	}
	return out
}

func searches(m sandbox.Meter) int {
	n := 0
	for ep, c := range m.TokensByEndpoint {
		if strings.Contains(ep, "/search") {
			n += c
		}
	}
	return n
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestLoadPeoplePlan(t *testing.T) {
	pe := newPeopleEnv(t, 30)
	before := writes(pe.sb.Meter())
	outs, err := pe.runPeople(t, false, nil)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	m := pe.sb.Meter()
	if got := writes(m); !sameCounts(got, before) {
		t.Errorf("plan mode wrote to Pipedrive: writes %v, before %v", got, before)
	}
	if n := searches(m); n != 0 {
		t.Errorf("plan mode spent %d tokens on searches; want none", n)
	}
	for _, e := range pe.entries(t) {
		if !strings.HasPrefix(e.Key, "schema/") {
			t.Errorf("plan mode wrote ledger entry %s", e.Key)
		}
	}

	st, _ := openStaged(context.Background(), pe.store, pe.manifest)
	for _, out := range outs {
		ops := pe.planOps(t, out.Plan)
		if len(ops) != out.Planned {
			t.Errorf("%s: %d ops in the plan, output says %d", out.Plan, len(ops), out.Planned)
		}
		want := st.manifest.Kinds[out.Source].Chunks[out.Chunk].Records
		if out.Kind == LoadOrganisations && out.Source == extract.KindReferrers {
			want = len(pe.firms()) // one chunk in this sample
		}
		if out.Planned != want {
			t.Errorf("%s/%s chunk %d: planned %d; want one op per record, %d", out.Kind, out.Source, out.Chunk, out.Planned, want)
		}
		if out.Created+out.Linked+out.Updated+out.Failed != 0 {
			t.Errorf("plan mode output counts writes: %+v", out)
		}
		for _, op := range ops {
			switch op.Op {
			case PlanCreate:
				if op.Payload == nil || len(op.Changes) == 0 {
					t.Errorf("%s: create without payload or diff", op.Key)
				}
			case PlanLink:
			default:
				t.Errorf("%s: op %q in a fresh plan", op.Key, op.Op)
			}
		}
	}
	noEmail := 0
	for _, c := range pe.clients {
		if c.Email == "" {
			noEmail++
		}
	}
	flagged := 0
	for _, out := range outs {
		for _, op := range pe.planOps(t, out.Plan) {
			if strings.Contains(op.Flag, peopleFlagNoEmail) {
				flagged++
			}
		}
	}
	if flagged != noEmail {
		t.Errorf("%d clients flagged %s; %d have no email", flagged, peopleFlagNoEmail, noEmail)
	}
}

func TestLoadPeopleApply(t *testing.T) {
	ctx := context.Background()
	pe := newPeopleEnv(t, 30)
	personKey, orgKey := pe.sourceKeys(t)

	// Persons the firm already has: one with a client's email in upper
	// case, two sharing another client's email; an organization whose name
	// differs from a client organisation's only in case.
	var withEmail []pp.Client
	for _, c := range pe.clients {
		if c.Email != "" && len(c.MergedIDs) == 0 {
			withEmail = append(withEmail, c)
		}
	}
	a, b := withEmail[0], withEmail[1]
	pre := func(email string) pipedrive.Person {
		p, err := pe.Pipedrive.CreatePerson(ctx, pipedrive.PersonInput{Name: "Existing Person",
			Emails: []pipedrive.ContactValue{{Value: strings.ToUpper(email), Primary: true}},
			Phones: []pipedrive.ContactValue{{Value: "+44 20 7946 0000", Primary: true}}})
		if err != nil {
			t.Fatalf("create existing person: %v", err)
		}
		return p
	}
	pa, pb1, pb2 := pre(a.Email), pre(b.Email), pre(b.Email)
	org := pe.orgs[0]
	po, err := pe.Pipedrive.CreateOrganization(ctx, pipedrive.OrganizationInput{Name: strings.ToUpper(org.Name)})
	if err != nil {
		t.Fatalf("create existing organization: %v", err)
	}

	outs, err := pe.runPeople(t, true, nil)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	persons, orgs := peopleTotals(outs, LoadPersons), peopleTotals(outs, LoadOrganisations)
	if persons.Failed+orgs.Failed != 0 {
		t.Errorf("failed: %d persons, %d organizations", persons.Failed, orgs.Failed)
	}
	if got, want := persons.Planned, len(pe.clients)+len(pe.referrers); got != want {
		t.Errorf("persons planned %d; want %d", got, want)
	}
	if got, want := orgs.Planned, len(pe.orgs)+len(pe.firms()); got != want {
		t.Errorf("organizations planned %d; want %d", got, want)
	}
	if persons.Linked < 2 || orgs.Linked < 1 {
		t.Errorf("linked %d persons, %d organizations; want the existing ones linked", persons.Linked, orgs.Linked)
	}
	if persons.Created+persons.Linked != persons.Planned || orgs.Created+orgs.Linked != orgs.Planned {
		t.Errorf("persons %+v, organizations %+v: every record created or linked", persons, orgs)
	}

	snap := pe.sb.Snapshot()
	if got, want := len(peopleLive(snap, "persons")), 3+persons.Created; got != want {
		t.Errorf("%d persons in Pipedrive; want 3 existing + %d created", got, persons.Created)
	}
	if got, want := len(peopleLive(snap, "organizations")), 1+orgs.Created; got != want {
		t.Errorf("%d organizations in Pipedrive; want 1 existing + %d created", got, orgs.Created)
	}
	bySource := peopleBySource(snap, "persons", personKey)
	for _, c := range pe.clients {
		if bySource[c.ID] != 1 {
			t.Errorf("client %s is on %d persons; want 1", c.ID, bySource[c.ID])
		}
	}
	orgsBySource := peopleBySource(snap, "organizations", orgKey)
	for _, o := range pe.orgs {
		if orgsBySource[o.ID] != 1 {
			t.Errorf("organisation %s is on %d organizations; want 1", o.ID, orgsBySource[o.ID])
		}
	}
	// One person per email: no two live persons share one.
	emails := map[string]int{}
	for _, p := range peopleLive(snap, "persons") {
		list, _ := p.Attrs["emails"].([]any)
		for _, e := range list {
			v, _ := e.(map[string]any)["value"].(string)
			emails[pp.NormalizeEmail(v)]++
		}
	}
	for e, n := range emails {
		if n > 1 && e != pp.NormalizeEmail(b.Email) {
			t.Errorf("%d persons share an email", n)
		}
	}
	for _, en := range pe.entries(t) {
		if en.Status != ledger.StatusWritten {
			t.Errorf("ledger %s is %s", en.Key, en.Status)
		}
	}

	// The linked person keeps its name and phone; its empty Perfect Portal
	// ID is filled and recorded as empty in Previous.
	ea, err := pe.ledger.Get(ctx, testMigration, ClientKey(a.ID))
	if err != nil || ea.Op != ledger.OpLink || ea.TargetID != int64(pa.ID) {
		t.Fatalf("client a's entry = %+v, %v; want a link to %d", ea, err, pa.ID)
	}
	got := snap.Items["persons"][pa.ID]
	if got.Attrs["name"] != "Existing Person" {
		t.Errorf("linked person's name became %v", got.Attrs["name"])
	}
	if ph, _ := got.Attrs["phones"].([]any); len(ph) != 1 || ph[0].(map[string]any)["value"] != "+44 20 7946 0000" {
		t.Errorf("linked person's phones = %v; want the existing one kept", got.Attrs["phones"])
	}
	if got.Custom[personKey] != a.ID {
		t.Errorf("linked person's Perfect Portal ID = %v; want %s", got.Custom[personKey], a.ID)
	}
	var prev map[string]any
	if err := json.Unmarshal(ea.Previous, &prev); err != nil {
		t.Fatalf("Previous %s: %v", ea.Previous, err)
	}
	cf, _ := prev["custom_fields"].(map[string]any)
	if v, ok := cf[personKey]; !ok || v != nil {
		t.Errorf("Previous = %s; want the Perfect Portal ID recorded as null", ea.Previous)
	}
	if _, ok := prev["phones"]; ok {
		t.Errorf("Previous = %s names phones, which the person had", ea.Previous)
	}
	if _, ok := prev["name"]; ok {
		t.Errorf("Previous = %s names the name, which the person had", ea.Previous)
	}
	if !a.Address.IsZero() {
		if v, ok := prev["postal_address"]; !ok || v != nil {
			t.Errorf("Previous = %s; want the empty postal address recorded", ea.Previous)
		}
		if pa, _ := got.Attrs["postal_address"].(map[string]any); pa == nil || pa["value"] == "" {
			t.Errorf("linked person's postal address not filled: %v", got.Attrs["postal_address"])
		}
	}

	// Two persons share b's email: the oldest is linked, and flagged.
	eb, _ := pe.ledger.Get(ctx, testMigration, ClientKey(b.ID))
	if eb.Op != ledger.OpLink || eb.TargetID != int64(min(pb1.ID, pb2.ID)) {
		t.Errorf("client b's entry = %+v; want a link to the oldest, %d", eb, min(pb1.ID, pb2.ID))
	}
	flagged := false
	for _, out := range outs {
		for _, op := range pe.planOps(t, out.Plan) {
			if op.Key == ClientKey(b.ID) {
				flagged = strings.Contains(op.Flag, peopleFlagSharedEmail)
			}
		}
	}
	if !flagged {
		t.Errorf("client b's op not flagged %s", peopleFlagSharedEmail)
	}
	eo, _ := pe.ledger.Get(ctx, testMigration, OrganisationKey(org.ID))
	if eo.Op != ledger.OpLink || eo.TargetID != int64(po.ID) {
		t.Errorf("organisation's entry = %+v; want a link to %d", eo, po.ID)
	}
	if name := snap.Items["organizations"][po.ID].Attrs["name"]; name != strings.ToUpper(org.Name) {
		t.Errorf("linked organization's name became %v", name)
	}

	// Clients are on their organisation; referrers on their firm.
	for _, c := range pe.clients {
		if c.OrganisationID == "" {
			continue
		}
		e, _ := pe.ledger.Get(ctx, testMigration, ClientKey(c.ID))
		o, _ := pe.ledger.Get(ctx, testMigration, OrganisationKey(c.OrganisationID))
		if e.Op == ledger.OpCreate && attrInt(snap.Items["persons"][int(e.TargetID)], "org_id") != int(o.TargetID) {
			t.Errorf("client %s's person is not on organization %d", c.ID, o.TargetID)
		}
	}
	if m := pe.sb.Meter(); searches(m) != 0 {
		t.Errorf("searched %d tokens' worth; want prefetch only", searches(m))
	}
	if strings.Contains(pe.logs.String(), "@") {
		t.Errorf("log lines carry an email:\n%s", pe.logs.String())
	}

	// Again: nothing changes, nothing is listed.
	before := pe.sb.Meter()
	outs, err = pe.runPeople(t, true, nil)
	if err != nil {
		t.Fatalf("apply again: %v", err)
	}
	for _, out := range outs {
		if out.Skipped != out.Planned || out.Created+out.Linked+out.Failed != 0 {
			t.Errorf("second apply %s/%s %d: %+v; want all skipped", out.Kind, out.Source, out.Chunk, out)
		}
	}
	after := pe.sb.Meter()
	if after.Requests != before.Requests {
		t.Errorf("second apply sent %d requests; want none", after.Requests-before.Requests)
	}

	// A link interrupted after its fill was applied: the retry keeps the
	// Previous of the first attempt, though the person is no longer empty.
	ea.Status = ledger.StatusPending
	if err := pe.ledger.Update(ctx, ledger.StatusWritten, ea); err != nil {
		t.Fatal(err)
	}
	in := LoadInput{MigrationID: testMigration, Run: "r2", Manifest: pe.manifest, Kind: LoadPersons, Source: extract.KindClients, Apply: true}
	if out, err := pe.LoadPeople(ctx, in); err != nil || out.Linked != 1 {
		t.Fatalf("resume link: %+v, %v; want one link", out, err)
	}
	again, _ := pe.ledger.Get(ctx, testMigration, ClientKey(a.ID))
	if again.Status != ledger.StatusWritten || again.Op != ledger.OpLink || !bytes.Equal(again.Previous, ea.Previous) {
		t.Errorf("resumed link entry = %+v; want written with Previous %s", again, ea.Previous)
	}
	if n := len(peopleLive(pe.sb.Snapshot(), "persons")); n != 3+persons.Created {
		t.Errorf("%d persons after resuming the link; want %d", n, 3+persons.Created)
	}
}

func TestLoadPeopleCrash(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{1, 4, 9, 20, 35} {
		t.Run(fmt.Sprintf("after %d writes", n), func(t *testing.T) {
			pe := newPeopleEnv(t, 20)
			personKey, orgKey := pe.sourceKeys(t)
			if err := pe.sb.SetFaults(sandbox.Faults{FailAfterWrites: n}); err != nil {
				t.Fatal(err)
			}
			_, err := pe.runPeople(t, true, nil)
			var unknown *pipedrive.OutcomeUnknownError
			if !errors.As(err, &unknown) {
				t.Fatalf("first run: %v; want *pipedrive.OutcomeUnknownError", err)
			}
			if _, err := pe.runPeople(t, true, nil); err != nil {
				t.Fatalf("second run: %v", err)
			}
			snap := pe.sb.Snapshot()
			bySource := peopleBySource(snap, "persons", personKey)
			for _, c := range pe.clients {
				if bySource[c.ID] != 1 {
					t.Errorf("client %s is on %d persons; want 1", c.ID, bySource[c.ID])
				}
			}
			creates := map[string]int{}
			for _, e := range pe.entries(t) {
				if e.Status != ledger.StatusWritten {
					t.Errorf("ledger %s is %s", e.Key, e.Status)
				}
				if e.Op == ledger.OpCreate {
					creates[e.TargetKind]++
				}
				if e.SourceKind == peopleSourceReferrer && e.Op == ledger.OpCreate && bySource[e.SourceID] != 1 {
					t.Errorf("referrer %s is on %d persons; want 1", e.SourceID, bySource[e.SourceID])
				}
			}
			for _, r := range pe.referrers {
				if _, err := Written(ctx, pe.ledger, testMigration, ReferrerKey(r.ID)); err != nil {
					t.Errorf("referrer %s: %v", r.ID, err)
				}
			}
			orgsBySource := peopleBySource(snap, "organizations", orgKey)
			for _, o := range pe.orgs {
				if orgsBySource[o.ID] != 1 {
					t.Errorf("organisation %s is on %d organizations; want 1", o.ID, orgsBySource[o.ID])
				}
			}
			if got := len(peopleLive(snap, "persons")); got != creates["person"] {
				t.Errorf("%d persons in Pipedrive; the ledger created %d", got, creates["person"])
			}
			if got := len(peopleLive(snap, "organizations")); got != creates["organization"] {
				t.Errorf("%d organizations in Pipedrive; the ledger created %d", got, creates["organization"])
			}
			names := map[string]int{}
			for _, o := range peopleLive(snap, "organizations") {
				names[pdindex.NormalizeOrgName(o.Attrs["name"].(string))]++
			}
			for f := range pe.firms() {
				if names[f] != 1 {
					t.Errorf("a referrers' firm is on %d organizations; want 1", names[f])
				}
			}
		})
	}
}

func TestLoadPeopleSample(t *testing.T) {
	pe := newPeopleEnv(t, 30)
	matters := pe.stagedMatters(t)
	sample := []string{matters[0].Matter.ID, matters[3].Matter.ID, matters[7].Matter.ID}
	want := map[string]bool{}
	clientOrg := map[string]string{}
	for _, c := range pe.clients {
		clientOrg[c.ID] = c.OrganisationID
	}
	referrerFirm := map[string]string{}
	for _, r := range pe.referrers {
		referrerFirm[r.ID] = r.CompanyName
	}
	for _, m := range matters {
		if m.Matter.ID != sample[0] && m.Matter.ID != sample[1] && m.Matter.ID != sample[2] {
			continue
		}
		for _, c := range m.Clients {
			want[ClientKey(c.ClientID)] = true
			if o := clientOrg[c.ClientID]; o != "" {
				want[OrganisationKey(o)] = true
			}
		}
		for _, r := range m.Referrers {
			want[ReferrerKey(r.ReferrerID)] = true
			if f := referrerFirm[r.ReferrerID]; pdindex.NormalizeOrgName(f) != "" {
				want[ReferrerFirmKey(f)] = true
			}
		}
	}
	if _, err := pe.runPeople(t, true, sample); err != nil {
		t.Fatalf("apply sample: %v", err)
	}
	got := map[string]bool{}
	for _, e := range pe.entries(t) {
		if !strings.HasPrefix(e.Key, "schema/") {
			got[e.Key] = true
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("sample lacks %s", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("sample loaded %s, which its matters do not need", k)
		}
	}
	if len(want) == 0 {
		t.Fatal("the sample needs nobody")
	}
}

func TestLoadPeopleRejected(t *testing.T) {
	ctx := context.Background()
	pe := newPeopleEnv(t, 20)
	// A Perfect Portal ID field the account does not have: every person
	// is refused.
	var sm SchemaMap
	pe.getJSON(t, Prefix(testMigration)+SchemaName, &sm)
	f := sm.Fields["person"]["source_id"]
	f.Key = strings.Repeat("ab", 20)
	sm.Fields["person"]["source_id"] = f
	if err := pe.putJSON(ctx, Prefix(testMigration)+SchemaName, &sm); err != nil {
		t.Fatal(err)
	}
	in := LoadInput{MigrationID: testMigration, Run: "r1", Manifest: pe.manifest, Kind: LoadPersons, Source: extract.KindClients, Apply: true}
	for range 2 {
		out, err := pe.LoadPeople(ctx, in)
		if err != nil {
			t.Fatalf("LoadPeople: %v; want refusals counted, not returned", err)
		}
		if out.Failed == 0 || out.Failed != out.Planned || out.Created != 0 {
			t.Errorf("output %+v; want every record failed", out)
		}
		for _, op := range pe.planOps(t, out.Plan) {
			if !strings.Contains(op.Flag, peopleFlagRejected) {
				t.Errorf("%s: flag %q; want %s", op.Key, op.Flag, peopleFlagRejected)
			}
		}
		for _, e := range pe.entries(t) {
			if strings.HasPrefix(e.Key, "client/") && e.Status != ledger.StatusAbandoned {
				t.Errorf("%s is %s; want abandoned", e.Key, e.Status)
			}
		}
	}
	if n := len(peopleLive(pe.sb.Snapshot(), "persons")); n != 0 {
		t.Errorf("%d persons created", n)
	}
}

func TestLoadPeopleInputErrors(t *testing.T) {
	ctx := context.Background()
	pe := newPeopleEnv(t, 10)
	base := LoadInput{MigrationID: testMigration, Run: "r1", Manifest: pe.manifest, Kind: LoadPersons, Source: extract.KindClients}
	tests := []struct {
		name string
		edit func(*LoadInput)
	}{
		{"persons from organisations", func(in *LoadInput) { in.Source = extract.KindOrganisations }},
		{"organisations from clients", func(in *LoadInput) { in.Kind, in.Source = LoadOrganisations, extract.KindClients }},
		{"deals", func(in *LoadInput) { in.Kind = LoadDeals }},
		{"chunk past the end", func(in *LoadInput) { in.Chunk = 99 }},
		{"negative chunk", func(in *LoadInput) { in.Chunk = -1 }},
		{"no schema", func(in *LoadInput) { in.MigrationID = "other" }},
		{"bad manifest", func(in *LoadInput) { in.Manifest = "nope/manifest.json" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			tt.edit(&in)
			_, err := pe.LoadPeople(ctx, in)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Errorf("err = %v; want *InputError", err)
			}
		})
	}
}
