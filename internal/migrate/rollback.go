package migrate

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// errRollbackLimit stops the ledger listing at a rollback's Limit.
var errRollbackLimit = errors.New("rollback: limit reached")

// RollbackInput is the Rollback step's input.
type RollbackInput struct {
	MigrationID string `json:"migration_id"`
	// Run limits the rollback to the writes of one run; empty means every run.
	Run string `json:"run,omitempty"`
	// Force undoes writes to records someone edited in Pipedrive after the
	// migration wrote them; without it they are left alone and flagged.
	Force bool `json:"force,omitempty"`
	// Apply undoes the writes; without it the step only reads Pipedrive and
	// the ledger and reports what it would do.
	Apply bool `json:"apply"`
	// Limit, when positive, stops the step after that many entries are
	// acted on (undone, or with a dry run found undoable), More saying
	// whether any are left: a state machine calls it again with the
	// output's Before, and it carries on where it stopped.
	Limit int `json:"limit,omitempty"`
	// Before, when positive, carries on a rollback in batches: the step
	// reads the ledger from below that Seq (the previous call's output
	// Before), so that each entry is read once over the whole rollback,
	// and adds its counts to those of the calls before it.
	Before int64 `json:"before,omitempty"`
}

// RollbackOutput is what the Rollback step hands on: the report's key and
// counts of entries. Without Apply the counts say what Apply would do.
type RollbackOutput struct {
	MigrationID string `json:"migration_id"`
	Run         string `json:"run,omitempty"`
	Applied     bool   `json:"applied"`
	// Report is the key of rollback-<run or all>.json (with Apply) or
	// rollback-<run or all>-dry-run.json (without): a RollbackReport.
	Report string `json:"report"`
	// Deleted: created records deleted. Restored: updated or linked
	// records given back their previous values.
	Deleted  int `json:"deleted"`
	Restored int `json:"restored"`
	// AlreadyGone: the record was deleted already (by someone, or by an
	// interrupted rollback). Unchanged: an update or link with nothing to
	// restore, or whose record holds its previous values already.
	AlreadyGone int `json:"already_gone"`
	Unchanged   int `json:"unchanged"`
	// Flagged writes were left alone and stay written: edited in Pipedrive
	// since (without Force), or not undoable (see the report's reasons).
	// Forced ones were edited since and undone anyway (Force).
	Flagged int `json:"flagged"`
	Forced  int `json:"forced"`
	// Unknown: pending writes, which may or may not have reached
	// Pipedrive; marked abandoned, to check by hand.
	Unknown int `json:"unknown"`
	// AlreadyRolledBack counts entries rolled back or abandoned before;
	// OtherRuns entries of runs other than Run.
	AlreadyRolledBack int `json:"already_rolled_back"`
	OtherRuns         int `json:"other_runs"`
	// More says the step stopped (at its Limit, or at the daily budget)
	// with entries left to undo; Before is where the next call carries on.
	More   bool  `json:"more"`
	Before int64 `json:"before"`
}

// Rollback actions, as RollbackCount and RollbackItem name them.
const (
	RollbackDelete    = "delete"
	RollbackRestore   = "restore"
	RollbackGone      = "gone"
	RollbackUnchanged = "unchanged"
	RollbackFlagged   = "flagged"
	RollbackUnknown   = "unknown"
)

// RollbackReport is rollback-<run or all>.json.
type RollbackReport struct {
	MigrationID string `json:"migration_id"`
	Run         string `json:"run,omitempty"`
	Applied     bool   `json:"applied"`
	Force       bool   `json:"force"`
	// Totals are the step's output counts.
	Totals RollbackOutput `json:"totals"`
	// Counts are per Pipedrive kind, ledger operation and action.
	Counts []RollbackCount `json:"counts"`
	// Flagged are the writes to records edited since the migration (left
	// alone, or undone with Force) and the writes that cannot be undone.
	Flagged []RollbackItem `json:"flagged,omitempty"`
	// Unknown are the pending writes marked abandoned: whether each
	// reached Pipedrive is unknown, so check them by hand.
	Unknown []RollbackItem `json:"unknown,omitempty"`
}

