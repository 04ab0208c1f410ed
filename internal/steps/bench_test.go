package steps

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/asl"
	"github.com/conveyor-migrate/conveyor/internal/benchtest"
	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/memledger"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/cost"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
	"github.com/conveyor-migrate/conveyor/statemachine"
)

// The reference migration (issue 7): 5,000 matters with 100,000
// activities, 50,000 notes and 25,000 files, into a Growth company with
// three seats.
const (
	referenceMatters    = 5000
	referenceActivities = 20 // per matter
	referenceNotes      = 10
	referenceDocuments  = 5
	referencePlan       = "growth"
	referenceSeats      = 3
	referenceCommand    = "go test -run '^$' -bench BenchmarkReferenceMigration -benchtime 1x -timeout 60m ./internal/steps"
)

// BenchmarkReferenceMigration runs the reference migration through
// statemachine/migrate.asl.json (mode full, approved in the input, one load
// step at a time) in-process against the sandbox, every clock virtual: the
// client's throttle, the sandbox's burst window and daily budget, and the
// state machine's Wait states all run on it, so days of budget pass in
// minutes. Traffic is not checked against the OpenAPI documents (plain
// httptest; the tests do that) so that the two hundred thousand requests
// take minutes, not tens of minutes. The documents are the sample export's
// small text and PDF-like files (under a kilobyte each).
//
// It reports the tokens the sandbox metered against the minimum the
// mapping needs, the days on the daily budget (Growth: 30,000 × 2 × 3
// seats = 180,000 tokens a day), how many times a load step stopped at the
// budget and the state machine waited for the reset, and the wall time.
// It fails unless the run stopped at the budget, resumed each time after
// the reset (midnight UTC on the sandbox's clock) and ended with no failed
// record, no state retried or caught, and a clean verify.
//
//	go test -run '^$' -bench BenchmarkReferenceMigration -benchtime 1x -timeout 60m ./internal/steps
//
// It runs only when -bench names it: `make bench` names it on a line of its own.
// CONVEYOR_REFERENCE_MATTERS=500 runs a tenth of it, for a rehearsal (it
// fits in one day's budget, so the checks on the waits fail).
func BenchmarkReferenceMigration(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "ReferenceMigration") {
		// Minutes of CPU and almost 2 GB: not part of `-bench .` (make bench
		// runs it by name, with a timeout of its own).
		b.Skipf("run it by name: %s", referenceCommand)
	}
	matters := referenceMatters
	if v := os.Getenv("CONVEYOR_REFERENCE_MATTERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("CONVEYOR_REFERENCE_MATTERS=%q: want a positive number", v)
		}
		matters = n
	}
	dir := b.TempDir()
	sum, err := sampleexport.Write(filepath.Join(dir, "exports", "reference"), sampleexport.Options{Matters: matters, Seed: 1,
		LargeDocuments: -1, ActivitiesPerMatter: referenceActivities, NotesPerMatter: referenceNotes, DocumentsPerMatter: referenceDocuments})
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("export: %d matters, %d activity rows (activities and notes), %d documents (%d bytes in all), %d clients\n",
		sum.Rows[pp.TableMatters], sum.Rows[pp.TableActivities], sum.Documents, sum.DocumentBytes, sum.Rows[pp.TableClients])
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := runReference(b, dir)
		b.ReportMetric(float64(r.tokens), "tokens")
		b.ReportMetric(float64(r.minimum), "minimum-tokens")
		b.ReportMetric(float64(r.tokens)/float64(r.minimum), "ratio")
		b.ReportMetric(float64(r.requests), "requests")
		b.ReportMetric(float64(r.throttled-r.budgetRefusals), "burst-429s")
		b.ReportMetric(float64(r.days), "budget-days")
		b.ReportMetric(float64(r.waits), "budget-waits")
		b.ReportMetric(r.wall.Seconds(), "wall-s")
		b.ReportMetric(float64(r.failed), "failed")
		fmt.Printf("reference migration, %d matters, %s with %d seats (daily budget %d tokens, the client's %d): "+
			"%d tokens (minimum %d, ratio %.4f), %d requests, %d answered 429 (%d for the budget, %d by the burst window); "+
			"%d waits for the budget, %d days on the budget (virtual time %s); %d failed records; "+
			"verify checked %d, %d missing, %d mismatches; live in Pipedrive: %d deals, %d persons, %d organizations, "+
			"%d activities, %d notes, %d files; wall time %s, peak heap %d MB\n",
			matters, referencePlan, referenceSeats, r.budget, r.clientBudget, r.tokens, r.minimum, float64(r.tokens)/float64(r.minimum),
			r.requests, r.throttled, r.budgetRefusals, r.throttled-r.budgetRefusals, r.waits, r.days, r.virtual.Round(time.Minute), r.failed,
			r.verify.Checked, r.verify.Missing, r.verify.Mismatches, r.live["deals"], r.live["persons"], r.live["organizations"],
			r.live["activities"], r.live["notes"], r.live["files"], r.wall.Round(time.Second), r.peakHeap>>20)
		fmt.Printf("the plan run estimated %d requests, %d tokens, %.1f hours at the burst rate, %.2f daily budgets (%d calendar days)\n",
			r.estimate.All.Requests, r.estimate.All.Tokens, r.estimate.All.Hours, r.estimate.All.Days, r.estimate.All.CalendarDays)
		b.ReportMetric(float64(r.estimate.All.Tokens), "estimated-tokens")
		var tasks []string
		for state, d := range r.longest {
			tasks = append(tasks, fmt.Sprintf("%s %s", state, d.Round(time.Second)))
		}
		sort.Strings(tasks)
		fmt.Printf("longest run of each task state on the virtual clock: %s\n", strings.Join(tasks, "; "))
		for _, l := range r.pauses {
			fmt.Println("  " + l)
		}
		for _, l := range r.refusals {
			fmt.Println("  429: " + l)
		}
	}
	b.Logf("reproduce: %s", referenceCommand)
}

