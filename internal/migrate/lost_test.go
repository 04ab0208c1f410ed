package migrate

import (
	"context"
	"fmt"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

// The chaos test (internal/steps, TestChaos) found that a load step stops
// at its first lost answer (a dropped connection or a timeout after a
// POST went out): with a few per cent of answers lost, a chunk of a few
// hundred writes outlived the state machine's five retries and failed the
// run. With Env.LostAnswerRetries the step looks for the record at once
// and, not finding it, sends the write again; these tests keep that.

// TestLostAnswersDoNotStopTheStep: every step of a migration, once each,
// with one request in ten dropped (unapplied): no step fails, every record
// is there once, verify is clean. Without LostAnswerRetries the first
// dropped write stops its step.
func TestLostAnswersDoNotStopTheStep(t *testing.T) {
	const matters = 12
	probe := newTestEnv(t, envOptions{matters: matters})
	migrateAll(t, probe, openSampleBundle(t, matters), true)

	stopped := newTestEnv(t, envOptions{matters: matters, seed: 3})
	if err := stopped.sb.SetFaults(sandbox.Faults{DropRate: 0.1}); err != nil {
		t.Fatal(err)
	}
	crashed := ""
	func() {
		defer func() {
			if p := recover(); p != nil {
				crashed = fmt.Sprint(p)
			}
		}()
		migrateAllOrStop(t, stopped, openSampleBundle(t, matters))
	}()
	if crashed == "" {
		t.Fatalf("without LostAnswerRetries, a migration with one request in ten dropped ran through: the test drops too little")
	}

	e := newTestEnv(t, envOptions{matters: matters, seed: 3})
	e.LostAnswerRetries = 3
	if err := e.sb.SetFaults(sandbox.Faults{DropRate: 0.1}); err != nil {
		t.Fatal(err)
	}
	migrateAll(t, e, openSampleBundle(t, matters), true) // fails the test at a step's error
	if err := e.sb.SetFaults(sandbox.Faults{}); err != nil {
		t.Fatal(err)
	}
	if e.sb.Meter().Dropped == 0 {
		t.Fatal("no connection was dropped")
	}
	if _, err := e.Verify(context.Background(), VerifyInput{MigrationID: testMigration, Manifest: e.manifest}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	lostSameAsClean(t, probe, e)
	t.Logf("%d dropped connections (the first stopped the migration without LostAnswerRetries: %s)", e.sb.Meter().Dropped, crashed)
}

// TestLostAnswerAfterTheWrite loses the answer of the first write of each
// load kind after Pipedrive applied it: the step finds the record (its
// listing, kept from before the write, is read again) instead of sending
// the write twice, and carries on.
func TestLostAnswerAfterTheWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("sweep")
	}
	const matters = 4
	probe := newTestEnv(t, envOptions{matters: matters})
	migrateAll(t, probe, openSampleBundle(t, matters), true)
	// How many writes come before the first of each load kind, counted in
	// the probe's ledger (one write an entry, oldest first).
	first := map[string]int{}
	entries := probe.entries(t)
	for i := range entries {
		en := entries[len(entries)-1-i]
		if _, ok := first[en.TargetKind]; !ok && en.SourceKind != "" {
			first[en.TargetKind] = i
		}
	}
	for kind, before := range first {
		t.Run(fmt.Sprintf("%s, after %d writes", kind, before), func(t *testing.T) {
			e := newTestEnv(t, envOptions{matters: matters})
			e.LostAnswerRetries = 3
			// before writes succeed; the next is applied, its answer lost.
			if err := e.sb.SetFaults(sandbox.Faults{FailAfterWrites: before}); err != nil {
				t.Fatal(err)
			}
			migrateAll(t, e, openSampleBundle(t, matters), true) // fails the test at a step's error
			if e.sb.Meter().Dropped != 1 {
				t.Fatalf("%d answers lost; want 1", e.sb.Meter().Dropped)
			}
			lostSameAsClean(t, probe, e)
		})
	}
}

// lostSameAsClean: e's ledger is all written and its company holds as many
// live records of each kind as the clean probe's, each made by one entry.
func lostSameAsClean(t *testing.T, probe, e *testEnv) {
	t.Helper()
	made := map[string]map[int64]string{}
	for _, en := range e.entries(t) {
		if en.Status != ledger.StatusWritten {
			t.Errorf("ledger entry %s is %s", en.Key, en.Status)
		}
		if en.Op != ledger.OpCreate || en.SourceKind == "" {
			continue
		}
		if made[en.TargetKind] == nil {
			made[en.TargetKind] = map[int64]string{}
		}
		if other, ok := made[en.TargetKind][en.TargetID]; ok {
			t.Errorf("%s %d made by %s and %s", en.TargetKind, en.TargetID, other, en.Key)
		}
		made[en.TargetKind][en.TargetID] = en.Key
	}
	snap, want := e.sb.Snapshot(), probe.sb.Snapshot()
	for kind, pd := range map[string]string{"person": "persons", "organization": "organizations", "deal": "deals",
		"activity": "activities", "note": "notes", "file": "files", "participant": "participants"} {
		if got, w := live(snap.Items[pd]), live(want.Items[pd]); got != w || got < len(made[kind]) {
			t.Errorf("%s: %d live (%d made by the ledger); %d without lost answers", pd, got, len(made[kind]), w)
		}
	}
}
