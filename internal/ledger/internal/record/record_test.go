package record

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
)

func TestCheckNames(t *testing.T) {
	tests := []struct {
		name, migration, key string
		ok                   bool
	}{
		{"ordinary", "firm-2026", "client/C000001", true},
		{"spaces and unicode", "m", "schema/deal-field/Matter number £", true},
		{"longest", "m", strings.Repeat("k", MaxNameLen), true},
		{"hash inside", "m", "note/N1#2", true},
		{"empty migration", "", "k", false},
		{"empty key", "m", "", false},
		{"reserved", "m", "#seq", false},
		{"too long", "m", strings.Repeat("k", MaxNameLen+1), false},
		{"not UTF-8", "m", "k\xff", false},
		{"NUL", "m\x00", "k", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckNames(tc.migration, tc.key)
			if (err == nil) != tc.ok {
				t.Errorf("CheckNames(%q, %q) = %v, want ok %v", tc.migration, tc.key, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestForUpdateKeeps(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.FixedZone("BST", 3600))
	cur := ledger.Entry{Migration: "m", Key: "k", Seq: 3, Status: ledger.StatusPending, CreatedAt: created}
	e := cur
	e.Seq, e.CreatedAt, e.Status = 99, now, ledger.StatusWritten
	e.Previous = json.RawMessage(`{"a":1}`)
	got, err := ForUpdate(cur, e, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 3 || !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(now) || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("ForUpdate = %+v", got)
	}
	e.Previous[2] = 'X'
	if string(got.Previous) != `{"a":1}` {
		t.Errorf("Previous shares memory with the caller's: %s", got.Previous)
	}
}