type referenceResult struct {
	tokens, minimum, requests, throttled, budgetRefusals int
	budget, clientBudget, waits, days, failed            int
	virtual, wall                                        time.Duration
	verify                                               migrate.VerifyOutput
	live                                                 map[string]int
	pauses, refusals                                     []string
	peakHeap                                             uint64
	estimate                                             migrate.Estimate
	// longest is each task state's longest run on the virtual clock: the
	// time a Lambda invocation of it would take, near enough (the waits
	// for the rate limit; the work in between is not counted).
	longest map[string]time.Duration
}

// referenceWorld is a firm's account for the reference migration: a
// sandbox company, the bucket and the ledger, on one virtual clock.
type referenceWorld struct {
	deps      *Deps
	sb        *sandbox.Sandbox
	vc        *clock.Virtual
	led       *memledger.Store
	refusals  *referenceRefusals
	newClient func(workers int) (*pipedrive.Client, error)
}

func newReferenceWorld(b *testing.B, dir string, start time.Time) *referenceWorld {
	b.Helper()
	w := &referenceWorld{vc: clock.NewVirtual(start), led: memledger.New()}
	var err error
	if w.sb, err = sandbox.New(sandbox.Options{Plan: referencePlan, Seats: referenceSeats, Seed: 1, Token: testToken, Now: w.vc.Now}); err != nil {
		b.Fatal(err)
	}
	w.refusals = &referenceRefusals{now: w.vc.Now}
	srv := httptest.NewServer(w.refusals.wrap(w.sb))
	b.Cleanup(srv.Close)
	httpc := &http.Client{Timeout: time.Minute}
	w.newClient = func(workers int) (*pipedrive.Client, error) {
		return pipedrive.New(pipedrive.Config{BaseURL: srv.URL, Token: testToken, Plan: referencePlan, Seats: referenceSeats,
			Workers: workers, HTTPClient: httpc, Now: w.vc.Now, Sleep: w.vc.Sleep})
	}
	w.deps = &Deps{Store: memblob.New(), Ledger: w.led, Plan: referencePlan, Seats: referenceSeats, Now: w.vc.Now,
		Pipedrive: func(ctx context.Context, workers int) (*pipedrive.Client, error) { return w.newClient(workers) },
		OpenBundle: func(ctx context.Context, export string) (*pp.Bundle, error) {
			return pp.Open(ctx, filepath.Join(dir, export))
		}}
	return w
}

// referenceEstimate runs the migration state machine in mode plan on a
// company of its own and returns what it estimated for the full run.
func referenceEstimate(b *testing.B, m *asl.Machine, dir string, start time.Time) migrate.Estimate {
	b.Helper()
	w := newReferenceWorld(b, dir, start)
	in, _ := json.Marshal(Execution{MigrationID: "firm", Export: "exports/reference", Mode: ModePlan})
	if _, err := m.Execute(context.Background(), in, asl.Options{Name: "plan-1", Handlers: w.deps.Handlers(), Now: w.vc.Now, Sleep: w.vc.Sleep,
		WaitForTaskToken: func(ctx context.Context, token, state string, input json.RawMessage) (json.RawMessage, error) {
			b.Errorf("a plan asked for approval in %s", state)
			return nil, &asl.TaskFailedError{Name: "ApprovalRejected"}
		}}); err != nil {
		b.Fatalf("plan: %v", err)
	}
	var s Summary
	if err := getJSON(context.Background(), w.deps, SummaryKey("firm", "plan-1"), &s); err != nil {
		b.Fatal(err)
	}
	var est migrate.Estimate
	if err := getJSON(context.Background(), w.deps, s.Estimate, &est); err != nil {
		b.Fatal(err)
	}
	return est
}

