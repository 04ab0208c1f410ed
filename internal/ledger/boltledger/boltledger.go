// Package boltledger is the ledger.Store that Conveyor uses on one machine:
// an embedded bbolt file, opened by one process at a time.
//
// The file holds a bucket "migrations" with one bucket per migration, and in
// each of those three buckets:
//
//	entries  entry key → the entry as JSON (Previous as a JSON string, so it
//	         comes back byte for byte)
//	by_seq   Seq as 8 bytes big-endian → entry key, for newest-first listing
//	meta     meta name → value
//
// Seq comes from the migration bucket's sequence (bbolt's NextSequence), so
// it is gap-free. Begin and Update each run in one read-write transaction,
// which makes their check-and-set atomic; bbolt allows one writer at a time.
// A bucket "ledger" holds the file format version.
package boltledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/internal/record"
)

// ErrInUse is returned by Open when another process (or another Store in
// this one) holds the file.
var ErrInUse = errors.New("ledger is in use by another conveyor process")

// FileMode is the permission a new ledger file gets: it names every record
// Conveyor wrote, so only its owner may read it.
const FileMode = 0o600

// lockTimeout is how long Open waits for the file lock before ErrInUse.
const lockTimeout = 2 * time.Second

// formatVersion is the layout described in the package comment.
const formatVersion = 1

// listBatch is how many entries List reads per read transaction. List calls
// fn outside any transaction, because fn may write (rollback lists and
// updates) and bbolt can deadlock when one goroutine holds a read
// transaction while it waits for a write one.
const listBatch = 256

var (
	bucketLedger     = []byte("ledger")
	bucketMigrations = []byte("migrations")
	bucketEntries    = []byte("entries")
	bucketBySeq      = []byte("by_seq")
	bucketMeta       = []byte("meta")
	keyVersion       = []byte("version")
)

// Store is a ledger.Store in a bbolt file. Call Open to make one.
type Store struct {
	db   *bolt.DB
	path string
	now  func() time.Time
	// listBatch is listBatch unless a test makes pages small.
	listBatch int
}

var _ ledger.Store = (*Store)(nil)

// Open opens the ledger file at path, creating it (mode 0600) if it does not
// exist. It returns an error wrapping ErrInUse if another process holds the
// file for longer than a couple of seconds, and an error if the file is not
// a ledger of a format this version reads.
func Open(path string) (*Store, error) {
	return open(path, lockTimeout)
}

