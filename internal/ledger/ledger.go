// Package ledger is the write ledger: one entry for every write a
// migration makes in Pipedrive, recorded as pending before the call and
// committed after it, so that a crash between the two is reconciled
// instead of repeated, and so that rollback can undo every write, newest
// first. Implementations: boltledger (an embedded file database, the local
// default) and dynamoledger (DynamoDB, conditional writes); both pass the
// conformance suite in ledgertest.
package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Op is what a write did to Pipedrive.
type Op string

// Operations.
const (
	// OpCreate made a new record; rollback deletes it.
	OpCreate Op = "create"
	// OpUpdate changed fields of a record that existed before the
	// migration; rollback restores Entry.Previous.
	OpUpdate Op = "update"
	// OpLink matched a source record to an existing Pipedrive record
	// without changing it (or only filling empty fields, kept in
	// Previous as nulls); rollback restores Previous, never deletes.
	OpLink Op = "link"
)

// Status is where a write stands.
type Status string

// Statuses, in the order an entry moves through them.
const (
	// StatusPending: the intent is recorded; the Pipedrive call may or may
	// not have happened.
	StatusPending Status = "pending"
	// StatusWritten: Pipedrive answered and TargetID is known.
	StatusWritten Status = "written"
	// StatusRolledBack: rollback undid the write.
	StatusRolledBack Status = "rolled_back"
	// StatusAbandoned: reconciliation found the pending write never
	// happened; nothing to undo.
	StatusAbandoned Status = "abandoned"
)

// Entry is one write of one migration.
type Entry struct {
	Migration string `json:"migration"`
	// Key names the write within the migration, unique: the source kind
	// and id, and a part for records that make several writes, e.g.
	// "client/C000001", "matter/M1/participant/C2",
	// "document/D9/part/2", "schema/deal-field/Matter number".
	Key string `json:"key"`
	// Seq orders the writes of a migration: Begin gives each new entry the
	// next number; rollback goes from the highest down.
	Seq int64  `json:"seq"`
	Run string `json:"run"`
	// SourceKind and SourceID name the Perfect Portal record ("client",
	// "C000001"); empty for schema writes.
	SourceKind string `json:"source_kind,omitempty"`
	SourceID   string `json:"source_id,omitempty"`
	// TargetKind is the Pipedrive kind: person, organization, deal,
	// activity, note, file, participant, deal_field, person_field,
	// organization_field, pipeline, stage, activity_type.
	TargetKind string `json:"target_kind"`
	// TargetID is the Pipedrive id; 0 while pending and unknown. For a
	// participant, the deal participant id; ParentID holds the deal.
	TargetID int64  `json:"target_id,omitempty"`
	ParentID int64  `json:"parent_id,omitempty"`
	Op       Op     `json:"op"`
	Status   Status `json:"status"`
	// PayloadHash fingerprints what was (to be) written, so that a delta
	// run can tell a changed record from an unchanged one.
	PayloadHash string `json:"payload_hash,omitempty"`
	// SourceHash fingerprints the whole payload the source record maps to.
	// On a record's own entry it is the payload the migration last made the
	// record hold (a delta run compares it with what the newer export maps
	// to); on a delta's update entry (key "<record key>/update/<run>") it
	// is the hash that update replaced, which rollback puts back.
	SourceHash string `json:"source_hash,omitempty"`
	// Previous holds, for OpUpdate and OpLink, the values of the fields
	// the write overwrote, as Pipedrive had them (JSON object).
	Previous json.RawMessage `json:"previous,omitempty"`
	// TargetUpdateTime is the record's update_time as Pipedrive answered
	// the write; a later one means someone edited it since.
	TargetUpdateTime string    `json:"target_update_time,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	// ExpiresAt is when the entry may be dropped (after the rollback
	// window); zero means never. DynamoDB's TTL reads it.
	ExpiresAt time.Time `json:"expires_at,omitempty"`
}

// Errors every Store returns, matchable with errors.Is.
var (
	// ErrNotFound: no entry under that migration and key.
	ErrNotFound = errors.New("ledger: no such entry")
	// ErrExists: Begin found an entry for the key already; the caller
	// reconciles it (it is returned alongside).
	ErrExists = errors.New("ledger: entry exists")
	// ErrConflict: a conditional change found the entry in another state
	// than the one expected (another worker got there first).
	ErrConflict = errors.New("ledger: entry changed underneath")
)

// Store keeps the ledger. Implementations are safe for concurrent use by
// many goroutines and, for DynamoDB, many processes.
type Store interface {
	// Begin records e as pending with the next Seq of its migration, unless
	// an entry with e's migration and key exists: then it returns that
	// entry and ErrExists, and stores nothing. CreatedAt and UpdatedAt are
	// set by the store when zero.
	Begin(ctx context.Context, e Entry) (Entry, error)
	// Get returns the entry, or ErrNotFound.
	Get(ctx context.Context, migration, key string) (Entry, error)
	// Update replaces the entry if its current status is from (ErrConflict
	// otherwise, ErrNotFound if missing). Migration, Key and Seq cannot
	// change. It is how a write is committed (pending → written), undone
	// (written → rolled_back) or abandoned.
	Update(ctx context.Context, from Status, e Entry) error
	// List calls fn for every entry of the migration, newest Seq first;
	// fn's error stops the listing and is returned.
	List(ctx context.Context, migration string, fn func(Entry) error) error
	// ListBefore is List from a point: it calls fn for every entry of the
	// migration whose Seq is below before, newest first; before <= 0 lists
	// them all. A reader that stops part-way (rollback in batches) carries
	// on from the Seq it stopped at, reading each entry once.
	ListBefore(ctx context.Context, migration string, before int64, fn func(Entry) error) error
	// PutMeta and GetMeta keep small named values per migration (the delta
	// watermark, the last run); GetMeta returns ErrNotFound for a missing name.
	PutMeta(ctx context.Context, migration, name string, value []byte) error
	GetMeta(ctx context.Context, migration, name string) ([]byte, error)
	// Close releases the store.
	Close() error
}