// runReference migrates the export under dir/exports/reference into a new
// sandbox company and checks the outcome.
func runReference(b *testing.B, dir string) referenceResult {
	b.Helper()
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	w := newReferenceWorld(b, dir, start)
	deps, sb, vc, led, refusals := w.deps, w.sb, w.vc, w.led, w.refusals
	res := referenceResult{budget: sb.DailyBudget(), longest: map[string]time.Duration{}}
	if c, err := w.newClient(1); err != nil {
		b.Fatal(err)
	} else if res.clientBudget = c.DailyBudget(); res.clientBudget != res.budget {
		b.Errorf("the client reckons the daily budget %d tokens, the sandbox %d", res.clientBudget, res.budget)
	}

	sub, err := asl.Substitute(statemachine.Migrate, Substitutions())
	if err != nil {
		b.Fatal(err)
	}
	m, err := asl.Parse(sub)
	if err != nil {
		b.Fatal(err)
	}
	res.estimate = referenceEstimate(b, m, dir, start)
	// Each "Wait for the budget" state entered, and the load step entered
	// again in the same Map iteration after it: when it paused and resumed.
	var (
		mu       sync.Mutex
		waiting  = map[string]time.Time{} // scope → when its wait began
		problems []string
	)
	onTransition := func(ev asl.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case ev.Kind == asl.StateEntered && strings.HasPrefix(ev.State, "Wait for the budget"):
			res.waits++
			waiting[ev.Scope] = ev.Time
		case ev.Kind == asl.StateEntered && strings.HasPrefix(ev.State, "Load "):
			paused, ok := waiting[ev.Scope]
			if !ok {
				return
			}
			delete(waiting, ev.Scope)
			reset := paused.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
			res.pauses = append(res.pauses, fmt.Sprintf("%s: paused at %s after %d tokens; %s again at %s",
				ev.Scope, paused.UTC().Format(time.RFC3339), sb.Meter().Tokens, ev.State, ev.Time.UTC().Format(time.RFC3339)))
			if ev.Time.Before(reset) {
				problems = append(problems, fmt.Sprintf("%s resumed at %s, before the budget's reset at %s", ev.Scope, ev.Time, reset))
			}
		case ev.Kind == asl.StateExited && ev.Type == "Task":
			res.longest[ev.State] = max(res.longest[ev.State], ev.Duration)
		case ev.Kind == asl.StateRetrying || ev.Kind == asl.StateCaught || ev.Kind == asl.StateFailed:
			problems = append(problems, fmt.Sprintf("%s %s %s", ev.Kind, ev.State, ev.Error))
		}
	}
	peak := referenceWatchHeap()
	in, _ := json.Marshal(Execution{MigrationID: "firm", Export: "exports/reference", Mode: ModeFull, Approved: true})
	wall := time.Now()
	_, err = m.Execute(context.Background(), in, asl.Options{Name: "full-1", Handlers: deps.Handlers(), Now: vc.Now, Sleep: vc.Sleep,
		OnTransition: onTransition,
		WaitForTaskToken: func(ctx context.Context, token, state string, input json.RawMessage) (json.RawMessage, error) {
			b.Errorf("an approved run asked for approval in %s", state)
			return nil, &asl.TaskFailedError{Name: "ApprovalRejected"}
		}})
	res.wall = time.Since(wall)
	res.peakHeap = peak()
	if err != nil {
		b.Fatalf("the reference migration failed after %s: %v; %v", res.wall, err, problems)
	}
	if len(problems) > 0 || len(waiting) > 0 {
		b.Errorf("%v; waits not resumed: %v", problems, waiting)
	}
	res.virtual = vc.Now().Sub(start)
	res.days = int(vc.Now().Truncate(24*time.Hour).Sub(start.Truncate(24*time.Hour))/(24*time.Hour)) + 1

	var s Summary
	if err := getJSON(context.Background(), deps, SummaryKey("firm", "full-1"), &s); err != nil {
		b.Fatal(err)
	}
	for kind, o := range s.Kinds {
		res.failed += o.Failed
		if o.Failed != 0 {
			b.Errorf("%s: %d failed records", kind, o.Failed)
		}
	}
	if s.Verify == nil {
		b.Fatal("the summary has no verify")
	}
	res.verify = *s.Verify
	if s.Verify.Missing != 0 || s.Verify.Mismatches != 0 || s.Verify.Checked == 0 {
		b.Errorf("verify %+v; want every record checked and none missing or differing", *s.Verify)
	}

	meter := sb.Meter()
	res.tokens, res.requests, res.throttled = meter.Tokens, meter.Requests, meter.Throttled
	res.minimum = referenceMinimumTokens(b, led, "firm")
	res.live = map[string]int{}
	for kind, items := range sb.Snapshot().Items {
		for _, it := range items {
			if !it.Deleted {
				res.live[kind]++
			}
		}
	}
	if res.waits == 0 || res.days < 2 {
		b.Errorf("%d waits for the budget over %d days; the reference migration needs several days of Growth's budget", res.waits, res.days)
	}
	// A 429 for the budget asks to wait until midnight, one of the burst
	// window's for a second or two. A load step stops at the budget's first
	// 429 and the state machine waits for the reset: one each.
	res.refusals = refusals.lines
	for _, ra := range refusals.retryAfter {
		if ra > int(pipedrive.BurstWindow/time.Second) {
			res.budgetRefusals++
		}
	}
	if res.budgetRefusals != res.waits {
		b.Errorf("%d requests refused for the budget for %d waits for the budget; want one each: %v", res.budgetRefusals, res.waits, refusals.lines)
	}
	if burst := res.throttled - res.budgetRefusals; float64(burst) > 0.005*float64(res.requests) {
		b.Errorf("%d of %d requests answered 429 by the burst window; want at most 0.5%%: %v", burst, res.requests, refusals.lines)
	}
	return res
}

