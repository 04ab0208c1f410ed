package cost

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		method, path string
		want         int
		endpoint     string
	}{
		{"POST", "/api/v2/persons", 5, "POST /api/v2/persons"},
		{"GET", "/api/v2/persons", 10, "GET /api/v2/persons"},
		{"GET", "/api/v2/persons/42", 1, "GET /api/v2/persons/{id}"},
		{"GET", "/api/v2/persons/search?term=a", 20, "GET /api/v2/persons/search"},
		{"patch", "/api/v2/deals/7", 5, "PATCH /api/v2/deals/{id}"},
		{"DELETE", "/api/v2/deals/7", 3, "DELETE /api/v2/deals/{id}"},
		{"POST", "/api/v2/dealFields", 5, "POST /api/v2/dealFields"},
		{"POST", "/v1/notes", 10, "POST /v1/notes"},
		{"POST", "/v1/files", 10, "POST /v1/files"},
		{"POST", "/v1/deals/3/participants", 10, "POST /v1/deals/{id}/participants"},
		{"DELETE", "/v1/deals/3/participants/9", 6, "DELETE /v1/deals/{id}/participants/{deal_participant_id}"},
		{"GET", "/v1/users/me", 2, "GET /v1/users/me"},
		{"GET", "/v1/activityTypes", 20, "GET /v1/activityTypes"},
	}
	for _, tc := range tests {
		o, ok := Lookup(tc.method, tc.path)
		if !ok || o.Cost != tc.want || o.Endpoint() != tc.endpoint {
			t.Errorf("Lookup(%s %s) = %+v, %v; want cost %d at %s", tc.method, tc.path, o, ok, tc.want, tc.endpoint)
		}
	}
	for _, bad := range [][2]string{{"GET", "/api/v2/nothing"}, {"PUT", "/api/v2/persons/1"}, {"GET", "/v1/persons"}} {
		if o, ok := Lookup(bad[0], bad[1]); ok {
			t.Errorf("Lookup(%s %s) = %+v; want none", bad[0], bad[1], o)
		}
	}
}

// TestTableMatchesSpec regenerates the table from the OpenAPI documents, when
// they are beside the repository, and fails if the checked-in one drifted.
func TestTableMatchesSpec(t *testing.T) {
	spec := filepath.Join("..", "..", "..", "..", "shared", "pipedrive")
	if _, err := os.Stat(filepath.Join(spec, "v2.yaml")); err != nil {
		t.Skipf("Pipedrive's OpenAPI documents are not at %s", spec)
	}
	out := filepath.Join(t.TempDir(), "table.go")
	cmd := exec.Command("go", "run", "./gencost", filepath.Join(spec, "v1.yaml"), filepath.Join(spec, "v2.yaml"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gencost: %v\n%s", err, b)
	}
	got, _ := os.ReadFile(out)
	want, _ := os.ReadFile("table.go")
	if string(got) != string(want) {
		t.Errorf("table.go is stale: run go generate ./internal/pipedrive/cost")
	}
	if n := len(All()); n < 300 {
		t.Errorf("%d operations; the documents have about 370", n)
	}
}
