package report_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/report"
)

// TestReportInBrowser opens the report of the hand-made migration (its
// values hostile: matter titles, template bodies and flags carrying
// <script>) in headless Chromium: no console error, no uncaught exception,
// no dialog (no export value ran as script), no request beyond the file,
// every section present and visible, the diff's filter working; and saves
// a screenshot to bin/test-artifacts/report.png.
func TestReportInBrowser(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	script := filepath.Join(root, "internal", "report", "browser", "check.mjs")
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, err := exec.LookPath("node")
	for _, missing := range []bool{err != nil, !exists(chromium), !exists(filepath.Join(root, "node_modules", "playwright-core"))} {
		if missing {
			if os.Getenv("CI") != "" {
				t.Fatalf("node, Chromium (%s) or node_modules/playwright-core is missing: .ci/run installs them", chromium)
			}
			t.Skip("node, Chromium or node_modules/playwright-core is missing (apt-get install chromium; npm ci)")
		}
	}
	fixedNow(t)
	html := render(t, build(t, newFixture(t), ""))
	page := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(page, []byte(html), 0o600); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(root, "bin", "test-artifacts", "report.png")
	if err := os.MkdirAll(filepath.Dir(shot), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{script, page, shot}
	for _, s := range report.Sections {
		args = append(args, s.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("check.mjs: %v\n%s", err, stderr)
	}
	var res struct {
		Browser                                string
		LaunchFailures                         []string
		Console, PageErrors, Dialogs, Requests []string
		Sections                               map[string]*struct {
			Visible bool
			Heading string
		}
		Diff struct {
			ControlsShown      bool
			Rows, FilteredRows int
			FilteredKind       string
			FilteredKinds      []string
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("check.mjs said %q: %v", out, err)
	}
	for _, problem := range [][]string{res.Console, res.PageErrors, res.Dialogs, res.Requests} {
		if len(problem) > 0 {
			t.Errorf("in the browser: %q", problem)
		}
	}
	for _, s := range report.Sections {
		got := res.Sections[s.ID]
		if got == nil || !got.Visible || !strings.Contains(got.Heading, s.Title) {
			t.Errorf("section %s: %+v; want it visible, headed %q", s.ID, got, s.Title)
		}
	}
	if !res.Diff.ControlsShown || res.Diff.Rows == 0 || res.Diff.FilteredKind == "" || res.Diff.FilteredRows == 0 || res.Diff.FilteredRows >= res.Diff.Rows {
		t.Errorf("the diff's filter: %+v; want the controls shown and filtering by kind to keep fewer rows", res.Diff)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Errorf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s (by %s)", shot, res.Browser)
	if len(res.LaunchFailures) > 0 {
		t.Logf("launches that failed before it: %q", res.LaunchFailures)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
