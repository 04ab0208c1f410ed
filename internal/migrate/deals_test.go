package migrate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
	"github.com/conveyor-migrate/conveyor/internal/transform"
)

// dealsLimit is the attachment size limit of the matters load tests: low,
// so that the sample's large documents take the zip and the split paths.
const (
	dealsLimit      = 1 << 20
	dealsLargeBytes = 3 << 20
)

// dealsEnv is a test environment for the matters load steps: a messy
// sample export with large documents staged in chunks of a few matters,
// its bundle open, the schema applied, owners resolved and the people
// written (with ledger entries, as the people steps leave them).
type dealsEnv struct {
	*testEnv
	bundle *pp.Bundle
	chunks int
	logs   *bytes.Buffer
	// run is the last load's run, whose plans plan reads.
	run string
}

func newDealsEnv(t *testing.T) *dealsEnv {
	t.Helper()
	ctx := context.Background()
	cfg := mustConfig(t, "version: 1\npolicies:\n  attachment_size_limit: 1MB\nstaging:\n  chunk_matters: 7\n")
	env := newTestEnv(t, envOptions{cfg: cfg, matters: 20})

	dir := filepath.Join(t.TempDir(), "export")
	if _, err := sampleexport.Write(dir, sampleexport.Options{Matters: 20, Seed: 3, Messy: true, LargeDocuments: 2, LargeDocumentBytes: dealsLargeBytes}); err != nil {
		t.Fatalf("sampleexport.Write: %v", err)
	}
	b, err := pp.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open bundle: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	prefix := "staged-messy/"
	if _, err := extract.Run(ctx, b, extract.Options{Config: cfg, Stage: env.store, StagePrefix: prefix}); err != nil {
		t.Fatalf("extract.Run: %v", err)
	}
	env.manifest = prefix + extract.StageManifestName
	st, err := openStaged(ctx, env.store, env.manifest)
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	env.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := &dealsEnv{testEnv: env, bundle: b, chunks: len(st.manifest.Kinds[extract.KindMatters].Chunks), logs: logs}
	if d.chunks < 2 {
		t.Fatalf("the sample has %d matters chunks; want several", d.chunks)
	}

	if _, err := env.Schema(ctx, SchemaInput{MigrationID: testMigration, Run: "r1", Manifest: env.manifest, Apply: true}); err != nil {
		t.Fatalf("Schema: %v", err)
	}
	if _, err := env.ResolveOwners(ctx, OwnersInput{MigrationID: testMigration, Manifest: env.manifest}); err != nil {
		t.Fatalf("ResolveOwners: %v", err)
	}
	d.writePeople(t, st)
	return d
}

// writePeople runs the people steps over every chunk: organisations,
// referrers' firms, then clients and referrers.
func (d *dealsEnv) writePeople(t *testing.T, st *staged) {
	t.Helper()
	ctx := context.Background()
	for _, step := range []struct{ kind, source string }{
		{LoadOrganisations, extract.KindOrganisations}, {LoadOrganisations, extract.KindReferrers},
		{LoadPersons, extract.KindClients}, {LoadPersons, extract.KindReferrers},
	} {
		for c := range st.manifest.Kinds[step.source].Chunks {
			in := LoadInput{MigrationID: testMigration, Run: "people", Manifest: d.manifest, Kind: step.kind, Source: step.source, Chunk: c, Apply: true}
			out, err := d.LoadPeople(ctx, in)
			if err != nil {
				t.Fatalf("LoadPeople %s from %s chunk %d: %v", step.kind, step.source, c, err)
			}
			if out.Failed != 0 {
				t.Fatalf("LoadPeople %s from %s chunk %d: %+v", step.kind, step.source, c, out)
			}
		}
	}
}

// dealsStep is one of the three matters load steps.
type dealsStep struct {
	kind string
	run  func(context.Context, *dealsEnv, LoadInput) (LoadOutput, error)
}

var (
	dealsStepDeals      = dealsStep{LoadDeals, func(ctx context.Context, d *dealsEnv, in LoadInput) (LoadOutput, error) { return d.LoadDeals(ctx, in) }}
	dealsStepActivities = dealsStep{LoadActivities, func(ctx context.Context, d *dealsEnv, in LoadInput) (LoadOutput, error) {
		return d.LoadActivities(ctx, in)
	}}
	dealsStepDocuments = dealsStep{LoadDocuments, func(ctx context.Context, d *dealsEnv, in LoadInput) (LoadOutput, error) {
		return d.LoadDocuments(ctx, in, d.bundle)
	}}
)

