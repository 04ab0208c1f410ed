// Package record holds what every ledger backend does to an entry in the
// same way before storing it: the checks on its names and fields, and the
// normalisation of its times. Keeping it in one place is what lets the
// conformance suite expect the same answer from every backend.
package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
)

// MaxNameLen is the longest migration name, entry key or meta name, in
// bytes. DynamoDB allows 1024 bytes in a sort key, and a meta item's sort
// key carries a 6-byte prefix; every backend applies the same limit so that
// a ledger can move between them.
const MaxNameLen = 1000

// ErrInvalid is wrapped by every error this package returns.
var ErrInvalid = errors.New("invalid ledger entry")

// CheckNames reports whether migration and key may name an entry: both
// non-empty UTF-8 of at most MaxNameLen bytes, and key not starting with
// '#', which is reserved for a backend's own bookkeeping.
func CheckNames(migration, key string) error {
	if err := checkName("migration", migration); err != nil {
		return err
	}
	if err := checkName("key", key); err != nil {
		return err
	}
	if strings.HasPrefix(key, "#") {
		return fmt.Errorf("%w: key %q starts with '#'", ErrInvalid, key)
	}
	return nil
}

// CheckMeta reports whether migration and name may name a meta value.
func CheckMeta(migration, name string) error {
	if err := checkName("migration", migration); err != nil {
		return err
	}
	return checkName("meta name", name)
}

func checkName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	case len(s) > MaxNameLen:
		return fmt.Errorf("%w: %s is %d bytes, more than %d", ErrInvalid, what, len(s), MaxNameLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not UTF-8", ErrInvalid, what)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalid, what)
	}
	return nil
}

// check is what Begin and Update both require of an entry's content.
func check(e ledger.Entry) error {
	if err := CheckNames(e.Migration, e.Key); err != nil {
		return err
	}
	if len(e.Previous) > 0 && !json.Valid(e.Previous) {
		return fmt.Errorf("%w: %s/%s: previous is not valid JSON", ErrInvalid, e.Migration, e.Key)
	}
	return nil
}

// ForBegin checks e and returns it as Begin stores it, except for Seq,
// which the backend assigns: status pending, CreatedAt and UpdatedAt set to
// now when zero, times in UTC, ExpiresAt to the second, Previous copied.
func ForBegin(e ledger.Entry, now time.Time) (ledger.Entry, error) {
	if err := check(e); err != nil {
		return ledger.Entry{}, err
	}
	now = now.UTC()
	e.Status = ledger.StatusPending
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = now
	}
	return normalise(e), nil
}

// ForUpdate checks e for Update and returns it as Update stores it over
// cur: Migration, Key, Seq and CreatedAt kept from cur, UpdatedAt set to
// now, times in UTC, ExpiresAt to the second, Previous copied. It does not
// compare statuses; the backend does that atomically with the write.
func ForUpdate(cur, e ledger.Entry, now time.Time) (ledger.Entry, error) {
	e, err := CheckUpdate(e)
	if err != nil {
		return ledger.Entry{}, err
	}
	e.Seq = cur.Seq
	e.CreatedAt = cur.CreatedAt
	e.UpdatedAt = now
	return normalise(e), nil
}

// CheckUpdate checks e for Update and returns it normalised, for backends
// that write without reading the stored entry first: the caller must then
// keep the stored Seq and CreatedAt and set UpdatedAt itself.
func CheckUpdate(e ledger.Entry) (ledger.Entry, error) {
	if err := check(e); err != nil {
		return ledger.Entry{}, err
	}
	if !KnownStatus(e.Status) {
		return ledger.Entry{}, fmt.Errorf("%w: %s/%s: unknown status %q", ErrInvalid, e.Migration, e.Key, e.Status)
	}
	return normalise(e), nil
}

// KnownStatus reports whether s is one of the statuses ledger defines.
func KnownStatus(s ledger.Status) bool {
	switch s {
	case ledger.StatusPending, ledger.StatusWritten, ledger.StatusRolledBack, ledger.StatusAbandoned:
		return true
	}
	return false
}

func normalise(e ledger.Entry) ledger.Entry {
	e.CreatedAt = utc(e.CreatedAt)
	e.UpdatedAt = utc(e.UpdatedAt)
	e.ExpiresAt = utc(e.ExpiresAt).Truncate(time.Second)
	if len(e.Previous) == 0 {
		e.Previous = nil
	}
	e.Previous = Clone(e.Previous)
	return e
}

// utc drops the location and the monotonic reading, which no backend keeps,
// and leaves the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// Clone returns a copy of b that shares no memory with it; nil stays nil.
func Clone(b json.RawMessage) json.RawMessage {
	if b == nil {
		return nil
	}
	return bytes.Clone(b)
}

// CloneEntry returns e with its Previous copied.
func CloneEntry(e ledger.Entry) ledger.Entry {
	e.Previous = Clone(e.Previous)
	return e
}
