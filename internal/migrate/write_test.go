package migrate

import (
	"context"
	"errors"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/memledger"
)

func TestOnce(t *testing.T) {
	ctx := context.Background()
	e := &Env{Ledger: memledger.New()}
	calls := 0
	made := map[string]int64{}
	w := func(key string, fail error) Write {
		return Write{Migration: "m1", Run: "r1", Key: key, TargetKind: "person", Op: ledger.OpCreate, Payload: map[string]string{"name": key},
			Call: func(context.Context) (int64, string, error) {
				calls++
				if fail != nil {
					made[key] = int64(100 + calls) // applied, answer lost
					return 0, "", fail
				}
				made[key] = int64(100 + calls)
				return made[key], "2026-11-26T09:00:00Z", nil
			},
			Find: func(context.Context) (int64, string, bool, error) {
				id, ok := made[key]
				return id, "", ok, nil
			}}
	}

	id, out, err := e.Once(ctx, w("client/C1", nil))
	if err != nil || out != Done || id != 101 {
		t.Fatalf("first write: %d %s %v", id, out, err)
	}
	id, out, err = e.Once(ctx, w("client/C1", nil))
	if err != nil || out != AlreadyDone || id != 101 || calls != 1 {
		t.Fatalf("second write: %d %s %v, %d calls", id, out, err, calls)
	}

	lost := errors.New("connection reset after sending")
	if _, _, err := e.Once(ctx, w("client/C2", lost)); !errors.Is(err, lost) {
		t.Fatalf("lost answer: %v", err)
	}
	if got, _ := e.Ledger.Get(ctx, "m1", "client/C2"); got.Status != ledger.StatusPending {
		t.Fatalf("after a lost answer the entry is %s; want pending", got.Status)
	}
	id, out, err = e.Once(ctx, w("client/C2", nil))
	if err != nil || out != Reconciled || id != made["client/C2"] || calls != 2 {
		t.Fatalf("retry: %d %s %v, %d calls; want reconciled with no new call", id, out, err, calls)
	}

	// A pending entry whose write never happened is sent once.
	if _, err := e.Ledger.Begin(ctx, ledger.Entry{Migration: "m1", Key: "client/C3", TargetKind: "person", Op: ledger.OpCreate, Status: ledger.StatusPending}); err != nil {
		t.Fatal(err)
	}
	id, out, err = e.Once(ctx, w("client/C3", nil))
	if err != nil || out != Done || calls != 3 {
		t.Fatalf("pending, not made: %d %s %v, %d calls", id, out, err, calls)
	}

	// A rolled-back write is made again.
	got, _ := e.Ledger.Get(ctx, "m1", "client/C1")
	got.Status = ledger.StatusRolledBack
	if err := e.Ledger.Update(ctx, ledger.StatusWritten, got); err != nil {
		t.Fatal(err)
	}
	id, out, err = e.Once(ctx, w("client/C1", nil))
	if err != nil || out != Done || calls != 4 {
		t.Fatalf("after rollback: %d %s %v, %d calls", id, out, err, calls)
	}
	if got, _ := e.Ledger.Get(ctx, "m1", "client/C1"); got.Status != ledger.StatusWritten || got.TargetID != id {
		t.Errorf("entry after remaking = %+v", got)
	}
}