// referenceMinimumTokens is what the mapping cannot do without, as
// BenchmarkTokens1000 in internal/migrate counts it: one write per written
// ledger entry at its endpoint's documented x-token-cost. Reads are
// overhead.
func referenceMinimumTokens(b *testing.B, led ledger.Store, migration string) int {
	b.Helper()
	kinds := map[string]string{"organization": "organization", "person": "person", "deal": "deal", "participant": "participant",
		"activity": "activity", "note": "note", "file": "file", "deal_field": "deal_field", "person_field": "person_field",
		"organization_field": "org_field", "pipeline": "pipeline", "stage": "stage", "activity_type": "activity_type"}
	total := 0
	err := led.List(context.Background(), migration, func(e ledger.Entry) error {
		if e.Status != ledger.StatusWritten {
			return nil
		}
		op := migrate.PlanCreate
		switch e.Op {
		case ledger.OpLink, ledger.OpUpdate:
			if len(e.Previous) == 0 {
				return nil // a link that changed nothing sent nothing
			}
			op = migrate.PlanLink
		}
		ep, ok := migrate.WriteEndpoint(kinds[e.TargetKind], op)
		if !ok {
			return fmt.Errorf("no endpoint for %s %s", e.TargetKind, op)
		}
		method, path, _ := strings.Cut(ep, " ")
		c, ok := cost.Lookup(method, strings.ReplaceAll(strings.ReplaceAll(path, "{id}", "1"), "{field_code}", "x"))
		if !ok {
			return fmt.Errorf("no cost for %s", ep)
		}
		total += c.Cost
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}

// referenceRefusals notes every 429 the sandbox answers: when, what, and
// the wait it asked for.
type referenceRefusals struct {
	now        func() time.Time
	mu         sync.Mutex
	lines      []string
	retryAfter []int
}

func (l *referenceRefusals) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &benchtest.StatusWriter{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.Status != http.StatusTooManyRequests {
			return
		}
		ra, _ := strconv.Atoi(w.Header().Get("Retry-After"))
		l.mu.Lock()
		defer l.mu.Unlock()
		l.retryAfter = append(l.retryAfter, ra)
		l.lines = append(l.lines, fmt.Sprintf("%s %s %s: Retry-After %s, daily tokens left %s, burst remaining %s",
			l.now().UTC().Format(time.RFC3339Nano), r.Method, r.URL.Path, w.Header().Get("Retry-After"),
			w.Header().Get(sandbox.HeaderDailyRemaining), w.Header().Get(sandbox.HeaderRemaining)))
	})
}

// referenceWatchHeap samples the heap's objects (live and not yet swept)
// every 20 ms until the returned function is called, which returns the
// largest sample.
func referenceWatchHeap() func() uint64 {
	done := make(chan struct{})
	var peak uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			select {
			case <-done:
				return
			case <-t.C:
				metrics.Read(sample)
				peak = max(peak, sample[0].Value.Uint64())
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak }
}
