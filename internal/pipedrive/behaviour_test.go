package pipedrive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"ok", Config{BaseURL: "https://acme.pipedrive.com", Token: "t", Plan: "Growth"}, ""},
		{"ok http with path", Config{BaseURL: "http://127.0.0.1:8080/", Token: "t", Plan: "lite", Seats: 3, Workers: 10}, ""},
		{"no scheme", Config{BaseURL: "acme.pipedrive.com", Token: "t", Plan: "lite"}, "absolute http or https"},
		{"ftp", Config{BaseURL: "ftp://acme.pipedrive.com", Token: "t", Plan: "lite"}, "absolute http or https"},
		{"query", Config{BaseURL: "https://acme.pipedrive.com?api_token=x", Token: "t", Plan: "lite"}, "no query"},
		{"empty token", Config{BaseURL: "https://acme.pipedrive.com", Token: " ", Plan: "lite"}, "empty API token"},
		{"unknown plan", Config{BaseURL: "https://acme.pipedrive.com", Token: "t", Plan: "gold"}, "unknown plan"},
		{"too many workers", Config{BaseURL: "https://acme.pipedrive.com", Token: "t", Plan: "lite", Workers: 11}, "too many"},
		{"negative seats", Config{BaseURL: "https://acme.pipedrive.com", Token: "t", Plan: "lite", Seats: -1}, "negative seats"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestDailyBudget(t *testing.T) {
	for plan, want := range map[string]int{"lite": 90000, "growth": 180000, "premium": 450000, "ultimate": 630000} {
		c, err := New(Config{BaseURL: "https://x.pipedrive.com", Token: "t", Plan: plan, Seats: 3})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.DailyBudget(); got != want {
			t.Errorf("%s: DailyBudget = %d, want %d", plan, got, want)
		}
	}
}

func TestRedaction(t *testing.T) {
	cfg := Config{BaseURL: "https://acme.pipedrive.com", Token: testToken, Plan: "lite"}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%q", "%x"} {
		for _, v := range []any{cfg, &cfg, c, struct {
			C   *Client
			Cfg Config
		}{c, cfg}} {
			if s := fmt.Sprintf(verb, v); containsToken(s) || strings.Contains(s, fmt.Sprintf("%x", testToken)) {
				t.Errorf("Sprintf(%s, %T) leaks the token: %s", verb, v, s)
			}
		}
	}
}

// TestPagination follows three pages in each style.
func TestPagination(t *testing.T) {
	t.Run("v2 cursor", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
			next := map[string]string{"": "c1", "c1": "c2", "c2": ""}[r.URL.Query().Get("cursor")]
			cursor := `null`
			if next != "" {
				cursor = `"` + next + `"`
			}
			id := n + 1
			writeJSON(w, 200, fmt.Sprintf(`{"success":true,"data":[{"id":%d,"name":"P%d"},{"id":%d,"name":"P%d"}],"additional_data":{"next_cursor":%s}}`, 2*id-1, 2*id-1, 2*id, 2*id, cursor))
		})
		env := newTestClient(t, f)
		var ids []int
		if err := env.c.ListPersons(context.Background(), ListOptions{Limit: 2}, func(p Person) error { ids = append(ids, p.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(ids), "[1 2 3 4 5 6]"; got != want {
			t.Errorf("ids %s, want %s", got, want)
		}
		var cursors []string
		for _, r := range f.requests() {
			cursors = append(cursors, r.Query.Get("cursor")+"/"+r.Query.Get("limit"))
		}
		if got, want := strings.Join(cursors, ","), "/2,c1/2,c2/2"; got != want {
			t.Errorf("cursors %s, want %s", got, want)
		}
	})
	t.Run("v1 start/limit", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
			start, _ := strconv.Atoi(r.URL.Query().Get("start"))
			more := start < 4
			writeJSON(w, 200, fmt.Sprintf(`{"success":true,"data":[{"id":%d,"content":"a"},{"id":%d,"content":"b"}],"additional_data":{"pagination":{"start":%d,"limit":2,"more_items_in_collection":%t,"next_start":%d}}}`,
				start+1, start+2, start, more, start+2))
		})
		env := newTestClient(t, f)
		var ids []int
		if err := env.c.ListNotes(context.Background(), NoteListOptions{ListOptions: ListOptions{Limit: 2}}, func(n Note) error { ids = append(ids, n.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(ids), "[1 2 3 4 5 6]"; got != want {
			t.Errorf("ids %s, want %s", got, want)
		}
		var starts []string
		for _, r := range f.requests() {
			starts = append(starts, r.Query.Get("start"))
		}
		if got, want := strings.Join(starts, ","), "0,2,4"; got != want {
			t.Errorf("starts %s, want %s", got, want)
		}
	})
	t.Run("fn error stops", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
			writeJSON(w, 200, `{"success":true,"data":[{"id":1,"name":"a"}],"additional_data":{"next_cursor":"more"}}`)
		})
		env := newTestClient(t, f)
		stop := errors.New("stop")
		err := env.c.ListPersons(context.Background(), ListOptions{}, func(Person) error { return stop })
		if !errors.Is(err, stop) || len(f.requests()) != 1 {
			t.Errorf("err %v after %d requests, want stop after 1", err, len(f.requests()))
		}
	})
}

