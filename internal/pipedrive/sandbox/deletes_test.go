package sandbox

import (
	"fmt"
	"net/http"
	"testing"
)

func TestDeleteField(t *testing.T) {
	f := newFixture(t, Options{Plan: "lite"})
	code := f.must("POST", "/api/v2/dealFields", map[string]any{"field_name": "Matter ref", "field_type": "varchar"}).data()["field_code"].(string)
	deal := id(f.must("POST", "/api/v2/deals", map[string]any{"title": "M1", "custom_fields": map[string]any{code: "M1"}}))
	fieldID := f.sb.Snapshot().Fields["deal"][0].ID

	r := f.must("DELETE", "/api/v2/dealFields/"+code, nil)
	if got := r.data(); got["field_code"] != code || got["field_name"] != "Matter ref" {
		t.Errorf("DELETE answered %s", r.raw)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v2/dealFields/" + code}, {"DELETE", "/api/v2/dealFields/" + code},
		{"DELETE", "/api/v2/personFields/" + code}, {"DELETE", "/api/v2/dealFields/0123456789abcdef0123456789abcdef01234567"},
	} {
		if r := f.do(c.method, c.path, nil); r.status != http.StatusNotFound || r.body["success"] != false {
			t.Errorf("%s %s = %d %s, want 404", c.method, c.path, r.status, r.raw)
		}
	}
	for _, x := range f.must("GET", "/api/v2/dealFields", nil).list() {
		if x.(map[string]any)["field_code"] == code {
			t.Errorf("deleted field still listed")
		}
	}
	if cf := f.must("GET", fmt.Sprint("/api/v2/deals/", deal), nil).data()["custom_fields"].(map[string]any); len(cf) != 0 {
		t.Errorf("deal still renders the deleted field: %v", cf)
	}
	if r := f.bad("PATCH", fmt.Sprint("/api/v2/deals/", deal), map[string]any{"custom_fields": map[string]any{code: "M2"}}); r.status != http.StatusBadRequest {
		t.Errorf("writing the deleted field = %d, want 400", r.status)
	}

	// Kept, marked deleted, as Pipedrive keeps it for 30 days.
	snap := f.sb.Snapshot()
	kept := snap.Items["dealFields"][fieldID]
	if len(snap.Fields["deal"]) != 0 || kept == nil || !kept.Deleted || kept.DeleteTime == nil || kept.Attrs["field_code"] != code {
		t.Errorf("after delete: fields %v, kept %+v", snap.Fields["deal"], kept)
	}
	if snap.Items["deals"][deal].Custom[code] != "M1" {
		t.Errorf("the deal lost its hidden value: %v", snap.Items["deals"][deal].Custom)
	}

	// A deleted field no longer counts against the plan's cap (lite: 30).
	for i := range 30 {
		f.must("POST", "/api/v2/personFields", map[string]any{"field_name": fmt.Sprint("F", i), "field_type": "text"})
	}

	if r := f.do("DELETE", "/api/v2/dealFields/title", nil); r.status != http.StatusBadRequest {
		t.Errorf("DELETE of a built-in field = %d %s, want 400", r.status, r.raw)
	}
}

func TestDeletePipelineStageActivityType(t *testing.T) {
	f := newFixture(t, Options{})
	pipe := id(f.must("POST", "/api/v2/pipelines", map[string]any{"name": "Conveyancing"}))
	stage := id(f.must("POST", "/api/v2/stages", map[string]any{"name": "Instructed", "pipeline_id": pipe}))
	typ := f.must("POST", "/v1/activityTypes", map[string]any{"name": "Site visit", "icon_key": "car"}).data()

	if r := f.must("DELETE", fmt.Sprint("/api/v2/stages/", stage), nil); num(r.data()["id"]) != stage {
		t.Errorf("DELETE stage answered %s", r.raw)
	}
	if r := f.must("DELETE", fmt.Sprint("/api/v2/pipelines/", pipe), nil); num(r.data()["id"]) != pipe {
		t.Errorf("DELETE pipeline answered %s", r.raw)
	}
	r := f.must("DELETE", fmt.Sprint("/v1/activityTypes/", num(typ["id"])), nil)
	if got := r.data(); num(got["id"]) != num(typ["id"]) || got["active_flag"] != false || got["key_string"] != typ["key_string"] {
		t.Errorf("DELETE activity type answered %s", r.raw)
	}

	for _, path := range []string{fmt.Sprint("/api/v2/stages/", stage), fmt.Sprint("/api/v2/pipelines/", pipe),
		fmt.Sprint("/v1/activityTypes/", num(typ["id"])), "/api/v2/stages/99", "/v1/activityTypes/99"} {
		if r := f.do("DELETE", path, nil); r.status != http.StatusNotFound || r.body["success"] != false {
			t.Errorf("DELETE %s again = %d %s, want 404", path, r.status, r.raw)
		}
	}
	if l := f.must("GET", "/api/v2/pipelines", nil).list(); len(l) != 1 {
		t.Errorf("pipelines after delete = %v", l)
	}
	for _, x := range f.must("GET", "/api/v2/stages", nil).list() {
		if num(x.(map[string]any)["id"]) == stage {
			t.Errorf("deleted stage still listed")
		}
	}
	if l := f.must("GET", "/v1/activityTypes", nil).list(); len(l) != 6 {
		t.Errorf("%d activity types listed, want the 6 built-in ones", len(l))
	}
	if r := f.do("POST", "/api/v2/activities", map[string]any{"subject": "Visit", "type": typ["key_string"]}); r.status != http.StatusBadRequest {
		t.Errorf("activity of a deleted type = %d, want 400", r.status)
	}
	snap := f.sb.Snapshot()
	for _, e := range []*Entity{snap.Items[kPipelines][pipe], snap.Items[kStages][stage], snap.Items[kActivityTypes][num(typ["id"])]} {
		if e == nil || !e.Deleted || e.DeleteTime == nil {
			t.Errorf("not kept marked deleted: %+v", e)
		}
	}
}
