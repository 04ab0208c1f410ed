package migrate

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/transform"
)

// activitiesNotePayload is what a note write sends, as the plan shows it.
type activitiesNotePayload struct {
	Content string `json:"content"`
	DealID  int    `json:"deal_id"`
	// AddTime is the original time, UTC, as v1 writes it.
	AddTime string `json:"add_time"`
}

// activitiesNoteLayout is v1's timestamp layout.
const activitiesNoteLayout = "2006-01-02 15:04:05"

// activitiesLoader is the state of one LoadActivities call.
type activitiesLoader struct {
	env    *Env
	in     LoadInput
	mapper transform.Mapper
	refs   *LedgerRefs
	pw     *planWriter
	// Listed only to reconcile a pending entry, once per deal.
	activities map[int][]pipedrive.Activity
	notes      map[int][]pipedrive.Note
}

// LoadActivities plans and, with Apply, makes the activities and notes of
// one matters chunk on their matters' deals: a call, email, meeting, task
// or SMS becomes an Activity due at its original time, done as it was and
// owned by its fee earner's user; a note becomes a Note with its original
// add_time. An activity whose matter has no written deal is skipped
// ("deal not migrated") and counted, not failed. Every write goes through
// Once; a pending entry is reconciled by listing the deal's activities (or
// notes) once and matching subject and due date and time (or content and
// add_time).
//
// Errors are as LoadDeals returns them.
func (e *Env) LoadActivities(ctx context.Context, in LoadInput) (LoadOutput, error) {
	c, err := e.dealsOpenChunk(ctx, &in, LoadActivities)
	if err != nil {
		return LoadOutput{}, err
	}
	l := &activitiesLoader{env: e, in: in, pw: newPlanWriter(in),
		mapper:     transform.Mapper{Config: e.config(), Schema: TransformSchema(c.schema)},
		refs:       &LedgerRefs{Ledger: e.Ledger, Migration: in.MigrationID, Owners: c.owners, Ctx: ctx},
		activities: map[int][]pipedrive.Activity{}, notes: map[int][]pipedrive.Note{}}
	if err := c.each(ctx, e, func(r *extract.MatterRecord) error { return l.matter(ctx, r) }); err != nil {
		return *l.pw.out, err
	}
	out, err := l.pw.save(ctx, e)
	if err != nil {
		return out, err
	}
	e.log().InfoContext(ctx, "activities loaded", "migration", in.MigrationID, "chunk", in.Chunk, "apply", in.Apply,
		"planned", out.Planned, "created", out.Created, "skipped", out.Skipped, "failed", out.Failed)
	return out, nil
}

// activitiesDeal returns the deal the ledger holds written for a matter, 0
// for none.
func activitiesDeal(ctx context.Context, e *Env, migration, matterID string) (int, error) {
	en, has, err := dealsEntry(ctx, e.Ledger, migration, MatterKey(matterID))
	if err != nil || !has || en.Status != ledger.StatusWritten {
		return 0, err
	}
	return int(en.TargetID), nil
}

// activitiesClaims are the Pipedrive ids the ledger holds for one
// matter's written records (its activities, or its documents' files), read
// on first need, so that reconciling one record never takes another's
// look-alike (two "Call" activities at the same minute, two files of the
// same name).
type activitiesClaims struct {
	env       *Env
	migration string
	keys      []string
	ids       map[int64]bool
}

// get returns the claimed ids, reading the ledger once.
func (c *activitiesClaims) get(ctx context.Context) (map[int64]bool, error) {
	if c.ids != nil {
		return c.ids, nil
	}
	ids := map[int64]bool{}
	for _, k := range c.keys {
		en, has, err := dealsEntry(ctx, c.env.Ledger, c.migration, k)
		if err != nil {
			return nil, err
		}
		if has && en.Status == ledger.StatusWritten && en.TargetID != 0 {
			ids[en.TargetID] = true
		}
	}
	c.ids = ids
	return ids, nil
}

// add claims an id written or reconciled since the ledger was read.
func (c *activitiesClaims) add(id int64) {
	if c.ids != nil {
		c.ids[id] = true
	}
}

// matter plans and makes one matter's activities and notes.
func (l *activitiesLoader) matter(ctx context.Context, rec *extract.MatterRecord) error {
	if len(rec.Activities) == 0 {
		return nil
	}
	dealID, err := activitiesDeal(ctx, l.env, l.in.MigrationID, rec.Matter.ID)
	if err != nil {
		return err
	}
	keys := make([]string, len(rec.Activities))
	for i, a := range rec.Activities {
		keys[i] = ActivityKey(a.ID)
	}
	claim := &activitiesClaims{env: l.env, migration: l.in.MigrationID, keys: keys}
	for i := range rec.Activities {
		if err := l.activity(ctx, rec.Activities[i], dealID, claim); err != nil {
			return err
		}
	}
	return nil
}

