package migrate

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/benchtest"
	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/memledger"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

// BenchmarkLoadAtBurstLimit loads a sample export into the sandbox in real
// time, once per plan, and reports how close the load comes to the plan's
// burst limit: the requests the sandbox admitted per second as a share of
// the limit (target at least 90%), the share it answered 429 (target at
// most 0.5%), and the tokens it metered against the minimum the mapping
// needs for the records written (target at most 1.05×).
//
// The schema and the owners are set up first (in real time too, not
// measured); then the measured stretch runs every load step of a full
// migration in the state machine's order (organisations, referrers'
// firms, clients, referrers, deals, activities and notes, documents), each
// step with a client of its own as a Lambda invocation has. The export is
// sized for about 20 seconds of loading at each plan's rate (two matters
// for every three requests of the burst limit). The client and the sandbox
// are on the wall clock over loopback HTTP; traffic is not checked against
// the OpenAPI documents (the tests do that), to keep the load on the CPU
// down.
//
//	go test -run '^$' -bench BenchmarkLoadAtBurstLimit -benchtime 1x ./internal/migrate
func BenchmarkLoadAtBurstLimit(b *testing.B) {
	for _, plan := range []string{"lite", "growth", "premium", "ultimate"} {
		b.Run(plan, func(b *testing.B) {
			matters := pipedrive.Plans[plan].Burst * 2 / 3
			for i := 0; i < b.N; i++ {
				r := loadInRealTime(b, plan, matters)
				share := r.admittedPerSecond() / r.limitPerSecond
				throttled := float64(r.throttled) / float64(r.requests)
				ratio := float64(r.tokens) / float64(r.minimum)
				b.ReportMetric(r.admittedPerSecond(), "req/s")
				b.ReportMetric(100*share, "%-of-limit")
				b.ReportMetric(100*throttled, "%-429")
				b.ReportMetric(ratio, "tokens/minimum")
				b.ReportMetric(float64(r.tokens)/float64(r.records), "tokens/record")
				b.ReportMetric(r.elapsed.Seconds(), "s-loading")
				b.Logf("%s: %d matters, %d records written in %s: %d requests (%d admitted, %.2f/s = %.1f%% of %.0f/s), %d answered 429 (%.2f%%), "+
					"%d tokens for a minimum of %d (%.4f×), %.2f tokens per record; client meter %d tokens, %d requests",
					plan, matters, r.records, r.elapsed.Round(time.Millisecond), r.requests, r.requests-r.throttled, r.admittedPerSecond(),
					100*share, r.limitPerSecond, r.throttled, 100*throttled, r.tokens, r.minimum, ratio,
					float64(r.tokens)/float64(r.records), r.clientTokens, r.clientRequests)
				b.Logf("%s: share of the limit %.1f%% (target ≥ 90%%: %s), answered 429 %.2f%% (target ≤ 0.5%%: %s), tokens %.4f× the minimum (target ≤ 1.05×: %s)",
					plan, 100*share, metOrMissed(share >= 0.90), 100*throttled, metOrMissed(throttled <= 0.005), ratio, metOrMissed(ratio <= 1.05))
				for _, l := range r.refusals {
					b.Logf("%s: 429 on %s", plan, l)
				}
				b.Logf("reproduce: go test -run '^$' -bench 'BenchmarkLoadAtBurstLimit/%s$' -benchtime 1x ./internal/migrate", plan)
				if r.tokens != r.clientTokens {
					b.Errorf("%s: the sandbox metered %d tokens, the clients counted %d", plan, r.tokens, r.clientTokens)
				}
			}
		})
	}
}

