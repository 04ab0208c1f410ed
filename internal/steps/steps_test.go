package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/asl"
	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/ledger/memledger"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/contract"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
	"github.com/conveyor-migrate/conveyor/statemachine"
)

const testToken = "tok-steps-test-SECRET"

// world is one firm's AWS account in miniature: the bucket, the ledger,
// the company in the sandbox, all on one virtual clock, and the exports.
type world struct {
	t     *testing.T
	deps  *Deps
	sb    *sandbox.Sandbox
	clock *clock.Virtual
	dir   string

	mu     sync.Mutex
	events []asl.Event
}

type worldOptions struct {
	plan        string
	dailyBudget int
}

func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	if o.plan == "" {
		o.plan = "ultimate"
	}
	vc := clock.NewVirtual(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	sb, err := sandbox.New(sandbox.Options{Plan: o.plan, Seed: 1, Token: testToken, Now: vc.Now, DailyBudget: o.dailyBudget})
	if err != nil {
		t.Fatal(err)
	}
	v := contract.ForTest(t)
	srv := httptest.NewServer(v.Middleware(t, sb))
	t.Cleanup(srv.Close)
	httpc := &http.Client{Transport: v.Transport(t, http.DefaultTransport), Timeout: 10 * time.Second}
	w := &world{t: t, sb: sb, clock: vc, dir: t.TempDir()}
	w.deps = &Deps{Store: memblob.New(), Ledger: memledger.New(), Plan: o.plan, Seats: 1, Now: vc.Now,
		Pipedrive: func(ctx context.Context, workers int) (*pipedrive.Client, error) {
			return pipedrive.New(pipedrive.Config{BaseURL: srv.URL, Token: testToken, Plan: o.plan, Workers: workers,
				HTTPClient: httpc, Now: vc.Now, Sleep: vc.Sleep})
		},
		OpenBundle: func(ctx context.Context, export string) (*pp.Bundle, error) {
			return pp.Open(ctx, filepath.Join(w.dir, export))
		}}
	return w
}

// export writes a sample export (newer > 0: a later export of the same firm).
func (w *world) export(name string, matters, newer int) {
	w.t.Helper()
	if _, err := sampleexport.Write(filepath.Join(w.dir, name), sampleexport.Options{Matters: matters, Seed: 1, LargeDocuments: -1, Newer: newer}); err != nil {
		w.t.Fatal(err)
	}
}

