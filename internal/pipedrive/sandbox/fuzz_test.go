package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/cost"
)

// The fuzz targets of the sandbox's request decoding (issue 7). Both start
// from one company, built once per process by the real client's calls (the
// sequence of the client's TestSandboxEveryCall, plus a custom field of
// every type and a deleted item of every kind); every request the client
// sent is a seed. FuzzServe sends one fuzzed request (method, path, query,
// Content-Type, body) to a fresh copy of that company through ServeHTTP;
// FuzzCheckBody gives a fuzzed JSON object to checkBody and checkCustom
// against every operation's properties.

// fuzzReq is one recorded request.
type fuzzReq struct {
	method, path, query, ctype string
	body                       []byte
}

// fuzzWorld is the company every fuzzed request starts from.
type fuzzWorld struct {
	st    *State
	now   time.Time
	seeds []fuzzReq
}

var (
	fuzzOnce  sync.Once
	fuzzW     *fuzzWorld
	fuzzWErr  error
	fuzzStart = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
)

func world(tb testing.TB) *fuzzWorld {
	tb.Helper()
	fuzzOnce.Do(func() { fuzzW, fuzzWErr = buildWorld() })
	if fuzzWErr != nil {
		tb.Fatalf("building the fuzz company: %v", fuzzWErr)
	}
	return fuzzW
}

// recorder is an in-process transport to a sandbox that keeps every request.
type recorder struct {
	sb    *Sandbox
	vc    *clock.Virtual
	reqs  []fuzzReq
	fails []string
}

func (rt *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	rt.vc.Advance(100 * time.Millisecond)
	rt.reqs = append(rt.reqs, fuzzReq{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Get("Content-Type"), body})
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	w := httptest.NewRecorder()
	rt.sb.ServeHTTP(w, r)
	res := w.Result()
	res.Request = req
	if res.StatusCode != http.StatusOK {
		rt.fails = append(rt.fails, fmt.Sprintf("%s %s: %d %s", req.Method, req.URL.Path, res.StatusCode, w.Body.String()))
	}
	return res, nil
}

// raw sends a request the client has no call for.
func (rt *recorder) raw(method, path string, body any) map[string]any {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, "http://sandbox.invalid"+path, rd)
	req.Header.Set("x-api-token", DefaultToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, _ := rt.RoundTrip(req)
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	data, _ := out["data"].(map[string]any)
	return data
}

