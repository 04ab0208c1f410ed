package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/report"
	"github.com/conveyor-migrate/conveyor/internal/report/reporttest"
)

// goldenDir holds the report's golden files, beside the package's own.
const goldenDir = "../../internal/report/testdata"

// TestReportGolden runs the real pipeline on a deterministic sample export
// (a fixed seed, the sandbox's fixed seed): a plan, then the full run, and
// compares the report data of each with the golden files, run ids and run
// times normalised (internal/report/reporttest says how). Then the HTML:
// written owner-only, every section there. go test ./cmd/conveyor -run
// ReportGolden -update rewrites the golden files.
func TestReportGolden(t *testing.T) {
	began := time.Now()
	export := filepath.Join(t.TempDir(), "export")
	if code, _, stderr := conveyor(t, "sample-export", "--out", export, "--matters", "4", "--seed", "7", "--messy", "--large-doc-bytes", "4096"); code != 0 {
		t.Fatalf("sample-export: %s", stderr)
	}
	state := t.TempDir()
	code, stdout, stderr := conveyor(t, "run", "--export", export, "--migration", "m-report", "--mode", "plan", "--sandbox", "--plan", "ultimate", "--state", state, "--json")
	if code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	var plan runSummary
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = conveyor(t, "run", "--export", export, "--migration", "m-report", "--mode", "full", "--sandbox", "--plan", "ultimate", "--state", state, "--yes", "--json")
	if code != exitOK {
		t.Fatalf("full: exit %d: %s\n%s", code, stderr, stdout)
	}
	var full runSummary
	if err := json.Unmarshal([]byte(stdout), &full); err != nil {
		t.Fatal(err)
	}

	code, latest, stderr := conveyor(t, "report", "--migration", "m-report", "--state", state, "--json")
	if code != exitOK {
		t.Fatalf("report --json: exit %d: %s", code, stderr)
	}
	var d report.Data
	if err := json.Unmarshal([]byte(latest), &d); err != nil {
		t.Fatal(err)
	}
	if d.Identity.Run != full.Run || d.Identity.Mode != "full" || d.Identity.Status != report.StatusSucceeded || d.Verify == nil || d.Diff == nil || !d.Diff.Performed ||
		d.Rollback == nil || !d.Rollback.Ledger || d.Rollback.Totals.Delete == 0 || d.Budget == nil || d.Budget.Source != "plan" || d.Budget.EstimateRun != plan.Run {
		t.Errorf("the full run's report: %+v", d.Identity)
	}
	if d.Diff.Writes != d.Rollback.Totals.Delete-schemaWrites(d) {
		t.Errorf("%d writes in the diff, %d record deletes in the rollback", d.Diff.Writes, d.Rollback.Totals.Delete-schemaWrites(d))
	}
	reporttest.Golden(t, filepath.Join(goldenDir, "run-full.golden.json"), []byte(latest), export, "EXPORT")

	code, planned, stderr := conveyor(t, "report", "--migration", "m-report", "--run", plan.Run, "--state", state, "--json")
	if code != exitOK {
		t.Fatalf("report --run: exit %d: %s", code, stderr)
	}
	var p report.Data
	if err := json.Unmarshal([]byte(planned), &p); err != nil {
		t.Fatal(err)
	}
	if p.Identity.Run != plan.Run || p.Identity.Mode != "plan" || p.Verify != nil || p.Diff == nil || p.Diff.Performed || p.Budget.Source != "estimate" || p.Budget.All.Requests == 0 {
		t.Errorf("the plan run's report: %+v", p.Identity)
	}
	reporttest.Golden(t, filepath.Join(goldenDir, "run-plan.golden.json"), []byte(planned), export, "EXPORT")

	// The HTML: owner-only, the path printed, every section, no network.
	out := filepath.Join(t.TempDir(), "reports", "full.html")
	code, stdout, stderr = conveyor(t, "report", "--migration", "m-report", "--state", state, "--out", out)
	if code != exitOK || strings.TrimSpace(stdout) != out {
		t.Fatalf("report --out: exit %d: %q %s", code, stdout, stderr)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the report is %v; want 0600", fi.Mode().Perm())
	}
	html, _ := os.ReadFile(out)
	for _, s := range report.Sections {
		if !strings.Contains(string(html), `<section id="`+s.ID+`">`) {
			t.Errorf("no section %s", s.ID)
		}
	}
	if !strings.Contains(string(html), `content="`+report.CSP+`"`) || strings.Contains(string(html), `src="http`) {
		t.Error("the page is not self-contained")
	}
	// The default path is in the state directory.
	code, stdout, _ = conveyor(t, "report", "--migration", "m-report", "--state", state)
	if want := filepath.Join(state, "reports", "m-report-"+full.Run+".html"); code != exitOK || strings.TrimSpace(stdout) != want {
		t.Errorf("default path: exit %d %q; want %q", code, stdout, want)
	}
	// The ledger was read, not changed or kept open.
	if code, _, stderr := conveyor(t, "rollback", "--migration", "m-report", "--sandbox", "--plan", "ultimate", "--state", state, "--dry-run", "--json"); code != exitOK {
		t.Errorf("rollback after the report: exit %d: %s", code, stderr)
	}
	entries, _ := os.ReadDir(state)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".report") {
			t.Errorf("left behind: %s", e.Name())
		}
	}

	// --costs lays the firm's figures over the defaults.
	costs := filepath.Join(t.TempDir(), "costs.yaml")
	os.WriteFile(costs, []byte("costs:\n  perfect_portal_per_matter: 40\n  matters_per_year: 300\n"), 0o600)
	code, stdout, stderr = conveyor(t, "report", "--migration", "m-report", "--state", state, "--json", "--costs", costs)
	var c report.Data
	if err := json.Unmarshal([]byte(stdout), &c); code != exitOK || err != nil {
		t.Fatalf("--costs: exit %d %v: %s", code, err, stderr)
	}
	if c.Costs.BeforeYear != 12000 || c.Costs.FiguresFrom != costs || strings.Join(c.Costs.Placeholders, ",") != "exchange_rate" {
		t.Errorf("costs = %+v", c.Costs)
	}
	t.Logf("plan, full run and reports in %s", time.Since(began).Round(time.Millisecond))
}

