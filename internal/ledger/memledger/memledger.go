// Package memledger is a ledger.Store held in memory, for tests of the
// packages that write through the ledger. It keeps copies of what it is
// given and hands out copies, so callers cannot change stored entries behind
// its back. Nothing survives the process.
package memledger

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/internal/record"
)

// Store is an in-memory ledger.Store. The zero value is not usable; call New.
type Store struct {
	now func() time.Time

	mu         sync.Mutex
	migrations map[string]*migration
}

type migration struct {
	seq     int64
	entries map[string]ledger.Entry
	// bySeq[i] is the key of the entry with Seq i+1.
	bySeq []string
	meta  map[string][]byte
}

// listBatch is how many entries a listing copies per hold of the lock.
const listBatch = 256

var _ ledger.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{now: time.Now, migrations: make(map[string]*migration)}
}

// migration returns the named migration, creating it if create is set; it
// returns nil if it is missing and create is not set. s.mu must be held.
func (s *Store) migration(name string, create bool) *migration {
	m := s.migrations[name]
	if m == nil && create {
		m = &migration{entries: make(map[string]ledger.Entry), meta: make(map[string][]byte)}
		s.migrations[name] = m
	}
	return m
}

// Begin records e as pending with the next Seq of its migration. If the key
// is taken it returns the stored entry and an error wrapping
// ledger.ErrExists. It returns an error for an invalid migration or key,
// Previous that is not JSON, or a done ctx.
func (s *Store) Begin(ctx context.Context, e ledger.Entry) (ledger.Entry, error) {
	if err := ctx.Err(); err != nil {
		return ledger.Entry{}, fmt.Errorf("memledger: begin %s/%s: %w", e.Migration, e.Key, err)
	}
	e, err := record.ForBegin(e, s.now())
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("memledger: begin: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.migration(e.Migration, true)
	if cur, ok := m.entries[e.Key]; ok {
		return record.CloneEntry(cur), fmt.Errorf("memledger: begin %s/%s: %w", e.Migration, e.Key, ledger.ErrExists)
	}
	m.seq++
	e.Seq = m.seq
	m.entries[e.Key] = e
	m.bySeq = append(m.bySeq, e.Key)
	return record.CloneEntry(e), nil
}

// Get returns the entry, or an error wrapping ledger.ErrNotFound.
func (s *Store) Get(ctx context.Context, migration, key string) (ledger.Entry, error) {
	if err := ctx.Err(); err != nil {
		return ledger.Entry{}, fmt.Errorf("memledger: get %s/%s: %w", migration, key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.migration(migration, false); m != nil {
		if e, ok := m.entries[key]; ok {
			return record.CloneEntry(e), nil
		}
	}
	return ledger.Entry{}, fmt.Errorf("memledger: get %s/%s: %w", migration, key, ledger.ErrNotFound)
}

// Update replaces the entry if its status is from, keeping its Seq and
// CreatedAt and setting UpdatedAt. It returns an error wrapping
// ledger.ErrNotFound if there is no entry, ledger.ErrConflict if its status
// is not from.
func (s *Store) Update(ctx context.Context, from ledger.Status, e ledger.Entry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memledger: update %s/%s: %w", e.Migration, e.Key, err)
	}
	if _, err := record.CheckUpdate(e); err != nil {
		return fmt.Errorf("memledger: update: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.migration(e.Migration, false)
	if m == nil {
		return fmt.Errorf("memledger: update %s/%s: %w", e.Migration, e.Key, ledger.ErrNotFound)
	}
	cur, ok := m.entries[e.Key]
	if !ok {
		return fmt.Errorf("memledger: update %s/%s: %w", e.Migration, e.Key, ledger.ErrNotFound)
	}
	if cur.Status != from {
		return fmt.Errorf("memledger: update %s/%s from %s (is %s): %w", e.Migration, e.Key, from, cur.Status, ledger.ErrConflict)
	}
	next, err := record.ForUpdate(cur, e, s.now())
	if err != nil {
		return fmt.Errorf("memledger: update: %w", err)
	}
	m.entries[e.Key] = next
	return nil
}

// List calls fn for every entry of the migration, newest Seq first. It
// copies the entries a batch at a time and calls fn without the lock held,
// so fn may write to the Store; an entry begun during the listing is not
// listed. It returns fn's first error, or ctx's error once ctx is done.
func (s *Store) List(ctx context.Context, migration string, fn func(ledger.Entry) error) error {
	return s.ListBefore(ctx, migration, 0, fn)
}

// ListBefore is List of the entries whose Seq is below before (all of them
// when before <= 0). It reads only those: the cost is in what it lists.
func (s *Store) ListBefore(ctx context.Context, migration string, before int64, fn func(ledger.Entry) error) error {
	next := int64(-1) // the Seq to list next; -1 before the first batch
	if before > 0 {
		next = before - 1
	}
	batch := make([]ledger.Entry, 0, listBatch)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("memledger: list %s: %w", migration, err)
		}
		batch = batch[:0]
		s.mu.Lock()
		if m := s.migration(migration, false); m != nil {
			if next < 0 || next > int64(len(m.bySeq)) {
				next = int64(len(m.bySeq))
			}
			for ; next >= 1 && len(batch) < listBatch; next-- {
				batch = append(batch, record.CloneEntry(m.entries[m.bySeq[next-1]]))
			}
		}
		s.mu.Unlock()
		for _, e := range batch {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("memledger: list %s: %w", migration, err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < listBatch {
			return nil
		}
	}
}

// PutMeta stores a copy of value under name, replacing any earlier value.
func (s *Store) PutMeta(ctx context.Context, migration, name string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memledger: put meta %s/%s: %w", migration, name, err)
	}
	if err := record.CheckMeta(migration, name); err != nil {
		return fmt.Errorf("memledger: put meta: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.migration(migration, true).meta[name] = append([]byte{}, value...)
	return nil
}

// GetMeta returns a copy of the value stored under name, or an error
// wrapping ledger.ErrNotFound.
func (s *Store) GetMeta(ctx context.Context, migration, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memledger: get meta %s/%s: %w", migration, name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.migration(migration, false); m != nil {
		if v, ok := m.meta[name]; ok {
			return append([]byte{}, v...), nil
		}
	}
	return nil, fmt.Errorf("memledger: get meta %s/%s: %w", migration, name, ledger.ErrNotFound)
}

// Close does nothing; the entries stay readable.
func (s *Store) Close() error { return nil }