// RollbackCount is how many entries of one kind and operation met one action.
type RollbackCount struct {
	Kind   string    `json:"kind"`
	Op     ledger.Op `json:"op"`
	Action string    `json:"action"`
	N      int       `json:"n"`
}

// RollbackItem is one ledger entry the report names. It holds keys, ids
// and times, never field values.
type RollbackItem struct {
	Key      string    `json:"key"`
	Kind     string    `json:"kind"`
	Op       ledger.Op `json:"op"`
	Run      string    `json:"run,omitempty"`
	TargetID int64     `json:"target_id,omitempty"`
	ParentID int64     `json:"parent_id,omitempty"`
	Reason   string    `json:"reason"`
	// WrittenUpdateTime is the update_time the migration's write left;
	// CurrentUpdateTime the record's when the rollback read it.
	WrittenUpdateTime string `json:"written_update_time,omitempty"`
	CurrentUpdateTime string `json:"current_update_time,omitempty"`
	// LeftAlone is false for an edited record that Force undid anyway.
	LeftAlone bool `json:"left_alone"`
}

// Rollback undoes a migration's writes (of one run, or of every run), the
// newest first, as the ledger recorded them: a created record is deleted
// (Pipedrive keeps it, marked deleted, for 30 days), an updated or linked
// one gets back the values in its entry's Previous, and each undone entry
// becomes rolled_back. A record whose update_time is later than the one
// the migration's write left was edited in Pipedrive since: it is left
// alone and flagged unless Force. A pending entry, whose write may or may
// not have happened, is marked abandoned and reported for a check by hand.
// Without Apply nothing is written to Pipedrive or the ledger; the report
// says what Apply would do.
//
// Running it again is safe: rolled-back entries are skipped, so a rollback
// stopped part-way (an error, a crash) carries on where it stopped. It
// returns *InputError for a bad input, Pipedrive's named errors as they
// are, and wrapped errors of the ledger and the store, which are worth
// retrying. A write Pipedrive refuses to undo (*pipedrive.ValidationError)
// is flagged, and the rollback goes on.
//
// In batches (Limit, then Before): each call reads the ledger from where
// the last one stopped, and its report and output add up every call so
// far, so the last call's are the whole rollback's. The report so far is
// kept under rollback-parts/ by the Seq the next call starts below, which
// makes a retried call count from the same point. When the daily budget
// runs out the call returns its output (More, Before) together with the
// *pipedrive.BudgetExhaustedError: wait until its ResumeAt and call again
// with that Before.
//
// Previous, for an update or a link, is a JSON object in the shape of the
// record's v2 PATCH body: built-in fields by their v2 names, custom fields
// under "custom_fields" (or at the top level, by their 40-hex keys); null
// means the field was empty. A custom field is cleared with null; a
// built-in field cannot be, as the client's typed Update calls do not send
// empty values, so such an entry is flagged, not half restored.
func (e *Env) Rollback(ctx context.Context, in RollbackInput) (RollbackOutput, error) {
	if !idPattern.MatchString(in.MigrationID) {
		return RollbackOutput{}, &InputError{Msg: fmt.Sprintf("migration_id %q: use letters, digits, '.', '_' and '-' (up to 80)", in.MigrationID)}
	}
	if in.Run != "" && !idPattern.MatchString(in.Run) {
		return RollbackOutput{}, &InputError{Msg: fmt.Sprintf("run %q: use letters, digits, '.', '_' and '-' (up to 80)", in.Run)}
	}
	if in.Before < 0 {
		return RollbackOutput{}, &InputError{Msg: fmt.Sprintf("before %d: give the Before of the previous call's output, or leave it out to start", in.Before)}
	}
	if e.Ledger == nil || e.Pipedrive == nil {
		return RollbackOutput{}, errors.New("migrate: Rollback needs a ledger and a Pipedrive client")
	}
	name := "all"
	if in.Run != "" {
		name = in.Run
	}
	if !in.Apply {
		name += "-dry-run"
	}
	prefix := Prefix(in.MigrationID)
	rb := &rollback{env: e, in: in, counts: map[RollbackCount]int{}, parts: prefix + "rollback-parts/" + name + "/",
		out: RollbackOutput{MigrationID: in.MigrationID, Run: in.Run, Applied: in.Apply, Report: prefix + "rollback-" + name + ".json"}}
	var prior *RollbackReport
	switch {
	case in.Before > 0:
		prior = &RollbackReport{}
		err := getJSON(ctx, e.Store, rb.partKey(in.Before), prior)
		if errors.Is(err, blob.ErrNotFound) {
			return RollbackOutput{}, &InputError{Msg: fmt.Sprintf("before %d: no rollback in batches stopped there (%s is missing); start the rollback again without before", in.Before, rb.partKey(in.Before))}
		}
		if err != nil {
			return RollbackOutput{}, err
		}
	case in.Limit > 0:
		// A new rollback in batches: the parts of an earlier one go.
		if err := rb.clearParts(ctx); err != nil {
			return RollbackOutput{}, err
		}
	}
	acted := 0
	var stoppedAt int64
	err := e.Ledger.ListBefore(ctx, in.MigrationID, in.Before, func(en ledger.Entry) error {
		if in.Limit > 0 && acted >= in.Limit && (en.Status == ledger.StatusWritten || en.Status == ledger.StatusPending) &&
			(in.Run == "" || en.Run == in.Run) {
			rb.out.More, rb.out.Before = true, en.Seq+1
			return errRollbackLimit
		}
		// Only undone entries count: a batch goes past flagged ones
		// (reported once, by the call that met them).
		undone := func() int { o := rb.out; return o.Deleted + o.Restored + o.AlreadyGone + o.Unchanged + o.Unknown }
		before := undone()
		if err := rb.entry(ctx, en); err != nil {
			stoppedAt = en.Seq
			return err
		}
		acted += undone() - before
		return nil
	})
	var budget *pipedrive.BudgetExhaustedError
	switch {
	case errors.Is(err, errRollbackLimit):
		err = nil
	case errors.As(err, &budget):
		// What this call did stands; the next carries on at the entry the
		// budget stopped (nothing was written to it).
		rb.out.More, rb.out.Before = true, in.Before
		if stoppedAt > 0 {
			rb.out.Before = stoppedAt + 1
		}
	case err != nil:
		e.log().WarnContext(ctx, "rollback stopped", "migration", in.MigrationID, "applied", in.Apply,
			"deleted", rb.out.Deleted, "restored", rb.out.Restored, "flagged", rb.out.Flagged)
		return RollbackOutput{}, err
	}

	rep := rb.report(prior)
	if rep.Totals.More && rep.Totals.Before > 0 {
		if err := e.putJSON(ctx, rb.partKey(rep.Totals.Before), rep); err != nil {
			return RollbackOutput{}, err
		}
	}
	if err := e.putJSON(ctx, rep.Totals.Report, rep); err != nil {
		return RollbackOutput{}, err
	}
	o := rep.Totals
	if in.Apply && !o.More && o.Flagged == 0 && o.Unknown == 0 {
		// Undone: a delta run starts from the watermark of the last run left.
		if err := e.forgetRuns(ctx, in.MigrationID, in.Run); err != nil {
			return RollbackOutput{}, err
		}
	}
	e.log().InfoContext(ctx, "rollback", "migration", in.MigrationID, "run", in.Run, "applied", in.Apply, "force", in.Force,
		"deleted", o.Deleted, "restored", o.Restored, "already_gone", o.AlreadyGone, "unchanged", o.Unchanged,
		"flagged", o.Flagged, "forced", o.Forced, "unknown", o.Unknown, "already_rolled_back", o.AlreadyRolledBack,
		"other_runs", o.OtherRuns, "more", o.More, "before", o.Before)
	if budget != nil {
		return o, err
	}
	return o, nil
}

