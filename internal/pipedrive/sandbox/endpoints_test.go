package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPersonLifecycle(t *testing.T) {
	f := newFixture(t, Options{})
	r := f.must("POST", "/api/v2/persons", map[string]any{
		"name":   "Ann Example",
		"emails": []any{map[string]any{"value": "ann@example.com", "label": "home"}},
	})
	got := r.data()
	if num(got["id"]) != 1 || got["first_name"] != "Ann" || got["last_name"] != "Example" || num(got["owner_id"]) != adminID {
		t.Fatalf("created person = %v", got)
	}
	if e := got["emails"].([]any)[0].(map[string]any); e["primary"] != true || e["label"] != "home" {
		t.Errorf("email = %v, want primary with label home", e)
	}
	if got["add_time"] != "2026-03-02T10:00:00Z" {
		t.Errorf("add_time = %v, want RFC 3339 of the sandbox clock", got["add_time"])
	}

	org := id(f.must("POST", "/api/v2/organizations", map[string]any{"name": "Example Ltd"}))
	r = f.must("PATCH", "/api/v2/persons/1", map[string]any{"org_id": org})
	if got := r.data(); got["name"] != "Ann Example" || num(got["org_id"]) != org || len(got["emails"].([]any)) != 1 {
		t.Errorf("PATCH did not merge: %v", got)
	}
	f.clock.Advance(time.Minute)
	f.must("PATCH", "/api/v2/persons/1", map[string]any{"job_title": "Buyer"})
	if r := f.must("GET", "/api/v2/persons/1", nil); r.data()["update_time"] != "2026-03-02T10:01:00Z" || r.data()["job_title"] != "Buyer" {
		t.Errorf("update_time did not move: %v", r.data())
	}

	if r := f.must("DELETE", "/api/v2/persons/1", nil); num(r.data()["id"]) != 1 {
		t.Errorf("DELETE answered %s", r.raw)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v2/persons/1"}, {"PATCH", "/api/v2/persons/1"}, {"DELETE", "/api/v2/persons/1"}, {"GET", "/api/v2/persons/99"},
	} {
		var body any
		if c.method == "PATCH" {
			body = map[string]any{"name": "x"}
		}
		r := f.do(c.method, c.path, body)
		if r.status != http.StatusNotFound || r.body["success"] != false || r.body["error"] == nil {
			t.Errorf("%s %s = %d %s, want 404 with the error envelope", c.method, c.path, r.status, r.raw)
		}
	}
	if l := f.must("GET", "/api/v2/persons", nil).list(); len(l) != 0 {
		t.Errorf("deleted person still listed: %v", l)
	}
	snap := f.sb.Snapshot()
	if p := snap.Items[kPersons][1]; p == nil || !p.Deleted {
		t.Errorf("the delete is not soft: %+v", p)
	}
}

