package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func (f *fixture) rawPost(ctx context.Context, path, body string) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", f.srv.URL+path, strings.NewReader(body))
	req.Header.Set("x-api-token", f.sb.opt.Token)
	req.Header.Set("Content-Type", "application/json")
	f.clock.Advance(f.step)
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	return res, err
}

func livePersons(sb *Sandbox) int {
	n := 0
	for _, p := range sb.Snapshot().Items[kPersons] {
		if !p.Deleted {
			n++
		}
	}
	return n
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name    string
		faults  Faults
		status  int  // 0: the client sees an error
		applied bool //
	}{
		{"429", Faults{Rate429: 1}, 429, false},
		{"500", Faults{Rate500: 1}, 500, false},
		{"502", Faults{Rate502: 1}, 502, false},
		{"503", Faults{Rate503: 1}, 503, false},
		{"timeout", Faults{TimeoutRate: 1}, 0, false},
		{"drop", Faults{DropRate: 1}, 0, false},
		{"latency", Faults{Latency: 30 * time.Millisecond}, 200, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{Faults: tc.faults})
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			began := time.Now()
			res, err := f.rawPost(ctx, "/api/v2/persons", `{"name":"Ann Example"}`)
			switch {
			case tc.status == 0 && err == nil:
				t.Fatalf("client got %d, want an error", res.StatusCode)
			case tc.status != 0 && err != nil:
				t.Fatalf("client error %v, want %d", err, tc.status)
			case tc.status != 0 && res.StatusCode != tc.status:
				t.Fatalf("status = %d, want %d", res.StatusCode, tc.status)
			}
			if got := livePersons(f.sb) == 1; got != tc.applied {
				t.Errorf("applied = %v, want %v", got, tc.applied)
			}
			if tc.faults.Latency > 0 && time.Since(began) < tc.faults.Latency {
				t.Errorf("answered in %v, before the latency", time.Since(began))
			}
			if m := f.sb.Meter(); !tc.applied && m.Tokens != 0 {
				t.Errorf("an unapplied fault cost %d tokens", m.Tokens)
			}
		})
	}
}

func TestFaultsReproducible(t *testing.T) {
	run := func(seed int64) string {
		f := newFixture(t, Options{Seed: seed, Faults: Faults{Rate500: 0.3, Rate503: 0.2}})
		var b strings.Builder
		for range 30 {
			r := f.do("GET", "/v1/users/me", nil)
			b.WriteString(http.StatusText(r.status)[:1])
		}
		return b.String()
	}
	a, b, c := run(7), run(7), run(8)
	if a != b {
		t.Errorf("same seed, different faults:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("different seeds, same faults: %s", a)
	}
	if !strings.Contains(a, "I") || !strings.Contains(a, "O") {
		t.Errorf("faults = %s, want some of each", a)
	}
}

func TestFailAfterWrites(t *testing.T) {
	f := newFixture(t, Options{Faults: Faults{FailAfterWrites: 2}})
	for i := range 4 {
		_, err := f.rawPost(context.Background(), "/api/v2/persons", `{"name":"P"}`)
		if (err != nil) != (i == 2) {
			t.Fatalf("write %d: err = %v; only the third write should lose its answer", i+1, err)
		}
	}
	if n := livePersons(f.sb); n != 4 {
		t.Errorf("persons = %d, want 4: the dropped write was applied", n)
	}
	if m := f.sb.Meter(); m.Tokens != 4*5 || m.Dropped != 1 {
		t.Errorf("meter = %+v, want the dropped write charged", m)
	}
}

func TestSnapshotSaveLoad(t *testing.T) {
	f := newFixture(t, Options{Seed: 3})
	key := f.must("POST", "/api/v2/personFields", map[string]any{"field_name": "PP client id", "field_type": "varchar"}).data()["field_code"].(string)
	f.must("POST", "/api/v2/persons", map[string]any{"name": "Ann", "custom_fields": map[string]any{key: "C-1"}})
	f.must("POST", "/api/v2/deals", map[string]any{"title": "D", "value": 10})

	path := filepath.Join(t.TempDir(), "state.json")
	if err := f.sb.Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode = %v, %v", fi.Mode(), err)
	}
	other, _ := New(Options{Seed: 3})
	if err := other.Load(path); err != nil {
		t.Fatal(err)
	}
	if d := Compare(f.sb.Snapshot(), other.Snapshot()); len(d) != 0 {
		t.Errorf("round trip differs: %+v", d)
	}
	if got := other.Snapshot().Items[kPersons][1].Custom[key]; got != "C-1" {
		t.Errorf("custom value after load = %v", got)
	}
	other.Reset()
	if d := Compare(f.sb.Snapshot(), other.Snapshot()); len(d) == 0 {
		t.Errorf("a reset sandbox compares equal")
	}
}

