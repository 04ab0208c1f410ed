package migrate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
	"github.com/conveyor-migrate/conveyor/internal/stratify"
)

// migrateAll runs every step of a full migration in dependency order, the
// way the state machine does, and returns the staged manifest.
// fataler is the part of testing.T a migration run needs, so that a crash
// sweep can stop a run at its first error instead of failing the test.
type fataler interface {
	Helper()
	Fatalf(format string, a ...any)
	Fatal(a ...any)
}

func migrateAll(t fataler, e *testEnv, bundle *pp.Bundle, apply bool) map[string]LoadOutput {
	t.Helper()
	return runAll(t, e, bundle, nil, apply)
}

func openSampleBundle(t testing.TB, matters int) *pp.Bundle {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "export")
	if _, err := sampleexport.Write(dir, sampleexport.Options{Matters: matters, Seed: 1, LargeDocuments: -1}); err != nil {
		t.Fatal(err)
	}
	b, err := pp.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestEndToEndVerify migrates a sample export into the sandbox, reads it
// all back with Verify (clean), then changes one deal in Pipedrive and
// checks that Verify names the field.
func TestEndToEndVerify(t *testing.T) {
	e := newTestEnv(t, envOptions{matters: 12})
	bundle := openSampleBundle(t, 12) // the same seed and size as the staged one
	totals := migrateAll(t, e, bundle, true)
	for kind, tot := range totals {
		if tot.Failed != 0 {
			t.Errorf("%s: %d failed", kind, tot.Failed)
		}
	}
	ctx := context.Background()
	out, err := e.Verify(ctx, VerifyInput{MigrationID: testMigration, Manifest: e.manifest})
	if err != nil {
		var rep VerifyReport
		e.getJSON(t, Prefix(testMigration)+"verify.json", &rep)
		max := min(10, len(rep.Mismatches))
		t.Fatalf("verify after a clean migration: %v\nmissing %v\nmismatches %+v", err, rep.Missing[:min(10, len(rep.Missing))], rep.Mismatches[:max])
	}
	if out.Checked == 0 {
		t.Fatalf("verify checked nothing")
	}
	var clean VerifyReport
	e.getJSON(t, out.Report, &clean)
	for _, kind := range []string{"organization", "person", "deal", "activity", "note", "file"} {
		k := clean.Kinds[kind]
		if k == nil || k.Expected == 0 || k.Written != k.Expected || k.Found != k.Written || k.Matching != k.Found {
			t.Errorf("%s: %+v; want every expected record written, found and matching", kind, k)
		}
	}

	// Someone edits a deal's title in Pipedrive: verify fails and says where.
	var dealID int
	for id := range e.sb.Snapshot().Items["deals"] {
		dealID = id
		break
	}
	if _, err := e.Pipedrive.UpdateDeal(ctx, dealID, pipedrive.DealInput{Title: "Edited by hand"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.Verify(ctx, VerifyInput{MigrationID: testMigration, Manifest: e.manifest})
	var vm *VerifyMismatchError
	if !errors.As(err, &vm) || vm.Mismatches != 1 {
		t.Fatalf("verify after an edit: %v; want one mismatch", err)
	}
	var rep VerifyReport
	e.getJSON(t, vm.Report, &rep)
	if len(rep.Mismatches) != 1 || rep.Mismatches[0].Field != "title" || rep.Mismatches[0].Got != "Edited by hand" {
		t.Errorf("mismatches = %+v; want the title", rep.Mismatches)
	}

	// Someone deletes an activity, a note and a file in Pipedrive: verify
	// names each as missing, and the rest of its kind as found.
	deleted := map[string]string{} // kind → ledger key
	if err := e.Ledger.List(ctx, testMigration, func(en ledger.Entry) error {
		if en.Status != ledger.StatusWritten || en.Op != ledger.OpCreate || deleted[en.TargetKind] != "" {
			return nil
		}
		var err error
		switch en.TargetKind {
		case "activity":
			err = e.Pipedrive.DeleteActivity(ctx, int(en.TargetID))
		case "note":
			err = e.Pipedrive.DeleteNote(ctx, int(en.TargetID))
		case "file":
			err = e.Pipedrive.DeleteFile(ctx, int(en.TargetID))
		default:
			return nil
		}
		deleted[en.TargetKind] = en.Key
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 3 {
		t.Fatalf("deleted %v; want an activity, a note and a file", deleted)
	}
	_, err = e.Verify(ctx, VerifyInput{MigrationID: testMigration, Manifest: e.manifest})
	if !errors.As(err, &vm) || vm.Missing != 3 || vm.Mismatches != 1 {
		t.Fatalf("verify after deletes: %v; want 3 missing and the one mismatch", err)
	}
	rep = VerifyReport{}
	e.getJSON(t, vm.Report, &rep)
	want := []string{deleted["activity"], deleted["note"], deleted["file"]}
	slices.Sort(want)
	if !slices.Equal(rep.Missing, want) {
		t.Errorf("missing = %v; want %v", rep.Missing, want)
	}
	for _, kind := range []string{"activity", "note", "file"} {
		k, c := rep.Kinds[kind], clean.Kinds[kind]
		if k == nil || k.Written != c.Written || k.Found != c.Found-1 || k.Matching != c.Matching-1 {
			t.Errorf("%s after a delete: %+v; want %+v less one found and matching", kind, k, c)
		}
	}
}

// TestEndToEndRollback migrates a sample export into a company that
// already has people and schema of its own, rolls the migration back, and
// compares the company with its state before: the same live records with
// the same values (created records are soft-deleted, as Pipedrive keeps
// them for 30 days).
func TestEndToEndRollback(t *testing.T) {
	e := newTestEnv(t, envOptions{matters: 10})
	bundle := openSampleBundle(t, 10)
	ctx := context.Background()
	// The firm's own data, there before the migration.
	if _, err := e.Pipedrive.CreatePerson(ctx, pipedrive.PersonInput{Name: "Existing Contact"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Pipedrive.CreateOrganization(ctx, pipedrive.OrganizationInput{Name: "Existing Firm Ltd"}); err != nil {
		t.Fatal(err)
	}
	before := e.sb.Snapshot()
	migrateAll(t, e, bundle, true)
	if diffs := rollbackDiffs(before, e.sb.Snapshot()); len(diffs) == 0 {
		t.Fatal("the migration changed nothing")
	}
	out, err := e.Rollback(ctx, RollbackInput{MigrationID: testMigration, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	if out.Deleted == 0 || out.Flagged != 0 || out.Unknown != 0 {
		t.Errorf("rollback = %+v", out)
	}
	if diffs := rollbackDiffs(before, e.sb.Snapshot()); len(diffs) != 0 {
		t.Errorf("after rollback the company differs from before: %d differences, first %+v", len(diffs), diffs[0])
	}
}

// TestEndToEndCrashes interrupts a whole migration after every N-th write
// (the write applied, its answer lost), resumes it, and checks that every
// record arrived exactly once and verify is clean.
func TestEndToEndCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("crash sweep")
	}
	probe := newTestEnv(t, envOptions{matters: 4})
	migrateAll(t, probe, openSampleBundle(t, 4), true)
	total := 0
	for _, e := range probe.entries(t) {
		if e.Status == "written" {
			total++
		}
	}
	if total == 0 {
		t.Fatal("no writes to interrupt")
	}
	// FailAfterWrites: n writes succeed, the (n+1)-th is applied and its answer
	// lost; n from 1 covers every write but the first.
	for n := 1; n < total; n++ {
		t.Run(fmt.Sprintf("after %d writes", n), func(t *testing.T) {
			e := newTestEnv(t, envOptions{matters: 4})
			bundle := openSampleBundle(t, 4)
			if err := e.sb.SetFaults(sandbox.Faults{FailAfterWrites: n}); err != nil {
				t.Fatal(err)
			}
			crashed := false
			func() {
				defer func() { crashed = recover() != nil }()
				migrateAllOrStop(t, e, bundle)
			}()
			if !crashed || e.sb.Meter().Dropped != 1 {
				t.Fatalf("the run did not stop at write %d (dropped %d)", n, e.sb.Meter().Dropped)
			}
			if err := e.sb.SetFaults(sandbox.Faults{}); err != nil {
				t.Fatal(err)
			}
			migrateAll(t, e, bundle, true)
			if _, err := e.Verify(context.Background(), VerifyInput{MigrationID: testMigration, Manifest: e.manifest}); err != nil {
				t.Fatalf("verify after resuming: %v", err)
			}
			snap := e.sb.Snapshot()
			for kind, want := range map[string]int{"persons": len(probe.sb.Snapshot().Items["persons"]), "deals": len(probe.sb.Snapshot().Items["deals"]),
				"activities": len(probe.sb.Snapshot().Items["activities"]), "notes": len(probe.sb.Snapshot().Items["notes"]), "files": len(probe.sb.Snapshot().Items["files"])} {
				if got := live(snap.Items[kind]); got != want {
					t.Errorf("%s: %d live after the crash and resume; %d without a crash", kind, got, want)
				}
			}
			for _, en := range e.entries(t) {
				if en.Status != "written" {
					t.Errorf("ledger entry %s is %s", en.Key, en.Status)
				}
			}
		})
	}
}

func live(items map[int]*sandbox.Entity) int {
	n := 0
	for _, it := range items {
		if !it.Deleted {
			n++
		}
	}
	return n
}

// migrateAllOrStop runs the migration until the first error (the crash).
func migrateAllOrStop(t *testing.T, e *testEnv, bundle *pp.Bundle) {
	ft := &stopT{T: t}
	migrateAll(ft, e, bundle, true)
}

// stopT turns the first Fatalf into a panic the caller recovers from, so
// that a run can stop where the crash happened.
type stopT struct{ *testing.T }

func (s *stopT) Helper() {}

func (s *stopT) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
func (s *stopT) Fatal(a ...any)                 { panic(fmt.Sprint(a...)) }

// TestEndToEndSample migrates a stratified sample of 100 matters out of
// 140, verifies just the sample, then runs the full migration: the sample's
// records are not written again, and the full run verifies clean.
func TestEndToEndSample(t *testing.T) {
	if testing.Short() {
		t.Skip("140 matters")
	}
	e := newTestEnv(t, envOptions{matters: 140, plan: "ultimate"})
	bundle := openSampleBundle(t, 140)
	ctx := context.Background()
	var items []stratify.Item
	for _, rec := range e.stagedMatters(t) {
		typ, _ := e.Config.MatterType(rec.Matter.Type)
		stage, _ := e.Config.PipelineFor(typ).StageFor(rec.Matter.KeyStage)
		items = append(items, stratify.Item{ID: rec.Matter.ID, Stratum: typ + "/" + stage})
	}
	sample := stratify.Select(items, 100, 1)
	if len(sample) != 100 {
		t.Fatalf("sample of %d", len(sample))
	}
	runAll(t, e, bundle, sample, true)
	if _, err := e.Verify(ctx, VerifyInput{MigrationID: testMigration, Manifest: e.manifest, Matters: sample}); err != nil {
		t.Fatalf("verify the sample: %v", err)
	}
	if got := live(e.sb.Snapshot().Items["deals"]); got != 100 {
		t.Errorf("%d deals after the sample; want 100", got)
	}
	sampleWrites := len(e.entries(t))
	totals := runAll(t, e, bundle, nil, true)
	if got := live(e.sb.Snapshot().Items["deals"]); got != 140 {
		t.Errorf("%d deals after the full run; want 140", got)
	}
	if _, err := e.Verify(ctx, VerifyInput{MigrationID: testMigration, Manifest: e.manifest}); err != nil {
		t.Fatalf("verify the full run: %v", err)
	}
	if totals[LoadDeals].Skipped == 0 {
		t.Errorf("the full run skipped no deals; the sample's should be skipped, not written again")
	}
	t.Logf("%d writes in the sample, %d after the full run", sampleWrites, len(e.entries(t)))
}

// runAll runs every step once (schema and owners included) over every
// chunk, limited to matters when given.
func runAll(t fataler, e *testEnv, bundle *pp.Bundle, matters []string, apply bool) map[string]LoadOutput {
	t.Helper()
	return runSteps(t, e, bundle, runOptions{run: "r1", matters: matters, apply: apply})
}

// runOptions say what run runSteps makes.
type runOptions struct {
	run     string
	matters []string
	apply   bool
	// delta and since make a delta run from the watermark since.
	delta bool
	since string
}

// runSteps runs every step of one run (schema and owners included) over
// every chunk of the staged export.
func runSteps(t fataler, e *testEnv, bundle *pp.Bundle, o runOptions) map[string]LoadOutput {
	t.Helper()
	ctx := context.Background()
	if _, err := e.Schema(ctx, SchemaInput{MigrationID: testMigration, Run: o.run, Manifest: e.manifest, Apply: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ResolveOwners(ctx, OwnersInput{MigrationID: testMigration, Manifest: e.manifest}); err != nil {
		t.Fatal(err)
	}
	st, err := openStaged(ctx, e.store, e.manifest)
	if err != nil {
		t.Fatal(err)
	}
	totals := map[string]LoadOutput{}
	for _, s := range loadOrder {
		for i := range st.manifest.Kinds[s.source].Chunks {
			in := LoadInput{MigrationID: testMigration, Run: o.run, Manifest: e.manifest, Kind: s.kind, Source: s.source, Chunk: i,
				Apply: o.apply, Matters: o.matters, Delta: o.delta, Since: o.since}
			out, err := runLoad(ctx, e.Env, in, bundle)
			if err != nil {
				t.Fatalf("%s %s %d: %v", s.kind, s.source, i, err)
			}
			tot := totals[s.kind]
			tot.Planned += out.Planned
			tot.Created += out.Created
			tot.Updated += out.Updated
			tot.Linked += out.Linked
			tot.Flags += out.Flags
			tot.Skipped += out.Skipped
			tot.Failed += out.Failed
			totals[s.kind] = tot
		}
	}
	return totals
}
