package pipedrive

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestFailures runs each failure path against a scripted fake: what comes
// back, how many requests reached the server, and that neither the error
// nor any log line carries the token or the searched address.
func TestFailures(t *testing.T) {
	type reply func(t testing.TB, w http.ResponseWriter, r *http.Request)
	status := func(code int, body string, hdr ...string) reply {
		return func(_ testing.TB, w http.ResponseWriter, _ *http.Request) {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			writeJSON(w, code, body)
		}
	}
	drop := func(t testing.TB, w http.ResponseWriter, _ *http.Request) { dropConn(t, w) }
	html := func(_ testing.TB, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "<!DOCTYPE html><html><body>Access denied</body></html>")
	}
	okPerson := status(200, ok(personJSON))
	over := errorJSON("Request over limit", "Please check developers.pipedrive.com for more information about Pipedrive API.")

	get := func(ctx context.Context, c *Client) error { _, err := c.GetPerson(ctx, 7); return err }
	create := func(ctx context.Context, c *Client) error {
		_, err := c.CreatePerson(ctx, PersonInput{Name: "Jane"})
		return err
	}
	search := func(ctx context.Context, c *Client) error {
		_, err := c.SearchPersonsByEmail(ctx, "jane.secret@example.com")
		return err
	}
	del := func(ctx context.Context, c *Client) error { return c.DeletePerson(ctx, 7) }

	tests := []struct {
		name      string
		call      func(context.Context, *Client) error
		replies   []reply
		maxRetry  int
		transport func(http.RoundTripper) http.RoundTripper
		check     func(t *testing.T, err error, env testEnv)
		wantReqs  int
		wantSleep []time.Duration // waits other than the limiter's, in order (nil: not checked)
	}{
		{
			name: "429 with Retry-After is waited out", call: get, wantReqs: 2,
			replies:   []reply{status(429, over, "Retry-After", "2", "x-ratelimit-remaining", "0", "x-ratelimit-reset", "2"), okPerson},
			wantSleep: []time.Duration{2 * time.Second},
		},
		{
			name: "429 with an HTTP-date Retry-After", call: get, wantReqs: 2,
			replies: []reply{status(429, over, "Retry-After", epoch.Add(45*time.Second).Format(http.TimeFormat)), okPerson},
			check: func(t *testing.T, err error, env testEnv) {
				// 45 s is beyond the burst window but a single such 429 is
				// retried, at the date given: the wait is 45 s less the
				// first request's spacing (a new client's limiter starts
				// empty).
				if err != nil {
					t.Fatal(err)
				}
				var waits []time.Duration
				for _, d := range env.sleeps.all() {
					if d >= time.Second {
						waits = append(waits, d)
					}
				}
				if now := env.f.clock.Now(); len(waits) != 1 || waits[0] > 45*time.Second || !now.Equal(epoch.Add(45*time.Second)) {
					t.Errorf("waits %v, clock at %s; want one wait, ending at %s", waits, now, epoch.Add(45*time.Second))
				}
			},
		},
		{
			name: "5xx then success", call: get, wantReqs: 4,
			replies: []reply{status(500, errorJSON("Internal", "")), status(502, errorJSON("Bad gateway", "")),
				status(504, errorJSON("Gateway timeout", "")), okPerson},
		},
		{
			name: "503 on a POST is retried", call: create, wantReqs: 2,
			replies:   []reply{status(503, errorJSON("Unavailable", ""), "Retry-After", "1"), okPerson},
			wantSleep: []time.Duration{time.Second},
		},
		{name: "dropped connection on GET is retried", call: get, wantReqs: 2, replies: []reply{drop, okPerson}},
		{
			name: "dropped connection after a POST is sent: outcome unknown, not retried", call: create, wantReqs: 1,
			replies: []reply{drop, okPerson},
			check: func(t *testing.T, err error, _ testEnv) {
				var ou *OutcomeUnknownError
				if !errors.As(err, &ou) || ou.Endpoint != "POST /api/v2/persons" {
					t.Fatalf("err %v, want *OutcomeUnknownError for POST /api/v2/persons", err)
				}
			},
		},
		{
			name: "POST that never left (dial error) is retried", call: create, wantReqs: 1,
			replies: []reply{okPerson},
			transport: func(base http.RoundTripper) http.RoundTripper {
				var n atomic.Int32
				return roundTripFunc(func(r *http.Request) (*http.Response, error) {
					if n.Add(1) == 1 {
						return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
					}
					return base.RoundTrip(r)
				})
			},
		},
		{
			name: "DELETE lost then 404: the first attempt did it", call: del, wantReqs: 2,
			replies: []reply{func(t testing.TB, w http.ResponseWriter, r *http.Request) { dropConn(t, w) },
				status(404, errorJSON("Person not found", ""))},
		},
		{
			name: "daily budget exhausted", call: get, wantReqs: 1,
			replies: []reply{status(429, errorJSON("Daily API token budget exceeded", ""), "Retry-After", "3600",
				"x-daily-ratelimit-token-remaining", "0", "x-ratelimit-remaining", "99")},
			check: func(t *testing.T, err error, env testEnv) {
				var be *BudgetExhaustedError
				if !errors.As(err, &be) {
					t.Fatalf("err %v, want *BudgetExhaustedError", err)
				}
				if want := env.f.clock.Now().Add(time.Hour); !be.ResumeAt.Equal(want) { // Retry-After from the answer
					t.Errorf("ResumeAt %s, want %s", be.ResumeAt, want)
				}
				// Until then nothing is sent.
				err2 := get(context.Background(), env.c)
				if !errors.As(err2, &be) || len(env.f.requests()) != 1 {
					t.Errorf("second call: %v after %d requests; want *BudgetExhaustedError, no request", err2, len(env.f.requests()))
				}
			},
		},
		{
			name: "daily budget exhausted, no daily header, header-less reset: next UTC midnight", call: get, wantReqs: 1,
			replies: []reply{status(429, over, "x-daily-ratelimit-token-remaining", "0")},
			check: func(t *testing.T, err error, _ testEnv) {
				var be *BudgetExhaustedError
				if !errors.As(err, &be) || !be.ResumeAt.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)) {
					t.Fatalf("err %v, want *BudgetExhaustedError until midnight UTC", err)
				}
			},
		},
		{
			name: "two 429s asking for more than the burst window: budget", call: get, wantReqs: 2,
			replies: []reply{status(429, over, "Retry-After", "30"), status(429, over, "Retry-After", "30")},
			check: func(t *testing.T, err error, _ testEnv) {
				var be *BudgetExhaustedError
				if !errors.As(err, &be) {
					t.Fatalf("err %v, want *BudgetExhaustedError", err)
				}
			},
		},
		{
			name: "429s outlive the retries", call: get, wantReqs: 3, maxRetry: 2,
			replies: []reply{status(429, over, "Retry-After", "1"), status(429, over, "Retry-After", "1"), status(429, over, "Retry-After", "1")},
			check: func(t *testing.T, err error, _ testEnv) {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != 429 {
					t.Fatalf("err %v, want *APIError 429", err)
				}
			},
		},
		{
			name: "403 HTML page: blocked", call: get, wantReqs: 1, replies: []reply{html},
			check: func(t *testing.T, err error, _ testEnv) {
				var be *BlockedError
				if !errors.As(err, &be) {
					t.Fatalf("err %v, want *BlockedError", err)
				}
			},
		},
		{
			name: "401", call: get, wantReqs: 1,
			replies: []reply{status(401, errorJSON("You need to be authorized to make this request.", ""))},
			check: func(t *testing.T, err error, _ testEnv) {
				var ue *UnauthorizedError
				if !errors.As(err, &ue) || ue.Message != "You need to be authorized to make this request." {
					t.Fatalf("err %v, want *UnauthorizedError with Pipedrive's message", err)
				}
			},
		},
		{
			name: "404", call: get, wantReqs: 1,
			replies: []reply{status(404, errorJSON("Entity was not found", "Object was not found."))},
			check: func(t *testing.T, err error, _ testEnv) {
				var ne *NotFoundError
				if !errors.As(err, &ne) || ne.Message != "Entity was not found (Object was not found.)" {
					t.Fatalf("err %v, want *NotFoundError with Pipedrive's message", err)
				}
			},
		},
		{
			name: "400 with an address in the message", call: search, wantReqs: 1,
			replies: []reply{status(400, errorJSON("Invalid term jane.secret@example.com", ""))},
			check: func(t *testing.T, err error, _ testEnv) {
				var ve *ValidationError
				if !errors.As(err, &ve) || ve.Status != 400 || ve.Message != "Invalid term [email]" {
					t.Fatalf("err %v, want *ValidationError 400 with the address masked", err)
				}
			},
		},
		{
			name: "422", call: create, wantReqs: 1,
			replies: []reply{status(422, errorJSON("Validation failed: name: Parameter is required", ""))},
			check: func(t *testing.T, err error, _ testEnv) {
				var ve *ValidationError
				if !errors.As(err, &ve) || ve.Status != 422 || !strings.Contains(ve.Message, "name: Parameter is required") {
					t.Fatalf("err %v, want *ValidationError 422", err)
				}
			},
		},
		{
			name: "409 is a generic API error", call: create, wantReqs: 1,
			replies: []reply{status(409, errorJSON("Conflict", ""))},
			check: func(t *testing.T, err error, _ testEnv) {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != 409 {
					t.Fatalf("err %v, want *APIError 409", err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
				if n >= len(tc.replies) {
					t.Errorf("unexpected request %d", n+1)
					writeJSON(w, 500, errorJSON("unexpected", ""))
					return
				}
				tc.replies[n](t, w, r)
			})
			env := newTestClient(t, f, func(c *Config) {
				c.MaxRetries = tc.maxRetry
				if tc.transport != nil {
					c.HTTPClient = &http.Client{Transport: tc.transport(http.DefaultTransport.(*http.Transport).Clone())}
				}
			})
			err := tc.call(context.Background(), env.c)
			if tc.check != nil {
				tc.check(t, err, env)
			} else if err != nil {
				t.Fatalf("call: %v", err)
			}
			if got := len(f.requests()); got != tc.wantReqs {
				t.Errorf("server saw %d requests, want %d", got, tc.wantReqs)
			}
			if tc.wantSleep != nil {
				var waits []time.Duration
				for _, d := range env.sleeps.all() {
					if d >= time.Second {
						waits = append(waits, d)
					}
				}
				if !reflect.DeepEqual(waits, tc.wantSleep) {
					t.Errorf("waits %v, want %v", waits, tc.wantSleep)
				}
			}
			for _, s := range []string{errString(err), env.logs.String()} {
				if containsToken(s) || strings.Contains(s, "jane.secret@example.com") {
					t.Errorf("token or searched address leaked: %s", s)
				}
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestBackoff(t *testing.T) {
	c, err := New(Config{BaseURL: "https://x.pipedrive.com", Token: "t", Plan: "lite", Now: func() time.Time { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	for attempt := range 12 {
		ceiling := min(500*time.Millisecond<<attempt, 30*time.Second)
		for range 200 {
			if d := c.Backoff(attempt, nil); d < 0 || d > ceiling {
				t.Fatalf("attempt %d: %s not within [0, %s]", attempt, d, ceiling)
			}
		}
	}
	resp := &http.Response{StatusCode: 429, Header: http.Header{"X-Ratelimit-Reset": {"2"}}}
	if d := c.Backoff(0, resp); d != 2*time.Second {
		t.Errorf("429 with x-ratelimit-reset 2: %s, want 2s", d)
	}
	resp.Header.Set("Retry-After", "5")
	if d := c.Backoff(0, resp); d != 5*time.Second {
		t.Errorf("429 with Retry-After 5: %s, want 5s", d)
	}
}

// TestCancelledWait: a context ended while waiting for the limiter stops the call.
func TestCancelledWait(t *testing.T) {
	var cancelled atomic.Bool
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) { writeJSON(w, 200, ok(personJSON)) })
	env := newTestClient(t, f, func(c *Config) {
		c.Plan = "lite"
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			if cancelled.Load() {
				return context.Canceled
			}
			return f.clock.Sleep(ctx, d)
		}
	})
	ctx := context.Background()
	if _, err := env.c.GetPerson(ctx, 7); err != nil {
		t.Fatal(err)
	}
	cancelled.Store(true)
	if _, err := env.c.GetPerson(ctx, 7); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// TestMeter: tokens are charged at the documents' cost for every answer
// the API gave except 401, 429, 5xx and the 403 page.
func TestMeter(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
		switch n {
		case 0: // POST /api/v2/persons
			writeJSON(w, 200, ok(personJSON))
		case 1: // GET /api/v2/persons/7: 429 then 500 then 200
			writeJSON(w, 429, errorJSON("Request over limit", ""))
		case 2:
			writeJSON(w, 500, errorJSON("Internal", ""))
		case 3:
			writeJSON(w, 200, ok(personJSON))
		case 4: // GET /api/v2/persons/8: 404, charged
			writeJSON(w, 404, errorJSON("Entity was not found", ""))
		case 5: // POST /v1/notes
			writeJSON(w, 200, ok(noteJSON))
		case 6: // GET /v1/users/me: 401, not charged
			writeJSON(w, 401, errorJSON("unauthorized", ""))
		}
	})
	env := newTestClient(t, f)
	ctx := context.Background()
	env.c.CreatePerson(ctx, PersonInput{Name: "Jane"})
	env.c.GetPerson(ctx, 7)
	env.c.GetPerson(ctx, 8)
	env.c.CreateNote(ctx, NoteInput{Content: "x", DealID: 1})
	env.c.Me(ctx)
	m := env.c.Meter()
	want := map[string]int{"POST /api/v2/persons": 5, "GET /api/v2/persons/{id}": 2, "POST /v1/notes": 10}
	if got := m.Tokens(); !reflect.DeepEqual(got, want) {
		t.Errorf("Tokens() = %v, want %v", got, want)
	}
	if got := m.Total(); got != 17 {
		t.Errorf("Total() = %d, want 17", got)
	}
	if got := m.Requests(); got != 4 {
		t.Errorf("Requests() = %d, want 4", got)
	}
	if got := m.Responses(); got != 7 {
		t.Errorf("Responses() = %d, want 7", got)
	}
	if got := m.Throttled(); got != 1 {
		t.Errorf("Throttled() = %d, want 1", got)
	}
}

func TestUnpublishedOperationRefused(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) { t.Error("request sent") })
	env := newTestClient(t, f)
	// The retired v1 person CRUD is not in the documents any more.
	err := env.c.do(context.Background(), call{method: "GET", path: "/v1/persons/7"}, nil)
	if err == nil || !strings.Contains(err.Error(), "GET /v1/persons/{id} is not a published") {
		t.Fatalf("err %v", err)
	}
}

// TestNewClientStartsEmpty: a new client's first request waits one spacing
// of its limiter, so that clients following one another on one token (a
// Lambda invocation each) never put more than the plan's limit in a window.
func TestNewClientStartsEmpty(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) { writeJSON(w, 200, ok(personJSON)) })
	th, err := ThrottleFor(Plans["lite"], 1)
	if err != nil {
		t.Fatal(err)
	}
	spacing := time.Duration(float64(time.Second) / float64(th.Rate))
	for i := range 2 {
		env := newTestClient(t, f, func(c *Config) { c.Plan = "lite" })
		start := f.clock.Now()
		if _, err := env.c.GetPerson(context.Background(), 7); err != nil {
			t.Fatal(err)
		}
		if waited := f.clock.Now().Sub(start); waited < spacing-time.Millisecond || waited > spacing+time.Millisecond {
			t.Errorf("client %d: first request after %s; want one spacing, %s", i+1, waited, spacing)
		}
	}
}