// activity plans and makes one activity or note.
func (l *activitiesLoader) activity(ctx context.Context, a pp.Activity, dealID int, claim *activitiesClaims) error {
	key := ActivityKey(a.ID)
	note := transform.IsNote(a)
	op := PlannedOp{Key: key, TargetKind: "activity"}
	var (
		act    pipedrive.ActivityInput
		ni     pipedrive.NoteInput
		merr   error
		source = "activity"
	)
	if note {
		var changes []transform.Change
		ni, changes = l.mapper.Note(a, dealID, l.refs)
		op.TargetKind, op.Changes, source = "note", changes, "note"
		op.Payload = activitiesNotePayload{Content: ni.Content, DealID: dealID, AddTime: ni.AddTime.UTC().Format(activitiesNoteLayout)}
		if strings.TrimSpace(ni.Content) == "" {
			merr = errors.New("the note has no subject and no body")
		}
	} else {
		var changes []transform.Change
		act, changes, merr = l.mapper.Activity(a, dealID, l.refs)
		op.Payload, op.Changes = act, changes
	}

	entry, has, err := dealsEntry(ctx, l.env.Ledger, l.in.MigrationID, key)
	if err != nil {
		return err
	}
	switch {
	case has && entry.Status == ledger.StatusWritten && l.in.Delta && merr == nil:
		return l.env.deltaWritten(ctx, l.in, l.pw, deltaItem{op: op, entry: entry, payload: op.Payload, sourceKind: source, sourceID: a.ID})
	case has && entry.Status == ledger.StatusWritten:
		op.Op, op.Reason, op.TargetID, op.Payload, op.Changes = PlanSkip, dealsReasonWritten, entry.TargetID, nil, nil
		if err := l.pw.add(op); err != nil {
			return err
		}
		l.pw.out.Skipped++
		return nil
	case merr != nil:
		return dealsFailed(l.pw, op, merr)
	case dealID == 0 && l.in.Apply:
		op.Op, op.Reason = PlanSkip, dealsReasonDealMissing
		if err := l.pw.add(op); err != nil {
			return err
		}
		l.pw.out.Skipped++
		return nil
	}
	op.Op = PlanCreate
	switch {
	case dealID == 0:
		op.Reason = dealsReasonDealLater
	case has && entry.Status == ledger.StatusPending:
		op.Reason = dealsReasonPending
	}
	if !l.in.Apply {
		return l.pw.add(op)
	}

	w := Write{Migration: l.in.MigrationID, Run: l.in.Run, Key: key, SourceKind: source, SourceID: a.ID,
		TargetKind: op.TargetKind, Op: ledger.OpCreate, ParentID: int64(dealID), Payload: op.Payload}
	if note {
		w.Call = func(ctx context.Context) (int64, string, error) {
			n, err := l.env.Pipedrive.CreateNote(ctx, ni)
			if err != nil {
				if lost(err) {
					delete(l.notes, ni.DealID) // Find lists the deal's notes again
				}
				return 0, "", fromPipedrive("create note", err)
			}
			return int64(n.ID), dealsStamp(n.UpdateTime), nil
		}
		w.Find = func(ctx context.Context) (int64, string, bool, error) {
			return l.findNote(ctx, ni, claim)
		}
	} else {
		w.Call = func(ctx context.Context) (int64, string, error) {
			got, err := l.env.Pipedrive.CreateActivity(ctx, act)
			if err != nil {
				if lost(err) {
					delete(l.activities, act.DealID) // Find lists the deal's activities again
				}
				return 0, "", fromPipedrive("create activity", err)
			}
			return int64(got.ID), dealsStamp(got.UpdateTime), nil
		}
		w.Find = func(ctx context.Context) (int64, string, bool, error) {
			return l.findActivity(ctx, act, claim)
		}
	}
	id, outcome, err := l.env.Once(ctx, w)
	if err != nil {
		if dealsRecordError(err) {
			return l.env.dealsRejected(ctx, l.pw, l.in.MigrationID, op, err)
		}
		return err
	}
	claim.add(id)
	op.TargetID = id
	if err := l.pw.add(op); err != nil {
		return err
	}
	l.pw.done(op.Op, outcome)
	return nil
}

// activitiesClock is a time of day as HH:MM, whatever the seconds.
func activitiesClock(s string) string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// findActivity looks on the deal for an activity an interrupted write made:
// the same subject, type and due date and time, not already another
// record's.
func (l *activitiesLoader) findActivity(ctx context.Context, in pipedrive.ActivityInput, claim *activitiesClaims) (int64, string, bool, error) {
	list, ok := l.activities[in.DealID]
	if !ok {
		err := l.env.Pipedrive.ListActivities(ctx, pipedrive.ActivityListOptions{DealID: in.DealID}, func(a pipedrive.Activity) error {
			if !a.IsDeleted {
				list = append(list, a)
			}
			return nil
		})
		if err != nil {
			return 0, "", false, fromPipedrive("list deal activities", err)
		}
		l.activities[in.DealID] = list
	}
	claimed, err := claim.get(ctx)
	if err != nil {
		return 0, "", false, err
	}
	for _, a := range list {
		if a.DealID == in.DealID && a.Subject == in.Subject && a.Type == in.Type && a.DueDate == in.DueDate &&
			activitiesClock(a.DueTime) == activitiesClock(in.DueTime) && !claimed[int64(a.ID)] {
			return int64(a.ID), dealsStamp(a.UpdateTime), true, nil
		}
	}
	return 0, "", false, nil
}

// findNote looks on the deal for a note an interrupted write made: the
// same content and add_time (to the second), not already another record's.
func (l *activitiesLoader) findNote(ctx context.Context, in pipedrive.NoteInput, claim *activitiesClaims) (int64, string, bool, error) {
	list, ok := l.notes[in.DealID]
	if !ok {
		err := l.env.Pipedrive.ListNotes(ctx, pipedrive.NoteListOptions{DealID: in.DealID}, func(n pipedrive.Note) error {
			if n.ActiveFlag {
				list = append(list, n)
			}
			return nil
		})
		if err != nil {
			return 0, "", false, fromPipedrive("list deal notes", err)
		}
		l.notes[in.DealID] = list
	}
	claimed, err := claim.get(ctx)
	if err != nil {
		return 0, "", false, err
	}
	want := in.AddTime.UTC().Truncate(time.Second)
	for _, n := range list {
		if n.DealID == in.DealID && n.Content == in.Content && n.AddTime.UTC().Truncate(time.Second).Equal(want) && !claimed[int64(n.ID)] {
			return int64(n.ID), dealsStamp(n.UpdateTime), true, nil
		}
	}
	return 0, "", false, nil
}
