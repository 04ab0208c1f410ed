package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/contract"
)

var start = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// fixture is a sandbox behind the contract validator on a loopback server,
// with a virtual clock that moves step on every request so that ordinary
// tests stay inside the burst limit.
type fixture struct {
	t     testing.TB
	sb    *Sandbox
	srv   *httptest.Server // validates every exchange against the documents
	loose *httptest.Server // for requests that break the contract on purpose
	clock *clock.Virtual
	step  time.Duration
}

func newFixture(t testing.TB, opt Options) *fixture {
	t.Helper()
	vc := clock.NewVirtual(start)
	if opt.Now == nil {
		opt.Now = vc.Now
	}
	sb, err := New(opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	v := contract.ForTest(t)
	srv := httptest.NewServer(v.Middleware(t, sb))
	t.Cleanup(srv.Close)
	loose := httptest.NewServer(v.Middleware(requestViolationsExpected{t}, sb))
	t.Cleanup(loose.Close)
	return &fixture{t: t, sb: sb, srv: srv, loose: loose, clock: vc, step: 100 * time.Millisecond}
}

// requestViolationsExpected reports the contract's response violations but
// only logs its request violations, for tests of the sandbox's answers to
// requests that break the contract on purpose.
type requestViolationsExpected struct{ testing.TB }

func (e requestViolationsExpected) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.Contains(msg, " request: ") || strings.Contains(msg, "not a published Pipedrive operation") ||
		strings.Contains(msg, "deprecated v1 endpoint") {
		e.Logf("expected: %s", msg)
		return
	}
	e.TB.Errorf("%s", msg)
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r resp) data() map[string]any {
	m, _ := r.body["data"].(map[string]any)
	return m
}

func (r resp) list() []any {
	l, _ := r.body["data"].([]any)
	return l
}

func (r resp) errMsg() string {
	s, _ := r.body["error"].(string)
	return s
}

func (f *fixture) do(method, path string, body any) resp {
	f.t.Helper()
	return f.doOn(f.srv, method, path, body)
}

// bad sends a request that breaks the contract on purpose.
func (f *fixture) bad(method, path string, body any) resp {
	f.t.Helper()
	return f.doOn(f.loose, method, path, body)
}

func (f *fixture) doOn(srv *httptest.Server, method, path string, body any) resp {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("x-api-token", f.sb.opt.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return f.send(req)
}

func (f *fixture) send(req *http.Request) resp {
	f.t.Helper()
	f.clock.Advance(f.step)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			f.t.Fatalf("%s %s: body is not JSON: %v\n%s", req.Method, req.URL.Path, err, raw)
		}
	}
	return r
}

// must does a request and fails the test unless it answers 200 with success.
func (f *fixture) must(method, path string, body any) resp {
	f.t.Helper()
	r := f.do(method, path, body)
	if r.status != http.StatusOK || r.body["success"] != true {
		f.t.Fatalf("%s %s: got %d %s", method, path, r.status, r.raw)
	}
	return r
}

func (f *fixture) upload(path string, fields map[string]string, name string, content []byte) resp {
	f.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("x-api-token", f.sb.opt.Token)
	return f.send(req)
}

func id(r resp) int {
	n, _ := asInt(r.data()["id"])
	return n
}

func num(v any) int {
	n, _ := asInt(v)
	return n
}

func httpServer(tb testing.TB, h http.Handler) string {
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.URL
}
