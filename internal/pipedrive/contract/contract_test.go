package contract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const testToken = "tok_4f1d2c9e8b7a6f5e4d3c2b1a0f9e8d7c"

// newRequest builds a request as the client sends it to a local sandbox.
func newRequest(method, target, contentType string, body []byte) *http.Request {
	r := httptest.NewRequest(method, "http://127.0.0.1:8089"+target, bytes.NewReader(body))
	r.Header.Set("x-api-token", testToken)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// multipartBody is a POST /v1/files form: the file part, then the fields.
func multipartBody(t testing.TB, fileSize int, fields map[string]string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if fileSize >= 0 {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="Contract.pdf"`)
		h.Set("Content-Type", "application/pdf")
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte("%PDF-1.7 "), fileSize/9+1)[:fileSize])
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoad(t *testing.T) {
	v := ForTest(t)
	ops := v.Operations()
	count := map[string]int{}
	for _, op := range ops {
		switch {
		case strings.Contains(op, " /api/v2/"):
			count["v2"]++
		case strings.Contains(op, " /v1/"):
			count["v1"]++
		}
	}
	// SOURCE.md: every operation carries x-token-cost, 213 in v1.yaml, 158 in v2.yaml.
	if got, want := count["v1"], 213; got != want {
		t.Errorf("v1 operations = %d, want %d", got, want)
	}
	if got, want := count["v2"], 158; got != want {
		t.Errorf("v2 operations = %d, want %d", got, want)
	}
	if got, want := len(ops), 213+158; got != want {
		t.Errorf("operations = %d, want %d", got, want)
	}
	t.Logf("%d operations (v1 %d, v2 %d), %d retired v1 operations, %d deprecated v1 operations still documented",
		len(ops), count["v1"], count["v2"], len(v.deprecated.ops), len(v.deprecated.current))
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(t.TempDir())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(empty dir) = %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestSpecDir(t *testing.T) {
	dir, err := SpecDir()
	if err != nil {
		t.Skipf("no shared/pipedrive here: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "v1.yaml")); err != nil {
		t.Errorf("SpecDir() = %s without v1.yaml: %v", dir, err)
	}
	t.Chdir(os.TempDir())
	if _, err := SpecDir(); err == nil || !strings.Contains(err.Error(), os.TempDir()) {
		t.Errorf("SpecDir() outside a module: err = %v, want one naming %s", err, os.TempDir())
	}
}

func TestFailLoad(t *testing.T) {
	missing := fmt.Errorf("find Pipedrive spec directory: looked in /x: %w", os.ErrNotExist)
	broken := errors.New("load Pipedrive document v1.yaml: bad YAML")
	tests := []struct {
		name      string
		err       error
		ci        bool
		wantSkip  bool
		wantFatal bool
	}{
		{"missing on a developer machine", missing, false, true, false},
		{"missing in CI", missing, true, false, true},
		{"broken on a developer machine", broken, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorderTB{}
			failLoad(rec, tc.err, tc.ci)
			if rec.skipped != tc.wantSkip || rec.fatal != tc.wantFatal {
				t.Errorf("skipped, fatal = %v, %v; want %v, %v", rec.skipped, rec.fatal, tc.wantSkip, tc.wantFatal)
			}
		})
	}
}

func TestValidateRequestValid(t *testing.T) {
	v := ForTest(t)
	files, filesCT := multipartBody(t, 2000, map[string]string{"deal_id": "42"})
	tests := []struct {
		name, method, target, contentType, body string
	}{
		{"create person", "POST", "/api/v2/persons", "application/json",
			`{"name":"Ann Smith","emails":[{"value":"a@example.com","primary":true,"label":"work"}]}`},
		{"update deal", "PATCH", "/api/v2/deals/42", "application/json", `{"title":"12 High Street purchase","stage_id":3,"value":250000}`},
		{"create deal field", "POST", "/api/v2/dealFields", "application/json", `{"field_name":"Matter number","field_type":"varchar"}`},
		{"create enum deal field", "POST", "/api/v2/dealFields", "application/json",
			`{"field_name":"Tenure","field_type":"enum","options":[{"label":"Freehold"},{"label":"Leasehold"}]}`},
		{"list persons page", "GET", "/api/v2/persons?cursor=eyJpZCI6MX0&limit=500", "", ""},
		{"search persons by email", "GET", "/api/v2/persons/search?term=a@example.com&fields=email&exact_match=true", "", ""},
		{"get person", "GET", "/api/v2/persons/42", "", ""},
		{"add note", "POST", "/v1/notes", "application/json", `{"content":"Exchange booked for Friday","deal_id":42}`},
		{"upload file", "POST", "/v1/files", filesCT, string(files)},
		{"add participant", "POST", "/v1/deals/42/participants", "application/json", `{"person_id":7}`},
		{"current user", "GET", "/v1/users/me", "", ""},
		{"content type with charset", "POST", "/v1/notes", "application/json; charset=utf-8", `{"content":"x","person_id":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest(tc.method, tc.target, tc.contentType, []byte(tc.body))
			if err := v.ValidateRequest(r, []byte(tc.body)); err != nil {
				t.Errorf("ValidateRequest: %v", err)
			}
		})
	}
}