func buildWorld() (*fuzzWorld, error) {
	vc := clock.NewVirtual(fuzzStart)
	sb, err := New(Options{Plan: "ultimate", Seed: 7, Now: vc.Now})
	if err != nil {
		return nil, err
	}
	rt := &recorder{sb: sb, vc: vc}
	c, err := pipedrive.New(pipedrive.Config{BaseURL: "http://sandbox.invalid", Token: DefaultToken, Plan: "ultimate",
		HTTPClient: &http.Client{Transport: rt}, Now: vc.Now, Sleep: vc.Sleep, MaxRetries: -1})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	var firstErr error
	must := func(what string, err error) {
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", what, err)
		}
	}
	_, err = c.Me(ctx)
	must("Me", err)
	_, err = c.ListUsers(ctx)
	must("ListUsers", err)
	_, err = c.ListActivityTypes(ctx)
	must("ListActivityTypes", err)
	at, err := c.CreateActivityType(ctx, pipedrive.ActivityTypeInput{Name: "Completion", IconKey: "finish", Color: "ffcc00"})
	must("CreateActivityType", err)
	for _, kind := range []pipedrive.FieldKind{pipedrive.PersonFields, pipedrive.OrganizationFields, pipedrive.DealFields} {
		_, err := c.CreateField(ctx, kind, pipedrive.FieldInput{Name: "Perfect Portal id", Type: "varchar"})
		must("CreateField", err)
	}
	_, err = c.CreateField(ctx, pipedrive.DealFields, pipedrive.FieldInput{Name: "Matter type", Type: "enum", Options: []string{"Purchase", "Sale"}})
	must("CreateField enum", err)
	_, err = c.CreateField(ctx, pipedrive.PersonFields, pipedrive.FieldInput{Name: "Roles", Type: "set", Options: []string{"Buyer", "Seller"}})
	must("CreateField set", err)
	// A deal field of every other type, so that custom_fields reaches every case.
	for _, typ := range []string{"varchar_auto", "text", "double", "monetary", "date", "daterange", "time", "timerange", "user", "org", "people", "phone", "address"} {
		rt.raw("POST", "/api/v2/dealFields", map[string]any{"field_name": "F " + typ, "field_type": typ, "ui_visibility": map[string]any{"add_visible_flag": true}})
	}
	rt.raw("POST", "/api/v2/organizationFields", map[string]any{"field_name": "Office", "field_type": "address"})
	pf, err := c.ResolveFields(ctx, pipedrive.PersonFields)
	must("ResolveFields person", err)
	of, err := c.ResolveFields(ctx, pipedrive.OrganizationFields)
	must("ResolveFields organization", err)
	df, err := c.ResolveFields(ctx, pipedrive.DealFields)
	must("ResolveFields deal", err)
	if firstErr != nil {
		return nil, firstErr
	}
	ppPerson, _ := pf.Key("Perfect Portal id")
	ppOrg, _ := of.Key("Perfect Portal id")
	ppDeal, _ := df.Key("Perfect Portal id")
	matterType, _ := df.Key("Matter type")
	purchase, _ := df.Option("Matter type", "Purchase")

	pl, err := c.CreatePipeline(ctx, pipedrive.PipelineInput{Name: "Conveyancing"})
	must("CreatePipeline", err)
	st, err := c.CreateStage(ctx, pipedrive.StageInput{Name: "Searches", PipelineID: pl.ID})
	must("CreateStage", err)
	_, err = c.ListPipelines(ctx)
	must("ListPipelines", err)
	_, err = c.ListStages(ctx, pl.ID)
	must("ListStages", err)

	org, err := c.CreateOrganization(ctx, pipedrive.OrganizationInput{Name: "Acme Estates", CustomFields: map[string]any{ppOrg: "PP-C-9"}})
	must("CreateOrganization", err)
	_, err = c.UpdateOrganization(ctx, org.ID, pipedrive.OrganizationInput{Name: "Acme Estates Ltd"})
	must("UpdateOrganization", err)
	_, err = c.GetOrganization(ctx, org.ID)
	must("GetOrganization", err)
	must("ListOrganizations", c.ListOrganizations(ctx, pipedrive.ListOptions{}, func(pipedrive.Organization) error { return nil }))

	p, err := c.CreatePerson(ctx, pipedrive.PersonInput{Name: "Jane Doe", OrgID: org.ID, AddTime: pipedrive.At(fuzzStart.Add(-48 * time.Hour)),
		Emails:       []pipedrive.ContactValue{{Value: "jane@example.com", Primary: true, Label: "work"}},
		CustomFields: map[string]any{ppPerson: "PP-1001"}})
	must("CreatePerson", err)
	_, err = c.UpdatePerson(ctx, p.ID, pipedrive.PersonInput{JobTitle: "Buyer"})
	must("UpdatePerson", err)
	_, err = c.GetPerson(ctx, p.ID)
	must("GetPerson", err)
	must("ListPersons", c.ListPersons(ctx, pipedrive.ListOptions{}, func(pipedrive.Person) error { return nil }))
	_, err = c.SearchPersonsByEmail(ctx, "jane@example.com")
	must("SearchPersonsByEmail", err)

	v := 250000.0
	d, err := c.CreateDeal(ctx, pipedrive.DealInput{Title: "12 High St purchase", PersonID: p.ID, OrgID: org.ID, PipelineID: pl.ID, StageID: st.ID,
		Value: &v, Currency: "GBP", CustomFields: map[string]any{ppDeal: "M-42", matterType: purchase}})
	must("CreateDeal", err)
	_, err = c.UpdateDeal(ctx, d.ID, pipedrive.DealInput{ExpectedCloseDate: "2026-06-30"})
	must("UpdateDeal", err)
	_, err = c.GetDeal(ctx, d.ID)
	must("GetDeal", err)
	must("ListDeals", c.ListDeals(ctx, pipedrive.DealListOptions{PipelineID: pl.ID, StageID: st.ID}, func(pipedrive.Deal) error { return nil }))

	// Every custom field type's value, through the PATCH rollback and delta use.
	custom := map[string]any{}
	for _, f := range sb.st.Fields["deal"] {
		custom[f.Key] = map[string]any{
			"varchar": "x", "varchar_auto": "y", "text": "long text", "double": 1.5, "monetary": map[string]any{"value": 10, "currency": "EUR"},
			"date": "2026-01-02", "daterange": map[string]any{"start": "2026-01-02", "end": "2026-02-03"}, "time": "10:30",
			"timerange": map[string]any{"start": "09:00", "end": "17:00:00"}, "user": adminID, "org": org.ID, "people": p.ID,
			"phone": "+44 20 7946 0000", "address": map[string]any{"value": "1 High St", "locality": "Town"}, "enum": purchase,
		}[f.Type]
	}
	cj, _ := json.Marshal(custom)
	_, err = c.PatchFields(ctx, "deal", d.ID, map[string]json.RawMessage{"custom_fields": cj, "probability": json.RawMessage(`50`), "lost_reason": json.RawMessage(`null`)})
	must("PatchFields", err)

	done := true
	a, err := c.CreateActivity(ctx, pipedrive.ActivityInput{Subject: "Call client", Type: at.KeyString, DealID: d.ID, PersonID: p.ID, DueDate: "2026-03-01", Done: &done})
	must("CreateActivity", err)
	_, err = c.UpdateActivity(ctx, a.ID, pipedrive.ActivityInput{Note: "Spoke about searches"})
	must("UpdateActivity", err)
	_, err = c.GetActivity(ctx, a.ID)
	must("GetActivity", err)
	must("ListActivities", c.ListActivities(ctx, pipedrive.ActivityListOptions{DealID: d.ID}, func(pipedrive.Activity) error { return nil }))
	rt.raw("POST", "/api/v2/activities", map[string]any{"subject": "Meeting", "type": "meeting", "due_time": "10:00", "duration": "01:00",
		"participants": []any{map[string]any{"person_id": p.ID, "primary": true}}, "location": map[string]any{"value": "Office"}})

	part, err := c.AddParticipant(ctx, d.ID, p.ID)
	must("AddParticipant", err)
	must("ListParticipants", c.ListParticipants(ctx, d.ID, pipedrive.ListOptions{}, func(pipedrive.Participant) error { return nil }))

	n, err := c.CreateNote(ctx, pipedrive.NoteInput{Content: "<p>Exchanged</p>", DealID: d.ID, AddTime: fuzzStart.Add(-time.Hour)})
	must("CreateNote", err)
	must("ListNotes", c.ListNotes(ctx, pipedrive.NoteListOptions{DealID: d.ID}, func(pipedrive.Note) error { return nil }))
	edited := "<p>Exchanged and completed</p>"
	_, err = c.UpdateNote(ctx, n.ID, pipedrive.NoteUpdate{Content: &edited})
	must("UpdateNote", err)
	_, err = c.GetNote(ctx, n.ID)
	must("GetNote", err)

	// A second live deal (won, in the default pipeline), note and file, so
	// that lists sort, filter and page more than one item.
	d3, err := c.CreateDeal(ctx, pipedrive.DealInput{Title: "2 Low Rd sale", OrgID: org.ID})
	must("CreateDeal 3", err)
	rt.raw("PATCH", fmt.Sprintf("/api/v2/deals/%d", d3.ID), map[string]any{"status": "won", "won_time": "2026-03-01T09:00:00Z"})
	_, err = c.CreateNote(ctx, pipedrive.NoteInput{Content: "Second note", OrgID: org.ID})
	must("CreateNote 3", err)

	doc := strings.Repeat("conveyancing file ", 20)
	fl, err := c.UploadFile(ctx, pipedrive.FileInput{Name: "contract.pdf", Body: strings.NewReader(doc), Size: int64(len(doc)), DealID: d.ID})
	must("UploadFile", err)
	_, err = c.UploadFile(ctx, pipedrive.FileInput{Name: "Plan.PNG", Body: strings.NewReader("\x89PNG"), Size: 4, DealID: d3.ID})
	must("UploadFile 3", err)
	must("ListFiles", c.ListFiles(ctx, pipedrive.ListOptions{}, func(pipedrive.File) error { return nil }))
	_, err = c.GetFile(ctx, fl.ID)
	must("GetFile", err)

	// A second item of every kind, deleted, so that the company holds
	// deleted items as Pipedrive keeps them.
	o2, err := c.CreateOrganization(ctx, pipedrive.OrganizationInput{Name: "Gone Ltd"})
	must("CreateOrganization 2", err)
	p2, err := c.CreatePerson(ctx, pipedrive.PersonInput{Name: "Gone Person", OrgID: o2.ID})
	must("CreatePerson 2", err)
	d2, err := c.CreateDeal(ctx, pipedrive.DealInput{Title: "Gone deal", PersonID: p2.ID})
	must("CreateDeal 2", err)
	a2, err := c.CreateActivity(ctx, pipedrive.ActivityInput{Subject: "Gone", DealID: d2.ID})
	must("CreateActivity 2", err)
	part2, err := c.AddParticipant(ctx, d.ID, p2.ID)
	must("AddParticipant 2", err)
	n2, err := c.CreateNote(ctx, pipedrive.NoteInput{Content: "gone", PersonID: p2.ID})
	must("CreateNote 2", err)
	fl2, err := c.UploadFile(ctx, pipedrive.FileInput{Name: "gone.txt", Body: strings.NewReader("gone"), Size: 4, DealID: d2.ID})
	must("UploadFile 2", err)
	pl2, err := c.CreatePipeline(ctx, pipedrive.PipelineInput{Name: "Gone pipeline"})
	must("CreatePipeline 2", err)
	st2, err := c.CreateStage(ctx, pipedrive.StageInput{Name: "Gone stage", PipelineID: pl2.ID})
	must("CreateStage 2", err)
	at2, err := c.CreateActivityType(ctx, pipedrive.ActivityTypeInput{Name: "Gone type", IconKey: "bell"})
	must("CreateActivityType 2", err)
	gf, err := c.CreateField(ctx, pipedrive.OrganizationFields, pipedrive.FieldInput{Name: "Gone field", Type: "text"})
	must("CreateField 2", err)
	must("DeleteParticipant", c.DeleteParticipant(ctx, d.ID, part2.ID))
	must("DeleteNote", c.DeleteNote(ctx, n2.ID))
	must("DeleteFile", c.DeleteFile(ctx, fl2.ID))
	must("DeleteActivity", c.DeleteActivity(ctx, a2.ID))
	must("DeleteDeal", c.DeleteDeal(ctx, d2.ID))
	must("DeletePerson", c.DeletePerson(ctx, p2.ID))
	must("DeleteOrganization", c.DeleteOrganization(ctx, o2.ID))
	must("DeleteStage", c.DeleteStage(ctx, st2.ID))
	must("DeletePipeline", c.DeletePipeline(ctx, pl2.ID))
	must("DeleteActivityType", c.DeleteActivityType(ctx, at2.ID))
	must("DeleteField", c.DeleteField(ctx, pipedrive.OrganizationFields, gf.Code))
	_, _, _ = part, fl, n
	if firstErr != nil {
		return nil, firstErr
	}
	if len(rt.fails) > 0 {
		return nil, fmt.Errorf("the sandbox refused the client: %s", strings.Join(rt.fails, "; "))
	}

	seeds := rt.reqs
	snap, _ := json.Marshal(sb.st)
	seeds = append(seeds,
		fuzzReq{"GET", "/_sandbox/meter", "", "", nil},
		fuzzReq{"GET", "/_sandbox/faults", "", "", nil},
		fuzzReq{"POST", "/_sandbox/faults", "", "application/json", []byte(`{"rate_500":0.1,"latency":"1ms"}`)},
		fuzzReq{"POST", "/_sandbox/compare", "", "application/json", snap},
		fuzzReq{"GET", "/api/v2/deals", "sort_by=update_time&sort_direction=desc&limit=1&cursor=" + encodeCursor("o:1"), "", nil},
		fuzzReq{"GET", "/api/v2/organizations/search", "term=acme&fields=name,address,custom_fields", "", nil},
		fuzzReq{"GET", "/v1/notes", "sort=add_time DESC&start=0&limit=1&updated_since=2026-03-01T00:00:00Z", "", nil},
		fuzzReq{"GET", "/api/v2/dealFields", "limit=2&cursor=" + encodeCursor("o:2"), "", nil},
		fuzzReq{"GET", "/api/v2/persons", "ids=1,2&updated_until=2027-01-01T00:00:00Z&owner_id=1", "", nil},
		fuzzReq{"POST", "/v1/users", "", "application/json", []byte(`{"email":"new@example.com","access":[{"app":"sales","admin":false}]}`)},
		fuzzReq{"GET", "/api/v2/deals", "status=won&sort_by=add_time", "", nil},
		fuzzReq{"GET", "/api/v2/activities", "done=true&sort_by=due_date&sort_direction=desc", "", nil},
		fuzzReq{"GET", "/v1/files", "sort=update_time DESC&start=1&limit=1", "", nil},
		fuzzReq{"GET", fmt.Sprintf("/v1/files/%d", fl2.ID), "", "", nil},
		fuzzReq{"GET", "/api/v2/dealFields/" + sb.st.Fields["deal"][0].Key, "", "", nil},
		fuzzReq{"GET", "/api/v2/personFields/name", "", "", nil},
		fuzzReq{"GET", "/v1/users/me", "api_token=wrong", "", nil},
		fuzzReq{"GET", "/api/v2/products", "", "", nil},
		fuzzReq{"POST", "/_sandbox/reset", "", "", nil},
	)
	return &fuzzWorld{st: copyState(sb.st), now: vc.Now(), seeds: seeds}, nil
}

