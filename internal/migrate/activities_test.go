package migrate

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
	"github.com/conveyor-migrate/conveyor/internal/transform"
)

func TestLoadActivities(t *testing.T) {
	d := newDealsEnv(t)
	matters := d.stagedMatters(t)
	n := 0
	for _, rec := range matters {
		n += len(rec.Activities)
	}

	// Before the deals: planned with their payloads, nothing written.
	before := writes(d.sb.Meter())
	plan := d.mustLoad(t, dealsStepActivities, false, "plan")
	if !reflect.DeepEqual(writes(d.sb.Meter()), before) {
		t.Errorf("plan mode wrote: %v", writes(d.sb.Meter()))
	}
	if plan.Planned != n || plan.Created != 0 || plan.Failed != 0 {
		t.Errorf("plan %+v for %d activities", plan, n)
	}
	for _, op := range d.plan(t, LoadActivities) {
		if op.Op != PlanCreate || op.Payload == nil || len(op.Changes) == 0 || op.Reason != dealsReasonDealLater {
			t.Errorf("planned %+v", op)
			break
		}
	}
	// Applied before the deals: every activity skipped, none failed.
	early := d.mustLoad(t, dealsStepActivities, true, "r0")
	if early.Skipped != n || early.Failed != 0 || early.Created != 0 {
		t.Errorf("before the deals: %+v; want %d skipped", early, n)
	}
	for _, op := range d.plan(t, LoadActivities) {
		if op.Op != PlanSkip || op.Reason != dealsReasonDealMissing {
			t.Errorf("before the deals: %+v", op)
			break
		}
	}

	d.mustLoad(t, dealsStepDeals, true, "r1")
	out := d.mustLoad(t, dealsStepActivities, true, "r1")
	if out.Created != n || out.Failed != 0 {
		t.Errorf("apply: %+v; want %d created", out, n)
	}
	d.checkActivities(t, d.checkDeals(t))
	d.checkLedgerWritten(t)

	before = writes(d.sb.Meter())
	again := d.mustLoad(t, dealsStepActivities, true, "r2")
	if !reflect.DeepEqual(writes(d.sb.Meter()), before) || again.Created != 0 || again.Skipped != n {
		t.Errorf("second run: %+v, writes %v", again, writes(d.sb.Meter()))
	}
	d.checkNoPersonalData(t)
}

// TestLoadActivitiesCrash drops the answer to the Nth write of the
// activities step; the next run reconciles it.
func TestLoadActivitiesCrash(t *testing.T) {
	// -1 stands for the write of the first note.
	for _, n := range []int{1, 4, 17, 40, -1} {
		name := fmt.Sprint("after ", n)
		if n < 0 {
			name = "on the first note"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := newDealsEnv(t)
			if n < 0 {
				n = d.firstNote(t)
			}
			d.mustLoad(t, dealsStepDeals, true, "r1")
			if err := d.sb.SetFaults(sandbox.Faults{FailAfterWrites: n}); err != nil {
				t.Fatal(err)
			}
			_, err := d.load(ctx, dealsStepActivities, true, "r2")
			if _, ok := err.(*pipedrive.OutcomeUnknownError); !ok {
				t.Fatalf("err = %T %v; want *pipedrive.OutcomeUnknownError, unwrapped", err, err)
			}
			var kind string
			for _, en := range d.entries(t) {
				if en.Status == ledger.StatusPending {
					kind = en.TargetKind
				}
			}
			if kind == "" {
				t.Fatal("no pending entry after the crash")
			}
			if n == d.firstNote(t) && kind != "note" {
				t.Errorf("crashed on a %s; want the first note", kind)
			}
			if _, err := d.load(ctx, dealsStepActivities, true, "r3"); err != nil {
				t.Fatalf("resume: %v", err)
			}
			d.checkActivities(t, d.checkDeals(t))
			d.checkLedgerWritten(t)
		})
	}
}

// TestLoadStepsNamedErrors: a budget that runs out stops the step with
// Pipedrive's own error, unwrapped.
func TestLoadStepsNamedErrors(t *testing.T) {
	ctx := context.Background()
	d := newDealsEnv(t)
	if err := d.sb.SetFaults(sandbox.Faults{Rate429: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := d.load(ctx, dealsStepDeals, true, "r1")
	if err == nil {
		t.Fatal("no error with every request refused")
	}
	var api *pipedrive.APIError
	var blocked *pipedrive.BlockedError
	if !errors.As(err, &api) && !errors.As(err, &blocked) {
		t.Fatalf("err = %T %v", err, err)
	}
	switch err.(type) {
	case *pipedrive.APIError, *pipedrive.BlockedError:
	default:
		t.Errorf("err is %T, wrapped", err)
	}
}

// firstNote is how many writes the activities step makes before its first
// note, all deals written.
func (d *dealsEnv) firstNote(t *testing.T) int {
	t.Helper()
	i := 0
	for _, rec := range d.stagedMatters(t) {
		for _, a := range rec.Activities {
			if transform.IsNote(a) {
				return i
			}
			i++
		}
	}
	t.Fatal("the sample has no note")
	return 0
}

// TestLoadActivitiesRejected: activities Pipedrive refuses (their deal was
// deleted behind the migration's back) are counted Failed, flagged and
// abandoned in the ledger, and the step goes on with the rest.
func TestLoadActivitiesRejected(t *testing.T) {
	ctx := context.Background()
	d := newDealsEnv(t)
	d.mustLoad(t, dealsStepDeals, true, "r1")
	var gone extract.MatterRecord
	total := 0
	for _, rec := range d.stagedMatters(t) {
		total += len(rec.Activities)
		if len(gone.Activities) == 0 && len(rec.Activities) > 1 {
			gone = rec
		}
	}
	dealID, err := Written(ctx, d.ledger, testMigration, MatterKey(gone.Matter.ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Pipedrive.DeleteDeal(ctx, int(dealID)); err != nil {
		t.Fatal(err)
	}
	out := d.mustLoad(t, dealsStepActivities, true, "r2")
	if out.Failed != len(gone.Activities) || out.Created != total-len(gone.Activities) {
		t.Errorf("%+v; want %d failed and %d created", out, len(gone.Activities), total-len(gone.Activities))
	}
	flagged := 0
	for _, op := range d.plan(t, LoadActivities) {
		if strings.HasPrefix(op.Flag, "failed: ") {
			flagged++
		}
	}
	if flagged != len(gone.Activities) || out.Flags != flagged {
		t.Errorf("%d flagged in the plan (output says %d); want %d", flagged, out.Flags, len(gone.Activities))
	}
	for _, a := range gone.Activities {
		if en, _ := d.ledger.Get(ctx, testMigration, ActivityKey(a.ID)); en.Status != ledger.StatusAbandoned {
			t.Errorf("activity %s: ledger %s; want abandoned", a.ID, en.Status)
		}
	}
}
