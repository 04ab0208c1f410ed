package migrate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
	"github.com/conveyor-migrate/conveyor/internal/transform"
)

// stageNewer writes the newer export of the test firm (the same seed and
// size as newTestEnv's), stages it over the older one, and opens it.
func stageNewer(t *testing.T, e *testEnv, matters int) (*pp.Bundle, sampleexport.DeltaSummary) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "newer")
	sum, err := sampleexport.Write(dir, sampleexport.Options{Matters: matters, Seed: 1, LargeDocuments: -1, Newer: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pp.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if _, err := extract.Run(ctx, b, extract.Options{Config: e.Config, Stage: e.store, StagePrefix: extract.StagePrefix(testMigration)}); err != nil {
		t.Fatalf("stage the newer export: %v", err)
	}
	return b, sum.Delta
}

// runEntries returns the ledger entries a run wrote, by key.
func runEntries(t *testing.T, e *testEnv, run string) map[string]ledger.Entry {
	t.Helper()
	out := map[string]ledger.Entry{}
	for _, en := range e.entries(t) {
		if en.Run == run {
			out[en.Key] = en
		}
	}
	return out
}

// TestEndToEndDelta migrates an export, then a newer export of the same
// firm as a delta run: exactly the changed records are updated (only the
// fields that changed, their previous values in the ledger), the new ones
// created, the removed ones listed and left in Pipedrive; a record edited
// by hand in Pipedrive since is left alone and reported; running the delta
// again writes nothing; rolling the delta back gives the account its state
// before the delta, and rolling everything back its state before the
// migration.
func TestEndToEndDelta(t *testing.T) {
	const matters = 30
	e := newTestEnv(t, envOptions{matters: matters, plan: "ultimate"})
	ctx := context.Background()
	pristine := e.sb.Snapshot()
	runSteps(t, e, openSampleBundle(t, matters), runOptions{run: "r1", apply: true})
	if _, err := e.Verify(ctx, VerifyInput{MigrationID: testMigration, Manifest: e.manifest}); err != nil {
		t.Fatalf("verify the full run: %v", err)
	}
	full, err := e.Finish(ctx, FinishInput{MigrationID: testMigration, Run: "r1", Manifest: e.manifest, Mode: "full"})
	if err != nil || full.Watermark == "" {
		t.Fatalf("Finish(full) = %+v, %v; want a watermark", full, err)
	}
	since, err := e.Watermark(ctx, testMigration)
	if err != nil || since != full.Watermark {
		t.Fatalf("Watermark = %q, %v; want %q", since, err, full.Watermark)
	}

	bundle, delta := stageNewer(t, e, matters)
	if len(delta.ChangedMatters) == 0 || len(delta.ChangedClients) == 0 || len(delta.ChangedOrganisations) == 0 || len(delta.NewMatters) == 0 || len(delta.RemovedMatters) == 0 ||
		len(delta.ChangedActivities) == 0 || len(delta.ChangedDocuments) == 0 {
		t.Fatalf("the newer export changes too little to test: %+v", delta)
	}
	// Someone edits the changed organisation in Pipedrive by hand.
	editedKey := OrganisationKey(delta.ChangedOrganisations[0])
	edited, err := Written(ctx, e.Ledger, testMigration, editedKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Pipedrive.UpdateOrganization(ctx, int(edited), pipedrive.OrganizationInput{Name: "Edited By Hand Ltd"}); err != nil {
		t.Fatal(err)
	}
	before := e.sb.Snapshot()
	writesBefore := writes(e.sb.Meter())

	// A plan of the delta reads, writes nothing, and says what will change.
	plan := runSteps(t, e, bundle, runOptions{run: "p2", apply: false, delta: true, since: since})
	if got := writes(e.sb.Meter()); !maps.Equal(got, writesBefore) {
		t.Fatalf("planning the delta wrote: %v (before %v)", got, writesBefore)
	}
	if plan[LoadDeals].Planned == 0 {
		t.Fatalf("the delta plan planned nothing: %+v", plan)
	}

	totals := runSteps(t, e, bundle, runOptions{run: "r2", apply: true, delta: true, since: since})
	for kind, tot := range totals {
		if tot.Failed != 0 {
			t.Errorf("%s: %d failed", kind, tot.Failed)
		}
	}
	r2 := runEntries(t, e, "r2")
	// Updates: one entry per changed record, only the changed fields.
	wantUpdated := map[string]bool{}
	for _, id := range delta.ChangedMatters {
		wantUpdated[MatterKey(id)] = true
	}
	for _, id := range delta.ChangedClients {
		wantUpdated[ClientKey(id)] = true
	}
	for _, id := range delta.ChangedOrganisations[1:] {
		wantUpdated[OrganisationKey(id)] = true
	}
	for _, id := range delta.ChangedReferrers {
		wantUpdated[ReferrerKey(id)] = true
	}
	for _, id := range delta.ChangedActivities {
		wantUpdated[ActivityKey(id)] = true
	}
	gotUpdated := map[string]bool{}
	for key, en := range r2 {
		base, isUpdate := deltaBase(key)
		if !isUpdate {
			continue
		}
		gotUpdated[base] = true
		if en.Op != ledger.OpUpdate || en.Status != ledger.StatusWritten || len(en.Previous) == 0 || en.SourceHash == "" {
			t.Errorf("%s: %+v; want a written update with its previous values and the hash it replaced", key, en)
		}
		baseEntry, err := e.Ledger.Get(ctx, testMigration, base)
		if err != nil || baseEntry.TargetID != en.TargetID || baseEntry.SourceHash == en.SourceHash {
			t.Errorf("%s: the record's entry %+v (%v) does not hold the new hash", base, baseEntry, err)
		}
	}
	for key := range wantUpdated {
		if !gotUpdated[key] {
			t.Errorf("%s changed in the newer export but was not updated", key)
		}
	}
	for key := range gotUpdated {
		if !wantUpdated[key] && !strings.HasPrefix(key, "referrer-firm/") {
			t.Errorf("%s was updated; the newer export does not change it", key)
		}
	}
	if gotUpdated[editedKey] {
		t.Errorf("the organisation edited by hand in Pipedrive was overwritten")
	}
	if o := e.sb.Snapshot().Items["organizations"][int(edited)]; o == nil || o.Attrs["name"] != "Edited By Hand Ltd" {
		t.Errorf("the hand edit is gone: %+v", o)
	}
	// Creates: the new matters (with what hangs on them) and the new
	// activities; the changed document's new version beside the old one.
	for _, id := range delta.NewMatters {
		if en, ok := r2[MatterKey(id)]; !ok || en.Op != ledger.OpCreate {
			t.Errorf("new matter %s: %+v; want created", id, en)
		}
	}
	for _, id := range delta.NewActivities {
		if en, ok := r2[ActivityKey(id)]; !ok || en.Op != ledger.OpCreate {
			t.Errorf("new activity %s: %+v; want created", id, en)
		}
	}
	for _, id := range delta.ChangedDocuments {
		found := false
		for key, en := range r2 {
			if strings.HasPrefix(key, "document/"+id+"/rev/") && en.Op == ledger.OpCreate {
				found = true
			}
		}
		if !found {
			t.Errorf("changed document %s: no new version uploaded", id)
		}
		if old, err := Written(ctx, e.Ledger, testMigration, DocumentKey(id, 1)); err != nil || e.sb.Snapshot().Items["files"][int(old)].Deleted {
			t.Errorf("changed document %s: the earlier version is gone (%v)", id, err)
		}
	}
	allowed := newKeys(t, e, delta)
	for key, en := range r2 {
		if _, isUpdate := deltaBase(key); isUpdate || en.Op != ledger.OpCreate {
			continue
		}
		if !createdByDelta(key, allowed) {
			t.Errorf("%s was created by the delta; the newer export does not add it", key)
		}
	}
	// Nothing was deleted.
	if n, was := deletes(writes(e.sb.Meter())), deletes(writesBefore); n != was {
		t.Errorf("the delta sent %d tokens' worth of deletes", n-was)
	}

	// Verify against the newer export: everything but the record edited by hand.
	_, err = e.Verify(ctx, VerifyInput{MigrationID: testMigration, Manifest: e.manifest})
	var vm *VerifyMismatchError
	if !errors.As(err, &vm) || vm.Missing != 0 {
		t.Fatalf("verify after the delta: %v; want only the hand-edited organisation to differ", err)
	}
	var vr VerifyReport
	e.getJSON(t, vm.Report, &vr)
	for _, m := range vr.Mismatches {
		if m.Key != editedKey {
			t.Errorf("verify after the delta: %s.%s differs", m.Key, m.Field)
		}
	}

	fin, err := e.Finish(ctx, FinishInput{MigrationID: testMigration, Run: "r2", Manifest: e.manifest, Mode: "delta"})
	if err != nil {
		t.Fatal(err)
	}
	var rep DeltaReport
	e.getJSON(t, fin.Report, &rep)
	if rep.Since != since || rep.Watermark == "" || rep.Watermark <= since {
		t.Errorf("report since %q watermark %q; want from %q to later", rep.Since, rep.Watermark, since)
	}
	if len(rep.Conflicts) != 1 || rep.Conflicts[0].Key != editedKey || rep.Conflicts[0].Reason != DeltaFlagEdited {
		t.Errorf("conflicts %+v; want the hand-edited organisation", rep.Conflicts)
	}
	if len(rep.Updated) != len(gotUpdated) {
		t.Errorf("report lists %d updated; the ledger %d", len(rep.Updated), len(gotUpdated))
	}
	for _, id := range delta.RemovedMatters {
		if !slices.ContainsFunc(rep.Gone, func(r DeltaRecord) bool { return r.Key == MatterKey(id) }) {
			t.Errorf("removed matter %s not listed as gone", id)
		}
		if deal, err := Written(ctx, e.Ledger, testMigration, MatterKey(id)); err != nil || e.sb.Snapshot().Items["deals"][int(deal)].Deleted {
			t.Errorf("removed matter %s: its deal should stay in Pipedrive (%v)", id, err)
		}
	}
	if fin.Gone != len(rep.Gone) || rep.GoneByKind["deal"] != len(delta.RemovedMatters) {
		t.Errorf("gone %d (%v); want %d deals", fin.Gone, rep.GoneByKind, len(delta.RemovedMatters))
	}
	if w, _ := e.Watermark(ctx, testMigration); w != fin.Watermark {
		t.Errorf("watermark %q after the delta; want %q", w, fin.Watermark)
	}

	// The same delta again, in the same run and in a new one, writes nothing.
	afterDelta := writes(e.sb.Meter())
	runSteps(t, e, bundle, runOptions{run: "r2", apply: true, delta: true, since: since})
	runSteps(t, e, bundle, runOptions{run: "r3", apply: true, delta: true, since: fin.Watermark})
	if got := writes(e.sb.Meter()); !maps.Equal(got, afterDelta) {
		t.Errorf("repeating the delta wrote: %v (before %v)", got, afterDelta)
	}

	// Rolling the delta back gives the account its state before the delta.
	out, err := e.Rollback(ctx, RollbackInput{MigrationID: testMigration, Run: "r2", Apply: true})
	if err != nil || out.Flagged != 0 || out.Unknown != 0 || out.Restored != len(gotUpdated) {
		t.Fatalf("rollback r2 = %+v, %v; want %d restored, nothing flagged", out, err, len(gotUpdated))
	}
	var restored []string
	for key, en := range r2 {
		if _, isUpdate := deltaBase(key); isUpdate {
			restored = append(restored, fmt.Sprintf("%s/%d", sandboxKind[en.TargetKind], en.TargetID))
		}
	}
	if diffs := rollbackDiffs(before, e.sb.Snapshot(), restored...); len(diffs) > 0 {
		t.Fatalf("after rolling the delta back, %d differences from before it, e.g. %v", len(diffs), diffs[:min(5, len(diffs))])
	}
	if w, _ := e.Watermark(ctx, testMigration); w != since {
		t.Errorf("watermark %q after rolling the delta back; want %q", w, since)
	}
	// The delta can be made again, and everything rolled back.
	runSteps(t, e, bundle, runOptions{run: "r4", apply: true, delta: true, since: since})
	if n := len(runEntries(t, e, "r4")); n == 0 {
		t.Errorf("the delta made again after its rollback wrote nothing")
	}
	out, err = e.Rollback(ctx, RollbackInput{MigrationID: testMigration, Force: true, Apply: true})
	if err != nil || out.Unknown != 0 {
		t.Fatalf("rollback all = %+v, %v", out, err)
	}
	// The hand edit was the firm's, made after the migration wrote the
	// organization: a forced rollback deletes it anyway.
	if diffs := rollbackDiffs(pristine, e.sb.Snapshot()); len(diffs) > 0 {
		t.Fatalf("after rolling everything back, %d differences from before the migration, e.g. %v", len(diffs), diffs[:min(5, len(diffs))])
	}
}

// newKeys returns the ledger keys of the records the newer export adds:
// the new matters with their participants, people, activities and
// documents, the new activities, and the changed documents' new versions
// (by prefix).
func newKeys(t *testing.T, e *testEnv, d sampleexport.DeltaSummary) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	isNew := map[string]bool{}
	for _, id := range d.NewMatters {
		isNew[id] = true
	}
	for _, rec := range e.stagedMatters(t) {
		if !isNew[rec.Matter.ID] {
			continue
		}
		keys[MatterKey(rec.Matter.ID)] = true
		for _, p := range transform.DealPeople(rec) {
			keys[ParticipantKey(rec.Matter.ID, p)] = true
		}
		for _, a := range rec.Activities {
			keys[ActivityKey(a.ID)] = true
		}
		for _, doc := range rec.Documents {
			keys["document/"+doc.ID+"/"] = true
		}
	}
	for _, id := range d.NewActivities {
		keys[ActivityKey(id)] = true
	}
	for _, id := range d.NewClients {
		keys[ClientKey(id)] = true
	}
	for _, id := range d.NewOrganisations {
		keys[OrganisationKey(id)] = true
	}
	for _, id := range d.ChangedDocuments {
		keys["document/"+id+"/rev/"] = true
	}
	return keys
}

// createdByDelta reports whether a key is one newKeys allows.
func createdByDelta(key string, allowed map[string]bool) bool {
	if allowed[key] {
		return true
	}
	for k := range allowed {
		if strings.HasSuffix(k, "/") && strings.HasPrefix(key, k) {
			return true
		}
	}
	return false
}

// deletes sums the DELETE endpoints of a writes map.
func deletes(w map[string]int) int {
	n := 0
	for ep, v := range w {
		if strings.HasPrefix(ep, "DELETE ") {
			n += v
		}
	}
	return n
}

// sandboxKind is the sandbox's collection of a ledger target kind.
var sandboxKind = map[string]string{"person": "persons", "organization": "organizations", "deal": "deals", "activity": "activities", "note": "notes"}

// TestDeltaCrashes interrupts a delta run at every write, in two ways: the
// sandbox applies the write and drops its answer (the client retries an
// idempotent PATCH or PUT itself; a create stops the run), and the process
// dies after a write is made but before the ledger commits it. Each time the
// delta is resumed and every change must arrive exactly once: the same live
// records as an uninterrupted delta, every ledger entry written, every
// update's previous values the ones from before the delta (not the
// interrupted attempt's own), and verify clean.
func TestDeltaCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("crash sweep")
	}
	const matters = 12
	full := func(t *testing.T) (*testEnv, string) {
		e := newTestEnv(t, envOptions{matters: matters, plan: "ultimate"})
		runSteps(t, e, openSampleBundle(t, matters), runOptions{run: "r1", apply: true})
		fin, err := e.Finish(context.Background(), FinishInput{MigrationID: testMigration, Run: "r1", Manifest: e.manifest, Mode: "full"})
		if err != nil {
			t.Fatal(err)
		}
		return e, fin.Watermark
	}
	previous := func(e *testEnv, t *testing.T) map[string]string {
		out := map[string]string{}
		for key, en := range runEntries(t, e, "r2") {
			if base, ok := deltaBase(key); ok {
				out[base] = string(en.Previous)
			}
		}
		return out
	}
	probe, since := full(t)
	bundle, _ := stageNewer(t, probe, matters)
	runSteps(t, probe, bundle, runOptions{run: "r2", apply: true, delta: true, since: since})
	deltaWrites := len(runEntries(t, probe, "r2"))
	wantPrevious := previous(probe, t)
	if deltaWrites == 0 || len(wantPrevious) == 0 {
		t.Fatalf("the delta wrote %d entries, %d updates: nothing to interrupt", deltaWrites, len(wantPrevious))
	}
	probeSnap := probe.sb.Snapshot()
	check := func(t *testing.T, e *testEnv, bundle *pp.Bundle, since string) {
		runSteps(t, e, bundle, runOptions{run: "r2", apply: true, delta: true, since: since})
		if _, err := e.Verify(context.Background(), VerifyInput{MigrationID: testMigration, Manifest: e.manifest}); err != nil {
			t.Fatalf("verify after resuming: %v", err)
		}
		snap := e.sb.Snapshot()
		for _, kind := range []string{"persons", "organizations", "deals", "activities", "notes", "files"} {
			if got, want := live(snap.Items[kind]), live(probeSnap.Items[kind]); got != want {
				t.Errorf("%s: %d live after the crash and resume; %d without a crash", kind, got, want)
			}
		}
		for _, en := range e.entries(t) {
			if en.Status != ledger.StatusWritten {
				t.Errorf("ledger entry %s is %s", en.Key, en.Status)
			}
		}
		if got := previous(e, t); !maps.Equal(got, wantPrevious) {
			t.Errorf("updates' previous values %v; without a crash %v", got, wantPrevious)
		}
	}
	pendingUpdates := 0
	defer func() {
		if pendingUpdates == 0 {
			t.Errorf("no crash left an update pending: the resume of an interrupted update went untested")
		}
	}()
	for n := 1; n < deltaWrites; n++ {
		t.Run(fmt.Sprintf("answer lost after %d writes", n), func(t *testing.T) {
			e, since := full(t)
			bundle, _ := stageNewer(t, e, matters)
			if err := e.sb.SetFaults(sandbox.Faults{FailAfterWrites: n}); err != nil {
				t.Fatal(err)
			}
			func() {
				defer func() { recover() }()
				runSteps(&stopT{T: t}, e, bundle, runOptions{run: "r2", apply: true, delta: true, since: since})
			}()
			if e.sb.Meter().Dropped != 1 {
				t.Fatalf("no answer was dropped at write %d", n)
			}
			if err := e.sb.SetFaults(sandbox.Faults{}); err != nil {
				t.Fatal(err)
			}
			check(t, e, bundle, since)
		})
		t.Run(fmt.Sprintf("killed before commit %d", n), func(t *testing.T) {
			e, since := full(t)
			bundle, _ := stageNewer(t, e, matters)
			real := e.Ledger
			e.Ledger = &dyingLedger{Store: real, commits: n}
			crashed := false
			func() {
				defer func() { crashed = recover() != nil }()
				runSteps(&stopT{T: t}, e, bundle, runOptions{run: "r2", apply: true, delta: true, since: since})
			}()
			if !crashed {
				t.Fatalf("the delta did not stop at commit %d", n)
			}
			for _, en := range e.entries(t) {
				if _, ok := deltaBase(en.Key); ok && en.Status == ledger.StatusPending {
					pendingUpdates++
				}
			}
			e.Ledger = real
			check(t, e, bundle, since)
		})
	}
}

// dyingLedger is a ledger whose process dies at a commit: after commits
// successful commits (pending → written) the next fails, as if the process
// was killed after the write reached Pipedrive and before the ledger heard.
type dyingLedger struct {
	ledger.Store
	commits int
}

func (d *dyingLedger) Update(ctx context.Context, from ledger.Status, e ledger.Entry) error {
	if from == ledger.StatusPending && e.Status == ledger.StatusWritten {
		if d.commits == 0 {
			return errors.New("killed")
		}
		d.commits--
	}
	return d.Store.Update(ctx, from, e)
}