// copyState copies a state deeply, keeping every value's type.
// sameState reports whether two states hold the same company, whatever
// their listing caches hold.
func sameState(a, b *State) bool {
	x, y := *a, *b
	x.byID, y.byID = nil, nil
	return reflect.DeepEqual(&x, &y)
}

func copyState(st *State) *State {
	out := &State{Seed: st.Seed, LastID: maps.Clone(st.LastID), Items: map[string]map[int]*Entity{}, Fields: map[string][]*Field{},
		LastFieldID: st.LastFieldID, LastOptionID: st.LastOptionID}
	for kind, items := range st.Items {
		m := make(map[int]*Entity, len(items))
		for id, e := range items {
			c := *e
			c.Attrs = copyValue(e.Attrs).(map[string]any)
			if e.Custom != nil {
				c.Custom = copyValue(e.Custom).(map[string]any)
			}
			if e.DeleteTime != nil {
				t := *e.DeleteTime
				c.DeleteTime = &t
			}
			m[id] = &c
		}
		out.Items[kind] = m
	}
	for ent, fs := range st.Fields {
		cs := make([]*Field, 0, len(fs))
		for _, f := range fs {
			c := *f
			c.Options = slices.Clone(f.Options)
			if f.Extra != nil {
				c.Extra = copyValue(f.Extra).(map[string]any)
			}
			cs = append(cs, &c)
		}
		out.Fields[ent] = cs
	}
	return out
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = copyValue(v)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = copyValue(v)
		}
		return out
	}
	return v
}

