package pipedrive

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/contract"
)

// testToken is distinctive so that a leak anywhere is easy to find.
const testToken = "tok-9f3Qx7-SECRET-do-not-print-41c2"

var epoch = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// seen is one request as the fake server received it.
type seen struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         []byte
	At           time.Time
}

// fake is an httptest server that records requests and answers with handle.
type fake struct {
	t      testing.TB
	clock  *clock.Virtual
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []seen
	handle func(w http.ResponseWriter, r *http.Request, n int, body []byte)
}

func newFake(t testing.TB, handle func(w http.ResponseWriter, r *http.Request, n int, body []byte)) *fake {
	f := &fake{t: t, clock: clock.NewVirtual(epoch), handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, At: f.clock.Now()})
		f.mu.Unlock()
		f.handle(w, r, n, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// sleeps records the waits a client asked for.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

type testEnv struct {
	c      *Client
	f      *fake
	sleeps *sleeps
	logs   *bytes.Buffer
}

// newTestClient returns a client of f on f's virtual clock, its traffic
// checked against Pipedrive's documents, logging at debug into a buffer.
func newTestClient(t testing.TB, f *fake, mod ...func(*Config)) testEnv {
	t.Helper()
	sl := &sleeps{}
	logs := &bytes.Buffer{}
	var logMu sync.Mutex
	cfg := Config{
		BaseURL:    f.srv.URL,
		Token:      testToken,
		Plan:       "premium",
		HTTPClient: &http.Client{Transport: contractTransport(t)},
		Now:        f.clock.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			sl.mu.Lock()
			sl.d = append(sl.d, d)
			sl.mu.Unlock()
			return f.clock.Sleep(ctx, d)
		},
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&logMu, logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return testEnv{c: c, f: f, sleeps: sl, logs: logs}
}

func contractTransport(t testing.TB) http.RoundTripper {
	if v := contract.ForTest(t); v != nil {
		return v.Transport(t, http.DefaultTransport.(*http.Transport).Clone())
	}
	return http.DefaultTransport.(*http.Transport).Clone()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	switch b := v.(type) {
	case string:
		io.WriteString(w, b)
	default:
		json.NewEncoder(w).Encode(v)
	}
}

func errorJSON(msg, info string) string {
	b, _ := json.Marshal(map[string]any{"success": false, "error": msg, "error_info": info, "data": nil, "additional_data": nil})
	return string(b)
}

// dropConn closes the client's connection without answering.
func dropConn(t testing.TB, w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	conn.Close()
}

func mustJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("request body %q: %v", b, err)
	}
	return m
}

func jsonEqual(t testing.TB, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return bytes.Equal(gb, wb)
}

func containsToken(s string) bool { return strings.Contains(s, testToken) }