// execute runs a definition in-process; approve answers its approvals.
func (w *world) execute(def []byte, name string, input any, approve func(json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error) {
	w.t.Helper()
	sub, err := asl.Substitute(def, Substitutions())
	if err != nil {
		w.t.Fatal(err)
	}
	m, err := asl.Parse(sub)
	if err != nil {
		w.t.Fatal(err)
	}
	raw, _ := json.Marshal(input)
	w.events = nil
	return m.Execute(context.Background(), raw, asl.Options{Name: name, Handlers: w.deps.Handlers(), Now: w.clock.Now, Sleep: w.clock.Sleep,
		OnTransition: func(ev asl.Event) { w.mu.Lock(); w.events = append(w.events, ev); w.mu.Unlock() },
		WaitForTaskToken: func(ctx context.Context, token, state string, input json.RawMessage) (json.RawMessage, error) {
			if approve == nil {
				w.t.Errorf("an approval was asked for in %s", state)
				return nil, &asl.TaskFailedError{Name: "ApprovalRejected"}
			}
			return approve(input)
		}})
}

func (w *world) summary(migration, run string) Summary {
	w.t.Helper()
	var s Summary
	if err := getJSON(context.Background(), w.deps, SummaryKey(migration, run), &s); err != nil {
		w.t.Fatalf("summary of %s: %v", run, err)
	}
	return s
}

func (w *world) entered(state string) int {
	n := 0
	for _, ev := range w.events {
		if ev.Kind == asl.StateEntered && ev.State == state {
			n++
		}
	}
	return n
}

func approveAll(input json.RawMessage) (json.RawMessage, error) {
	return json.RawMessage(`{"approved":true}`), nil
}

// TestMigrationDefinition runs statemachine/migrate.asl.json with the step
// handlers in-process through plan, sample (approved), full (approved in
// the input) and delta, then statemachine/rollback.asl.json: the workflow
// the state machines describe, end to end, against the sandbox.
func TestMigrationDefinition(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.export("exports/first", 120, 0)
	w.export("exports/second", 120, 1)
	pristine := w.sb.Snapshot()

	// A plan writes nothing and prices the run.
	if _, err := w.execute(statemachine.Migrate, "plan-1", Execution{MigrationID: "firm", Export: "exports/first", Mode: ModePlan}, nil); err != nil {
		t.Fatalf("plan: %v", err)
	}
	plan := w.summary("firm", "plan-1")
	if plan.Estimate == "" || plan.Kinds[migrate.LoadDeals] == nil || plan.Kinds[migrate.LoadDeals].Planned == 0 || plan.Kinds[migrate.LoadDeals].Created != 0 {
		t.Fatalf("plan summary %+v", plan)
	}
	if diffs := sandbox.Compare(pristine, w.sb.Snapshot()); len(diffs) != 0 {
		t.Fatalf("the plan changed the company: %v", diffs[0])
	}

	// A sample waits for its approval, which names the reports to read.
	var asked ApprovalRequest
	approve := func(input json.RawMessage) (json.RawMessage, error) {
		var in ApprovalInput
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, err
		}
		if err := getJSON(context.Background(), w.deps, ApprovalKey(in.MigrationID, in.Run), &asked); err != nil {
			t.Errorf("no approval request recorded: %v", err)
		}
		return approveAll(input)
	}
	if _, err := w.execute(statemachine.Migrate, "sample-1", Execution{MigrationID: "firm", Export: "exports/first", Mode: ModeSample, SampleSize: 100}, approve); err != nil {
		t.Fatalf("sample: %v", err)
	}
	if asked.Token == "" || asked.Mode != ModeSample || len(asked.Reports) != 5 {
		t.Errorf("approval request %+v; want the token, the mode and five reports", asked)
	}
	sample := w.summary("firm", "sample-1")
	if sample.Verify == nil || sample.Verify.Mismatches != 0 || w.liveDeals() != 100 {
		t.Fatalf("sample: %d deals, verify %+v; want the 100 matters verified", w.liveDeals(), sample.Verify)
	}

	// The full run, approved in its input, writes the rest.
	if _, err := w.execute(statemachine.Migrate, "full-1", Execution{MigrationID: "firm", Export: "exports/first", Mode: ModeFull, Approved: true, Concurrency: 2}, nil); err != nil {
		t.Fatalf("full: %v", err)
	}
	full := w.summary("firm", "full-1")
	if w.liveDeals() != 120 || full.Finish == nil || full.Finish.Watermark == "" || full.Verify.Mismatches != 0 {
		t.Fatalf("full: %d deals, finish %+v", w.liveDeals(), full.Finish)
	}
	if w.entered("Approval") != 0 {
		t.Errorf("an approved run waited for approval")
	}

	// The newer export as a delta.
	if _, err := w.execute(statemachine.Migrate, "delta-1", Execution{MigrationID: "firm", Export: "exports/second", Mode: ModeDelta, Approved: true}, nil); err != nil {
		t.Fatalf("delta: %v", err)
	}
	delta := w.summary("firm", "delta-1")
	if delta.Finish == nil || delta.Finish.Updated == 0 || delta.Finish.Gone == 0 || delta.Verify.Mismatches != 0 {
		t.Fatalf("delta summary: finish %+v", delta.Finish)
	}

	// Roll everything back: the company as it was.
	out, err := w.execute(statemachine.Rollback, "rollback-1", map[string]any{"migration_id": "firm", "approved": true}, nil)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	var res RollbackOutput
	if err := json.Unmarshal(out, &res); err != nil || res.More || res.Flagged != 0 {
		t.Fatalf("rollback output %s (%v)", out, err)
	}
	if w.entered("Undo") < 2 {
		t.Errorf("the rollback undid everything in %d batches; want batches of 500", w.entered("Undo"))
	}
	var diffs []sandbox.Difference
	after := w.sb.Snapshot()
	for _, d := range sandbox.Compare(pristine, after) {
		if a := after.Items[d.Kind][d.ID]; d.ID != 0 && pristine.Items[d.Kind][d.ID] == nil && a != nil && a.Deleted {
			continue // created, then deleted: Pipedrive keeps it 30 days
		}
		diffs = append(diffs, d)
	}
	if len(diffs) != 0 {
		t.Fatalf("after the rollback, %d differences from before the migration, e.g. %+v", len(diffs), diffs[0])
	}
}

// TestMigrationWaitsOutTheDailyBudget runs a full migration on a company
// whose daily token budget is a fraction of what it needs: the load steps
// report the budget exhausted, the state machine waits until it resets
// (midnight UTC on the virtual clock) and carries on, and the run ends
// verified with no failed record.
func TestMigrationWaitsOutTheDailyBudget(t *testing.T) {
	w := newWorld(t, worldOptions{plan: "growth", dailyBudget: 1200})
	w.export("exports/first", 12, 0)
	start := w.clock.Now()
	if _, err := w.execute(statemachine.Migrate, "full-1", Execution{MigrationID: "firm", Export: "exports/first", Mode: ModeFull, Approved: true}, nil); err != nil {
		t.Fatalf("full: %v", err)
	}
	s := w.summary("firm", "full-1")
	if s.Verify == nil || s.Verify.Mismatches != 0 || s.Verify.Missing != 0 {
		t.Fatalf("verify %+v", s.Verify)
	}
	for k, o := range s.Kinds {
		if o.Failed != 0 {
			t.Errorf("%s: %d failed", k, o.Failed)
		}
	}
	waits := w.enteredPrefix("Wait for the budget")
	days := w.clock.Now().YearDay() - start.YearDay()
	if waits == 0 || days == 0 || w.sb.Meter().Tokens <= 1200 {
		t.Fatalf("%d waits for the budget, ending %d days later, %d tokens; the budget should have run out", waits, days, w.sb.Meter().Tokens)
	}
	t.Logf("paused %d times for the budget; finished %d day(s) later on the virtual clock, %d tokens in all", waits, days, w.sb.Meter().Tokens)
}