// validMethod tells an HTTP method token, as a server accepts one.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// The statuses the package comment documents: the API's answers and the
// admin API's.
var (
	apiStatuses   = []int{200, 400, 401, 403, 404, 413, 429}
	adminStatuses = []int{200, 400, 401, 404}
)

func FuzzServe(f *testing.F) {
	w := world(f)
	sb, err := New(Options{Plan: "ultimate", Seed: 7})
	if err != nil {
		f.Fatal(err)
	}
	sb.st = copyState(w.st)
	checkConsistent(f, "the company the fuzzed requests start from", sb)
	for _, s := range w.seeds {
		f.Add(s.method, s.path, s.query, s.ctype, s.body)
	}
	f.Fuzz(func(t *testing.T, method, path, query, ctype string, body []byte) {
		runOne(t, w, method, path, query, ctype, body)
	})
}

// runOne sends one request to a fresh copy of the company and checks the
// answer and the company after it.
func runOne(t testing.TB, w *fuzzWorld, method, path, query, ctype string, body []byte) {
	t.Helper()
	{
		if !validMethod(method) {
			return // an HTTP server refuses it before any handler
		}
		now := w.now
		sb, err := New(Options{Plan: "ultimate", Seed: 7, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		sb.st = copyState(w.st) // w.st itself is never changed: it is the state before

		r := &http.Request{
			Method: method, URL: &url.URL{Path: path, RawQuery: query}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
			Host: "sandbox.invalid", RemoteAddr: "192.0.2.1:1234",
		}
		r = r.WithContext(context.Background())
		if !strings.Contains(query, "api_token") {
			r.Header.Set("x-api-token", DefaultToken) // else the query's token: 401 unless it is right
		}
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		sb.ServeHTTP(rec, r)
		res := rec.Result()
		got := rec.Body.Bytes()
		admin := strings.HasPrefix(path, "/_sandbox/")
		what := fmt.Sprintf("%s %q ?%q", method, path, query)

		// The answer: a documented status, with JSON (the error envelope on
		// an API error) or the 403 HTML block.
		statuses := apiStatuses
		if admin {
			statuses = adminStatuses
		}
		if !slices.Contains(statuses, res.StatusCode) {
			t.Fatalf("%s: status %d is not documented: %s", what, res.StatusCode, got)
		}
		ct := res.Header.Get("Content-Type")
		if res.StatusCode == http.StatusForbidden && strings.HasPrefix(ct, "text/html") {
			if !bytes.Contains(got, []byte("Access denied")) {
				t.Fatalf("%s: 403 HTML is not the block page: %s", what, got)
			}
		} else {
			if !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("%s: %d with Content-Type %q", what, res.StatusCode, ct)
			}
			var m map[string]any
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatalf("%s: %d body is not a JSON object: %v\n%s", what, res.StatusCode, err, got)
			}
			if !admin || res.StatusCode != http.StatusOK {
				wantSuccess := res.StatusCode == http.StatusOK
				if m["success"] != wantSuccess {
					t.Fatalf("%s: %d with success %v: %s", what, res.StatusCode, m["success"], got)
				}
				if !wantSuccess {
					if msg, _ := m["error"].(string); msg == "" || m["error_info"] == nil {
						t.Fatalf("%s: %d is not the error envelope: %s", what, res.StatusCode, got)
					}
				}
			}
		}

		// Nothing changes unless a write succeeded; what a write leaves is
		// consistent (the company before it is: the seeds' replay checks it).
		op, known := cost.Lookup(method, path)
		read := known && op.Method == http.MethodGet
		switch {
		case res.StatusCode != http.StatusOK || (!admin && read):
			if !sameState(w.st, sb.st) {
				t.Fatalf("%s answered %d but changed the company: %v\n%s", what, res.StatusCode, Compare(*w.st, *copyState(sb.st)), got)
			}
		case !sameState(w.st, sb.st):
			checkConsistent(t, what, sb)
		}

		if !admin {
			m := sb.Meter()
			n := 0
			for _, c := range m.Responses {
				n += c
			}
			if m.Requests != 1 || n != 1 || m.Responses[res.StatusCode] != 1 {
				t.Fatalf("%s: meter %+v for one request answered %d", what, m, res.StatusCode)
			}
			if m.Tokens != 0 && (!known || m.Tokens != op.Cost) {
				t.Fatalf("%s: %d tokens charged (operation known %v, cost %d)", what, m.Tokens, known, op.Cost)
			}
		}
	}
}

