package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// A delta run loads a newer export of a migration already run: records the
// ledger does not hold are created as in a full run; a written record whose
// source changed since the last run is updated, sending only the fields
// that differ, with the values they held kept in a ledger entry of its own
// (DeltaUpdateKey) so that rollback of the delta run puts them back; an
// unchanged record is skipped. A record is unchanged when its updated_at is
// at or before the watermark of the last run (LoadInput.Since), or, for
// records without updated_at (activities, notes, documents) and records
// after the watermark, when the payload it maps to hashes as the one the
// migration last wrote (ledger.Entry.SourceHash). A record someone edited
// in Pipedrive since the migration wrote it is not overwritten: it is
// flagged for a person to reconcile. Records gone from the newer export
// are listed by DeltaReport, never deleted.

// Reasons and flags a delta run gives.
const (
	deltaReasonWatermark = "unchanged: updated_at at or before the last run's watermark"
	deltaReasonSameHash  = "unchanged: maps to what the migration last wrote"
	deltaReasonSameNow   = "unchanged in Pipedrive: already holds what the newer export says"
	deltaReasonChanged   = "changed in the newer export: the fields that differ are updated"
	// DeltaFlagEdited marks a changed record left alone because it was
	// edited in Pipedrive after the migration wrote it.
	DeltaFlagEdited = "edited in Pipedrive since the migration wrote it: the newer export's changes are not applied; reconcile by hand"
	// DeltaFlagGone marks a changed record whose Pipedrive record was deleted.
	DeltaFlagGone = "deleted in Pipedrive since the migration wrote it: not recreated"
)

// DeltaUpdateKey is the ledger key of a delta run's update of the record
// written under key: one per starting point (the hash the record held and
// its update_time then), so that a retried or resumed delta finds its own
// interrupted update, and a later change of the same record gets a new one.
func DeltaUpdateKey(key, fromHash, fromUpdateTime string) string {
	return key + "/update/" + PayloadHash(fromHash + "|" + fromUpdateTime)[:16]
}

// deltaBase returns the key of the record an update entry's key updates,
// and whether it is one.
func deltaBase(key string) (string, bool) {
	base, _, ok := strings.Cut(key, "/update/")
	return base, ok
}

// sourceHash is the hash of the payload a record's written entry says the
// migration last made it hold (entries from before SourceHash: the hash of
// what the write sent).
func sourceHash(en ledger.Entry) string {
	if en.SourceHash != "" {
		return en.SourceHash
	}
	return en.PayloadHash
}

// deltaItem is a written record a delta run looks at again.
type deltaItem struct {
	// op carries the key, the target kind and the field-level diff.
	op    PlannedOp
	entry ledger.Entry
	// payload is what the record maps to now, as a create would send it
	// (for a note, activitiesNotePayload).
	payload    any
	updatedAt  *time.Time
	sourceKind string
	sourceID   string
}

// unchangedByWatermark reports whether a record's updated_at is at or
// before the input's watermark.
func (in LoadInput) unchangedByWatermark(updatedAt *time.Time) bool {
	if updatedAt == nil || in.Since == "" {
		return false
	}
	since, err := time.Parse(time.RFC3339Nano, in.Since)
	return err == nil && !updatedAt.After(since)
}

