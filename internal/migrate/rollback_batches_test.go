package migrate

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// countingLedger counts the entries its listings hand out.
type countingLedger struct {
	ledger.Store
	read int
}

func (c *countingLedger) List(ctx context.Context, migration string, fn func(ledger.Entry) error) error {
	return c.ListBefore(ctx, migration, 0, fn)
}

func (c *countingLedger) ListBefore(ctx context.Context, migration string, before int64, fn func(ledger.Entry) error) error {
	return c.Store.ListBefore(ctx, migration, before, func(e ledger.Entry) error {
		c.read++
		return fn(e)
	})
}

// batches runs a rollback in batches of limit until it is done, checking
// that each call carries on below the last, and returns every output.
func (re *rollbackEnv) batches(in RollbackInput, limit int) []RollbackOutput {
	re.t.Helper()
	in.Limit = limit
	var outs []RollbackOutput
	for {
		out := re.rollback(in)
		outs = append(outs, out)
		if !out.More {
			if out.Before != 0 {
				re.t.Errorf("the last batch has before %d", out.Before)
			}
			return outs
		}
		if out.Before <= 0 || (in.Before > 0 && out.Before >= in.Before) {
			re.t.Fatalf("batch %d: before %d after %d; want lower", len(outs), out.Before, in.Before)
		}
		if len(outs) > 100 {
			re.t.Fatal("the rollback does not end")
		}
		in.Before = out.Before
	}
}

// TestRollbackBatches: a rollback in batches reads each ledger entry once
// (not the newest ones again in every batch), and its last call's output
// and report are the whole rollback's: the same as one call's, with the
// record edited since the migration flagged once, though the last batch
// never met it, and the run's watermark kept because of it.
func TestRollbackBatches(t *testing.T) {
	re := newRollbackEnv(t)
	fx := re.migrate()
	ctx := context.Background()
	re.vc.Advance(time.Hour)
	if _, err := re.Pipedrive.UpdatePerson(ctx, fx.person, pipedrive.PersonInput{JobTitle: "Buyer"}); err != nil {
		t.Fatal(err)
	}
	re.vc.Advance(time.Minute)
	if err := re.putRunMarks(ctx, testMigration, []RunMark{{Run: "r1", Mode: "full", Watermark: "2026-11-23T10:00:00Z"}}); err != nil {
		t.Fatal(err)
	}
	counter := &countingLedger{Store: re.led}
	re.Ledger = counter

	// The dry run in one call, then in batches of 2: the same report.
	whole := re.rollback(RollbackInput{})
	wholeRep := re.report(whole.Report)
	if whole.Flagged != 1 || whole.Deleted != fx.entries-2 {
		t.Fatalf("dry run = %+v", whole)
	}
	counter.read = 0
	dry := re.batches(RollbackInput{}, 2)
	if got := dry[len(dry)-1]; got != whole {
		t.Errorf("last dry-run batch = %+v\nwant the one call's %+v", got, whole)
	}
	if rep := re.report(whole.Report); !reflect.DeepEqual(rep, wholeRep) {
		t.Errorf("dry-run report in batches = %+v\nwant %+v", rep, wholeRep)
	}
	if max := fx.entries + len(dry); counter.read > max {
		t.Errorf("the dry run in %d batches read %d ledger entries; want at most %d (each once, and one more per batch)", len(dry), counter.read, max)
	}

	counter.read = 0
	outs := re.batches(RollbackInput{Apply: true}, 2)
	last := outs[len(outs)-1]
	want := RollbackOutput{MigrationID: testMigration, Applied: true, Report: "migrations/m1/rollback-all.json",
		Deleted: fx.entries - 2, Restored: 1, Flagged: 1}
	if last != want {
		t.Errorf("last batch = %+v\nwant %+v", last, want)
	}
	if want := (fx.entries + 1) / 2; len(outs) != want {
		t.Errorf("%d batches, want %d", len(outs), want)
	}
	if max := fx.entries + len(outs); counter.read > max {
		t.Errorf("the rollback in %d batches read %d ledger entries; want at most %d", len(outs), counter.read, max)
	}
	for i := 1; i < len(outs); i++ {
		if o, p := outs[i], outs[i-1]; o.Deleted+o.Restored < p.Deleted+p.Restored || o.Flagged < p.Flagged {
			t.Errorf("batch %d's totals %+v are below batch %d's %+v; want running totals", i+1, o, i, p)
		}
	}
	if outs[len(outs)-2].Flagged != 1 {
		t.Errorf("the flagged entry was met before the last batch? batches %+v", outs)
	}
	rep := re.report(last.Report)
	if rep.Totals != last || len(rep.Flagged) != 1 || rep.Flagged[0].Key != ClientKey("C1") || len(rep.Unknown) != 0 {
		t.Errorf("report = %+v", rep)
	}
	n := 0
	for _, c := range rep.Counts {
		n += c.N
	}
	if n != fx.entries {
		t.Errorf("report counts add up to %d, want %d: %+v", n, fx.entries, rep.Counts)
	}
	marks, err := re.runMarks(ctx, testMigration)
	if err != nil || len(marks) != 1 {
		t.Errorf("watermarks after a rollback that left a record = %+v, %v; want r1's kept", marks, err)
	}
	for _, e := range re.entries() {
		if wantStatus := ledger.StatusRolledBack; e.Key == ClientKey("C1") {
			if e.Status != ledger.StatusWritten {
				t.Errorf("%s is %s, want written (flagged)", e.Key, e.Status)
			}
		} else if e.Status != wantStatus {
			t.Errorf("%s is %s, want %s", e.Key, e.Status, wantStatus)
		}
	}

	if parts, _ := re.store.List(ctx, "migrations/m1/rollback-parts/all/"); len(parts) != len(outs)-1 {
		t.Errorf("%d parts kept for a rollback of %d batches; want one per batch but the last", len(parts), len(outs))
	}

	// The edited record, forced, in batches again: a new rollback, whose
	// report starts afresh.
	forced := re.batches(RollbackInput{Apply: true, Force: true}, 2)
	if got := forced[len(forced)-1]; got.Deleted != 1 || got.Forced != 1 || got.Flagged != 0 || got.AlreadyRolledBack != fx.entries-1 {
		t.Errorf("forced = %+v", got)
	}
	if rep := re.report(last.Report); len(rep.Flagged) != 1 || rep.Flagged[0].LeftAlone {
		t.Errorf("forced report flagged = %+v", rep.Flagged)
	}
	if marks, _ := re.runMarks(ctx, testMigration); len(marks) != 0 {
		t.Errorf("watermarks after a clean rollback = %+v, want none", marks)
	}
	if d := rollbackDiffs(fx.before, re.sb.Snapshot(), fmt.Sprintf("persons/%d", fx.existing)); len(d) != 0 {
		t.Errorf("after the rollback: %+v", d)
	}
	if parts, _ := re.store.List(ctx, "migrations/m1/rollback-parts/all/"); len(forced) != 1 || len(parts) != 0 {
		t.Errorf("%d parts kept after the forced rollback of %d batches; want the earlier rollback's cleared", len(parts), len(forced))
	}
}