func open(path string, timeout time.Duration) (*Store, error) {
	db, err := bolt.Open(path, FileMode, &bolt.Options{Timeout: timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open ledger %s: %w", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketLedger)
		if err != nil {
			return err
		}
		if v := b.Get(keyVersion); v != nil {
			if string(v) != strconv.Itoa(formatVersion) {
				return fmt.Errorf("ledger format %s, this conveyor reads %d", v, formatVersion)
			}
		} else if err := b.Put(keyVersion, []byte(strconv.Itoa(formatVersion))); err != nil {
			return err
		}
		_, err = tx.CreateBucketIfNotExists(bucketMigrations)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	return &Store{db: db, path: path, now: time.Now, listBatch: listBatch}, nil
}

// Path returns the file the Store was opened on.
func (s *Store) Path() string { return s.path }

// buckets are one migration's buckets within a transaction.
type buckets struct {
	mig, entries, bySeq, meta *bolt.Bucket
}

// migration returns the migration's buckets, creating them if tx is
// writable, or ok false if the migration has none and tx is read-only.
func migration(tx *bolt.Tx, name string) (b buckets, ok bool, err error) {
	root := tx.Bucket(bucketMigrations)
	if root == nil {
		return b, false, errors.New("ledger file has no migrations bucket")
	}
	if !tx.Writable() {
		b.mig = root.Bucket([]byte(name))
		if b.mig == nil {
			return b, false, nil
		}
		b.entries, b.bySeq, b.meta = b.mig.Bucket(bucketEntries), b.mig.Bucket(bucketBySeq), b.mig.Bucket(bucketMeta)
		if b.entries == nil || b.bySeq == nil || b.meta == nil {
			return b, false, fmt.Errorf("migration %s is missing a bucket", name)
		}
		return b, true, nil
	}
	if b.mig, err = root.CreateBucketIfNotExists([]byte(name)); err != nil {
		return b, false, err
	}
	if b.entries, err = b.mig.CreateBucketIfNotExists(bucketEntries); err != nil {
		return b, false, err
	}
	if b.bySeq, err = b.mig.CreateBucketIfNotExists(bucketBySeq); err != nil {
		return b, false, err
	}
	if b.meta, err = b.mig.CreateBucketIfNotExists(bucketMeta); err != nil {
		return b, false, err
	}
	return b, true, nil
}

// stored is an entry as the file holds it. Previous shadows the embedded
// Entry.Previous so that it is kept as a string, byte for byte: as a
// json.RawMessage encoding/json would compact it and escape HTML.
type stored struct {
	ledger.Entry
	Previous string `json:"previous,omitempty"`
}

func encode(e ledger.Entry) ([]byte, error) {
	return json.Marshal(stored{Entry: e, Previous: string(e.Previous)})
}

func decode(v []byte) (ledger.Entry, error) {
	var s stored
	if err := json.Unmarshal(v, &s); err != nil {
		return ledger.Entry{}, fmt.Errorf("decode entry: %w", err)
	}
	e := s.Entry
	if s.Previous != "" {
		e.Previous = json.RawMessage(s.Previous)
	}
	return e, nil
}

func seqKey(seq int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(seq))
}

// Begin records e as pending with the next Seq of its migration. If the key
// is taken it returns the stored entry and an error wrapping
// ledger.ErrExists, and changes nothing. It returns an error for an invalid
// migration or key, Previous that is not JSON, or a done ctx.
func (s *Store) Begin(ctx context.Context, e ledger.Entry) (ledger.Entry, error) {
	if err := ctx.Err(); err != nil {
		return ledger.Entry{}, fmt.Errorf("boltledger: begin %s/%s: %w", e.Migration, e.Key, err)
	}
	e, err := record.ForBegin(e, s.now())
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("boltledger: begin: %w", err)
	}
	var existing ledger.Entry
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, _, err := migration(tx, e.Migration)
		if err != nil {
			return err
		}
		if v := b.entries.Get([]byte(e.Key)); v != nil {
			if existing, err = decode(v); err != nil {
				return err
			}
			return ledger.ErrExists
		}
		seq, err := b.mig.NextSequence()
		if err != nil {
			return err
		}
		e.Seq = int64(seq)
		v, err := encode(e)
		if err != nil {
			return err
		}
		if err := b.entries.Put([]byte(e.Key), v); err != nil {
			return err
		}
		return b.bySeq.Put(seqKey(e.Seq), []byte(e.Key))
	})
	if errors.Is(err, ledger.ErrExists) {
		return existing, fmt.Errorf("boltledger: begin %s/%s: %w", e.Migration, e.Key, err)
	}
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("boltledger: begin %s/%s: %w", e.Migration, e.Key, err)
	}
	return record.CloneEntry(e), nil
}

// Get returns the entry, or an error wrapping ledger.ErrNotFound.
func (s *Store) Get(ctx context.Context, migrationName, key string) (ledger.Entry, error) {
	if err := ctx.Err(); err != nil {
		return ledger.Entry{}, fmt.Errorf("boltledger: get %s/%s: %w", migrationName, key, err)
	}
	var e ledger.Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		b, ok, err := migration(tx, migrationName)
		if err != nil {
			return err
		}
		if !ok || key == "" {
			return ledger.ErrNotFound
		}
		v := b.entries.Get([]byte(key))
		if v == nil {
			return ledger.ErrNotFound
		}
		e, err = decode(v)
		return err
	})
	if err != nil {
		return ledger.Entry{}, fmt.Errorf("boltledger: get %s/%s: %w", migrationName, key, err)
	}
	return e, nil
}

