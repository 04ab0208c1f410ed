package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/contract"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

// run is one measured burst of writes from workers clients sharing a
// company's token, against a sandbox on the same clock.
type run struct {
	plan            string
	writes, workers int
	virtual         bool // a virtual clock: rate limits without waiting
	validate        bool // check traffic against the OpenAPI documents
}

type result struct {
	elapsed                time.Duration
	requests, throttled    int
	clientTokens, sbTokens int
	byEndpointDiffer       []string
	limitPerSecond         float64
}

func (r run) do(tb testing.TB) result {
	tb.Helper()
	var clk clock.Clock = clock.Real{}
	if r.virtual {
		clk = clock.NewVirtual(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	}
	sb, err := sandbox.New(sandbox.Options{Plan: r.plan, Seats: 3, Seed: 1, Now: clk.Now})
	if err != nil {
		tb.Fatal(err)
	}
	var h http.Handler = sb
	transport := http.DefaultTransport
	if r.validate {
		v := contract.ForTest(tb)
		h = v.Middleware(tb, sb)
		transport = v.Transport(tb, transport)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	clients := make([]*pipedrive.Client, r.workers)
	for i := range clients {
		c, err := pipedrive.New(pipedrive.Config{BaseURL: srv.URL, Token: sandbox.DefaultToken, Plan: r.plan, Seats: 3,
			Workers: r.workers, Now: clk.Now, Sleep: clk.Sleep, HTTPClient: &http.Client{Transport: transport, Timeout: 30 * time.Second}})
		if err != nil {
			tb.Fatal(err)
		}
		clients[i] = c
	}
	ctx := context.Background()
	start := clk.Now()
	var wg sync.WaitGroup
	errs := make(chan error, r.workers)
	for w, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < r.writes; i += r.workers {
				if _, err := c.CreatePerson(ctx, pipedrive.PersonInput{Name: fmt.Sprintf("Person %d", i),
					Emails: []pipedrive.ContactValue{{Value: fmt.Sprintf("p%d@example.com", i), Primary: true, Label: "work"}}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatalf("create person: %v", err)
	}
	res := result{elapsed: clk.Now().Sub(start), limitPerSecond: float64(pipedrive.Plans[r.plan].Burst) / pipedrive.BurstWindow.Seconds()}
	m := sb.Meter()
	res.requests, res.throttled, res.sbTokens = m.Requests, m.Throttled, m.Tokens
	got := map[string]int{}
	for _, c := range clients {
		res.clientTokens += c.Meter().Total()
		for k, v := range c.Meter().Tokens() {
			got[k] += v
		}
	}
	for k, v := range m.TokensByEndpoint {
		if got[k] != v {
			res.byEndpointDiffer = append(res.byEndpointDiffer, fmt.Sprintf("%s: client %d, sandbox %d", k, got[k], v))
		}
	}
	if persons := len(sb.Snapshot().Items["persons"]); persons != r.writes {
		tb.Fatalf("%d persons in the sandbox; %d were written", persons, r.writes)
	}
	return res
}

func (res result) throughput(writes int) float64 { return float64(writes) / res.elapsed.Seconds() }

// TestThrottleKeepsToTheLimit writes at full speed on a virtual clock
// (deterministic: the only time that passes is what the client waits)
// and checks the outcome the benchmarks report: no 429, at least 90% of
// the plan's burst rate, and the two token meters agreeing exactly.
func TestThrottleKeepsToTheLimit(t *testing.T) {
	for _, r := range []run{
		{plan: "lite", writes: 300, workers: 1, virtual: true, validate: true},
		{plan: "growth", writes: 400, workers: 1, virtual: true, validate: true},
		{plan: "premium", writes: 600, workers: 1, virtual: true},
	} {
		t.Run(r.plan, func(t *testing.T) {
			res := r.do(t)
			if res.throttled != 0 {
				t.Errorf("%d of %d requests answered 429; want none", res.throttled, res.requests)
			}
			if share := res.throughput(r.writes) / res.limitPerSecond; share < 0.90 || share > 1.0 {
				t.Errorf("throughput %.2f/s is %.1f%% of the %s limit %.0f/s; want 90–100%%", res.throughput(r.writes), 100*share, r.plan, res.limitPerSecond)
			}
			if res.clientTokens != res.sbTokens || len(res.byEndpointDiffer) > 0 {
				t.Errorf("client counted %d tokens, sandbox metered %d; by endpoint: %v", res.clientTokens, res.sbTokens, res.byEndpointDiffer)
			}
			if want := 5 * r.writes; res.sbTokens != want {
				t.Errorf("sandbox metered %d tokens; %d person creates cost %d", res.sbTokens, r.writes, want)
			}
		})
	}
}

func report(b *testing.B, r run, res result) {
	b.ReportMetric(res.throughput(r.writes), "writes/s")
	b.ReportMetric(100*res.throughput(r.writes)/res.limitPerSecond, "%-of-limit")
	b.ReportMetric(100*float64(res.throttled)/float64(res.requests), "%-429")
	b.ReportMetric(float64(res.clientTokens), "tokens-client")
	b.ReportMetric(float64(res.sbTokens), "tokens-sandbox")
	if len(res.byEndpointDiffer) > 0 {
		b.Errorf("token meters disagree: %v", res.byEndpointDiffer)
	}
}

// BenchmarkSustainedWritesVirtual: 2,000 person creates at Growth limits,
// one worker, virtual clock (the throttle's own fidelity, no waiting).
func BenchmarkSustainedWritesVirtual(b *testing.B) {
	r := run{plan: "growth", writes: 2000, workers: 1, virtual: true}
	for i := 0; i < b.N; i++ {
		report(b, r, r.do(b))
	}
}

// BenchmarkSustainedWritesRealTime: 2,000 person creates at Growth limits
// in real time over loopback, every request and response checked against
// the OpenAPI documents; by one client, and by four sharing the token
// (Workers: 4, each throttled to a quarter of the plan). About 110 s each.
func BenchmarkSustainedWritesRealTime(b *testing.B) {
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			r := run{plan: "growth", writes: 2000, workers: workers, validate: true}
			for i := 0; i < b.N; i++ {
				report(b, r, r.do(b))
			}
		})
	}
}