// partKey is where the report of a rollback in batches is kept for the
// call that carries on below Seq before.
func (rb *rollback) partKey(before int64) string {
	return rb.parts + strconv.FormatInt(before, 10) + ".json"
}

// clearParts deletes what an earlier rollback in batches of the same name
// kept under rollback-parts/.
func (rb *rollback) clearParts(ctx context.Context) error {
	old, err := rb.env.Store.List(ctx, rb.parts)
	if err != nil {
		return fmt.Errorf("list %s: %w", rb.parts, err)
	}
	for _, o := range old {
		if err := rb.env.Store.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("delete %s: %w", o.Key, err)
		}
	}
	return nil
}

// report is this call's report, added to the report of the calls before it
// (prior) in a rollback in batches.
func (rb *rollback) report(prior *RollbackReport) RollbackReport {
	in := rb.in
	rep := RollbackReport{MigrationID: in.MigrationID, Run: in.Run, Applied: in.Apply, Force: in.Force, Totals: rb.out,
		Flagged: rb.flagged, Unknown: rb.unknown}
	counts := maps.Clone(rb.counts)
	if prior != nil {
		p, t := prior.Totals, &rep.Totals
		t.Deleted += p.Deleted
		t.Restored += p.Restored
		t.AlreadyGone += p.AlreadyGone
		t.Unchanged += p.Unchanged
		t.Flagged += p.Flagged
		t.Forced += p.Forced
		t.Unknown += p.Unknown
		t.AlreadyRolledBack += p.AlreadyRolledBack
		t.OtherRuns += p.OtherRuns
		for _, c := range prior.Counts {
			n := c.N
			c.N = 0
			counts[c] += n
		}
		rep.Flagged = append(slices.Clip(prior.Flagged), rb.flagged...)
		rep.Unknown = append(slices.Clip(prior.Unknown), rb.unknown...)
	}
	rep.Counts = make([]RollbackCount, 0, len(counts))
	for c, n := range counts {
		c.N = n
		rep.Counts = append(rep.Counts, c)
	}
	slices.SortFunc(rep.Counts, func(a, b RollbackCount) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Op, b.Op), cmp.Compare(a.Action, b.Action))
	})
	return rep
}