// TestMigrationStopsForReview: an unmapped stage stops the run before any
// write, named ReviewRequired; a bad input is caught into the failure
// report, which the summary holds.
func TestMigrationStopsForReview(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.export("exports/first", 12, 0)
	// A configuration that forgets the searches stages: the matters there
	// have no destination, and the run stops before writing anything.
	cfg := strings.Replace(string(mapping.DefaultYAML()), "source: [Searches, Searches ordered, Searches received, Enquiries]", "source: [Enquiries]", 1)
	if err := w.deps.Store.Put(context.Background(), "config/forgetful.yaml", strings.NewReader(cfg)); err != nil {
		t.Fatal(err)
	}
	before := w.sb.Snapshot()
	_, err := w.execute(statemachine.Migrate, "review-1", Execution{MigrationID: "firm", Export: "exports/first", Mode: ModeFull, Approved: true, Config: "config/forgetful.yaml"}, nil)
	var review *asl.ExecutionFailedError
	if !errors.As(err, &review) || review.Name != "ReviewRequired" || review.State != "Review the stage mapping" {
		t.Fatalf("unmapped stages: %v; want ReviewRequired from the stage mapping", err)
	}
	if w.entered("Organisations") != 0 || len(sandbox.Compare(before, w.sb.Snapshot())) != 0 {
		t.Fatalf("the run went on past the review, or wrote to the company")
	}

	_, err = w.execute(statemachine.Migrate, "bad-1", Execution{MigrationID: "firm", Export: "exports/missing", Mode: ModeFull, Approved: true}, nil)
	var failed *asl.ExecutionFailedError
	if !errors.As(err, &failed) || failed.Name != "MigrationFailed" {
		t.Fatalf("a missing export: %v; want MigrationFailed", err)
	}
	s := w.summary("firm", "bad-1")
	if s.Failure == nil || s.Failure.Error != "BundleError" {
		t.Fatalf("summary failure %+v; want the BundleError", s.Failure)
	}
	_, err = w.execute(statemachine.Migrate, "bad-2", Execution{MigrationID: "firm", Export: "exports/first", Mode: "sideways"}, nil)
	if !errors.As(err, &failed) || w.summary("firm", "bad-2").Failure.Error != "InputError" {
		t.Fatalf("a bad mode: %v; want the InputError in the summary", err)
	}
	_, err = w.execute(statemachine.Migrate, "bad-3", Execution{MigrationID: "firm", Export: "exports/first", Mode: ModeDelta, Approved: true}, nil)
	if !errors.As(err, &failed) || !strings.Contains(w.summary("firm", "bad-3").Failure.Cause, "no finished full run") {
		t.Fatalf("a delta before any full run: %v; want it refused", err)
	}
}

func (w *world) liveDeals() int {
	n := 0
	for _, d := range w.sb.Snapshot().Items["deals"] {
		if !d.Deleted {
			n++
		}
	}
	return n
}

func (w *world) enteredPrefix(prefix string) int {
	n := 0
	for _, ev := range w.events {
		if ev.Kind == asl.StateEntered && strings.HasPrefix(ev.State, prefix) {
			n++
		}
	}
	return n
}

// TestEventsAreInputs: every manual execution input under events/ is what
// the handlers take (no unknown field, a known mode), so `sam local
// invoke -e` and the console run the same inputs the tests do.
func TestEventsAreInputs(t *testing.T) {
	for _, mode := range []string{ModePlan, ModeSample, ModeFull, ModeDelta} {
		data, err := os.ReadFile(filepath.Join("..", "..", "events", "start-"+mode+".json"))
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var in Execution
		if err := dec.Decode(&in); err != nil {
			t.Errorf("events/start-%s.json: %v", mode, err)
			continue
		}
		if in.Mode != mode || in.MigrationID == "" || !strings.HasPrefix(in.Export, "exports/"+in.MigrationID+"/") {
			t.Errorf("events/start-%s.json = %+v", mode, in)
		}
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "events", "rollback.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rb map[string]any
	if err := json.Unmarshal(data, &rb); err != nil || rb["migration_id"] == nil {
		t.Fatalf("events/rollback.json: %v %v", rb, err)
	}
	for k := range rb {
		switch k {
		case "migration_id", "run", "force", "approved", "config", "limit":
		default:
			t.Errorf("events/rollback.json: %q is not an input of the rollback state machine", k)
		}
	}
}