func TestValidateRequestInvalid(t *testing.T) {
	v := ForTest(t)
	noFile, noFileCT := multipartBody(t, -1, map[string]string{"deal_id": "42"})
	badField, badFieldCT := multipartBody(t, 10, map[string]string{"deal_id": "forty-two"})
	tests := []struct {
		name, method, target, contentType, body string
		noToken                                 bool
		kind                                    error
		want                                    []string // substrings of the message, in order
	}{
		{name: "unknown path", method: "GET", target: "/api/v2/nothing",
			kind: ErrUnknownOperation, want: []string{"GET /api/v2/nothing request: not a published Pipedrive operation"}},
		{name: "unknown method", method: "PUT", target: "/api/v2/persons/1", contentType: "application/json", body: `{}`,
			kind: ErrUnknownOperation, want: []string{"PUT /api/v2/persons/1 request:", "not with method PUT"}},
		{name: "neither prefix", method: "GET", target: "/v2/persons",
			kind: ErrUnknownOperation, want: []string{"GET /v2/persons request:", "neither /api/v2 nor /v1"}},
		{name: "string for integer", method: "PATCH", target: "/api/v2/deals/42", contentType: "application/json", body: `{"stage_id":"3"}`,
			kind: ErrViolation, want: []string{"PATCH /api/v2/deals/{id} request: body:", "/stage_id", "integer"}},
		{name: "string for integer path parameter", method: "GET", target: "/api/v2/persons/ann",
			kind: ErrViolation, want: []string{"GET /api/v2/persons/{id} request:", `parameter "id" in path`}},
		{name: "limit not an integer", method: "GET", target: "/api/v2/persons?limit=lots",
			kind: ErrViolation, want: []string{"GET /api/v2/persons request:", `parameter "limit" in query`}},
		{name: "missing required property", method: "POST", target: "/api/v2/dealFields", contentType: "application/json", body: `{"field_name":"Matter number"}`,
			kind: ErrViolation, want: []string{"POST /api/v2/dealFields request: body:", `property "field_type" is missing`}},
		{name: "missing required v1 property", method: "POST", target: "/v1/deals/42/participants", contentType: "application/json", body: `{}`,
			kind: ErrViolation, want: []string{"POST /v1/deals/{id}/participants request: body:", `property "person_id" is missing`}},
		{name: "bad enum value", method: "POST", target: "/api/v2/dealFields", contentType: "application/json", body: `{"field_name":"Matter number","field_type":"string"}`,
			kind: ErrViolation, want: []string{"POST /api/v2/dealFields request: body:", "/field_type", "not one of the allowed values"}},
		{name: "missing body", method: "POST", target: "/api/v2/dealFields", contentType: "application/json",
			kind: ErrViolation, want: []string{"POST /api/v2/dealFields request: body:"}},
		{name: "body where none is declared", method: "GET", target: "/v1/users/me", contentType: "application/json", body: `{}`,
			kind: ErrViolation, want: []string{"GET /v1/users/me request:"}},
		{name: "wrong content type", method: "POST", target: "/v1/notes", contentType: "text/plain", body: `content=x`,
			kind: ErrViolation, want: []string{"POST /v1/notes request:", "text/plain"}},
		{name: "multipart without file", method: "POST", target: "/v1/files", contentType: noFileCT, body: string(noFile),
			kind: ErrViolation, want: []string{"POST /v1/files request: body:", `"file"`}},
		{name: "multipart field not an integer", method: "POST", target: "/v1/files", contentType: badFieldCT, body: string(badField),
			kind: ErrViolation, want: []string{"POST /v1/files request: body:", "deal_id"}},
		{name: "undeclared query parameter", method: "GET", target: "/api/v2/persons?start=500",
			kind: ErrViolation, want: []string{"GET /api/v2/persons request: query:", "start"}},
		{name: "deprecated v1 list", method: "GET", target: "/v1/persons?start=0",
			kind: ErrDeprecatedV1, want: []string{"GET /v1/persons request:", "use GET /api/v2/persons"}},
		{name: "deprecated v1 create", method: "POST", target: "/v1/persons", contentType: "application/json", body: `{"name":"Ann"}`,
			kind: ErrDeprecatedV1, want: []string{"POST /v1/persons request:", "use POST /api/v2/persons"}},
		{name: "deprecated v1 update", method: "PUT", target: "/v1/deals/42", contentType: "application/json", body: `{"title":"x"}`,
			kind: ErrDeprecatedV1, want: []string{"PUT /v1/deals/{id} request:", "use PATCH /api/v2/deals/{id}"}},
		{name: "deprecated v1 search", method: "GET", target: "/v1/persons/search?term=ann",
			kind: ErrDeprecatedV1, want: []string{"GET /v1/persons/search request:", "use GET /api/v2/persons/search"}},
		{name: "deprecated v1 item search", method: "GET", target: "/v1/itemSearch?term=ann",
			kind: ErrDeprecatedV1, want: []string{"GET /v1/itemSearch request:", "use GET /api/v2/itemSearch"}},
		{name: "deprecated v1 stages", method: "GET", target: "/v1/stages",
			kind: ErrDeprecatedV1, want: []string{"GET /v1/stages request:", "/api/v2/stages"}},
		{name: "deprecated but still documented v1", method: "GET", target: "/v1/deals/archived",
			kind: ErrDeprecatedV1, want: []string{"GET /v1/deals/archived request:", "use GET /api/v2/deals/archived"}},
		{name: "no token", method: "GET", target: "/v1/users/me", noToken: true,
			kind: ErrUnauthenticated, want: []string{"GET /v1/users/me request: authentication"}},
		{name: "token in the query", method: "GET", target: "/v1/users/me?api_token=" + testToken, noToken: true,
			kind: ErrUnauthenticated, want: []string{"GET /v1/users/me request:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest(tc.method, tc.target, tc.contentType, []byte(tc.body))
			if tc.noToken {
				r.Header.Del("x-api-token")
			}
			err := v.ValidateRequest(r, []byte(tc.body))
			if err == nil {
				t.Fatal("ValidateRequest = nil, want an error")
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.kind)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Direction != Request {
				t.Errorf("error %T is not a request *Error", err)
			}
			msg := err.Error()
			at := 0
			for _, w := range tc.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Errorf("error %q: want %q (after offset %d)", msg, w, at)
					break
				}
				at += i + len(w)
			}
			if strings.Contains(msg, testToken) {
				t.Errorf("error %q contains the token", msg)
			}
		})
	}
}

