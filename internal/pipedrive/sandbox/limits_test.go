package sandbox

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/contract"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/cost"
)

// direct serves requests in-process through the contract validator, for
// tests that send thousands of them.
type direct struct {
	t     *testing.T
	sb    *Sandbox
	h     http.Handler
	clock *clock.Virtual
}

func newDirect(t *testing.T, opt Options) *direct {
	t.Helper()
	vc := clock.NewVirtual(start)
	opt.Now = vc.Now
	sb, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return &direct{t: t, sb: sb, h: contract.ForTest(t).Middleware(t, sb), clock: vc}
}

func (d *direct) get(path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("x-api-token", DefaultToken)
	rec := httptest.NewRecorder()
	d.h.ServeHTTP(rec, req)
	return rec
}

func TestBurstLimit(t *testing.T) {
	d := newDirect(t, Options{Plan: "growth"})
	for i := range 40 {
		if rec := d.get("/v1/users/me"); rec.Code != 200 {
			t.Fatalf("request %d = %d", i+1, rec.Code)
		}
	}
	rec := d.get("/v1/users/me")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("41st request in 2 s on growth = %d, want 429", rec.Code)
	}
	h := rec.Header()
	for name, want := range map[string]string{HeaderLimit: "40", HeaderRemaining: "0", HeaderReset: "2", "Retry-After": "2"} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(rec.Body.String(), `"success":false`) {
		t.Errorf("429 body = %s", rec.Body)
	}
	if d.sb.Meter().Tokens != 40*2 {
		t.Errorf("tokens = %d, want 80: a 429 costs nothing", d.sb.Meter().Tokens)
	}

	d.clock.Advance(1999 * time.Millisecond)
	if rec := d.get("/v1/users/me"); rec.Code != 429 {
		t.Errorf("just inside the window = %d, want 429", rec.Code)
	}
	d.clock.Advance(time.Millisecond)
	rec = d.get("/v1/users/me")
	if rec.Code != 200 {
		t.Fatalf("after the window moved = %d", rec.Code)
	}
	if got := rec.Header().Get(HeaderRemaining); got != "39" {
		t.Errorf("remaining after the window moved = %s, want 39", got)
	}

	// The search window is separate, and 10 per 2 s.
	d.clock.Advance(time.Minute)
	for i := range 10 {
		if rec := d.get("/api/v2/persons/search?term=ann"); rec.Code != 200 {
			t.Fatalf("search %d = %d %s", i+1, rec.Code, rec.Body)
		}
	}
	if rec := d.get("/api/v2/persons/search?term=ann"); rec.Code != 429 || rec.Header().Get(HeaderLimit) != "10" {
		t.Errorf("11th search = %d limit %s, want 429 limit 10", rec.Code, rec.Header().Get(HeaderLimit))
	}
	if rec := d.get("/v1/users/me"); rec.Code != 200 {
		t.Errorf("a non-search request while searches are throttled = %d", rec.Code)
	}
}

func TestDailyBudget(t *testing.T) {
	d := newDirect(t, Options{Plan: "lite", Seats: 1})
	d.clock.Set(time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC))
	op, _ := cost.Lookup("GET", "/v1/activityTypes")
	n := d.sb.DailyBudget() / op.Cost
	for i := range n {
		d.clock.Advance(150 * time.Millisecond)
		if rec := d.get("/v1/activityTypes"); rec.Code != 200 {
			t.Fatalf("request %d = %d %s", i+1, rec.Code, rec.Body)
		}
	}
	for _, path := range []string{"/v1/activityTypes", "/v1/users/me", "/api/v2/persons/1"} {
		d.clock.Advance(time.Second)
		rec := d.get(path)
		if rec.Code != 429 || rec.Header().Get(HeaderDailyRemaining) != "0" || rec.Header().Get(HeaderDailyLimit) != "30000" {
			t.Errorf("%s after the budget = %d (daily %s/%s)", path, rec.Code, rec.Header().Get(HeaderDailyRemaining), rec.Header().Get(HeaderDailyLimit))
		}
		if ra := rec.Header().Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("no Retry-After until midnight: %q", ra)
		}
	}
	d.clock.Set(time.Date(2026, 3, 3, 0, 0, 1, 0, time.UTC))
	rec := d.get("/v1/users/me")
	if rec.Code != 200 || rec.Header().Get(HeaderDailyRemaining) != "29998" {
		t.Errorf("after midnight UTC = %d, remaining %s", rec.Code, rec.Header().Get(HeaderDailyRemaining))
	}
}