// load runs a step over every chunk; it returns the outputs so far and
// the first error.
func (d *dealsEnv) load(ctx context.Context, s dealsStep, apply bool, run string) ([]LoadOutput, error) {
	var outs []LoadOutput
	d.run = run
	for c := 0; c < d.chunks; c++ {
		in := LoadInput{MigrationID: testMigration, Run: run, Manifest: d.manifest, Kind: s.kind, Source: extract.KindMatters, Chunk: c, Apply: apply}
		out, err := s.run(ctx, d, in)
		if err != nil {
			return outs, err
		}
		outs = append(outs, out)
	}
	return outs, nil
}

func (d *dealsEnv) mustLoad(t *testing.T, s dealsStep, apply bool, run string) LoadOutput {
	t.Helper()
	outs, err := d.load(context.Background(), s, apply, run)
	if err != nil {
		t.Fatalf("load %s (apply %v): %v", s.kind, apply, err)
	}
	var sum LoadOutput
	for _, o := range outs {
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

// plan reads every chunk's plan of a kind.
func (d *dealsEnv) plan(t *testing.T, kind string) []PlannedOp {
	t.Helper()
	var out []PlannedOp
	for c := 0; c < d.chunks; c++ {
		data := d.getJSON(t, PlanKey(testMigration, d.run, kind, extract.KindMatters, c), nil)
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var op PlannedOp
			if err := json.Unmarshal(sc.Bytes(), &op); err != nil {
				t.Fatalf("plan line: %v", err)
			}
			out = append(out, op)
		}
	}
	return out
}

// dealsLive returns the sandbox's undeleted items of a kind.
func dealsLive(st sandbox.State, kind string) []*sandbox.Entity {
	var out []*sandbox.Entity
	for _, e := range st.Items[kind] {
		if !e.Deleted {
			out = append(out, e)
		}
	}
	return out
}

// dealsJSONEqual compares two values by their JSON.
func dealsJSONEqual(a, b any) bool {
	var x, y any
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}

// checkLedgerWritten fails on any entry that is not written.
func (d *dealsEnv) checkLedgerWritten(t *testing.T) {
	t.Helper()
	for _, en := range d.entries(t) {
		if en.Status != ledger.StatusWritten {
			t.Errorf("ledger %s is %s", en.Key, en.Status)
		}
	}
}

// checkDeals checks every staged matter against the sandbox: exactly one
// deal carrying its Perfect Portal id, with the mapped fields, and its
// joint clients and referrers as participants.
func (d *dealsEnv) checkDeals(t *testing.T) map[string]int {
	t.Helper()
	ctx := context.Background()
	schema, err := LoadSchemaMap(ctx, d.store, testMigration)
	if err != nil {
		t.Fatal(err)
	}
	owners, err := LoadOwnerMap(ctx, d.store, testMigration)
	if err != nil {
		t.Fatal(err)
	}
	sourceKey := schema.Fields["deal"][transform.FieldSourceID].Key
	st := d.sb.Snapshot()
	bySource := map[string][]*sandbox.Entity{}
	for _, e := range dealsLive(st, "deals") {
		id, _ := e.Custom[sourceKey].(string)
		bySource[id] = append(bySource[id], e)
	}
	st2, err := openStaged(ctx, d.store, d.manifest)
	if err != nil {
		t.Fatal(err)
	}
	orgs := map[string]string{}
	_ = each(ctx, st2, extract.KindClients, func(c *pp.Client) error { orgs[c.ID] = c.OrganisationID; return nil })
	refs := &LedgerRefs{Ledger: d.ledger, Migration: testMigration, Owners: owners, ClientOrgs: orgs, Ctx: ctx}
	mapper := transform.Mapper{Config: d.config(), Schema: TransformSchema(schema)}
	participants := map[int]map[int]bool{}
	for _, p := range dealsLive(st, "participants") {
		deal := attrInt(p, "deal_id")
		if participants[deal] == nil {
			participants[deal] = map[int]bool{}
		}
		participants[deal][attrInt(p, "person_id")] = true
	}
	deals := map[string]int{}
	matters := d.stagedMatters(t)
	for _, rec := range matters {
		got := bySource[rec.Matter.ID]
		if len(got) != 1 {
			t.Errorf("matter %s has %d deals; want 1", rec.Matter.ID, len(got))
			continue
		}
		deal := got[0]
		deals[rec.Matter.ID] = deal.ID
		want, _, err := mapper.Deal(rec, refs)
		if err != nil {
			t.Errorf("matter %s: %v", rec.Matter.ID, err)
			continue
		}
		if attrInt(deal, "pipeline_id") != want.PipelineID || attrInt(deal, "stage_id") != want.StageID ||
			deal.Attrs["status"] != want.Status || deal.Attrs["title"] != want.Title || attrInt(deal, "owner_id") != want.OwnerID {
			t.Errorf("matter %s: deal %v; want pipeline %d stage %d status %s owner %d", rec.Matter.ID, deal.Attrs, want.PipelineID, want.StageID, want.Status, want.OwnerID)
		}
		if want.Value != nil && !dealsJSONEqual(deal.Attrs["value"], *want.Value) {
			t.Errorf("matter %s: value %v; want %v", rec.Matter.ID, deal.Attrs["value"], *want.Value)
		}
		if want.PersonID != 0 && attrInt(deal, "person_id") != want.PersonID {
			t.Errorf("matter %s: person %d; want %d", rec.Matter.ID, attrInt(deal, "person_id"), want.PersonID)
		}
		for k, v := range want.CustomFields {
			if !dealsJSONEqual(deal.Custom[k], v) {
				t.Errorf("matter %s: custom field %s = %v; want %v", rec.Matter.ID, k, deal.Custom[k], v)
			}
		}
		for _, person := range transform.DealPeople(rec) {
			pid, ok := refs.Person(person)
			if !ok {
				t.Errorf("matter %s: %s has no person", rec.Matter.ID, person)
				continue
			}
			if pid != want.PersonID && !participants[deal.ID][pid] {
				t.Errorf("matter %s: %s (person %d) is not a participant of deal %d", rec.Matter.ID, person, pid, deal.ID)
			}
		}
	}
	if len(dealsLive(st, "deals")) != len(matters) {
		t.Errorf("%d deals for %d matters", len(dealsLive(st, "deals")), len(matters))
	}
	return deals
}

// checkActivities checks that every staged activity is on its deal once,
// at its original time: activities due then and done as they were, notes
// added then.
func (d *dealsEnv) checkActivities(t *testing.T, deals map[string]int) {
	t.Helper()
	st := d.sb.Snapshot()
	acts, notes := dealsLive(st, "activities"), dealsLive(st, "notes")
	type key struct {
		deal      int
		what, day string
		clock     string
	}
	count := map[key]int{}
	for _, a := range acts {
		count[key{attrInt(a, "deal_id"), fmt.Sprint(a.Attrs["subject"]), fmt.Sprint(a.Attrs["due_date"]), activitiesClock(fmt.Sprint(a.Attrs["due_time"]))}]++
	}
	for _, n := range notes {
		count[key{attrInt(n, "deal_id"), fmt.Sprint(n.Attrs["content"]), n.AddTime.UTC().Format("2006-01-02 15:04:05"), "note"}]++
	}
	nActs, nNotes := 0, 0
	for _, rec := range d.stagedMatters(t) {
		deal := deals[rec.Matter.ID]
		for _, a := range rec.Activities {
			utc := a.OccurredAt.UTC()
			var k key
			if transform.IsNote(a) {
				nNotes++
				in, _ := transform.Mapper{Config: d.config()}.Note(a, deal, &LedgerRefs{Owners: &OwnerMap{}})
				k = key{deal, in.Content, utc.Format("2006-01-02 15:04:05"), "note"}
			} else {
				nActs++
				subject := a.Subject
				if subject == "" {
					subject = strings.ToUpper(a.Type[:1]) + a.Type[1:]
				}
				k = key{deal, subject, utc.Format("2006-01-02"), utc.Format("15:04")}
			}
			if count[k] < 1 {
				t.Errorf("activity %s (%s) is not on deal %d at %s %s", a.ID, a.Type, deal, k.day, k.clock)
			}
		}
	}
	if len(acts) != nActs || len(notes) != nNotes {
		t.Errorf("%d activities and %d notes in Pipedrive; the export has %d and %d", len(acts), len(notes), nActs, nNotes)
	}
	if nActs == 0 || nNotes == 0 {
		t.Errorf("the sample has %d activities and %d notes", nActs, nNotes)
	}
	for _, a := range acts {
		if a.Attrs["done"] == nil {
			t.Errorf("activity %d has no done flag", a.ID)
		}
	}
}

func TestLoadDeals(t *testing.T) {
	ctx := context.Background()
	d := newDealsEnv(t)

	// Plan mode writes nothing to Pipedrive, and plans every matter.
	before := writes(d.sb.Meter())
	plan := d.mustLoad(t, dealsStepDeals, false, "plan")
	if !reflect.DeepEqual(writes(d.sb.Meter()), before) {
		t.Errorf("plan mode wrote: %v, was %v", writes(d.sb.Meter()), before)
	}
	matters := d.stagedMatters(t)
	if plan.Created != 0 || plan.Failed != 0 || plan.Planned < len(matters) {
		t.Errorf("plan %+v for %d matters", plan, len(matters))
	}
	ops := d.plan(t, LoadDeals)
	creates := 0
	for _, op := range ops {
		if op.TargetKind == "deal" && op.Op == PlanCreate {
			creates++
			if op.Payload == nil || len(op.Changes) == 0 {
				t.Errorf("planned %s without payload or diff", op.Key)
			}
		}
	}
	if creates != len(matters) {
		t.Errorf("planned %d deal creates for %d matters", creates, len(matters))
	}

	out := d.mustLoad(t, dealsStepDeals, true, "r1")
	if out.Failed != 0 || out.Created < len(matters) {
		t.Errorf("apply: %+v", out)
	}
	deals := d.checkDeals(t)
	d.checkLedgerWritten(t)
	st := d.sb.Snapshot()
	t.Logf("%d matters: plan %+v; apply %+v; %d deals, %d participants", len(matters), plan, out, len(dealsLive(st, "deals")), len(dealsLive(st, "participants")))

	// A second run makes no writes.
	before = writes(d.sb.Meter())
	again := d.mustLoad(t, dealsStepDeals, true, "r2")
	if !reflect.DeepEqual(writes(d.sb.Meter()), before) || again.Created != 0 || again.Skipped != out.Created+out.Skipped {
		t.Errorf("second run wrote: %+v (first %+v)", again, out)
	}

	// A deal Pipedrive has with no ledger entry is linked, not made again.
	rec := matters[0]
	entry, _ := d.ledger.Get(ctx, testMigration, MatterKey(rec.Matter.ID))
	if err := d.ledger.Update(ctx, ledger.StatusWritten, ledger.Entry{Migration: testMigration, Key: entry.Key, Seq: entry.Seq, Status: ledger.StatusAbandoned, TargetKind: "deal", Op: ledger.OpCreate}); err != nil {
		t.Fatal(err)
	}
	linked := d.mustLoad(t, dealsStepDeals, true, "r3")
	if linked.Linked != 1 || linked.Created != 0 {
		t.Errorf("relink: %+v", linked)
	}
	if got, _ := d.ledger.Get(ctx, testMigration, MatterKey(rec.Matter.ID)); got.Op != ledger.OpLink || got.TargetID != int64(deals[rec.Matter.ID]) {
		t.Errorf("relinked entry %+v; want link to %d", got, deals[rec.Matter.ID])
	}
	d.checkDeals(t)
	d.checkNoPersonalData(t)
}

// checkNoPersonalData fails when the log mentions a client's email or name.
func (d *dealsEnv) checkNoPersonalData(t *testing.T) {
	t.Helper()
	st, err := openStaged(context.Background(), d.store, d.manifest)
	if err != nil {
		t.Fatal(err)
	}
	logs := strings.ToLower(d.logs.String())
	if !strings.Contains(logs, "loaded") {
		t.Errorf("no log lines: %q", logs)
	}
	_ = each(context.Background(), st, extract.KindClients, func(c *pp.Client) error {
		for _, s := range []string{c.Email, c.LastName} {
			if len(s) > 3 && strings.Contains(logs, strings.ToLower(s)) {
				t.Errorf("the log mentions %q", s)
			}
		}
		return nil
	})
}

// TestLoadDealsCrash drops the answer to the Nth write of the deals step:
// the step stops with OutcomeUnknownError, and the next run reconciles
// rather than making a second deal or participant.
func TestLoadDealsCrash(t *testing.T) {
	crashed := map[string]bool{}
	for _, n := range []int{1, 5, 12, 23} {
		t.Run(fmt.Sprint("after ", n), func(t *testing.T) {
			ctx := context.Background()
			d := newDealsEnv(t)
			if err := d.sb.SetFaults(sandbox.Faults{FailAfterWrites: n}); err != nil {
				t.Fatal(err)
			}
			_, err := d.load(ctx, dealsStepDeals, true, "r1")
			var unknown *pipedrive.OutcomeUnknownError
			if !errors.As(err, &unknown) {
				t.Fatalf("err = %T %v; want *pipedrive.OutcomeUnknownError, unwrapped", err, err)
			}
			if _, ok := err.(*pipedrive.OutcomeUnknownError); !ok {
				t.Errorf("err is %T, wrapped", err)
			}
			var pending []string
			for _, en := range d.entries(t) {
				if en.Status == ledger.StatusPending {
					pending = append(pending, en.TargetKind)
				}
			}
			if len(pending) != 1 {
				t.Errorf("pending entries after the crash: %v; want 1", pending)
			}
			crashed[pending[0]] = true
			out := d.mustLoad(t, dealsStepDeals, true, "r2")
			if out.Failed != 0 {
				t.Errorf("resume: %+v", out)
			}
			d.checkDeals(t)
			d.checkLedgerWritten(t)
			participants := map[[2]int]int{}
			for _, p := range dealsLive(d.sb.Snapshot(), "participants") {
				participants[[2]int{attrInt(p, "deal_id"), attrInt(p, "person_id")}]++
			}
			for k, c := range participants {
				if c != 1 {
					t.Errorf("person %d takes part in deal %d %d times", k[1], k[0], c)
				}
			}
		})
	}
	if !crashed["deal"] || !crashed["participant"] {
		t.Errorf("crashed on %v; want a deal and a participant among them", crashed)
	}
}

// TestLoadDealsOlderStaging: a staging of version 1 (matters without their
// clients' organisations) is refused with what to do, before any write.
func TestLoadDealsOlderStaging(t *testing.T) {
	ctx := context.Background()
	d := newDealsEnv(t)
	st, err := openStaged(ctx, d.store, d.manifest)
	if err != nil {
		t.Fatal(err)
	}
	m := st.manifest
	m.Version = 1
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.store.Put(ctx, d.manifest, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	before := writes(d.sb.Meter())
	_, err = d.LoadDeals(ctx, LoadInput{MigrationID: testMigration, Run: "r1", Manifest: d.manifest, Kind: LoadDeals, Source: extract.KindMatters, Apply: true})
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "version 1") || !strings.Contains(err.Error(), "extract step again") {
		t.Fatalf("err %v; want an *InputError naming version 1 and the extract step", err)
	}
	if !reflect.DeepEqual(writes(d.sb.Meter()), before) {
		t.Errorf("wrote %v, was %v", writes(d.sb.Meter()), before)
	}
}

// TestSamplePeopleOnePass: a sample run's people steps find the people its
// matters need in one pass over the matters, written once for the run and
// read by every later step (the matters chunks are not read again), and the
// same matters in another order name the same list.
func TestSamplePeopleOnePass(t *testing.T) {
	ctx := context.Background()
	d := newDealsEnv(t)
	st, err := openStaged(ctx, d.store, d.manifest)
	if err != nil {
		t.Fatal(err)
	}
	matters := d.stagedMatters(t)
	sample := []string{matters[len(matters)-1].Matter.ID, matters[0].Matter.ID, matters[3].Matter.ID}
	in := LoadInput{MigrationID: testMigration, Run: "sample-1", Manifest: d.manifest, Matters: sample}
	first, err := d.samplePeople(ctx, st, in)
	if err != nil {
		t.Fatal(err)
	}
	want, err := peopleWanted(ctx, st, sample, true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, want) || len(want) < 3 {
		t.Fatalf("first call: %v; want %v", first, want)
	}
	// Without the matters chunks, the list still comes back: it is read.
	for _, c := range st.manifest.Kinds[extract.KindMatters].Chunks {
		if err := d.store.Delete(ctx, st.prefix+c.Key); err != nil {
			t.Fatal(err)
		}
	}
	in.Matters = []string{sample[2], sample[0], sample[1]}
	again, err := d.samplePeople(ctx, st, in)
	if err != nil || !reflect.DeepEqual(again, want) {
		t.Fatalf("second call: %v, %v; want %v from the run's list", again, err, want)
	}
	// Another sample is another list: with the chunks gone it fails.
	in.Matters = sample[:1]
	if _, err := d.samplePeople(ctx, st, in); err == nil {
		t.Errorf("another sample found its people without the matters chunks")
	}
}