func TestValidation(t *testing.T) {
	f := newFixture(t, Options{})
	text := id(f.must("POST", "/api/v2/dealFields", map[string]any{"field_name": "Matter ref", "field_type": "varchar"}))
	_ = text
	fields := f.must("GET", "/api/v2/dealFields", nil).list()
	key := func(name string) string {
		for _, x := range f.must("GET", "/api/v2/dealFields", nil).list() {
			if m := x.(map[string]any); m["field_name"] == name {
				return m["field_code"].(string)
			}
		}
		t.Fatalf("no field %s in %v", name, fields)
		return ""
	}
	f.must("POST", "/api/v2/dealFields", map[string]any{"field_name": "Fee", "field_type": "double"})
	f.must("POST", "/api/v2/dealFields", map[string]any{"field_name": "Completed", "field_type": "date"})
	enum := f.must("POST", "/api/v2/dealFields", map[string]any{
		"field_name": "Tenure", "field_type": "enum", "options": []any{map[string]any{"label": "Freehold"}, map[string]any{"label": "Leasehold"}},
	}).data()
	opt := num(enum["options"].([]any)[0].(map[string]any)["id"])

	tests := []struct {
		name, method, path string
		body               any
		want               int
		wantErr            string
	}{
		{"person without name", "POST", "/api/v2/persons", map[string]any{"emails": []any{}}, 400, "name"},
		{"deal with add_time", "POST", "/api/v2/deals", map[string]any{"title": "T", "add_time": "2020-01-01T00:00:00Z"}, 400, "add_time"},
		{"activity with add_time", "POST", "/api/v2/activities", map[string]any{"subject": "S", "add_time": "2020-01-01T00:00:00Z"}, 400, "add_time"},
		{"string for a number", "POST", "/api/v2/deals", map[string]any{"title": "T", "value": "100"}, 400, "value"},
		{"string for a double field", "POST", "/api/v2/deals", map[string]any{"title": "T", "custom_fields": map[string]any{key("Fee"): "12.5"}}, 400, "double"},
		{"unknown enum option", "POST", "/api/v2/deals", map[string]any{"title": "T", "custom_fields": map[string]any{key("Tenure"): 999}}, 400, "option"},
		{"bad date", "POST", "/api/v2/deals", map[string]any{"title": "T", "custom_fields": map[string]any{key("Completed"): "02/03/2026"}}, 400, "YYYY-MM-DD"},
		{"unknown custom key", "POST", "/api/v2/deals", map[string]any{"title": "T", "custom_fields": map[string]any{strings.Repeat("a", 40): "x"}}, 400, "custom field"},
		{"custom field at top level", "POST", "/api/v2/deals", map[string]any{"title": "T", key("Fee"): 1}, 400, "Unknown parameter"},
		{"missing organization", "POST", "/api/v2/persons", map[string]any{"name": "N", "org_id": 77}, 400, "organization 77"},
		{"datetime field type", "POST", "/api/v2/dealFields", map[string]any{"field_name": "Entered", "field_type": "datetime"}, 400, "field type"},
		{"enum without options", "POST", "/api/v2/personFields", map[string]any{"field_name": "E", "field_type": "enum"}, 400, "options"},
		{"unknown activity type", "POST", "/api/v2/activities", map[string]any{"subject": "S", "type": "visit"}, 400, "type"},
		{"limit over 500", "GET", "/api/v2/persons?limit=501", nil, 400, "limit"},
		{"bad cursor", "GET", "/api/v2/persons?cursor=zzz", nil, 400, "cursor"},
		{"bad json", "POST", "/api/v2/persons", "not an object", 400, "object"},
		{"note without a parent", "POST", "/v1/notes", map[string]any{"content": "c"}, 400, "deal_id"},
		{"unknown deal for participants", "GET", "/v1/deals/42/participants", nil, 404, "Deal"},
		{"unpublished operation", "GET", "/api/v2/nothing", nil, 404, ""},
		{"v1 deals are not served", "GET", "/v1/deals", nil, 404, ""},
		{"published but not served", "GET", "/api/v2/products", nil, 404, ""},
		{"good enum", "POST", "/api/v2/deals", map[string]any{"title": "T", "custom_fields": map[string]any{key("Tenure"): opt, key("Fee"): 12.5, key("Completed"): "2026-03-02"}}, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.bad(tc.method, tc.path, tc.body)
			if r.status != tc.want {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.want, r.raw)
			}
			if tc.want >= 400 {
				if r.body["success"] != false || r.body["error_info"] == nil || r.body["data"] != nil {
					t.Errorf("not the error envelope: %s", r.raw)
				}
				if !strings.Contains(r.errMsg(), tc.wantErr) {
					t.Errorf("error = %q, want it to mention %q", r.errMsg(), tc.wantErr)
				}
			}
		})
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t, Options{Token: "t0ken"})
	for _, tc := range []struct {
		name, header, query string
		want                int
	}{
		{"missing", "", "", 401},
		{"wrong", "nope", "", 401},
		{"header", "t0ken", "", 200},
		{"query", "", "?api_token=t0ken", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", f.loose.URL+"/v1/users/me"+tc.query, nil)
			if tc.header != "" {
				req.Header.Set("x-api-token", tc.header)
			}
			r := f.send(req)
			if r.status != tc.want {
				t.Fatalf("status = %d, want %d", r.status, tc.want)
			}
			if tc.want == 401 && (r.body["success"] != false || r.errMsg() == "") {
				t.Errorf("401 body = %s", r.raw)
			}
		})
	}
	if m := f.sb.Meter(); m.Tokens != 2*2 {
		t.Errorf("tokens = %d; only the two authorised GET /v1/users/me (2 each) cost", m.Tokens)
	}
}