// rollback is one Rollback's progress.
type rollback struct {
	env     *Env
	in      RollbackInput
	out     RollbackOutput
	counts  map[RollbackCount]int // N zero: the key
	flagged []RollbackItem
	unknown []RollbackItem
	// parts is the folder of the reports of a rollback in batches.
	parts string
	// restoredAt is the update_time the last restore left.
	restoredAt string
	// rebased holds the keys of records' entries this pass changed after
	// undoing a delta update of them; they are read again when reached.
	rebased map[string]bool
}

func (rb *rollback) entry(ctx context.Context, en ledger.Entry) error {
	if rb.rebased[en.Key] {
		fresh, err := rb.env.Ledger.Get(ctx, en.Migration, en.Key)
		if err != nil {
			return fmt.Errorf("ledger: read %s again: %w", en.Key, err)
		}
		en = fresh
	}
	if rb.in.Run != "" && en.Run != rb.in.Run {
		rb.out.OtherRuns++
		return nil
	}
	switch en.Status {
	case ledger.StatusRolledBack, ledger.StatusAbandoned:
		rb.out.AlreadyRolledBack++
		return nil
	case ledger.StatusPending:
		return rb.pending(ctx, en)
	case ledger.StatusWritten:
	default:
		rb.flag(en, fmt.Sprintf("status %q is not one rollback knows", en.Status), "")
		return nil
	}
	switch en.Op {
	case ledger.OpCreate:
		return rb.undoCreate(ctx, en)
	case ledger.OpUpdate, ledger.OpLink:
		return rb.undoUpdate(ctx, en)
	}
	rb.flag(en, fmt.Sprintf("operation %q is not one rollback knows", en.Op), "")
	return nil
}

// pending marks an entry whose write may or may not have happened
// abandoned. Finding its record would take a search by Perfect Portal id
// per entry (or, for a schema item, a find by name that could match an
// item that was there before): not worth it for what a crash leaves, a
// handful of entries, which the report names.
func (rb *rollback) pending(ctx context.Context, en ledger.Entry) error {
	rb.count(en, RollbackUnknown)
	rb.out.Unknown++
	rb.unknown = append(rb.unknown, rb.item(en,
		"pending: the write may or may not have reached Pipedrive; check by hand, by the source id in its key", "", true))
	return rb.commit(ctx, en, ledger.StatusPending, ledger.StatusAbandoned)
}

