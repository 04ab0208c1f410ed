// Package blob is Conveyor's portable object store: the export bundle, the
// staged NDJSON chunks and the reports all live behind [Store], whatever
// holds them.
//
// The contract every implementation keeps is written on [Store] and checked
// by blobtest.RunConformanceTests; the backends are fileblob (a local
// directory, the embedded default), memblob (memory, for tests) and s3blob
// (Amazon S3). Code that uses a store depends on this package only, and
// main wires in a backend.
package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is the error, wrapped, that Get, Open and Stat return when no
// object has the key. Test for it with errors.Is(err, blob.ErrNotFound).
var ErrNotFound = errors.New("blob: object not found")

// ErrInvalidKey is the error, wrapped, that every method returns when given
// a key or prefix that [ValidKey] or [ValidPrefix] rejects. The message
// names the offending key.
var ErrInvalidKey = errors.New("blob: invalid key")

// Info describes a stored object.
type Info struct {
	// Key is the object's key, relative to the store it was read from.
	Key string
	// Size is the object's length in bytes.
	Size int64
	// ModTime is when the object was last written, as the backend records it.
	ModTime time.Time
	// ETag is an opaque token that changes when the object is replaced. How
	// it is computed differs between backends (S3's ETag, a content hash, or
	// the file's modification time and size), so compare ETags only with
	// ETags from the same store.
	ETag string
}

// Store holds objects (byte strings) under keys.
//
// Keys are relative slash-separated paths such as "runs/42/deals/0001.ndjson";
// see [ValidKey] for the exact rules. A key names one object: the store has
// no directories, and a key that is a prefix of other keys ("runs/42") is not
// itself an object unless it was Put.
//
// All methods are safe for concurrent use. Every method checks its key first
// and returns an error wrapping [ErrInvalidKey], without touching the
// backend, when the key is not valid. Every method honours ctx: a cancelled
// context makes the call return an error wrapping ctx.Err() as soon as the
// backend allows.
type Store interface {
	// Get returns the whole content of the object at key. It returns an error
	// wrapping ErrNotFound if there is no such object. The caller may modify
	// the returned slice.
	Get(ctx context.Context, key string) ([]byte, error)

	// Open returns a reader that streams the content of the object at key;
	// the caller must Close it. It returns an error wrapping ErrNotFound if
	// there is no such object. The reader sees one complete version of the
	// object, never a mixture of two, and its reads fail once ctx is done.
	Open(ctx context.Context, key string) (io.ReadCloser, error)

	// Put stores everything read from r, until io.EOF, as the object at key,
	// replacing any object already there. r is streamed: it need not be
	// seekable and its length need not be known.
	//
	// Put is atomic: readers see either the previous object or the complete
	// new one, never a partial object. If Put returns an error (r failed, ctx
	// was cancelled, the backend refused), the previous object, or its
	// absence, is left as it was; the returned error wraps r's error or
	// ctx.Err() when that was the cause.
	Put(ctx context.Context, key string, r io.Reader) error

	// Stat returns the object's metadata. It returns an error wrapping
	// ErrNotFound if there is no such object.
	Stat(ctx context.Context, key string) (Info, error)

	// List returns every object whose key starts with prefix, sorted by key
	// in byte order. prefix is a plain string prefix, not a directory:
	// "a/b" matches "a/b/c" and "a/bc"; use "a/b/" for the first only. The
	// empty prefix lists the whole store. Pagination, where the backend has
	// it, is handled inside. A prefix that no key could start with (see
	// [ValidPrefix]) is an error wrapping ErrInvalidKey; a prefix that
	// matches nothing returns an empty slice and no error.
	List(ctx context.Context, prefix string) ([]Info, error)

	// Delete removes the object at key. Deleting a key that does not exist
	// is not an error.
	Delete(ctx context.Context, key string) error
}