func TestFieldKeysBySeed(t *testing.T) {
	keys := func(seed int64) []string {
		f := newFixture(t, Options{Seed: seed})
		var out []string
		for i := range 3 {
			d := f.must("POST", "/api/v2/personFields", map[string]any{"field_name": fmt.Sprint("F", i), "field_type": "varchar"}).data()
			out = append(out, d["field_code"].(string))
		}
		return out
	}
	a, b, c := keys(1), keys(1), keys(2)
	hex40 := regexp.MustCompile(`^[0-9a-f]{40}$`)
	for i := range a {
		if !hex40.MatchString(a[i]) {
			t.Errorf("key %q is not 40 lowercase hex", a[i])
		}
		if a[i] != b[i] {
			t.Errorf("same seed, different keys: %s, %s", a[i], b[i])
		}
		if a[i] == c[i] {
			t.Errorf("different seeds, same key %s", a[i])
		}
	}
	if a[0] == a[1] {
		t.Errorf("two fields share a key")
	}
}

func TestFieldCap(t *testing.T) {
	f := newFixture(t, Options{Plan: "lite"})
	for i := range 30 {
		ent := []string{"dealFields", "personFields", "organizationFields"}[i%3]
		f.must("POST", "/api/v2/"+ent, map[string]any{"field_name": fmt.Sprint("F", i), "field_type": "text"})
	}
	r := f.do("POST", "/api/v2/dealFields", map[string]any{"field_name": "one too many", "field_type": "text"})
	if r.status != http.StatusForbidden || r.body["success"] != false || r.body["code"] != "feature_capping_custom_fields_limit" {
		t.Fatalf("31st field on lite = %d %s, want 403 with the envelope", r.status, r.raw)
	}
	if g := f.must("GET", "/api/v2/dealFields/"+f.sb.Snapshot().Fields["deal"][0].Key, nil).data(); g["field_name"] != "F0" {
		t.Errorf("GET one field = %v", g)
	}
	if r := f.do("GET", "/api/v2/dealFields/"+strings.Repeat("0", 40), nil); r.status != 404 {
		t.Errorf("unknown field = %d", r.status)
	}
}

