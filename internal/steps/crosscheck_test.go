package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/asl"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
	"github.com/conveyor-migrate/conveyor/statemachine"
)

// The cross-check: each execution made twice, from two identical worlds
// (the same export, sandbox, bucket, ledger and virtual clock start), once
// in emb with the embedded executor (internal/asl) and once in loc with
// aws-local-stepfunctions, a second implementation of the States
// Language, running the same definition file (statemachine/test/run-local.mjs),
// its tasks calling loc's handlers over HTTP. Both must end alike and leave
// the same world behind.
//
// How alike depends on concurrency. With one load at a time (concurrency
// 1) the handlers make the same requests in the same order whichever
// engine calls them, so the check is strict: the same ids, the same
// virtual timestamps, every bucket object equal as JSON, the sandboxes
// equal by sandbox.Compare. With concurrent Map iterations and workers,
// the order of writes, and so the ids and the virtual clock's readings,
// vary from one execution to the next even in one engine; the check then
// compares the companies as content (canonical: relations by the related
// record's content, not its id), and the bucket and the ledger without
// the run's timestamps, ids and write sequence numbers.
type crossWorlds struct {
	t        *testing.T
	node     string
	emb, loc *world
	srv      *httptest.Server
	start    time.Time

	mu        sync.Mutex
	approving func(json.RawMessage) (json.RawMessage, error) // the current run's answer; nil: none may be asked
	tokens    [][]byte                                       // task tokens handed to approvals, blanked in the bucket comparison
}

// crossRun is one execution, made in both engines.
type crossRun struct {
	name    string // the execution name: the run id
	file    string // the definition, from the repository root
	def     []byte // the same file, embedded
	input   any
	approve bool // answer approvals (SendTaskSuccess {"approved": true}); false: none may be asked
	strict  bool // ids and timestamps must be the same (sequential loads)
}

func newCrossWorlds(t *testing.T, o worldOptions, matters int) *crossWorlds {
	t.Helper()
	node := requireNodeModule(t, repoRoot(t), "aws-local-stepfunctions")
	c := &crossWorlds{t: t, node: node, emb: newWorld(t, o), loc: newWorld(t, o)}
	c.start = c.emb.clock.Now()
	for _, w := range []*world{c.emb, c.loc} {
		w.export("exports/first", matters, 0)
	}
	if d := sandbox.Compare(c.emb.sb.Snapshot(), c.loc.sb.Snapshot()); len(d) != 0 {
		t.Fatalf("the two worlds start differently: %+v", d[0])
	}
	c.srv = c.loc.lambdaServer(c.approval)
	return c
}

