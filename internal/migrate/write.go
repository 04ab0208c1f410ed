package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// Write is one Pipedrive write to make exactly once.
type Write struct {
	Migration, Run string
	// Key is the write's ledger key (see keys.go).
	Key                  string
	SourceKind, SourceID string
	TargetKind           string
	Op                   ledger.Op
	// ParentID is the deal a participant, activity, note or file hangs on.
	ParentID int64
	// Payload is hashed into the entry, so that a later run can tell
	// whether the source changed.
	Payload any
	// SourceHash is ledger.Entry.SourceHash; empty means the hash of
	// Payload (a create sends the whole payload).
	SourceHash string
	// Previous holds, for OpUpdate and OpLink, the values overwritten.
	Previous json.RawMessage
	// TargetID is known in advance for OpUpdate and OpLink (the existing
	// record); Call may be nil for an OpLink that changes nothing.
	TargetID int64
	// Call makes the write and returns the Pipedrive id and update_time.
	Call func(ctx context.Context) (id int64, updateTime string, err error)
	// Find looks for the record an interrupted Call may have made (by the
	// Perfect Portal id it carries, or under its parent); found=false
	// means it was not made and Call may run. Once calls it for a pending
	// entry an earlier attempt left, and after a Call whose answer was
	// lost (see Env.LostAnswerRetries): it must see the writes made since
	// any listing it keeps, so a Call that fails with an
	// OutcomeUnknownError drops such a listing; Call may then run again.
	Find func(ctx context.Context) (id int64, updateTime string, found bool, err error)
}

// Outcome says what Once did.
type Outcome string

// Outcomes of Once.
const (
	// Done: the write was made now.
	Done Outcome = "done"
	// AlreadyDone: the ledger holds it written; nothing was sent.
	AlreadyDone Outcome = "already_done"
	// Reconciled: a pending entry's record was found in Pipedrive; no
	// write was sent.
	Reconciled Outcome = "reconciled"
)

// PayloadHash fingerprints a payload as written (its JSON).
func PayloadHash(v any) string {
	data, _ := json.Marshal(v)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// Once makes w exactly once across crashes and retries: the intent goes
// into the ledger as pending before the call and is committed with the id
// after it. A pending entry left by an interrupted run is reconciled with
// Find before anything is sent again; a written one is not sent again. A
// rolled-back or abandoned entry is made anew.
//
// It returns the Pipedrive id. The client's named errors come back
// unwrapped (Step Functions matches their type names); an
// OutcomeUnknownError (after Env.LostAnswerRetries) leaves the entry
// pending for the next attempt to reconcile.
func (e *Env) Once(ctx context.Context, w Write) (int64, Outcome, error) {
	entry := ledger.Entry{Migration: w.Migration, Key: w.Key, Run: w.Run, SourceKind: w.SourceKind, SourceID: w.SourceID,
		TargetKind: w.TargetKind, TargetID: w.TargetID, ParentID: w.ParentID, Op: w.Op, Status: ledger.StatusPending,
		PayloadHash: PayloadHash(w.Payload), SourceHash: w.SourceHash, Previous: w.Previous}
	if entry.SourceHash == "" {
		entry.SourceHash = entry.PayloadHash
	}
	stored, err := e.Ledger.Begin(ctx, entry)
	switch {
	case err == nil:
	case errors.Is(err, ledger.ErrExists):
		switch stored.Status {
		case ledger.StatusWritten:
			return stored.TargetID, AlreadyDone, nil
		case ledger.StatusPending:
			if w.Find != nil {
				id, ut, found, ferr := w.Find(ctx)
				if ferr != nil {
					return 0, "", ferr
				}
				if found {
					stored.TargetID, stored.TargetUpdateTime, stored.Status = id, ut, ledger.StatusWritten
					stored.Run = w.Run
					if uerr := e.Ledger.Update(ctx, ledger.StatusPending, stored); uerr != nil {
						return 0, "", fmt.Errorf("ledger: reconcile %s: %w", w.Key, uerr)
					}
					return id, Reconciled, nil
				}
			}
			// Not made: send it, under the pending entry already there.
			// The values it overwrites were read before the first attempt;
			// a second read may see the first attempt's own write.
			previous := stored.Previous
			if len(previous) == 0 {
				previous = w.Previous
			}
			sourceHash := entry.SourceHash
			entry = stored
			entry.Run, entry.PayloadHash, entry.SourceHash, entry.Previous, entry.TargetID, entry.ParentID = w.Run, PayloadHash(w.Payload), sourceHash, previous, w.TargetID, w.ParentID
		case ledger.StatusRolledBack, ledger.StatusAbandoned:
			entry.Seq = stored.Seq
			if uerr := e.Ledger.Update(ctx, stored.Status, entry); uerr != nil {
				return 0, "", fmt.Errorf("ledger: restart %s: %w", w.Key, uerr)
			}
		default:
			return 0, "", fmt.Errorf("ledger: %s has status %q", w.Key, stored.Status)
		}
	default:
		return 0, "", fmt.Errorf("ledger: begin %s: %w", w.Key, err)
	}

	id, ut, outcome := w.TargetID, "", Done
	if w.Call != nil {
		id, ut, outcome, err = e.call(ctx, w)
		if err != nil {
			return 0, "", err
		}
	}
	entry.TargetID, entry.TargetUpdateTime, entry.Status = id, ut, ledger.StatusWritten
	if err := e.Ledger.Update(ctx, ledger.StatusPending, entry); err != nil {
		return 0, "", fmt.Errorf("ledger: commit %s: %w", w.Key, err)
	}
	return id, outcome, nil
}

// lostAnswerPause is how long Once waits, after a write's answer was
// lost, before it looks for the record: a request the client gave up on
// may still be at work in Pipedrive, and a look that comes before it lands
// would send the write a second time. It stands for the wait the state
// machine's retry made before the next attempt looked (5 s, jittered).
const lostAnswerPause = 5 * time.Second

// call makes the write. When its answer is lost (OutcomeUnknownError: a
// dropped connection or a timeout after the request went out) and the Env
// allows LostAnswerRetries, it waits lostAnswerPause, looks for the record
// with Find and, if it is not there, sends the write again: the entry is
// pending all along, so this is what the step's next attempt would do,
// without starting the chunk over.
func (e *Env) call(ctx context.Context, w Write) (int64, string, Outcome, error) {
	for attempt := 0; ; attempt++ {
		id, ut, err := w.Call(ctx)
		if err == nil {
			return id, ut, Done, nil
		}
		if w.Find == nil || attempt >= e.LostAnswerRetries || !lost(err) || ctx.Err() != nil {
			return 0, "", "", err
		}
		if e.Pipedrive != nil {
			if serr := e.Pipedrive.Sleep(ctx, lostAnswerPause); serr != nil {
				return 0, "", "", err
			}
		}
		id, ut, found, ferr := w.Find(ctx)
		if ferr != nil {
			return 0, "", "", ferr
		}
		if found {
			return id, ut, Reconciled, nil
		}
	}
}

// lost reports whether err is a write whose answer was lost. A loader that
// keeps a listing for Find drops it then: the listing predates the write.
func lost(err error) bool {
	var unknown *pipedrive.OutcomeUnknownError
	return errors.As(err, &unknown)
}