// checkConsistent checks what every later request relies on: the state
// encodes and copies (Snapshot, Save), every item renders as its GET
// answers it, ids are where they say, and each deal's stage is in its pipeline.
func checkConsistent(t testing.TB, what string, sb *Sandbox) {
	t.Helper()
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("%s: Snapshot panics: %v", what, p)
			}
		}()
		sb.Snapshot()
	}()
	sb.mu.Lock()
	defer sb.mu.Unlock()
	st := sb.st
	render := func(kind string, e *Entity) any {
		switch kind {
		case kNotes:
			return sb.renderNote(e)
		case kFiles:
			return sb.renderFile(e)
		case kParticipants:
			return sb.renderParticipant(e)
		case kUsers:
			return sb.renderUser(e)
		case kActivityTypes:
			return renderActivityType(e)
		}
		if k := kinds[kind]; k != nil {
			return sb.renderV2(k, e)
		}
		return e.Attrs // a deleted custom field
	}
	for kind, items := range st.Items {
		for id, e := range items {
			if e == nil || e.ID != id || id <= 0 || (kinds[kind] != nil && id > st.LastID[kind]) {
				t.Fatalf("%s: %s %d is %+v (last id %d)", what, kind, id, e, st.LastID[kind])
			}
			if _, err := json.Marshal(render(kind, e)); err != nil {
				t.Fatalf("%s: %s %d does not render: %v", what, kind, id, err)
			}
			if kind == kDeals && !e.Deleted {
				stage := st.Items[kStages][mustInt(e, "stage_id")]
				if stage == nil || mustInt(stage, "pipeline_id") != mustInt(e, "pipeline_id") {
					t.Fatalf("%s: deal %d is in stage %v of pipeline %v, which is not a stage of that pipeline",
						what, id, e.Attrs["stage_id"], e.Attrs["pipeline_id"])
				}
			}
		}
	}
	for ent := range systemFields {
		if _, err := json.Marshal(sb.fieldList(ent)); err != nil {
			t.Fatalf("%s: %s fields do not render: %v", what, ent, err)
		}
	}
}