// undoCreate deletes a created record.
func (rb *rollback) undoCreate(ctx context.Context, en ledger.Entry) error {
	del, problem := rb.deleter(en)
	if problem != "" {
		rb.flag(en, problem, "")
		return nil
	}
	cur, err := rb.look(ctx, en)
	if err != nil {
		return err
	}
	if cur.gone {
		return rb.done(ctx, en, RollbackGone)
	}
	forced, leave := rb.edited(en, cur)
	if leave {
		return nil
	}
	return rb.undo(ctx, en, cur, forced, del, RollbackDelete, "the delete", "roll back ")
}

// undo makes the undoing call (with Apply) and records the outcome: a
// record already gone is done; one Pipedrive refuses is flagged and left;
// any other error stops the rollback.
func (rb *rollback) undo(ctx context.Context, en ledger.Entry, cur recordNow, forced bool, call func(context.Context) error, action, what, doing string) error {
	if rb.in.Apply {
		err := call(ctx)
		var nf *pipedrive.NotFoundError
		var invalid *pipedrive.ValidationError
		switch {
		case errors.As(err, &nf):
			return rb.done(ctx, en, RollbackGone)
		case errors.As(err, &invalid):
			rb.unforce(forced)
			rb.flag(en, "Pipedrive refused "+what+": "+invalid.Message, cur.updateTime)
			return nil
		case err != nil:
			return fromPipedrive(doing+en.TargetKind, err)
		}
	}
	return rb.done(ctx, en, action)
}

// undoUpdate gives an updated or linked record its previous values back.
func (rb *rollback) undoUpdate(ctx context.Context, en ledger.Entry) error {
	var prev map[string]json.RawMessage
	if len(bytes.TrimSpace(en.Previous)) > 0 {
		if err := json.Unmarshal(en.Previous, &prev); err != nil {
			rb.flag(en, "previous values are not a JSON object", "")
			return nil
		}
	}
	if len(prev) == 0 {
		return rb.done(ctx, en, RollbackUnchanged)
	}
	patch, problem := rb.patcher(en, prev)
	if problem != "" {
		rb.flag(en, problem, "")
		return nil
	}
	cur, err := rb.look(ctx, en)
	if err != nil {
		return err
	}
	if cur.gone {
		return rb.done(ctx, en, RollbackGone)
	}
	if cur.fields != nil && holdsPrevious(cur.fields, prev) {
		// Nothing to give back: the record has its previous values,
		// e.g. restored by a rollback interrupted before its commit.
		if err := rb.done(ctx, en, RollbackUnchanged); err != nil {
			return err
		}
		return rb.rebase(ctx, en, cur.updateTime)
	}
	forced, leave := rb.edited(en, cur)
	if leave {
		return nil
	}
	flagged := rb.out.Flagged
	rb.restoredAt = ""
	if err := rb.undo(ctx, en, cur, forced, patch, RollbackRestore, "the previous values", "restore "); err != nil {
		return err
	}
	if rb.out.Flagged != flagged {
		return nil // refused by Pipedrive: still written, nothing to rebase
	}
	return rb.rebase(ctx, en, rb.restoredAt)
}

// rebase, after a delta run's update of a record is undone, gives the
// record's own entry back the payload hash it held before the update and
// the update_time the restore left, so that the record's older entries
// (undone next) do not take the restore for someone's edit, and a later
// delta run compares with what the record holds again.
func (rb *rollback) rebase(ctx context.Context, en ledger.Entry, updateTime string) error {
	baseKey, ok := deltaBase(en.Key)
	if !ok || !rb.in.Apply {
		return nil
	}
	base, err := rb.env.Ledger.Get(ctx, en.Migration, baseKey)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ledger: read %s: %w", baseKey, err)
	}
	if base.Status != ledger.StatusWritten {
		return nil
	}
	base.SourceHash = en.SourceHash
	if updateTime != "" {
		base.TargetUpdateTime = updateTime
	}
	base.UpdatedAt = rb.env.now()
	if err := rb.env.Ledger.Update(ctx, ledger.StatusWritten, base); err != nil {
		return fmt.Errorf("ledger: rebase %s: %w", baseKey, err)
	}
	if rb.rebased == nil {
		rb.rebased = map[string]bool{}
	}
	rb.rebased[baseKey] = true
	return nil
}