// Update replaces the entry if its status is from, keeping its Seq and
// CreatedAt and setting UpdatedAt. It returns an error wrapping
// ledger.ErrNotFound if there is no entry, ledger.ErrConflict if its status
// is not from.
func (s *Store) Update(ctx context.Context, from ledger.Status, e ledger.Entry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltledger: update %s/%s: %w", e.Migration, e.Key, err)
	}
	if _, err := record.CheckUpdate(e); err != nil {
		return fmt.Errorf("boltledger: update: %w", err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketMigrations)
		mig := root.Bucket([]byte(e.Migration))
		if mig == nil {
			return ledger.ErrNotFound
		}
		entries := mig.Bucket(bucketEntries)
		v := entries.Get([]byte(e.Key))
		if v == nil {
			return ledger.ErrNotFound
		}
		cur, err := decode(v)
		if err != nil {
			return err
		}
		if cur.Status != from {
			return fmt.Errorf("from %s (is %s): %w", from, cur.Status, ledger.ErrConflict)
		}
		next, err := record.ForUpdate(cur, e, s.now())
		if err != nil {
			return err
		}
		if v, err = encode(next); err != nil {
			return err
		}
		return entries.Put([]byte(e.Key), v)
	})
	if err != nil {
		return fmt.Errorf("boltledger: update %s/%s: %w", e.Migration, e.Key, err)
	}
	return nil
}

// List calls fn for every entry of the migration, newest Seq first. It reads
// in batches and calls fn between transactions, so fn may write to the
// Store; an entry begun during the listing is not listed. It returns fn's
// first error, or ctx's error once ctx is done.
func (s *Store) List(ctx context.Context, migrationName string, fn func(ledger.Entry) error) error {
	return s.ListBefore(ctx, migrationName, 0, fn)
}

// ListBefore is List of the entries whose Seq is below before (all of them
// when before <= 0).
func (s *Store) ListBefore(ctx context.Context, migrationName string, before int64, fn func(ledger.Entry) error) error {
	var below []byte // the lowest Seq key listed so far; nil before the first batch
	if before > 0 {
		below = seqKey(before)
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("boltledger: list %s: %w", migrationName, err)
		}
		batch := make([]ledger.Entry, 0, s.listBatch)
		err := s.db.View(func(tx *bolt.Tx) error {
			b, ok, err := migration(tx, migrationName)
			if err != nil || !ok {
				return err
			}
			c := b.bySeq.Cursor()
			var k, v []byte
			if below == nil {
				k, v = c.Last()
			} else {
				// Seek finds the first key at or after below; step back
				// past it to the next older one.
				if k, v = c.Seek(below); k == nil {
					k, v = c.Last()
				}
				for k != nil && bytes.Compare(k, below) >= 0 {
					k, v = c.Prev()
				}
			}
			for ; k != nil && len(batch) < s.listBatch; k, v = c.Prev() {
				raw := b.entries.Get(v)
				if raw == nil {
					return fmt.Errorf("seq %d names missing entry %q", binary.BigEndian.Uint64(k), v)
				}
				e, err := decode(raw)
				if err != nil {
					return err
				}
				batch = append(batch, e)
				below = bytes.Clone(k)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("boltledger: list %s: %w", migrationName, err)
		}
		for _, e := range batch {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("boltledger: list %s: %w", migrationName, err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < s.listBatch {
			return nil
		}
	}
}

// PutMeta stores value under name, replacing any earlier value.
func (s *Store) PutMeta(ctx context.Context, migrationName, name string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltledger: put meta %s/%s: %w", migrationName, name, err)
	}
	if err := record.CheckMeta(migrationName, name); err != nil {
		return fmt.Errorf("boltledger: put meta: %w", err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, _, err := migration(tx, migrationName)
		if err != nil {
			return err
		}
		return b.meta.Put([]byte(name), bytes.Clone(value))
	})
	if err != nil {
		return fmt.Errorf("boltledger: put meta %s/%s: %w", migrationName, name, err)
	}
	return nil
}

// GetMeta returns the value stored under name, or an error wrapping
// ledger.ErrNotFound.
func (s *Store) GetMeta(ctx context.Context, migrationName, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("boltledger: get meta %s/%s: %w", migrationName, name, err)
	}
	var value []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		b, ok, err := migration(tx, migrationName)
		if err != nil {
			return err
		}
		if !ok || name == "" {
			return ledger.ErrNotFound
		}
		// A cursor, not Get: Get cannot tell an empty value from none.
		k, v := b.meta.Cursor().Seek([]byte(name))
		if !bytes.Equal(k, []byte(name)) {
			return ledger.ErrNotFound
		}
		value = append([]byte{}, v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("boltledger: get meta %s/%s: %w", migrationName, name, err)
	}
	return value, nil
}

// Close closes the file and releases its lock. It returns the error of the
// final sync, if any.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltledger: close %s: %w", s.path, err)
	}
	return nil
}