// fuzzPropSets are the body properties of every operation that takes a body.
var fuzzPropSets = map[string]map[string]prop{
	"persons": personProps, "organizations": orgProps, "deals": dealProps, "activities": activityProps,
	"pipelines": pipelineProps, "stages": stageProps, "notes": noteProps, "fields": fieldProps,
	"participant": {"person_id": {t: pRef, ref: kPersons, required: true}},
	"user":        {"email": {t: pString, required: true}, "access": {t: pArray}, "active_flag": {t: pBool}},
	"activityType": {"name": {t: pString, required: true}, "icon_key": {t: pString, required: true, enum: iconKeys},
		"color": {t: pString}},
}

func FuzzCheckBody(f *testing.F) {
	w := world(f)
	for _, s := range w.seeds {
		if len(s.body) > 0 && bytes.HasPrefix(s.body, []byte("{")) && len(s.body) < 4096 {
			f.Add(s.body)
		}
	}
	f.Add([]byte(`{"custom_fields":{"x":1},"name":null,"emails":[{"value":"a","primary":true},{"value":"b","primary":true}]}`))
	f.Add([]byte(`{"value":1e400,"address":{"n":1e400},"participants":[{"person_id":1.0}],"due_time":"23:59:59"}`))
	names := slices.Sorted(maps.Keys(fuzzPropSets))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var body map[string]any
		if dec.Decode(&body) != nil || body == nil {
			return
		}
		st := copyState(w.st)
		for _, name := range names {
			props := fuzzPropSets[name]
			for _, create := range []bool{true, false} {
				vals, rep := checkBody(st, body, props, create)
				if rep != nil {
					if vals != nil || rep.status != http.StatusBadRequest {
						t.Fatalf("%s: refused with %d and values %v", name, rep.status, vals)
					}
					continue
				}
				for k, v := range vals {
					if _, known := props[k]; !known {
						t.Fatalf("%s: accepted the unknown property %s", name, k)
					}
					if v == nil && create && props[k].required {
						t.Fatalf("%s: accepted a null %s on create", name, k)
					}
					if s, isStr := v.(string); isStr && props[k].t == pDateTime {
						// writeV2 and the notes read an accepted time back from its RFC 3339 form
						if _, ok := parseDateTime(s); !ok {
							t.Fatalf("%s: %s %v accepted as %q, which does not read back", name, k, body[k], s)
						}
					}
					if n, isInt := v.(int64); isInt {
						// a whole number is kept as given, never wrapped around
						if f, err := body[k].(json.Number).Float64(); err != nil || float64(n) != f {
							t.Fatalf("%s: %s %v accepted as %d", name, k, body[k], n)
						}
					}
				}
				if _, err := json.Marshal(vals); err != nil {
					t.Fatalf("%s: accepted values do not encode: %v (%v)", name, err, vals)
				}
			}
		}
		raw, has := body["custom_fields"]
		if !has {
			raw = any(body)
		}
		for _, ent := range []string{"deal", "person", "organization"} {
			vals, rep := checkCustom(st, ent, raw)
			if rep != nil {
				continue
			}
			for k := range vals {
				if st.field(ent, k) == nil {
					t.Fatalf("%s: accepted the unknown custom field %s", ent, k)
				}
			}
			if _, err := json.Marshal(vals); err != nil {
				t.Fatalf("%s: accepted custom values do not encode: %v (%v)", ent, err, vals)
			}
		}
		if !reflect.DeepEqual(st, w.st) {
			t.Fatalf("checking a body changed the company")
		}
	})
}