func TestPenaltyBlock(t *testing.T) {
	d := newDirect(t, Options{Plan: "lite", PenaltyRequests: 5})
	codes := map[int]int{}
	for range 20 + 6 {
		codes[d.get("/v1/users/me").Code]++
	}
	if codes[200] != 20 || codes[429] != 6 {
		t.Fatalf("codes = %v", codes)
	}
	rec := d.get("/v1/users/me")
	if rec.Code != http.StatusForbidden || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), "<html") {
		t.Fatalf("after 6 429s with N=5: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	d.clock.Advance(30 * time.Second)
	if rec := d.get("/v1/users/me"); rec.Code != 403 {
		t.Errorf("inside the cool-down = %d", rec.Code)
	}
	d.clock.Advance(31 * time.Second)
	if rec := d.get("/v1/users/me"); rec.Code != 200 {
		t.Errorf("after the cool-down = %d", rec.Code)
	}
	if m := d.sb.Meter(); m.Blocked != 2 || m.Throttled != 6 {
		t.Errorf("meter = %+v", m)
	}
}

func TestMeterMatchesCosts(t *testing.T) {
	f := newFixture(t, Options{})
	want := map[string]int{}
	total := 0
	call := func(bad bool, method, path string, body any) {
		var r resp
		if bad {
			r = f.bad(method, path, body)
		} else {
			r = f.do(method, path, body)
		}
		op, known := cost.Lookup(method, path)
		if known && r.status != 401 && r.status != 429 {
			want[op.Endpoint()] += op.Cost
			total += op.Cost
		}
	}
	call(false, "POST", "/api/v2/persons", map[string]any{"name": "A"})
	call(false, "GET", "/api/v2/persons/1", nil)
	call(false, "GET", "/api/v2/persons", nil)
	call(false, "PATCH", "/api/v2/persons/1", map[string]any{"name": "B"})
	call(true, "POST", "/api/v2/persons", map[string]any{})   // 400 costs
	call(false, "GET", "/api/v2/persons/99", nil)             // 404 costs
	call(true, "GET", "/api/v2/nothing", nil)                 // unpublished: free
	call(false, "GET", "/api/v2/products", nil)               // published, not served: 404, charged
	call(false, "GET", "/api/v2/persons/search?term=ab", nil) // search
	call(false, "POST", "/v1/notes", map[string]any{"content": "n", "person_id": 1})
	call(false, "GET", "/v1/notes", nil)
	call(false, "DELETE", "/api/v2/persons/1", nil)
	m := f.sb.Meter()
	if m.Tokens != total {
		t.Errorf("tokens = %d, want %d", m.Tokens, total)
	}
	for ep, c := range want {
		if m.TokensByEndpoint[ep] != c {
			t.Errorf("%s = %d, want %d", ep, m.TokensByEndpoint[ep], c)
		}
	}
	if len(m.TokensByEndpoint) != len(want) {
		t.Errorf("endpoints = %v, want %v", m.TokensByEndpoint, want)
	}
	if m.Requests != 12 || m.Responses[400] != 1 || m.Responses[404] != 3 {
		t.Errorf("meter = %+v", m)
	}
}

// TestSetDailyBudget: a budget set part-way through the day counts what
// was spent already; zero goes back to the plan's.
func TestSetDailyBudget(t *testing.T) {
	d := newDirect(t, Options{Plan: "lite", Seats: 1})
	d.clock.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	for range 5 {
		if rec := d.get("/v1/users/me"); rec.Code != 200 {
			t.Fatalf("before the change = %d", rec.Code)
		}
	}
	d.sb.SetDailyBudget(14) // 10 spent: two more /v1/users/me (2 tokens each)
	if got := d.sb.DailyBudget(); got != 14 {
		t.Errorf("DailyBudget = %d, want 14", got)
	}
	for i := range 2 {
		if rec := d.get("/v1/users/me"); rec.Code != 200 || rec.Header().Get(HeaderDailyLimit) != "14" {
			t.Fatalf("request %d within the new budget = %d (daily limit %s)", i+1, rec.Code, rec.Header().Get(HeaderDailyLimit))
		}
	}
	if rec := d.get("/v1/users/me"); rec.Code != 429 || rec.Header().Get(HeaderDailyRemaining) != "0" {
		t.Errorf("past the new budget = %d (remaining %s), want 429", rec.Code, rec.Header().Get(HeaderDailyRemaining))
	}
	d.sb.SetDailyBudget(0)
	if rec := d.get("/v1/users/me"); rec.Code != 200 || rec.Header().Get(HeaderDailyLimit) != "30000" {
		t.Errorf("back on the plan's budget = %d (daily limit %s)", rec.Code, rec.Header().Get(HeaderDailyLimit))
	}
}