// edited decides what to do with a record edited since the write: leave
// it (flagged) unless Force, which undoes it anyway (flagged as forced).
func (rb *rollback) edited(en ledger.Entry, cur recordNow) (forced, leave bool) {
	if !updatedSince(cur.updateTime, en.TargetUpdateTime) {
		return false, false
	}
	reason := "edited in Pipedrive after the migration wrote it"
	if !rb.in.Force {
		rb.flag(en, reason, cur.updateTime)
		return false, true
	}
	rb.out.Forced++
	rb.flagged = append(rb.flagged, rb.item(en, reason+"; undone anyway (force)", cur.updateTime, false))
	return true, false
}

// unforce takes back the forced mark of an undo that then failed and is flagged.
func (rb *rollback) unforce(forced bool) {
	if forced {
		rb.out.Forced--
		rb.flagged = rb.flagged[:len(rb.flagged)-1]
	}
}

func (rb *rollback) flag(en ledger.Entry, reason, currentUpdateTime string) {
	rb.count(en, RollbackFlagged)
	rb.out.Flagged++
	rb.flagged = append(rb.flagged, rb.item(en, reason, currentUpdateTime, true))
}

func (rb *rollback) item(en ledger.Entry, reason, currentUpdateTime string, leftAlone bool) RollbackItem {
	return RollbackItem{Key: en.Key, Kind: en.TargetKind, Op: en.Op, Run: en.Run, TargetID: en.TargetID, ParentID: en.ParentID,
		Reason: reason, WrittenUpdateTime: en.TargetUpdateTime, CurrentUpdateTime: currentUpdateTime, LeftAlone: leftAlone}
}

func (rb *rollback) count(en ledger.Entry, action string) {
	rb.counts[RollbackCount{Kind: en.TargetKind, Op: en.Op, Action: action}]++
}

// done counts an undone entry and, with Apply, marks it rolled back.
func (rb *rollback) done(ctx context.Context, en ledger.Entry, action string) error {
	rb.count(en, action)
	switch action {
	case RollbackDelete:
		rb.out.Deleted++
	case RollbackRestore:
		rb.out.Restored++
	case RollbackGone:
		rb.out.AlreadyGone++
	case RollbackUnchanged:
		rb.out.Unchanged++
	}
	return rb.commit(ctx, en, ledger.StatusWritten, ledger.StatusRolledBack)
}

func (rb *rollback) commit(ctx context.Context, en ledger.Entry, from, to ledger.Status) error {
	if !rb.in.Apply {
		return nil
	}
	en.Status, en.UpdatedAt = to, rb.env.now()
	if err := rb.env.Ledger.Update(ctx, from, en); err != nil {
		return fmt.Errorf("ledger: mark %s %s: %w", en.Key, to, err)
	}
	return nil
}

// deleter returns the call that deletes an entry's record, or why there is none.
func (rb *rollback) deleter(en ledger.Entry) (func(context.Context) error, string) {
	pd := rb.env.Pipedrive
	id := int(en.TargetID)
	byID := func(f func(context.Context, int) error) (func(context.Context) error, string) {
		if id <= 0 {
			return nil, "the entry has no Pipedrive id"
		}
		return func(ctx context.Context) error { return f(ctx, id) }, ""
	}
	switch en.TargetKind {
	case "person":
		return byID(pd.DeletePerson)
	case "organization":
		return byID(pd.DeleteOrganization)
	case "deal":
		return byID(pd.DeleteDeal)
	case "activity":
		return byID(pd.DeleteActivity)
	case "note":
		return byID(pd.DeleteNote)
	case "file":
		return byID(pd.DeleteFile)
	case "participant":
		if en.ParentID <= 0 {
			return nil, "the participant's entry has no deal id"
		}
		deal := int(en.ParentID)
		return byID(func(ctx context.Context, id int) error { return pd.DeleteParticipant(ctx, deal, id) })
	case KindPipeline:
		return byID(pd.DeletePipeline)
	case KindStage:
		return byID(pd.DeleteStage)
	case KindActivityType:
		return byID(pd.DeleteActivityType)
	case KindDealField, KindPersonField, KindOrganizationField:
		var ft fieldTarget
		if err := json.Unmarshal(en.Previous, &ft); err != nil || ft.FieldCode == "" {
			return nil, "the field's entry has no field_code"
		}
		kind := fieldKindOf(en.TargetKind)
		return func(ctx context.Context) error { return pd.DeleteField(ctx, kind, ft.FieldCode) }, ""
	}
	return nil, fmt.Sprintf("rollback cannot delete a %q", en.TargetKind)
}