// approval answers an approval in either engine (the embedded executor's
// WaitForTaskToken hook, the local run's /callback).
func (c *crossWorlds) approval(input json.RawMessage) (json.RawMessage, error) {
	var in ApprovalInput
	if err := json.Unmarshal(input, &in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.tokens = append(c.tokens, []byte(in.Token))
	approving := c.approving
	c.mu.Unlock()
	if approving == nil {
		c.t.Errorf("%s asked for an approval", in.Run)
		return nil, &asl.TaskFailedError{Name: "ApprovalRejected"}
	}
	return approving(input)
}

func (c *crossWorlds) run(r crossRun) {
	t := c.t
	t.Helper()
	c.mu.Lock()
	c.approving = nil
	if r.approve {
		c.approving = approveAll
	}
	c.mu.Unlock()
	var embApprove func(json.RawMessage) (json.RawMessage, error)
	if r.approve {
		embApprove = c.approval
	}
	out, err := c.emb.execute(r.def, r.name, r.input, embApprove)
	began := time.Now()
	rep := c.loc.executeLocal(c.node, c.srv, r.file, r.name, r.input)
	t.Logf("%s: ran in aws-local-stepfunctions in %v", r.name, time.Since(began).Round(time.Millisecond))

	var clock *runClock // nil: strict
	if !r.strict {
		clock = &runClock{from: c.start, to: maxTime(c.emb.clock.Now(), c.loc.clock.Now())}
	}
	var failed *asl.ExecutionFailedError
	switch {
	case err == nil && rep.Status == "SUCCEEDED":
		if !sameObjects(out, rep.Output, clock) {
			t.Errorf("%s: outputs differ\nembedded: %s\nlocal:    %s", r.name, out, rep.Output)
		}
	case errors.As(err, &failed) && rep.Status == "FAILED":
		if failed.Name != rep.Error || failed.Cause != rep.Cause {
			t.Errorf("%s: errors differ\nembedded: %s: %s\nlocal:    %s: %s", r.name, failed.Name, failed.Cause, rep.Error, rep.Cause)
		}
	default:
		t.Fatalf("%s: outcomes differ\nembedded: %s %v\nlocal:    %s %s %s: %s", r.name, out, err, rep.Status, rep.Output, rep.Error, rep.Cause)
	}
	if d := diffCounts(c.emb.enteredCounts(), rep.Entered); len(d) != 0 {
		t.Errorf("%s: the engines took different paths; states entered:\n%v", r.name, d)
	}
	if len(rep.Retries) != 0 {
		t.Logf("%s: retries in aws-local-stepfunctions: %v", r.name, rep.Retries)
	}

	// The bucket: every object as JSON (or NDJSON) values, with the
	// exports' directories (one temporary directory per world) and the
	// task tokens blanked.
	eo, lo := c.emb.storeObjects(), c.loc.storeObjects()
	blank := func(objs map[string][]byte, dir string) {
		for k, v := range objs {
			v = bytes.ReplaceAll(v, []byte(dir), []byte("<dir>"))
			for _, tok := range c.tokens {
				if len(tok) > 0 {
					v = bytes.ReplaceAll(v, tok, []byte("<token>"))
				}
			}
			objs[k] = v
		}
	}
	blank(eo, c.emb.dir)
	blank(lo, c.loc.dir)
	ek, lk := slices.Sorted(keysOf(eo)), slices.Sorted(keysOf(lo))
	if !slices.Equal(ek, lk) {
		t.Errorf("%s: the buckets hold different keys\nembedded: %v\nlocal:    %v", r.name, ek, lk)
	}
	differ := 0
	for _, k := range ek {
		if strings.HasSuffix(k, ".html") {
			continue // the report renders the JSON compared here (its timestamps and ordering are not)
		}
		if l, ok := lo[k]; ok && !sameObjects(eo[k], l, clock) {
			if differ++; differ <= 3 {
				t.Errorf("%s: %s differs\nembedded: %.800s\nlocal:    %.800s", r.name, k, eo[k], l)
			}
		}
	}
	if differ > 3 {
		t.Errorf("%s: %d objects differ in all", r.name, differ)
	}

	// The ledger: every write's entry, by key.
	el, ll := c.emb.ledgerEntries("firm", !r.strict), c.loc.ledgerEntries("firm", !r.strict)
	if ek, lk := slices.Sorted(keysOf(el)), slices.Sorted(keysOf(ll)); !slices.Equal(ek, lk) {
		t.Errorf("%s: the ledgers hold different keys: %d embedded, %d local", r.name, len(ek), len(lk))
	}
	differ = 0
	for k, e := range el {
		if l, ok := ll[k]; ok && !sameObjects(e, l, clock) {
			if differ++; differ <= 3 {
				t.Errorf("%s: ledger entry %s differs\nembedded: %s\nlocal:    %s", r.name, k, e, l)
			}
		}
	}
	t.Logf("%s: %d bucket objects, %d ledger entries compared", r.name, len(eo), len(el))

	// The company.
	if r.strict {
		if d := sandbox.Compare(c.emb.sb.Snapshot(), c.loc.sb.Snapshot()); len(d) != 0 {
			t.Errorf("%s: the two companies differ in %d ways, e.g. %+v", r.name, len(d), d[0])
		}
	} else {
		if d := canonicalDiffs(canonical(c.emb.sb.Snapshot(), *clock), canonical(c.loc.sb.Snapshot(), *clock)); len(d) != 0 {
			t.Errorf("%s: the two companies differ in %d records, e.g.\n%s", r.name, len(d), d[0])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func keysOf[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestCrossCheckLocalStepFunctions runs the same small migration through
// both engines, one load at a time: a plan, a full run (approved in its
// input, so the approval's .waitForTaskToken task is not entered), then
// the rollback (approved too); after each, both worlds must be the same,
// ids and timestamps included.
func TestCrossCheckLocalStepFunctions(t *testing.T) {
	t.Parallel() // its own worlds, and mostly waiting on node
	c := newCrossWorlds(t, worldOptions{}, 12)
	pristine := c.emb.sb.Snapshot()
	const migrateFile, rollbackFile = "statemachine/migrate.asl.json", "statemachine/rollback.asl.json"
	for _, r := range []crossRun{
		{name: "plan-1", file: migrateFile, def: statemachine.Migrate, strict: true,
			input: Execution{MigrationID: "firm", Export: "exports/first", Mode: ModePlan, Concurrency: 1}},
		{name: "full-1", file: migrateFile, def: statemachine.Migrate, strict: true,
			input: Execution{MigrationID: "firm", Export: "exports/first", Mode: ModeFull, Approved: true, Concurrency: 1}},
		{name: "rollback-1", file: rollbackFile, def: statemachine.Rollback, strict: true,
			input: map[string]any{"migration_id": "firm", "approved": true}},
	} {
		c.run(r)
	}
	// The summaries (the same in both, checked above) say what was done.
	plan, full := c.loc.summary("firm", "plan-1"), c.loc.summary("firm", "full-1")
	for _, kind := range []string{migrate.LoadOrganisations, migrate.LoadPersons, migrate.LoadDeals, migrate.LoadActivities, migrate.LoadDocuments} {
		p, f := plan.Kinds[kind], full.Kinds[kind]
		if p == nil || f == nil || p.Planned == 0 || p.Created != 0 || f.Created != p.Planned || f.Failed != 0 {
			t.Errorf("%s: planned %+v, full %+v; want the plan's records all created", kind, p, f)
		}
	}
	if full.Verify == nil || full.Verify.Mismatches != 0 || full.Verify.Missing != 0 {
		t.Errorf("full: verify %+v", full.Verify)
	}
	counts, _ := json.Marshal(full.Kinds)
	t.Logf("full-1: kinds %s", counts)
	if n := c.loc.liveDeals(); n != 0 {
		t.Errorf("after the rollback, %d live deals", n)
	}
	after := c.loc.sb.Snapshot()
	for _, d := range sandbox.Compare(pristine, after) {
		if a := after.Items[d.Kind][d.ID]; d.ID != 0 && pristine.Items[d.Kind][d.ID] == nil && a != nil && a.Deleted {
			continue // created, then deleted: Pipedrive keeps it 30 days
		}
		t.Fatalf("after the rollback, the company differs from before the migration: %+v", d)
	}
}

// TestCrossCheckConcurrentLoads: a larger export, several chunks per kind,
// loaded concurrently (MaxConcurrencyPath), with the approvals answered
// through .waitForTaskToken: a sample that waits for its approval, the
// full run with three loads at once, and a rollback that previews in
// batches, waits for its approval, then undoes in batches, each batch
// carrying on below the last (the reports and their parts compared too).
func TestCrossCheckConcurrentLoads(t *testing.T) {
	t.Parallel() // its own worlds, and mostly waiting on node
	c := newCrossWorlds(t, worldOptions{}, 120)
	const migrateFile, rollbackFile = "statemachine/migrate.asl.json", "statemachine/rollback.asl.json"
	for _, r := range []crossRun{
		{name: "sample-1", file: migrateFile, def: statemachine.Migrate, approve: true,
			input: Execution{MigrationID: "firm", Export: "exports/first", Mode: ModeSample, SampleSize: 100, Concurrency: 3}},
		{name: "full-1", file: migrateFile, def: statemachine.Migrate,
			input: Execution{MigrationID: "firm", Export: "exports/first", Mode: ModeFull, Approved: true, Concurrency: 3}},
		{name: "rollback-1", file: rollbackFile, def: statemachine.Rollback, approve: true,
			input: map[string]any{"migration_id": "firm"}},
	} {
		c.run(r)
	}
	if c.emb.entered("Preview") < 2 || c.emb.entered("Approval") != 1 || c.emb.entered("Undo") < 2 {
		t.Errorf("the rollback entered Preview %d times, Approval %d, Undo %d; want a dry run in batches, the approval, then batches",
			c.emb.entered("Preview"), c.emb.entered("Approval"), c.emb.entered("Undo"))
	}
	if n := c.loc.liveDeals(); n != 0 {
		t.Errorf("after the rollback, %d live deals", n)
	}
}

// TestCrossCheckFailures: runs that stop, in both engines alike: an
// unmapped stage (ReviewRequired, nothing written), a missing export and
// a bad input (caught into ReportFailure: MigrationFailed, the error named
// by its Go type in the summary).
func TestCrossCheckFailures(t *testing.T) {
	t.Parallel() // its own worlds, and mostly waiting on node
	c := newCrossWorlds(t, worldOptions{}, 12)
	cfg := strings.Replace(string(mapping.DefaultYAML()), "source: [Searches, Searches ordered, Searches received, Enquiries]", "source: [Enquiries]", 1)
	for _, w := range []*world{c.emb, c.loc} {
		if err := w.deps.Store.Put(context.Background(), "config/forgetful.yaml", strings.NewReader(cfg)); err != nil {
			t.Fatal(err)
		}
	}
	const migrateFile = "statemachine/migrate.asl.json"
	for _, r := range []crossRun{
		{name: "review-1", file: migrateFile, def: statemachine.Migrate, strict: true,
			input: Execution{MigrationID: "firm", Export: "exports/first", Mode: ModeFull, Approved: true, Config: "config/forgetful.yaml"}},
		{name: "bad-1", file: migrateFile, def: statemachine.Migrate, strict: true,
			input: Execution{MigrationID: "firm", Export: "exports/missing", Mode: ModeFull, Approved: true}},
		{name: "bad-2", file: migrateFile, def: statemachine.Migrate, strict: true,
			input: Execution{MigrationID: "firm", Export: "exports/first", Mode: "sideways"}},
		{name: "bad-3", file: migrateFile, def: statemachine.Migrate, strict: true,
			input: Execution{MigrationID: "firm", Export: "exports/first", Mode: ModeDelta, Approved: true}},
	} {
		c.run(r)
	}
	for run, want := range map[string]string{"bad-1": "BundleError", "bad-2": "InputError"} {
		if s := c.loc.summary("firm", run); s.Failure == nil || s.Failure.Error != want {
			t.Errorf("%s: failure %+v; want %s", run, s.Failure, want)
		}
	}
}

// TestCrossCheckDailyBudget: a company whose daily token budget runs out
// mid-run. The loads report it, the Map iterations wait (Wait,
// TimestampPath) until it resets on the virtual clock and carry on; in
// aws-local-stepfunctions the Wait states take no real time and the
// driver posts each one's duration to the Go side's virtual clock first.
func TestCrossCheckDailyBudget(t *testing.T) {
	t.Parallel() // its own worlds, and mostly waiting on node
	c := newCrossWorlds(t, worldOptions{plan: "growth", dailyBudget: 1200}, 12)
	c.run(crossRun{name: "full-1", file: "statemachine/migrate.asl.json", def: statemachine.Migrate, strict: true,
		input: Execution{MigrationID: "firm", Export: "exports/first", Mode: ModeFull, Approved: true, Concurrency: 1}})
	waits := c.emb.enteredPrefix("Wait for the budget")
	if waits == 0 {
		t.Errorf("no wait for the budget; it should have run out")
	}
	// The rollback too, on a smaller budget: its dry run and its undo stop
	// at the budget, wait, and carry on below the ledger Seq where they
	// stopped.
	for _, w := range []*world{c.emb, c.loc} {
		w.sb.SetDailyBudget(400)
	}
	c.run(crossRun{name: "rollback-1", file: "statemachine/rollback.asl.json", def: statemachine.Rollback, approve: true,
		input: map[string]any{"migration_id": "firm", "limit": 50}})
	preview := c.emb.entered("Wait for the budget to preview")
	if undo := c.emb.enteredPrefix("Wait for the budget") - waits - preview; preview == 0 || undo == 0 {
		t.Errorf("the rollback's dry run waited for the budget %d times, its undo %d; want both to run out", preview, undo)
	}
	if n := c.loc.liveDeals(); n != 0 {
		t.Errorf("after the rollback, %d live deals", n)
	}
	if !c.emb.clock.Now().Equal(c.loc.clock.Now()) {
		t.Errorf("the virtual clocks differ at the end: embedded %v, local %v", c.emb.clock.Now(), c.loc.clock.Now())
	}
}