func TestValidateResponse(t *testing.T) {
	v := ForTest(t)
	jsonCT := "application/json; charset=utf-8"
	tests := []struct {
		name, method, target string
		status               int
		contentType          string
		body                 []byte
		kind                 error // nil: valid
		want                 string
	}{
		{name: "v2 list page with next_cursor", method: "GET", target: "/api/v2/persons?limit=500",
			status: 200, contentType: jsonCT, body: readTestdata(t, "persons_page.json")},
		{name: "v2 last page, next_cursor null (quirk)", method: "GET", target: "/api/v2/persons?cursor=eyJpZCI6MX0",
			status: 200, contentType: jsonCT, body: readTestdata(t, "persons_last_page.json")},
		{name: "wrong-typed field", method: "GET", target: "/api/v2/persons",
			status: 200, contentType: jsonCT, body: readTestdata(t, "persons_page_bad_id.json"),
			kind: ErrViolation, want: "GET /api/v2/persons response: body:"},
		{name: "wrong content type", method: "GET", target: "/api/v2/persons",
			status: 200, contentType: "text/plain; charset=utf-8", body: readTestdata(t, "persons_page.json"),
			kind: ErrViolation, want: "GET /api/v2/persons response:"},
		{name: "undeclared success status", method: "GET", target: "/api/v2/persons",
			status: 201, contentType: jsonCT, body: readTestdata(t, "persons_page.json"),
			kind: ErrViolation, want: "GET /api/v2/persons response: status 201 is not declared (declared: 200)"},
		{name: "undeclared 429 with error envelope (quirk)", method: "POST", target: "/api/v2/persons",
			status: 429, contentType: jsonCT, body: readTestdata(t, "rate_limited.json")},
		{name: "undeclared 500 with error envelope (quirk)", method: "GET", target: "/v1/users/me",
			status: 500, contentType: "application/json", body: []byte(`{"success":false,"error":"Internal error","data":null}`)},
		{name: "429 without the envelope", method: "POST", target: "/api/v2/persons",
			status: 429, contentType: jsonCT, body: []byte(`{"message":"slow down"}`),
			kind: ErrViolation, want: "POST /api/v2/persons response: status 429 is not declared and is not Pipedrive's error envelope: body:"},
		{name: "429 envelope claiming success", method: "POST", target: "/api/v2/persons",
			status: 429, contentType: jsonCT, body: []byte(`{"success":true,"error":"x"}`),
			kind: ErrViolation, want: "/success"},
		{name: "429 as plain text", method: "POST", target: "/api/v2/persons",
			status: 429, contentType: "text/plain", body: []byte("Too Many Requests"),
			kind: ErrViolation, want: "want application/json"},
		{name: "403 HTML block page (quirk)", method: "GET", target: "/api/v2/persons",
			status: 403, contentType: "text/html; charset=UTF-8", body: readTestdata(t, "blocked.html")},
		{name: "v1 timestamp form (quirk)", method: "GET", target: "/v1/activityTypes",
			status: 200, contentType: jsonCT, body: readTestdata(t, "activity_types_v1.json")},
		{name: "v1 timestamp that is no date", method: "GET", target: "/v1/activityTypes",
			status: 200, contentType: jsonCT, body: bytes.Replace(readTestdata(t, "activity_types_v1.json"), []byte("2019-02-04 13:58:03"), []byte("2019-02-31 13:58:03"), 1),
			kind: ErrViolation, want: "GET /v1/activityTypes response: body:"},
		{name: "response to unknown operation", method: "GET", target: "/api/v2/nothing",
			status: 200, contentType: jsonCT, body: []byte(`{}`), kind: ErrUnknownOperation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest(tc.method, tc.target, "", nil)
			h := http.Header{}
			h.Set("Content-Type", tc.contentType)
			err := v.ValidateResponse(r, nil, tc.status, h, tc.body)
			switch {
			case tc.kind == nil && err != nil:
				t.Errorf("ValidateResponse: %v", err)
			case tc.kind != nil && !errors.Is(err, tc.kind):
				t.Errorf("ValidateResponse = %v, want %v", err, tc.kind)
			case tc.kind != nil && !strings.Contains(err.Error(), tc.want):
				t.Errorf("ValidateResponse = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestV2DateTimeStrict checks the v1 timestamp quirk does not leak into v2.
func TestV2DateTimeStrict(t *testing.T) {
	if err := checkV1DateTime("2019-02-04 13:58:03"); err != nil {
		t.Errorf("v1 form rejected: %v", err)
	}
	v := ForTest(t)
	body := `{"success":true,"data":[{"field_name":"Tenure","field_code":"abc","field_type":"enum",` +
		`"is_custom_field":true,"is_optional_response_field":false,` +
		`"options":[{"id":1,"label":"Freehold","add_time":"%s","update_time":null}]}],"additional_data":{"next_cursor":null}}`
	r := newRequest("GET", "/api/v2/dealFields", "", nil)
	h := http.Header{"Content-Type": {"application/json"}}
	if err := v.ValidateResponse(r, nil, 200, h, fmt.Appendf(nil, body, "2026-03-02T09:15:00Z")); err != nil {
		t.Errorf("RFC 3339 in v2: %v", err)
	}
	if err := v.ValidateResponse(r, nil, 200, h, fmt.Appendf(nil, body, "2026-03-02 09:15:00")); err == nil {
		t.Error("v1 timestamp form in v2 accepted, want a violation")
	}
}

func TestQuirksDocumented(t *testing.T) {
	for i, q := range Quirks {
		if q.Operation == "" || q.Where == "" || len(q.Reason) < 40 || q.match == nil || q.kind == 0 {
			t.Errorf("Quirks[%d] = %+v: every quirk needs Operation, Where, a Reason and a matcher", i, q)
		}
	}
}

// recorderTB is a testing.TB that records what a Transport or Middleware reports.
type recorderTB struct {
	testing.TB // nil: calling anything not overridden panics
	mu         sync.Mutex
	errors     []string
	fatal      bool
	skipped    bool
}

func (r *recorderTB) Skipf(string, ...any) { r.skipped = true }

func (r *recorderTB) Helper() {}
func (r *recorderTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorderTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = true
	r.mu.Unlock()
	r.Errorf(format, args...)
}
func (r *recorderTB) Logf(string, ...any) {}
func (r *recorderTB) reports() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

// exchangeCase is one request through Transport or Middleware and the answer
// a fake Pipedrive gives.
type exchangeCase struct {
	name, method, target, contentType string
	body                              []byte
	status                            int
	respCT                            string
	respBody                          []byte
	wantReports                       []string // substrings, one per report; none for valid traffic
}

func exchangeCases(t testing.TB) []exchangeCase {
	files, filesCT := multipartBody(t, 6<<20, map[string]string{"deal_id": "42"}) // spooled to disk
	return []exchangeCase{
		{name: "valid create person", method: "POST", target: "/api/v2/persons", contentType: "application/json",
			body:   []byte(`{"name":"Ann Smith","emails":[{"value":"a@example.com","primary":true,"label":"work"}]}`),
			status: 200, respCT: "application/json", respBody: []byte(`{"success":true,"data":{"id":1,"name":"Ann Smith"}}`)},
		{name: "valid list", method: "GET", target: "/api/v2/persons?limit=500",
			status: 200, respCT: "application/json", respBody: readTestdata(t, "persons_page.json")},
		{name: "valid large upload", method: "POST", target: "/v1/files", contentType: filesCT, body: files,
			status: 200, respCT: "application/json", respBody: []byte(`{"success":true,"data":{"id":9,"deal_id":42,"file_name":"Contract.pdf"}}`)},
		{name: "rate limited", method: "GET", target: "/api/v2/persons",
			status: 429, respCT: "application/json", respBody: readTestdata(t, "rate_limited.json")},
		{name: "sandbox admin", method: "POST", target: "/_sandbox/reset", contentType: "application/json", body: []byte(`{"anything":1}`),
			status: 204},
		{name: "bad request and bad response", method: "PATCH", target: "/api/v2/deals/42", contentType: "application/json", body: []byte(`{"stage_id":"3"}`),
			status: 200, respCT: "application/json", respBody: []byte(`{"success":"yes"}`),
			wantReports: []string{"PATCH /api/v2/deals/{id} request: body:", "PATCH /api/v2/deals/{id} response: body:"}},
		{name: "deprecated v1", method: "GET", target: "/v1/persons",
			status: 200, respCT: "application/json", respBody: []byte(`{"success":true,"data":[]}`),
			wantReports: []string{"GET /v1/persons request: GET /v1/persons is a deprecated v1 endpoint: use GET /api/v2/persons"}},
		{name: "unknown operation reported once", method: "GET", target: "/api/v2/nothing",
			status: 404, respCT: "application/json", respBody: []byte(`{"success":false,"error":"Not found"}`),
			wantReports: []string{"GET /api/v2/nothing request: not a published Pipedrive operation"}},
	}
}

// fakePipedrive answers each case's request with its canned response and
// records the body it received.
func fakePipedrive(t testing.TB, cases []exchangeCase, got map[string][]byte, mu *sync.Mutex) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		key := r.Method + " " + r.URL.RequestURI()
		mu.Lock()
		got[key] = body
		mu.Unlock()
		for _, c := range cases {
			if c.method+" "+c.target == key {
				if c.respCT != "" {
					w.Header().Set("Content-Type", c.respCT)
				}
				w.WriteHeader(c.status)
				w.Write(c.respBody)
				return
			}
		}
		http.NotFound(w, r)
	})
}

func checkReports(t *testing.T, reports []string, want []string) {
	t.Helper()
	if len(reports) != len(want) {
		t.Errorf("reports = %q, want %d matching %q", reports, len(want), want)
		return
	}
	for i, w := range want {
		if !strings.Contains(reports[i], w) {
			t.Errorf("report %d = %q, want it to contain %q", i, reports[i], w)
		}
		if strings.Contains(reports[i], testToken) {
			t.Errorf("report %d contains the token", i)
		}
	}
}

func TestTransport(t *testing.T) {
	v := ForTest(t)
	cases := exchangeCases(t)
	var mu sync.Mutex
	received := map[string][]byte{}
	srv := httptest.NewServer(fakePipedrive(t, cases, received, &mu))
	defer srv.Close()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorderTB{}
			client := &http.Client{Transport: v.Transport(rec, srv.Client().Transport)}
			req, err := http.NewRequest(tc.method, srv.URL+tc.target, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("x-api-token", testToken)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, tc.respBody) {
				t.Errorf("response body changed: got %d bytes, want %d", len(body), len(tc.respBody))
			}
			mu.Lock()
			sent := received[tc.method+" "+tc.target]
			mu.Unlock()
			if !bytes.Equal(sent, tc.body) {
				t.Errorf("request body changed downstream: got %d bytes, want %d", len(sent), len(tc.body))
			}
			checkReports(t, rec.reports(), tc.wantReports)
			if rec.fatal {
				t.Error("Transport called Fatalf")
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	v := ForTest(t)
	cases := exchangeCases(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			received := map[string][]byte{}
			rec := &recorderTB{}
			srv := httptest.NewServer(v.Middleware(rec, fakePipedrive(t, cases, received, &mu)))
			defer srv.Close()
			req, err := http.NewRequest(tc.method, srv.URL+tc.target, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("x-api-token", testToken)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			srv.Close() // handlers have returned: every report is in
			if !bytes.Equal(body, tc.respBody) {
				t.Errorf("response body changed: got %d bytes, want %d", len(body), len(tc.respBody))
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if sent := received[tc.method+" "+tc.target]; !bytes.Equal(sent, tc.body) {
				t.Errorf("request body changed for the handler: got %d bytes, want %d", len(sent), len(tc.body))
			}
			checkReports(t, rec.reports(), tc.wantReports)
		})
	}
}

// TestMiddlewareSniffedContentType: a handler that forgets Content-Type sends
// JSON as text/plain, and the client would see that.
func TestMiddlewareSniffedContentType(t *testing.T) {
	v := ForTest(t)
	rec := &recorderTB{}
	h := v.Middleware(rec, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(readTestdata(t, "persons_page.json"))
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, newRequest("GET", "/api/v2/persons", "", nil))
	checkReports(t, rec.reports(), []string{"GET /api/v2/persons response:"})
}

func TestRedaction(t *testing.T) {
	v := ForTest(t)
	// The token turns up in a body and in the query: neither may reach a message.
	r := newRequest("PATCH", "/api/v2/deals/42?api_token="+testToken, "application/json", nil)
	body := []byte(`{"title":1,"stage_id":"` + testToken + `"}`)
	err := v.ValidateRequest(r, body)
	if err == nil {
		t.Fatal("ValidateRequest = nil, want a violation")
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, testToken) {
			t.Errorf("error contains the token: %s", s)
		}
	}
	resp := v.ValidateResponse(r, body, 200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"success":false,"data":{"title":"`+testToken+`"}}`))
	if resp != nil && strings.Contains(resp.Error(), testToken) {
		t.Errorf("response error contains the token: %v", resp)
	}
	e := secretsOf(r).newError("GET /v1/users/me", Request, ErrViolation, "got "+testToken)
	if strings.Contains(e.Error(), testToken) || !strings.Contains(e.Error(), "[REDACTED]") {
		t.Errorf("newError = %q, want the token redacted", e)
	}
}

func TestConcurrent(t *testing.T) {
	v := ForTest(t)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				body := fmt.Appendf(nil, `{"name":"Person %d-%d"}`, i, j)
				if err := v.ValidateRequest(newRequest("POST", "/api/v2/persons", "application/json", body), body); err != nil {
					t.Error(err)
				}
				if err := v.ValidateResponse(newRequest("GET", "/api/v2/persons", "", nil), nil, 200,
					http.Header{"Content-Type": {"application/json"}}, readTestdata(t, "persons_page.json")); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkValidateRequest(b *testing.B) {
	v := ForTest(b)
	body := []byte(`{"name":"Ann Smith","emails":[{"value":"a@example.com","primary":true,"label":"work"}]}`)
	r := newRequest("POST", "/api/v2/persons", "application/json", body)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.ValidateRequest(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateResponse(b *testing.B) {
	v := ForTest(b)
	body := readTestdata(b, "persons_page.json")
	r := newRequest("GET", "/api/v2/persons?limit=500", "", nil)
	h := http.Header{"Content-Type": {"application/json"}}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.ValidateResponse(r, nil, 200, h, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTransport is one validated round trip to a local server, both directions.
func BenchmarkTransport(b *testing.B) {
	v := ForTest(b)
	page := readTestdata(b, "persons_page.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(page)
	}))
	defer srv.Close()
	client := &http.Client{Transport: v.Transport(b, srv.Client().Transport)}
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v2/persons?limit=500", nil)
		req.Header.Set("x-api-token", testToken)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