// deltaWritten plans and, with Apply, makes a delta run's update of one
// written record, adding its planned operation to pw.
func (e *Env) deltaWritten(ctx context.Context, in LoadInput, pw *planWriter, it deltaItem) error {
	op := it.op
	op.TargetID = it.entry.TargetID
	skip := func(reason, flag string) error {
		op.Op, op.Reason, op.Flag, op.Payload, op.Changes = PlanSkip, reason, flag, nil, nil
		pw.out.Skipped++
		return pw.add(op)
	}
	if in.unchangedByWatermark(it.updatedAt) {
		return skip(deltaReasonWatermark, "")
	}
	from := sourceHash(it.entry)
	hash := PayloadHash(it.payload)
	if hash == from {
		return skip(deltaReasonSameHash, "")
	}
	key := DeltaUpdateKey(it.entry.Key, from, it.entry.TargetUpdateTime)
	resumed, err := e.Ledger.Get(ctx, in.MigrationID, key)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		resumed = ledger.Entry{}
	case err != nil:
		return fmt.Errorf("ledger get %s: %w", key, err)
	}
	if resumed.Status == ledger.StatusWritten {
		// Updated by an earlier attempt that stopped before it recorded
		// the record's new state: record it now.
		op.Op, op.Reason = PlanUpdate, deltaReasonChanged
		if in.Apply {
			if err := e.deltaRebase(ctx, it.entry, hash, resumed.TargetUpdateTime); err != nil {
				return err
			}
			pw.done(PlanUpdate, AlreadyDone)
		}
		return pw.add(op)
	}

	cur, err := e.deltaRead(ctx, it.entry)
	if err != nil {
		return err
	}
	if cur.gone {
		return skip(deltaReasonChanged, DeltaFlagGone)
	}
	if resumed.Status != ledger.StatusPending && updatedSince(cur.updateTime, it.entry.TargetUpdateTime) {
		return skip(deltaReasonChanged, DeltaFlagEdited)
	}
	want := toJSON(it.payload).(map[string]any)
	var patch, prev map[string]any
	if resumed.Status == ledger.StatusPending {
		// Resend what the interrupted attempt meant to: the fields its
		// Previous names, at their new values.
		patch, err = peopleRefill(want, resumed.Previous)
		if err != nil {
			return fmt.Errorf("delta %s: %w", it.entry.Key, err)
		}
	} else {
		patch, prev = deltaDiff(cur.fields, want, it.entry)
	}
	if len(patch) == 0 {
		if in.Apply {
			if err := e.deltaRebase(ctx, it.entry, hash, it.entry.TargetUpdateTime); err != nil {
				return err
			}
		}
		return skip(deltaReasonSameNow, "")
	}
	op.Op, op.Reason, op.Payload, op.Changes = PlanUpdate, deltaReasonChanged, patch, peopleFilledChanges(op.Changes, patch)
	if !in.Apply {
		return pw.add(op)
	}
	var previous json.RawMessage
	if prev != nil {
		if previous, err = json.Marshal(prev); err != nil {
			return fmt.Errorf("delta %s: %w", it.entry.Key, err)
		}
	}
	var written string
	w := Write{Migration: in.MigrationID, Run: in.Run, Key: key, SourceKind: it.sourceKind, SourceID: it.sourceID,
		TargetKind: it.entry.TargetKind, Op: ledger.OpUpdate, TargetID: it.entry.TargetID, ParentID: it.entry.ParentID,
		Payload: patch, Previous: previous, SourceHash: from,
		Call: func(ctx context.Context) (int64, string, error) {
			ut, err := e.deltaPatch(ctx, it.entry.TargetKind, int(it.entry.TargetID), patch)
			if err != nil {
				return 0, "", err
			}
			written = ut
			return it.entry.TargetID, ut, nil
		}}
	if _, _, err := e.Once(ctx, w); err != nil {
		if dealsRecordError(err) {
			return e.dealsRejected(ctx, pw, in.MigrationID, op, err)
		}
		return err
	}
	if err := e.deltaRebase(ctx, it.entry, hash, written); err != nil {
		return err
	}
	pw.done(PlanUpdate, Done)
	return pw.add(op)
}

// deltaRebase records on a record's entry the payload it now holds and the
// update_time the update left.
func (e *Env) deltaRebase(ctx context.Context, en ledger.Entry, hash, updateTime string) error {
	en.SourceHash = hash
	if updateTime != "" {
		en.TargetUpdateTime = updateTime
	}
	en.UpdatedAt = e.now()
	if err := e.Ledger.Update(ctx, ledger.StatusWritten, en); err != nil {
		return fmt.Errorf("ledger: record the update of %s: %w", en.Key, err)
	}
	return nil
}

