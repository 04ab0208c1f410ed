package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/contract"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

type env struct {
	sb  *sandbox.Sandbox
	c   *pipedrive.Client
	url string
	vc  *clock.Virtual
}

// newEnv starts a sandbox with faults and a client on one virtual clock;
// HTTP timeouts stay real (timeout is the client's per-request limit).
func newEnv(t *testing.T, plan string, faults sandbox.Faults, token string, timeout time.Duration) env {
	t.Helper()
	vc := clock.NewVirtual(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	sb, err := sandbox.New(sandbox.Options{Plan: plan, Seed: 3, Now: vc.Now, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	v := contract.ForTest(t)
	srv := httptest.NewServer(v.Middleware(t, sb))
	t.Cleanup(srv.Close)
	c, err := pipedrive.New(pipedrive.Config{BaseURL: srv.URL, Token: token, Plan: plan, Now: vc.Now, Sleep: vc.Sleep,
		HTTPClient: &http.Client{Transport: v.Transport(t, http.DefaultTransport), Timeout: timeout}})
	if err != nil {
		t.Fatal(err)
	}
	return env{sb: sb, c: c, url: srv.URL, vc: vc}
}

func person(i int) pipedrive.PersonInput {
	return pipedrive.PersonInput{Name: fmt.Sprintf("Person %d", i)}
}

// TestEveryFaultKind drives the client against the sandbox under each kind
// of injected fault: reads always succeed in the end (retried); writes
// either succeed or, when the connection broke after sending, report an
// unknown outcome, and the sandbox then holds exactly the writes that
// were applied.
func TestEveryFaultKind(t *testing.T) {
	tests := []struct {
		name    string
		faults  sandbox.Faults
		timeout time.Duration
		unknown bool // writes may end in OutcomeUnknownError
	}{
		{"429", sandbox.Faults{Rate429: 0.2}, 10 * time.Second, false},
		{"500", sandbox.Faults{Rate500: 0.2}, 10 * time.Second, false},
		{"502", sandbox.Faults{Rate502: 0.2}, 10 * time.Second, false},
		{"503", sandbox.Faults{Rate503: 0.2}, 10 * time.Second, false},
		{"latency", sandbox.Faults{Latency: 5 * time.Millisecond}, 10 * time.Second, false},
		{"timeouts", sandbox.Faults{TimeoutRate: 0.1}, 300 * time.Millisecond, true},
		{"dropped connections", sandbox.Faults{DropRate: 0.1}, 10 * time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "premium", tc.faults, sandbox.DefaultToken, tc.timeout)
			ctx := context.Background()
			created, unknown := 0, 0
			for i := range 60 {
				_, err := e.c.CreatePerson(ctx, person(i))
				var ou *pipedrive.OutcomeUnknownError
				switch {
				case err == nil:
					created++
				case tc.unknown && errors.As(err, &ou):
					unknown++
				default:
					t.Fatalf("write %d: %v", i, err)
				}
			}
			for i := range 60 {
				if _, err := e.c.Me(ctx); err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
			}
			if got := len(e.sb.Snapshot().Items["persons"]); got != created {
				t.Errorf("sandbox holds %d persons; %d creates succeeded (%d unknown, and these faults never apply the write)", got, created, unknown)
			}
			m := e.sb.Meter()
			if m.Tokens != e.c.Meter().Total() {
				t.Errorf("tokens: sandbox %d, client %d", m.Tokens, e.c.Meter().Total())
			}
			faulted := m.Throttled + m.Dropped + m.TimedOut + m.Responses[500] + m.Responses[502] + m.Responses[503]
			if tc.faults.Latency == 0 && faulted == 0 {
				t.Errorf("no fault was injected: meter %+v", m)
			}
			if tc.faults.Latency == 0 && e.c.Meter().Retries() == 0 {
				t.Errorf("the client counted no retries under %d injected faults", faulted)
			}
			if tc.faults.Latency != 0 && e.c.Meter().Retries() != 0 {
				t.Errorf("the client counted %d retries with no fault", e.c.Meter().Retries())
			}
		})
	}
}

func TestLostWriteIsReportedOnce(t *testing.T) {
	e := newEnv(t, "growth", sandbox.Faults{FailAfterWrites: 3}, sandbox.DefaultToken, 10*time.Second)
	ctx := context.Background()
	var outcomes []string
	for i := range 5 {
		_, err := e.c.CreatePerson(ctx, person(i))
		var ou *pipedrive.OutcomeUnknownError
		switch {
		case err == nil:
			outcomes = append(outcomes, "ok")
		case errors.As(err, &ou):
			outcomes = append(outcomes, "unknown")
		default:
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if got := fmt.Sprint(outcomes); got != "[ok ok ok unknown ok]" {
		t.Errorf("outcomes %s; want the fourth write unknown", got)
	}
	if got := len(e.sb.Snapshot().Items["persons"]); got != 5 {
		t.Errorf("sandbox holds %d persons; want 5 (the lost write was applied, and not sent twice)", got)
	}
}

func TestUnauthorised(t *testing.T) {
	e := newEnv(t, "growth", sandbox.Faults{}, "wrong-token-4f1c", 10*time.Second)
	_, err := e.c.Me(context.Background())
	var ue *pipedrive.UnauthorizedError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v; want *UnauthorizedError", err)
	}
	if s := err.Error(); strings.Contains(s, "wrong-token-4f1c") {
		t.Errorf("error %q shows the token", s)
	}
}

// TestDailyBudget spends a lite company's whole day (30,000 tokens) on
// list calls: the client stops with BudgetExhaustedError naming midnight
// UTC, and after the sandbox clock passes it the client works again.
func TestDailyBudget(t *testing.T) {
	e := newEnv(t, "lite", sandbox.Faults{}, sandbox.DefaultToken, 10*time.Second)
	ctx := context.Background()
	var be *pipedrive.BudgetExhaustedError
	for i := 0; i < 4000; i++ {
		err := e.c.ListPersons(ctx, pipedrive.ListOptions{}, func(pipedrive.Person) error { return nil })
		if err == nil {
			continue
		}
		if !errors.As(err, &be) {
			t.Fatalf("list %d: %v", i, err)
		}
		break
	}
	if be == nil {
		t.Fatal("4,000 list calls (40,000 tokens) never exhausted a 30,000-token budget")
	}
	midnight := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	// Retry-After is in whole seconds, so the client may resume up to a
	// second after the reset, never before it.
	if be.ResumeAt.Before(midnight) || be.ResumeAt.After(midnight.Add(time.Second)) {
		t.Errorf("ResumeAt = %v; want the reset at %v (within Retry-After's second)", be.ResumeAt, midnight)
	}
	if got, want := e.sb.Meter().Tokens, 30000; got != want {
		t.Errorf("sandbox charged %d tokens; want the whole budget %d", got, want)
	}
	if e.c.Meter().Total() != e.sb.Meter().Tokens {
		t.Errorf("client counted %d tokens; sandbox %d", e.c.Meter().Total(), e.sb.Meter().Tokens)
	}
	e.vc.Set(midnight.Add(time.Second))
	if _, err := e.c.Me(ctx); err != nil {
		t.Errorf("after the reset: %v", err)
	}
}

// TestBlockedAfterHammering: a client that ignores 429s (here raw HTTP)
// gets the 403 HTML page; the Pipedrive client then reports BlockedError.
func TestBlockedAfterHammering(t *testing.T) {
	e := newEnv(t, "lite", sandbox.Faults{}, sandbox.DefaultToken, 10*time.Second)
	blocked := false
	for i := 0; i < 200 && !blocked; i++ {
		req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/users/me", nil)
		req.Header.Set("x-api-token", sandbox.DefaultToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		blocked = resp.StatusCode == http.StatusForbidden
	}
	if !blocked {
		t.Fatal("200 requests inside one burst window were never blocked")
	}
	_, err := e.c.Me(context.Background())
	var be *pipedrive.BlockedError
	if !errors.As(err, &be) {
		t.Errorf("err = %v; want *BlockedError", err)
	}
}