// patcher returns the call that restores prev onto an entry's record, or
// why there is none.
func (rb *rollback) patcher(en ledger.Entry, prev map[string]json.RawMessage) (func(context.Context) error, string) {
	pd := rb.env.Pipedrive
	id := int(en.TargetID)
	if id <= 0 {
		return nil, "the entry has no Pipedrive id"
	}
	switch en.TargetKind {
	case "person", "organization", "deal", "activity":
		body := restoreBody(prev)
		kind := en.TargetKind
		return func(ctx context.Context) error {
			ut, err := pd.PatchFields(ctx, kind, id, body)
			rb.restoredAt = formatUpdateTime(ut)
			return err
		}, ""
	case "note":
		var u pipedrive.NoteUpdate
		if raw, ok := prev["content"]; ok {
			var c string
			if json.Unmarshal(raw, &c) != nil || c == "" {
				return nil, "a note's previous content is not text"
			}
			u.Content = &c
		}
		if raw, ok := prev["deal_id"]; ok {
			var d int
			if json.Unmarshal(raw, &d) != nil || d <= 0 {
				return nil, "a note's previous deal is not an id"
			}
			u.DealID = &d
		}
		if raw, ok := prev["add_time"]; ok {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return nil, "a note's previous add_time is not a time"
			}
			t, err := time.Parse(activitiesNoteLayout, s)
			if err != nil {
				return nil, "a note's previous add_time is not a time"
			}
			u.AddTime = &t
		}
		return func(ctx context.Context) error {
			n, err := pd.UpdateNote(ctx, id, u)
			rb.restoredAt = formatUpdateTime(n.UpdateTime)
			return err
		}, ""
	}
	return nil, fmt.Sprintf("rollback cannot restore a %q: the client has no update call for it", en.TargetKind)
}

// restoreBody is the PATCH body that puts prev back exactly: built-in
// fields by their v2 names (null and [] included, which clear them), custom
// fields under custom_fields whether prev holds them there or at the top.
func restoreBody(prev map[string]json.RawMessage) map[string]json.RawMessage {
	body := map[string]json.RawMessage{}
	custom := map[string]json.RawMessage{}
	for k, v := range prev {
		switch {
		case k == "custom_fields":
			var m map[string]json.RawMessage
			if json.Unmarshal(v, &m) == nil {
				maps.Copy(custom, m)
			}
		case customFieldKeyRE.MatchString(k):
			custom[k] = v
		case string(v) == "null" && clearedByEmptyString[k]:
			// Pipedrive's documents do not let these be null; "" clears them.
			body[k] = json.RawMessage(`""`)
		case string(v) == "null" && clearedByEmptyList[k]:
			body[k] = json.RawMessage(`[]`)
		default:
			body[k] = v
		}
	}
	if len(custom) > 0 {
		data, _ := json.Marshal(custom)
		body["custom_fields"] = data
	}
	return body
}

// clearedByEmptyString are the built-in text fields a v2 PATCH clears with
// "" (the documents do not allow them to be null).
var clearedByEmptyString = map[string]bool{"job_title": true, "notes": true, "birthday": true, "website": true,
	"note": true, "public_description": true, "expected_close_date": true, "lost_reason": true}

// clearedByEmptyList are the built-in list fields a PATCH clears with [].
var clearedByEmptyList = map[string]bool{"emails": true, "phones": true, "im": true, "label_ids": true}

// customFieldKeyRE is the shape of a custom field's key.
var customFieldKeyRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// recordNow is what the rollback read of a record.
type recordNow struct {
	gone bool
	// updateTime is empty for the kinds that are not read (participants
	// and schema items): their deletes are not checked for edits.
	updateTime string
	// fields are the record's fields as JSON, custom ones under
	// "custom_fields" (persons, organizations, deals, activities).
	fields map[string]any
}