func TestCursorPagination(t *testing.T) {
	f := newFixture(t, Options{Plan: "ultimate"})
	const n = 501
	for i := range n {
		f.must("POST", "/api/v2/persons", map[string]any{"name": fmt.Sprint("Person ", i)})
	}
	var ids []int
	cursor := ""
	pages := 0
	for {
		path := "/api/v2/persons?limit=500"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := f.must("GET", path, nil)
		pages++
		for _, p := range r.list() {
			ids = append(ids, num(p.(map[string]any)["id"]))
		}
		next, _ := r.body["additional_data"].(map[string]any)["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if pages != 2 || len(ids) != n || ids[0] != 1 || ids[n-1] != n {
		t.Fatalf("pages = %d, ids = %d (first %d, last %d)", pages, len(ids), ids[0], ids[len(ids)-1])
	}
	r := f.must("GET", "/api/v2/persons?limit=2&sort_direction=desc", nil)
	if l := r.list(); num(l[0].(map[string]any)["id"]) != n {
		t.Errorf("desc starts at %v", l[0])
	}
	r2 := f.must("GET", "/api/v2/persons?limit=2&sort_direction=desc&cursor="+r.body["additional_data"].(map[string]any)["next_cursor"].(string), nil)
	if l := r2.list(); num(l[0].(map[string]any)["id"]) != n-2 {
		t.Errorf("second desc page starts at %v", l[0])
	}
}

func TestOffsetPaginationV1(t *testing.T) {
	f := newFixture(t, Options{Plan: "ultimate"})
	deal := id(f.must("POST", "/api/v2/deals", map[string]any{"title": "Purchase of 1 High St"}))
	for i := range 501 {
		f.must("POST", "/v1/notes", map[string]any{"content": fmt.Sprint("note ", i), "deal_id": deal})
	}
	seen := 0
	start := 0
	for {
		r := f.must("GET", fmt.Sprintf("/v1/notes?deal_id=%d&start=%d&limit=500", deal, start), nil)
		seen += len(r.list())
		pg := r.body["additional_data"].(map[string]any)["pagination"].(map[string]any)
		if pg["more_items_in_collection"] != true {
			if _, has := pg["next_start"]; has {
				t.Errorf("last page has next_start: %v", pg)
			}
			break
		}
		start = num(pg["next_start"])
	}
	if seen != 501 {
		t.Fatalf("paged %d notes, want 501", seen)
	}
}

func TestDeals(t *testing.T) {
	f := newFixture(t, Options{})
	person := id(f.must("POST", "/api/v2/persons", map[string]any{"name": "Ann Example"}))
	org := id(f.must("POST", "/api/v2/organizations", map[string]any{"name": "Example Ltd"}))
	pipe := id(f.must("POST", "/api/v2/pipelines", map[string]any{"name": "Conveyancing"}))
	st1 := id(f.must("POST", "/api/v2/stages", map[string]any{"name": "Instructed", "pipeline_id": pipe}))
	st2 := id(f.must("POST", "/api/v2/stages", map[string]any{"name": "Searches", "pipeline_id": pipe}))

	d := f.must("POST", "/api/v2/deals", map[string]any{"title": "Default"}).data()
	if num(d["pipeline_id"]) != 1 || num(d["stage_id"]) != 1 || d["status"] != "open" || d["currency"] != "GBP" {
		t.Errorf("default deal = %v, want the seeded pipeline's first stage", d)
	}
	d = f.must("POST", "/api/v2/deals", map[string]any{"title": "Sale", "stage_id": st2, "person_id": person, "org_id": org, "value": 1250.5}).data()
	if num(d["pipeline_id"]) != pipe {
		t.Errorf("stage %d did not set pipeline %d: %v", st2, pipe, d)
	}
	dealID := num(d["id"])
	if r := f.do("POST", "/api/v2/deals", map[string]any{"title": "X", "stage_id": st1, "pipeline_id": 1}); r.status != 400 {
		t.Errorf("stage outside its pipeline = %d", r.status)
	}
	won := f.must("PATCH", fmt.Sprint("/api/v2/deals/", dealID), map[string]any{"status": "won", "stage_id": st1}).data()
	if won["won_time"] == nil || won["close_time"] == nil || won["stage_change_time"] == nil {
		t.Errorf("won deal = %v", won)
	}
	for _, q := range []struct {
		query string
		want  int
	}{
		{"pipeline_id=" + fmt.Sprint(pipe), 1}, {"stage_id=" + fmt.Sprint(st1), 1}, {"person_id=" + fmt.Sprint(person), 1},
		{"org_id=" + fmt.Sprint(org), 1}, {"status=won", 1}, {"status=open", 1}, {"", 2},
	} {
		if l := f.must("GET", "/api/v2/deals?"+q.query, nil).list(); len(l) != q.want {
			t.Errorf("deals?%s = %d, want %d", q.query, len(l), q.want)
		}
	}
	f.must("DELETE", fmt.Sprint("/api/v2/deals/", dealID), nil)
	if l := f.must("GET", "/api/v2/deals?status=deleted", nil).list(); len(l) != 1 || l[0].(map[string]any)["is_deleted"] != true {
		t.Errorf("deleted deals = %v", l)
	}
	if l := f.must("GET", "/api/v2/stages?pipeline_id=1", nil).list(); len(l) != 5 || l[0].(map[string]any)["name"] != "Qualified" {
		t.Errorf("seeded stages = %v", l)
	}
	if l := f.must("GET", "/api/v2/pipelines", nil).list(); len(l) != 2 || l[0].(map[string]any)["name"] != "Pipeline" {
		t.Errorf("pipelines = %v", l)
	}
}

func TestActivities(t *testing.T) {
	f := newFixture(t, Options{})
	deal := id(f.must("POST", "/api/v2/deals", map[string]any{"title": "D"}))
	person := id(f.must("POST", "/api/v2/persons", map[string]any{"name": "P"}))
	a := f.must("POST", "/api/v2/activities", map[string]any{
		"type": "call", "deal_id": deal, "due_date": "2026-03-03", "due_time": "09:30", "duration": "00:15", "note": "ring",
		"participants": []any{map[string]any{"person_id": person, "primary": true}},
	}).data()
	if a["subject"] != "Call" || num(a["person_id"]) != person || num(a["owner_id"]) != adminID {
		t.Errorf("activity = %v", a)
	}
	f.must("POST", "/api/v2/activities", map[string]any{"subject": "Other"})
	done := f.must("PATCH", fmt.Sprint("/api/v2/activities/", num(a["id"])), map[string]any{"done": true}).data()
	if done["marked_as_done_time"] == nil {
		t.Errorf("done activity = %v", done)
	}
	if l := f.must("GET", fmt.Sprint("/api/v2/activities?deal_id=", deal), nil).list(); len(l) != 1 {
		t.Errorf("activities of the deal = %d", len(l))
	}
	if l := f.must("GET", "/api/v2/activities?done=false", nil).list(); len(l) != 1 {
		t.Errorf("open activities = %d", len(l))
	}
	typ := f.must("POST", "/v1/activityTypes", map[string]any{"name": "Site visit", "icon_key": "car"}).data()
	if typ["key_string"] != "site_visit" || typ["is_custom_flag"] != true {
		t.Errorf("activity type = %v", typ)
	}
	f.must("POST", "/api/v2/activities", map[string]any{"type": "site_visit"})
	if l := f.must("GET", "/v1/activityTypes", nil).list(); len(l) != 7 {
		t.Errorf("activity types = %d, want 6 defaults and 1 added", len(l))
	}
}

func TestSearch(t *testing.T) {
	f := newFixture(t, Options{})
	org := id(f.must("POST", "/api/v2/organizations", map[string]any{"name": "Example Ltd", "address": map[string]any{"value": "1 High St"}}))
	f.must("POST", "/api/v2/persons", map[string]any{"name": "Ann Example", "org_id": org, "emails": []any{map[string]any{"value": "Ann@Example.com"}}})
	f.must("POST", "/api/v2/persons", map[string]any{"name": "Bob", "emails": []any{map[string]any{"value": "bob.ann@example.com"}}})
	tests := []struct {
		query string
		want  int
	}{
		{"term=ann@example.com&fields=email&exact_match=true", 1},
		{"term=ann&fields=email", 2},
		{"term=Example&fields=name", 1},
		{"term=nobody@example.com&fields=email&exact_match=true", 0},
	}
	for _, tc := range tests {
		r := f.must("GET", "/api/v2/persons/search?"+tc.query, nil)
		items := r.data()["items"].([]any)
		if len(items) != tc.want {
			t.Errorf("%s: %d items, want %d", tc.query, len(items), tc.want)
		}
		if tc.want == 1 && strings.Contains(tc.query, "exact") {
			it := items[0].(map[string]any)["item"].(map[string]any)
			if it["type"] != "person" || it["emails"].([]any)[0] != "Ann@Example.com" || num(it["organization"].(map[string]any)["id"]) != org {
				t.Errorf("search item = %v", it)
			}
		}
	}
	if r := f.do("GET", "/api/v2/persons/search?term=a", nil); r.status != 400 {
		t.Errorf("one-letter term = %d", r.status)
	}
	if items := f.must("GET", "/api/v2/organizations/search?term=high&fields=address", nil).data()["items"].([]any); len(items) != 1 {
		t.Errorf("organization search = %v", items)
	}
}

func TestV1Endpoints(t *testing.T) {
	f := newFixture(t, Options{FileSizeLimit: 1000})
	deal := id(f.must("POST", "/api/v2/deals", map[string]any{"title": "Purchase"}))
	person := id(f.must("POST", "/api/v2/persons", map[string]any{"name": "Ann Example"}))

	n := f.must("POST", "/v1/notes", map[string]any{"content": "<p>Old note</p>", "deal_id": deal, "add_time": "2019-02-04 13:58:03"}).data()
	if n["add_time"] != "2019-02-04 13:58:03" || n["deal"].(map[string]any)["title"] != "Purchase" || n["active_flag"] != true {
		t.Errorf("note = %v", n)
	}
	if r := f.must("DELETE", fmt.Sprint("/v1/notes/", num(n["id"])), nil); r.body["data"] != true {
		t.Errorf("note delete = %s", r.raw)
	}
	if r := f.do("DELETE", fmt.Sprint("/v1/notes/", num(n["id"])), nil); r.status != 404 {
		t.Errorf("second note delete = %d", r.status)
	}

	content := []byte("%PDF-1.4 contract of sale")
	sum := sha256.Sum256(content)
	fl := f.upload("/v1/files", map[string]string{"deal_id": fmt.Sprint(deal)}, "contract.pdf", content).data()
	if fl["file_name"] != "contract.pdf" || num(fl["file_size"]) != len(content) || fl["deal_name"] != "Purchase" {
		t.Errorf("file = %v", fl)
	}
	stored := f.sb.Snapshot().Items[kFiles][num(fl["id"])]
	if stored.Attrs["sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("stored file = %v", stored.Attrs)
	}
	if r := f.upload("/v1/files", map[string]string{"deal_id": fmt.Sprint(deal)}, "big.bin", make([]byte, 1001)); r.status != http.StatusRequestEntityTooLarge || r.body["success"] != false {
		t.Errorf("too large file = %d %s", r.status, r.raw)
	}
	if r := f.upload("/v1/files", nil, "orphan.txt", []byte("x")); r.status != 400 {
		t.Errorf("unlinked file = %d", r.status)
	}
	if l := f.must("GET", "/v1/files?limit=100", nil).list(); len(l) != 1 {
		t.Errorf("files = %d", len(l))
	}
	filePath := fmt.Sprint("/v1/files/", num(fl["id"]))
	got := f.must("GET", filePath, nil).data()
	if num(got["id"]) != num(fl["id"]) || got["file_name"] != "contract.pdf" || got["name"] != "contract.pdf" ||
		num(got["file_size"]) != len(content) || got["file_type"] != "pdf" || num(got["deal_id"]) != deal ||
		got["deal_name"] != "Purchase" || got["active_flag"] != true || got["add_time"] != fl["add_time"] {
		t.Errorf("GET file = %v, uploaded %v", got, fl)
	}
	f.must("DELETE", filePath, nil)
	if l := f.must("GET", "/v1/files", nil).list(); len(l) != 0 {
		t.Errorf("deleted file listed")
	}
	if got := f.must("GET", filePath, nil).data(); num(got["id"]) != num(fl["id"]) || got["active_flag"] != false || got["file_name"] != "contract.pdf" {
		t.Errorf("GET deleted file = %v, want it with active_flag false", got)
	}
	if r := f.do("GET", "/v1/files/999", nil); r.status != http.StatusNotFound || r.body["success"] != false ||
		!strings.Contains(r.errMsg(), "File") || r.body["error_info"] == nil || r.body["data"] != nil {
		t.Errorf("GET never-created file = %d %s, want 404 with the error envelope", r.status, r.raw)
	}

	p := f.must("POST", fmt.Sprintf("/v1/deals/%d/participants", deal), map[string]any{"person_id": person}).data()
	if num(p["person_id"].(map[string]any)["value"]) != person || num(p["related_item_id"]) != deal {
		t.Errorf("participant = %v", p)
	}
	if r := f.do("POST", fmt.Sprintf("/v1/deals/%d/participants", deal), map[string]any{"person_id": person}); r.status != 400 {
		t.Errorf("duplicate participant = %d", r.status)
	}
	if l := f.must("GET", fmt.Sprintf("/v1/deals/%d/participants", deal), nil).list(); len(l) != 1 {
		t.Errorf("participants = %d", len(l))
	}
	f.must("DELETE", fmt.Sprintf("/v1/deals/%d/participants/%d", deal, num(p["id"])), nil)
	if r := f.do("DELETE", fmt.Sprintf("/v1/deals/%d/participants/%d", deal, num(p["id"])), nil); r.status != 404 {
		t.Errorf("second participant delete = %d", r.status)
	}

	me := f.must("GET", "/v1/users/me", nil).data()
	if me["name"] != adminName || me["is_you"] != true || num(me["id"]) != adminID {
		t.Errorf("me = %v", me)
	}
	u := f.must("POST", "/v1/users", map[string]any{"email": "clerk@example.com"}).data()
	if u["email"] != "clerk@example.com" || u["is_you"] != false {
		t.Errorf("new user = %v", u)
	}
	if r := f.do("POST", "/v1/users", map[string]any{"email": "clerk@example.com"}); r.status != 400 {
		t.Errorf("duplicate user = %d", r.status)
	}
	if l := f.must("GET", "/v1/users", nil).list(); len(l) != 2 {
		t.Errorf("users = %d", len(l))
	}
}