func metOrMissed(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

type loadResult struct {
	elapsed                      time.Duration
	limitPerSecond               float64
	requests, throttled, tokens  int
	clientRequests, clientTokens int
	minimum, records             int
	refusals                     []string
}

func (r loadResult) admittedPerSecond() float64 {
	return float64(r.requests-r.throttled) / r.elapsed.Seconds()
}

// loadInRealTime stages a sample export of matters, sets up the schema and
// the owners in a new sandbox company on plan, then runs and measures every
// load step.
func loadInRealTime(b *testing.B, plan string, matters int) loadResult {
	b.Helper()
	ctx := context.Background()
	sb, err := sandbox.New(sandbox.Options{Plan: plan, Seed: 1, Token: testToken})
	if err != nil {
		b.Fatal(err)
	}
	// Which step each 429 came in, and after how many of its requests.
	var (
		mu       sync.Mutex
		step     string
		stepReqs int
		refusals []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &benchtest.StatusWriter{ResponseWriter: w}
		sb.ServeHTTP(rec, r)
		mu.Lock()
		defer mu.Unlock()
		stepReqs++
		if rec.Status == http.StatusTooManyRequests {
			refusals = append(refusals, fmt.Sprintf("%s %s, request %d of step %s", r.Method, r.URL.Path, stepReqs, step))
		}
	}))
	defer srv.Close()
	httpc := &http.Client{Timeout: time.Minute}
	client := func() *pipedrive.Client {
		c, err := pipedrive.New(pipedrive.Config{BaseURL: srv.URL, Token: testToken, Plan: plan, HTTPClient: httpc})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	cfg := mapping.Default()
	store, led := memblob.New(), memledger.New()
	manifest := stageSample(b, store, cfg, matters)
	bundle := openSampleBundle(b, matters) // the same seed and size as the staged one
	e := &Env{Store: store, Ledger: led, Pipedrive: client(), Config: cfg}
	if _, err := e.Schema(ctx, SchemaInput{MigrationID: testMigration, Run: "r1", Manifest: manifest, Apply: true}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.ResolveOwners(ctx, OwnersInput{MigrationID: testMigration, Manifest: manifest}); err != nil {
		b.Fatal(err)
	}
	st, err := openStaged(ctx, store, manifest)
	if err != nil {
		b.Fatal(err)
	}
	// The minimum and the records written so far (the schema's).
	minimum := func() (int, int) {
		all := (&testEnv{ledger: led}).entries(b)
		n := 0
		for _, en := range all {
			if en.Status == ledger.StatusWritten {
				n++
			}
		}
		return minimumTokens(b, all), n
	}
	min0, records0 := minimum()
	time.Sleep(pipedrive.BurstWindow) // the set-up's requests leave the window
	before := sb.Meter()
	var clientTokens, clientRequests int
	start := time.Now()
	for _, s := range loadOrder {
		for i := range st.manifest.Kinds[s.source].Chunks {
			mu.Lock()
			step, stepReqs = fmt.Sprintf("%s/%s/%d", s.kind, s.source, i), 0
			mu.Unlock()
			env := &Env{Store: store, Ledger: led, Pipedrive: client(), Config: cfg}
			in := LoadInput{MigrationID: testMigration, Run: "r1", Manifest: manifest, Kind: s.kind, Source: s.source, Chunk: i, Apply: true}
			out, err := runLoad(ctx, env, in, bundle)
			if err != nil {
				b.Fatalf("%s %s %d: %v", s.kind, s.source, i, err)
			}
			if out.Failed != 0 {
				b.Errorf("%s %s %d: %d failed", s.kind, s.source, i, out.Failed)
			}
			clientTokens += env.Pipedrive.Meter().Total()
			clientRequests += env.Pipedrive.Meter().Requests()
		}
	}
	elapsed := time.Since(start)
	after := sb.Meter()
	min1, records1 := minimum()
	return loadResult{
		elapsed:        elapsed,
		limitPerSecond: float64(pipedrive.Plans[plan].Burst) / pipedrive.BurstWindow.Seconds(),
		requests:       after.Requests - before.Requests,
		throttled:      after.Throttled - before.Throttled,
		tokens:         after.Tokens - before.Tokens,
		clientTokens:   clientTokens,
		clientRequests: clientRequests,
		minimum:        min1 - min0,
		records:        records1 - records0,
		refusals:       refusals,
	}
}