func TestAdminAPI(t *testing.T) {
	f := newFixture(t, Options{})
	f.must("POST", "/api/v2/persons", map[string]any{"name": "Ann"})
	admin := func(method, path string, body any, token string) (int, []byte) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, f.srv.URL+path, rd)
		req.Header.Set("x-api-token", token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if code, _ := admin("GET", "/_sandbox/meter", nil, "wrong"); code != 401 {
		t.Errorf("admin without the token = %d", code)
	}
	code, b := admin("GET", "/_sandbox/meter", nil, DefaultToken)
	var m Meter
	if json.Unmarshal(b, &m); code != 200 || m.Tokens != 5 {
		t.Errorf("meter = %d %s", code, b)
	}
	_, snap := admin("GET", "/_sandbox/snapshot", nil, DefaultToken)
	var st State
	if err := json.Unmarshal(snap, &st); err != nil || st.Items[kPersons][1] == nil {
		t.Fatalf("snapshot = %v %s", err, snap)
	}
	cmp := func() map[string]any {
		_, b := admin("POST", "/_sandbox/compare", json.RawMessage(snap), DefaultToken)
		var out map[string]any
		json.Unmarshal(b, &out)
		return out
	}
	if out := cmp(); out["equal"] != true {
		t.Errorf("compare with own snapshot = %v", out)
	}
	f.must("PATCH", "/api/v2/persons/1", map[string]any{"name": "Bea"})
	if out := cmp(); out["equal"] != false || !strings.Contains(string(mustJSON(out)), `"field":"name"`) {
		t.Errorf("compare after a change = %v", out)
	}
	if code, b := admin("POST", "/_sandbox/faults", map[string]any{"rate_503": 1, "latency": "1ms"}, DefaultToken); code != 200 {
		t.Fatalf("faults = %d %s", code, b)
	}
	if r := f.do("GET", "/v1/users/me", nil); r.status != 503 {
		t.Errorf("after POST faults = %d", r.status)
	}
	if code, _ := admin("POST", "/_sandbox/faults", map[string]any{"rate_503": 2}, DefaultToken); code != 400 {
		t.Errorf("an impossible share = %d", code)
	}
	admin("POST", "/_sandbox/reset", nil, DefaultToken)
	if n := livePersons(f.sb); n != 0 || f.sb.Meter().Requests != 0 {
		t.Errorf("after reset: %d persons, meter %+v", n, f.sb.Meter())
	}
	if r := f.do("GET", "/v1/users/me", nil); r.status != 200 {
		t.Errorf("reset kept the faults: %d", r.status)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func BenchmarkCreatePerson(b *testing.B) {
	var tick atomic.Int64
	sb, err := New(Options{Plan: "ultimate", Seats: 50, Now: func() time.Time {
		return start.Add(time.Duration(tick.Add(1)) * 20 * time.Millisecond)
	}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httpServer(b, sb)
	body := []byte(`{"name":"Ann Example","emails":[{"value":"ann@example.com","primary":true}]}`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("POST", srv+"/api/v2/persons", bytes.NewReader(body))
		req.Header.Set("x-api-token", DefaultToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}