// look reads an entry's record: gone (404 or marked deleted), its
// update_time and fields.
func (rb *rollback) look(ctx context.Context, en ledger.Entry) (recordNow, error) {
	pd := rb.env.Pipedrive
	id := int(en.TargetID)
	var (
		v       any
		ut      pipedrive.Time
		deleted bool
		err     error
	)
	switch en.TargetKind {
	case "person":
		var p pipedrive.Person
		p, err = pd.GetPerson(ctx, id)
		v, ut, deleted = p, p.UpdateTime, p.IsDeleted
	case "organization":
		var o pipedrive.Organization
		o, err = pd.GetOrganization(ctx, id)
		v, ut, deleted = o, o.UpdateTime, o.IsDeleted
	case "deal":
		var d pipedrive.Deal
		d, err = pd.GetDeal(ctx, id)
		v, ut, deleted = d, d.UpdateTime, d.IsDeleted
	case "activity":
		var a pipedrive.Activity
		a, err = pd.GetActivity(ctx, id)
		v, ut, deleted = a, a.UpdateTime, a.IsDeleted
	case "note", "file":
		// Read one by one (2 tokens each) rather than listed: a listing
		// per batch would cost more the more notes the migration made.
		var (
			active bool
			ut     pipedrive.Time
		)
		if en.TargetKind == "note" {
			var n pipedrive.Note
			n, err = pd.GetNote(ctx, id)
			active, ut = n.ActiveFlag, n.UpdateTime
		} else {
			var f pipedrive.File
			f, err = pd.GetFile(ctx, id)
			active, ut = f.ActiveFlag, f.UpdateTime
		}
		var nf *pipedrive.NotFoundError
		if errors.As(err, &nf) {
			return recordNow{gone: true}, nil
		}
		if err != nil {
			return recordNow{}, fromPipedrive("read "+en.TargetKind, err)
		}
		return recordNow{gone: !active, updateTime: formatUpdateTime(ut)}, nil
	default:
		return recordNow{}, nil
	}
	var nf *pipedrive.NotFoundError
	if errors.As(err, &nf) {
		return recordNow{gone: true}, nil
	}
	if err != nil {
		return recordNow{}, fromPipedrive("read "+en.TargetKind, err)
	}
	cur := recordNow{gone: deleted, updateTime: formatUpdateTime(ut)}
	if b, err := json.Marshal(v); err == nil {
		_ = json.Unmarshal(b, &cur.fields)
	}
	return cur, nil
}

// holdsPrevious reports whether fields have every value of prev: null matching a
// missing or empty value.
func holdsPrevious(fields map[string]any, prev map[string]json.RawMessage) bool {
	customNow, _ := fields["custom_fields"].(map[string]any)
	for k, raw := range prev {
		var want any
		if err := json.Unmarshal(raw, &want); err != nil {
			return false
		}
		switch {
		case k == "custom_fields":
			m, ok := want.(map[string]any)
			if !ok {
				return false
			}
			for ck, cv := range m {
				if !samePrevious(cv, customNow[ck]) {
					return false
				}
			}
		case customFieldKeyRE.MatchString(k):
			if !samePrevious(want, customNow[k]) {
				return false
			}
		default:
			if !samePrevious(want, fields[k]) {
				return false
			}
		}
	}
	return true
}

func samePrevious(want, got any) bool {
	if emptyPrevious(want) || emptyPrevious(got) {
		return emptyPrevious(want) && emptyPrevious(got)
	}
	return reflect.DeepEqual(want, got)
}

func emptyPrevious(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// updatedSince reports whether update_time now is later than written; false
// when either is missing or unreadable, as there is nothing to compare.
func updatedSince(now, written string) bool {
	n, ok1 := parseUpdateTime(now)
	w, ok2 := parseUpdateTime(written)
	return ok1 && ok2 && n.After(w)
}

// parseUpdateTime reads a timestamp as Pipedrive writes it (v2 RFC 3339 or v1's
// "2006-01-02 15:04:05" UTC).
func parseUpdateTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	var t pipedrive.Time
	if err := json.Unmarshal([]byte(strconv.Quote(s)), &t); err != nil || t.IsZero() {
		return time.Time{}, false
	}
	return t.Time, true
}

func formatUpdateTime(t pipedrive.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