// schemaWrites counts the rollback's deletes of the schema (fields,
// pipelines, stages, activity types), which the diff does not list.
func schemaWrites(d report.Data) int {
	n := 0
	for _, e := range d.Rollback.Entries {
		switch e.TargetKind {
		case "deal_field", "person_field", "organization_field", "pipeline", "stage", "activity_type":
			n += e.N
		}
	}
	return n
}

func TestReportUsage(t *testing.T) {
	state := t.TempDir()
	os.MkdirAll(filepath.Join(state, "store"), 0o700)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report"}, "--migration is required"},
		{[]string{"report", "--migration", "../etc"}, "--migration is required"},
		{[]string{"report", "--migration", "nobody", "--state", state}, "migration nobody: nothing in"},
		{[]string{"report", "--migration", "m", "--state", filepath.Join(state, "missing")}, "no state at"},
		{[]string{"report", "--migration", "m", "--run", "a/b", "--state", state}, "--run"},
		{[]string{"report", "--migration", "m", "--costs", filepath.Join(state, "none.yaml"), "--state", state}, "--costs"},
		{[]string{"report", "--migration", "m", "extra"}, "unexpected argument"},
	} {
		code, _, stderr := conveyor(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	// A migration with something in the store but not that run.
	os.MkdirAll(filepath.Join(state, "store", "migrations", "m", "staged"), 0o700)
	os.WriteFile(filepath.Join(state, "store", "migrations", "m", "stage-map.json"), []byte(`{"pipelines":[],"unmapped":[]}`), 0o600)
	if code, _, stderr := conveyor(t, "report", "--migration", "m", "--run", "r20990101T000000Z-000000", "--state", state); code != exitUsage || !strings.Contains(stderr, "has no run") {
		t.Errorf("unknown run: exit %d %s", code, stderr)
	}
	if code, stdout, stderr := conveyor(t, "report", "--migration", "m", "--state", state, "--json"); code != exitOK || !strings.Contains(stdout, `"status": "not run"`) {
		t.Errorf("no run yet: exit %d %s %s", code, stdout, stderr)
	}
}
