package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunAndRollback migrates a small messy export into the in-process
// sandbox (full mode, verified), runs it again (nothing new is written),
// and rolls it back.
func TestRunAndRollback(t *testing.T) {
	export := filepath.Join(t.TempDir(), "export")
	if code, _, stderr := conveyor(t, "sample-export", "--out", export, "--matters", "12", "--seed", "5", "--messy", "--large-doc-bytes", "4096"); code != 0 {
		t.Fatalf("sample-export: %s", stderr)
	}
	state := t.TempDir()

	// Plan first: every record planned, the run priced, nothing written.
	code, stdout, stderr := conveyor(t, "run", "--export", export, "--migration", "m-test", "--mode", "plan", "--sandbox", "--plan", "ultimate", "--state", state, "--json")
	if code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	var planned runSummary
	if err := json.Unmarshal([]byte(stdout), &planned); err != nil {
		t.Fatal(err)
	}
	if planned.Estimate == nil || planned.Estimate.All.Tokens <= planned.Estimate.WithoutHistory.Tokens || planned.Kinds["deals"] == nil || planned.Kinds["deals"].Planned == 0 || planned.Kinds["deals"].Created != 0 {
		t.Fatalf("plan summary = %+v", planned)
	}
	if planned.API.Tokens > 300 {
		t.Errorf("planning spent %d tokens; it only reads", planned.API.Tokens)
	}

	args := []string{"run", "--export", export, "--migration", "m-test", "--mode", "full", "--sandbox", "--plan", "ultimate", "--state", state, "--yes", "--json"}
	code, stdout, stderr = conveyor(t, args...)
	if code != exitOK {
		t.Fatalf("run: exit %d: %s\n%s", code, stderr, stdout)
	}
	var sum runSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if sum.Verify == nil || sum.Verify.Checked == 0 || sum.Verify.Mismatches != 0 || sum.Stopped != "" {
		t.Fatalf("summary = %+v", sum)
	}
	for _, k := range []string{"organisations", "persons", "deals", "activities", "documents"} {
		if sum.Kinds[k] == nil || sum.Kinds[k].Created == 0 || sum.Kinds[k].Failed != 0 {
			t.Errorf("%s: %+v", k, sum.Kinds[k])
		}
	}
	if sum.API.Tokens == 0 || sum.API.Throttled != 0 {
		t.Errorf("api = %+v", sum.API)
	}
	if est := planned.Estimate.All.Tokens; est < sum.API.Tokens*8/10 || est > sum.API.Tokens*12/10 {
		t.Errorf("the plan estimated %d tokens; the run spent %d", est, sum.API.Tokens)
	}

	code, stdout, stderr = conveyor(t, args...)
	if code != exitOK {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	var again runSummary
	json.Unmarshal([]byte(stdout), &again)
	for k, o := range again.Kinds {
		if o.Created != 0 {
			t.Errorf("second run created %d %s; want none", o.Created, k)
		}
	}

	// A newer export of the same firm: a plan shows the delta, the delta
	// run moves only what changed, and rolling it back undoes just it.
	newer := filepath.Join(t.TempDir(), "newer")
	if code, _, stderr := conveyor(t, "sample-export", "--out", newer, "--matters", "12", "--seed", "5", "--messy", "--large-doc-bytes", "4096", "--newer", "1"); code != 0 {
		t.Fatalf("sample-export --newer: %s", stderr)
	}
	code, stdout, stderr = conveyor(t, "run", "--export", newer, "--migration", "m-test", "--mode", "plan", "--sandbox", "--plan", "ultimate", "--state", state, "--json")
	var deltaPlan runSummary
	if err := json.Unmarshal([]byte(stdout), &deltaPlan); code != exitOK || err != nil {
		t.Fatalf("plan of the delta: exit %d %v: %s", code, err, stderr)
	}
	if deltaPlan.Since == "" || deltaPlan.Since != sum.Finish.Watermark {
		t.Errorf("plan after a full run starts from %q; want the full run's watermark %q", deltaPlan.Since, sum.Finish.Watermark)
	}
	code, stdout, stderr = conveyor(t, "run", "--export", newer, "--migration", "m-test", "--mode", "delta", "--sandbox", "--plan", "ultimate", "--state", state, "--yes", "--json")
	var delta runSummary
	if err := json.Unmarshal([]byte(stdout), &delta); code != exitOK || err != nil {
		t.Fatalf("delta: exit %d %v: %s\n%s", code, err, stderr, stdout)
	}
	if delta.Finish == nil || delta.Finish.Updated == 0 || delta.Finish.Gone == 0 || delta.Finish.Report == "" || delta.Verify == nil || delta.Verify.Mismatches != 0 {
		t.Fatalf("delta summary = %+v (finish %+v)", delta, delta.Finish)
	}
	updated, created := 0, 0
	for _, k := range delta.Kinds {
		updated += k.Updated
		created += k.Created
	}
	if updated != delta.Finish.Updated || created == 0 || delta.Kinds["deals"].Created >= sum.Kinds["deals"].Created {
		t.Errorf("delta kinds %+v; want the changed records updated and only the new ones created", delta.Kinds)
	}
	code, stdout, stderr = conveyor(t, "rollback", "--migration", "m-test", "--run", delta.Run, "--sandbox", "--plan", "ultimate", "--state", state, "--yes", "--json")
	var rbDelta struct{ Deleted, Restored, Flagged int }
	json.Unmarshal([]byte(stdout), &rbDelta)
	if code != exitOK || rbDelta.Restored != updated || rbDelta.Deleted == 0 || rbDelta.Flagged != 0 {
		t.Errorf("rollback of the delta: exit %d %+v: %s; want %d restored", code, rbDelta, stderr, updated)
	}

	code, stdout, stderr = conveyor(t, "rollback", "--migration", "m-test", "--sandbox", "--plan", "ultimate", "--state", state, "--yes")
	if code != exitOK || !strings.Contains(stdout, "deleted") {
		t.Fatalf("rollback: exit %d: %s %s", code, stdout, stderr)
	}
	code, stdout, _ = conveyor(t, "rollback", "--migration", "m-test", "--sandbox", "--plan", "ultimate", "--state", state, "--yes", "--json")
	var rb struct{ Deleted int }
	json.Unmarshal([]byte(stdout), &rb)
	if code != exitOK || rb.Deleted != 0 {
		t.Errorf("second rollback: exit %d, %d deleted; want nothing left to undo", code, rb.Deleted)
	}

	if code, _, stderr := conveyor(t, "run", "--export", export, "--migration", "x", "--mode", "delta", "--sandbox", "--state", t.TempDir()); code != exitUsage || !strings.Contains(stderr, "no finished full run") {
		t.Errorf("delta: exit %d %s", code, stderr)
	}
	if code, _, stderr := conveyor(t, "run", "--export", export, "--migration", "x"); code != exitUsage || !strings.Contains(stderr, "--sandbox") {
		t.Errorf("no target: exit %d %s", code, stderr)
	}
}
