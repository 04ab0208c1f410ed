package boltledger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/ledgertest"
)

// MustOpen opens a new ledger file in a temporary directory and closes it
// when the test ends.
func MustOpen(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), "ledger.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name      string
		listBatch int
	}{
		{"default batches", listBatch},
		// Small batches make List resume from a Seq many times.
		{"small batches", 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ledgertest.RunConformanceTests(t, func(t *testing.T) ledger.Store {
				s := MustOpen(t)
				s.listBatch = tc.listBatch
				return s
			})
		})
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []ledger.Entry
	for i := range 5 {
		e, err := s.Begin(ctx, ledger.Entry{Migration: "m1", Key: fmt.Sprintf("client/C%d", i), Op: ledger.OpCreate, TargetKind: "person"})
		if err != nil {
			t.Fatal(err)
		}
		e.Status, e.TargetID = ledger.StatusWritten, int64(100+i)
		if err := s.Update(ctx, ledger.StatusPending, e); err != nil {
			t.Fatal(err)
		}
		if e, err = s.Get(ctx, "m1", e.Key); err != nil {
			t.Fatal(err)
		}
		want = append([]ledger.Entry{e}, want...)
	}
	if err := s.PutMeta(ctx, "m1", "watermark", []byte("2026-01-31")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	var got []ledger.Entry
	if err := s.List(ctx, "m1", func(e ledger.Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("after reopen List = %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Key != want[i].Key || got[i].Seq != want[i].Seq || got[i].Status != ledger.StatusWritten ||
			got[i].TargetID != want[i].TargetID || !got[i].UpdatedAt.Equal(want[i].UpdatedAt) {
			t.Errorf("after reopen [%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if v, err := s.GetMeta(ctx, "m1", "watermark"); err != nil || string(v) != "2026-01-31" {
		t.Errorf("after reopen GetMeta = %q, %v", v, err)
	}
	// The sequence continues where it stopped.
	e, err := s.Begin(ctx, ledger.Entry{Migration: "m1", Key: "client/C5"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 6 {
		t.Errorf("Seq after reopen = %d, want 6", e.Seq)
	}
}

func TestFileMode(t *testing.T) {
	s := MustOpen(t)
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != FileMode {
		t.Errorf("file mode = %v, want %v", got, os.FileMode(FileMode))
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	s := MustOpen(t)
	const timeout = 200 * time.Millisecond
	start := time.Now()
	_, err := open(s.Path(), timeout)
	took := time.Since(start)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: err = %v, want ErrInUse", err)
	}
	if !strings.Contains(err.Error(), "ledger is in use by another conveyor process") {
		t.Errorf("error %q does not say the ledger is in use", err)
	}
	if took > timeout+time.Second {
		t.Errorf("second Open took %v, want about %v", took, timeout)
	}
	// The first Store is unaffected, and the file opens once it is closed.
	if _, err := s.Begin(context.Background(), ledger.Entry{Migration: "m", Key: "k"}); err != nil {
		t.Errorf("Begin on the first Store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := open(s.Path(), timeout)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
	// MustOpen's clean-up closes s again; bbolt allows that.
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notLedger := filepath.Join(dir, "not-a-ledger")
	if err := os.WriteFile(notLedger, []byte(strings.Repeat("not a bolt file\n", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path string }{
		{"missing directory", filepath.Join(dir, "no", "such", "ledger.db")},
		{"not a bolt file", notLedger},
		{"a directory", dir},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.path)
			if err == nil {
				s.Close()
				t.Fatal("Open: err = nil, want an error")
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name the path", err)
			}
		})
	}
}

func BenchmarkBeginCommit(b *testing.B) {
	ledgertest.RunBeginCommitBenchmark(b, MustOpen(b))
}