// TestRollbackBatchRetried: a batch called again with the same input (a
// Lambda retried after it ran) counts from the same point, not twice.
func TestRollbackBatchRetried(t *testing.T) {
	re := newRollbackEnv(t)
	fx := re.migrate()
	re.vc.Advance(time.Hour)
	first := re.rollback(RollbackInput{Apply: true, Limit: 3})
	second := re.rollback(RollbackInput{Apply: true, Limit: 3, Before: first.Before})
	again := re.rollback(RollbackInput{Apply: true, Limit: 3, Before: first.Before})
	if second.Deleted+second.Restored != 6 || again.Deleted+again.Restored != 6 || again.AlreadyRolledBack != 3 {
		t.Errorf("second = %+v, retried = %+v; want the retry to count on top of the first's 3: the second's 3 as already rolled back, and 3 more undone", second, again)
	}
	if again.More != true || again.Before >= second.Before {
		t.Errorf("retried = %+v; want it to go past where the second stopped (%d)", again, second.Before)
	}
	outs := re.batches(RollbackInput{Apply: true, Before: again.Before}, 3)
	last := outs[len(outs)-1]
	if total := last.Deleted + last.Restored + last.AlreadyRolledBack; total != fx.entries || last.Flagged != 0 {
		t.Errorf("last = %+v; want %d entries accounted for", last, fx.entries)
	}
}

// TestRollbackBudgetInBatches: the daily budget running out part-way
// through a batch stops it with what it did counted and where to carry
// on; after the reset the rollback carries on from there and ends clean.
func TestRollbackBudgetInBatches(t *testing.T) {
	re := newRollbackEnv(t)
	fx := re.migrate()
	re.vc.Advance(24 * time.Hour) // a new day: the budget is whole again
	re.sb.SetDailyBudget(40)
	in := RollbackInput{MigrationID: testMigration, Apply: true, Limit: 500}
	var outs []RollbackOutput
	for {
		out, err := re.Rollback(context.Background(), in)
		var budget *pipedrive.BudgetExhaustedError
		if errors.As(err, &budget) {
			if !out.More || out.Before <= 0 || (in.Before > 0 && out.Before >= in.Before) {
				t.Fatalf("stopped by the budget with %+v (input before %d); want more, below", out, in.Before)
			}
			outs = append(outs, out)
			re.vc.Set(budget.ResumeAt.Add(time.Second))
			in.Before = out.Before
			continue
		}
		if err != nil {
			t.Fatalf("Rollback: %v", err)
		}
		outs = append(outs, out)
		if !out.More {
			break
		}
		in.Before = out.Before
	}
	if len(outs) < 2 {
		t.Fatalf("the budget of 40 tokens a day did not stop the rollback: %+v", outs)
	}
	if outs[0].Deleted == 0 {
		t.Errorf("the first day undid nothing: %+v", outs[0])
	}
	last := outs[len(outs)-1]
	if last.Deleted != fx.entries-1 || last.Restored != 1 || last.AlreadyRolledBack != 0 || last.Flagged != 0 || last.Unknown != 0 {
		t.Errorf("after %d days: %+v; want every entry undone once", len(outs), last)
	}
	if d := rollbackDiffs(fx.before, re.sb.Snapshot(), fmt.Sprintf("persons/%d", fx.existing)); len(d) != 0 {
		t.Errorf("after the rollback: %+v", d)
	}
	if !strings.Contains(re.logs.String(), `"before"`) {
		t.Errorf("the log does not say where each call stopped")
	}
}

// TestRollbackBeforeUnknown: a Before no call of a rollback in batches
// stopped at is refused, naming what to do.
func TestRollbackBeforeUnknown(t *testing.T) {
	re := newRollbackEnv(t)
	re.migrate()
	for _, before := range []int64{5, -1} {
		_, err := re.Rollback(context.Background(), RollbackInput{MigrationID: testMigration, Apply: true, Limit: 2, Before: before})
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "without before") && !strings.Contains(err.Error(), "leave it out") {
			t.Errorf("before %d: err = %v; want an InputError saying to start again", before, err)
		}
	}
	for _, e := range re.entries() {
		if e.Status != ledger.StatusWritten {
			t.Errorf("%s is %s after a refused call", e.Key, e.Status)
		}
	}
}