// deltaRead reads a written record as it is now.
func (e *Env) deltaRead(ctx context.Context, en ledger.Entry) (recordNow, error) {
	if en.TargetKind == "note" {
		n, err := e.Pipedrive.GetNote(ctx, int(en.TargetID))
		var nf *pipedrive.NotFoundError
		if errors.As(err, &nf) {
			return recordNow{gone: true}, nil
		}
		if err != nil {
			return recordNow{}, fromPipedrive("read note", err)
		}
		return recordNow{gone: !n.ActiveFlag, updateTime: formatUpdateTime(n.UpdateTime),
			fields: noteView(n.Content, n.DealID, n.AddTime.Time)}, nil
	}
	rb := &rollback{env: e}
	cur, err := rb.look(ctx, en)
	if err == nil && en.TargetKind == "activity" {
		// Pipedrive answers times with seconds; the payload has none.
		for _, f := range []string{"due_time", "duration"} {
			if v, ok := cur.fields[f].(string); ok {
				cur.fields[f] = activitiesClock(v)
			}
		}
	}
	return cur, err
}

// noteView is a note as a delta run compares it: what the migration writes.
func noteView(content string, dealID int, addTime time.Time) map[string]any {
	return toJSON(activitiesNotePayload{Content: content, DealID: dealID, AddTime: addTime.UTC().Format(activitiesNoteLayout)}).(map[string]any)
}

// deltaPatch sends a delta's PATCH body and returns the record's new
// update_time.
func (e *Env) deltaPatch(ctx context.Context, kind string, id int, patch map[string]any) (string, error) {
	if kind == "note" {
		var u pipedrive.NoteUpdate
		if c, ok := patch["content"].(string); ok {
			u.Content = &c
		}
		if d, ok := patch["deal_id"].(float64); ok {
			n := int(d)
			u.DealID = &n
		}
		if s, ok := patch["add_time"].(string); ok {
			if t, err := time.Parse(activitiesNoteLayout, s); err == nil {
				u.AddTime = &t
			}
		}
		n, err := e.Pipedrive.UpdateNote(ctx, id, u)
		if err != nil {
			return "", fromPipedrive("update note", err)
		}
		return formatUpdateTime(n.UpdateTime), nil
	}
	body := map[string]json.RawMessage{}
	for k, v := range patch {
		data, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("delta: encode %s: %w", k, err)
		}
		body[k] = data
	}
	ut, err := e.Pipedrive.PatchFields(ctx, kind, id, body)
	if err != nil {
		return "", fromPipedrive("update "+kind, err)
	}
	return formatUpdateTime(ut), nil
}

// deltaDiff compares what a record holds (have, as JSON) with what the
// newer export maps it to (want) and returns the PATCH body of the fields
// that differ, and what the record held for them. On a record that
// existed before the migration (a link), only the fields the migration
// filled (its entry's Previous names them) and fields still empty are
// the migration's to change. A value the newer export leaves out is not
// cleared.
func deltaDiff(have, want map[string]any, en ledger.Entry) (patch, prev map[string]any) {
	var filled map[string]any
	if en.Op == ledger.OpLink {
		filled = map[string]any{}
		if len(en.Previous) > 0 {
			_ = json.Unmarshal(en.Previous, &filled)
		}
	}
	mine := func(field string, had any, scope map[string]any) bool {
		if filled == nil {
			return true
		}
		_, ok := scope[field]
		return ok || peopleEmpty(had)
	}
	differs := func(w, h any) bool {
		probe := &verifier{rep: &VerifyReport{}}
		probe.compare("", "", w, h)
		return len(probe.rep.Mismatches) > 0
	}
	patch, prev = map[string]any{}, map[string]any{}
	for k, wv := range want {
		if k == "custom_fields" {
			wc, _ := wv.(map[string]any)
			hc, _ := have[k].(map[string]any)
			fc, _ := filled[k].(map[string]any)
			pc, vc := map[string]any{}, map[string]any{}
			for ck, cv := range wc {
				if cv != nil && differs(cv, hc[ck]) && mine(ck, hc[ck], fc) {
					pc[ck], vc[ck] = cv, hc[ck]
				}
			}
			if len(pc) > 0 {
				patch[k], prev[k] = pc, vc
			}
			continue
		}
		if wv == nil || !differs(wv, have[k]) || !mine(k, have[k], filled) {
			continue
		}
		patch[k], prev[k] = wv, have[k]
		if _, list := wv.([]any); list && have[k] == nil {
			prev[k] = []any{} // a list is cleared with [], never null
		}
	}
	return patch, prev
}