// maxInWindow is the largest number of times in any closed window of
// length w (the strictest way to count a rolling window).
func maxInWindow(times []time.Time, w time.Duration) int {
	best := 0
	for i := range times {
		n := 0
		for j := i; j < len(times) && !times[j].After(times[i].Add(w)); j++ {
			n++
		}
		best = max(best, n)
	}
	return best
}

// TestThrottleWindow sends three windows' worth of requests on the virtual
// clock and counts them, as the server saw them, in every rolling window.
func TestThrottleWindow(t *testing.T) {
	tests := []struct {
		plan    string
		workers int
		limit   int // the most this client may send in a window
	}{
		{"lite", 1, 20}, {"growth", 1, 40}, {"premium", 1, 100}, {"ultimate", 1, 120},
		{"lite", 3, 6}, {"growth", 4, 10}, {"ultimate", 7, 17},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%d workers", tc.plan, tc.workers), func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) { writeJSON(w, 200, ok(personJSON)) })
			env := newTestClient(t, f, func(c *Config) { c.Plan = tc.plan; c.Workers = tc.workers })
			n := 3 * Plans[tc.plan].Burst / tc.workers
			for range n {
				if _, err := env.c.GetPerson(context.Background(), 7); err != nil {
					t.Fatal(err)
				}
			}
			var at []time.Time
			for _, r := range f.requests() {
				at = append(at, r.At)
			}
			// A lone client keeps one short of the limit in any window, so the
			// server never reports none remaining; one of several uses its
			// whole share, the shares adding up to at most the plan's limit.
			want := tc.limit
			if tc.workers == 1 {
				want--
			}
			if got := maxInWindow(at, BurstWindow); got != want {
				t.Errorf("%d requests in the busiest %s window, want %d (this client's share %d)", got, BurstWindow, want, tc.limit)
			}
			got := maxInWindow(at, BurstWindow)
			elapsed := at[len(at)-1].Sub(at[0])
			t.Logf("%d requests in %s (%.1f/s), busiest window %d", n, elapsed, float64(n-1)/elapsed.Seconds(), got)
		})
	}
}

// TestSearchThrottle: searches keep to 10 per window on their own limiter
// while other calls go on at the plan's rate.
func TestSearchThrottle(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
		if strings.HasSuffix(r.URL.Path, "/search") {
			writeJSON(w, 200, `{"success":true,"data":{"items":[]},"additional_data":{"next_cursor":null}}`)
			return
		}
		writeJSON(w, 200, ok(personJSON))
	})
	env := newTestClient(t, f, func(c *Config) { c.Plan = "ultimate" })
	ctx := context.Background()
	for i := range 60 {
		if _, err := env.c.SearchPersonsByEmail(ctx, fmt.Sprintf("p%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := env.c.GetPerson(ctx, 7); err != nil {
				t.Fatal(err)
			}
		}
	}
	var search, all []time.Time
	for _, r := range f.requests() {
		all = append(all, r.At)
		if strings.HasSuffix(r.Path, "/search") {
			search = append(search, r.At)
		}
	}
	if got := maxInWindow(search, BurstWindow); got > SearchLimit || got < SearchLimit-1 {
		t.Errorf("%d searches in a window, want %d (or one fewer)", got, SearchLimit)
	}
	if got := maxInWindow(all, BurstWindow); got > 120 {
		t.Errorf("%d requests in a window, limit 120", got)
	}
}

// TestAdaptsToRemaining: after x-ratelimit-remaining: 0 the next request
// waits one spacing of the limiter (a slot frees by then), not the whole
// coarse x-ratelimit-reset; with requests to spare it does not wait.
func TestAdaptsToRemaining(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, _ []byte) {
		if n == 0 {
			w.Header().Set("x-ratelimit-remaining", "0")
			w.Header().Set("x-ratelimit-reset", "2")
		} else {
			w.Header().Set("x-ratelimit-remaining", "99")
		}
		w.Header().Set("x-daily-ratelimit-token-limit", "450000")
		w.Header().Set("x-daily-ratelimit-token-remaining", "449990")
		writeJSON(w, 200, ok(personJSON))
	})
	env := newTestClient(t, f)
	for range 3 {
		if _, err := env.c.GetPerson(context.Background(), 7); err != nil {
			t.Fatal(err)
		}
	}
	r := f.requests()
	th, _ := ThrottleFor(env.c.Plan(), 1)
	spacing := time.Duration(float64(time.Second) / float64(th.Rate))
	if gap := r[1].At.Sub(r[0].At); gap < spacing || gap >= 2*time.Second {
		t.Errorf("second request %s after the first, want one spacing (%s), less than the 2 s reset", gap, spacing)
	}
	if gap := r[2].At.Sub(r[1].At); gap >= time.Second {
		t.Errorf("third request waited %s with requests to spare", gap)
	}
	if q := env.c.Quota(); !q.Known || q.Limit != 450000 || q.Remaining != 449990 {
		t.Errorf("Quota() = %+v", q)
	}
}
