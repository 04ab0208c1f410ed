package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pdindex"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/transform"
)

// Reasons a planned operation gives, shared by the matters load steps.
const (
	dealsReasonWritten        = "already written"
	dealsReasonPending        = "an interrupted write: looked for in Pipedrive before anything is sent again"
	dealsReasonDealMissing    = "deal not migrated"
	dealsReasonDealLater      = "deal not migrated yet: made after the deals step"
	dealsReasonPersonMissing  = "person not migrated"
	dealsReasonPersonLater    = "person not migrated yet: added after the people steps"
	dealsReasonFoundBySource  = "found in Pipedrive by its Perfect Portal ID"
	dealsReasonDealPerson     = "the deal's own person"
	dealsReasonSamePerson     = "the same Pipedrive person as another participant"
	dealsReasonParticipantHas = "already a participant of the deal"
)

// dealsChunk is one matters chunk opened for a load step, with what every
// matters step reads once per chunk.
type dealsChunk struct {
	key    string
	schema *SchemaMap
	owners *OwnerMap
	st     *staged
	only   map[string]bool
}

// dealsOpenChunk checks a matters load step's input and reads the staged
// manifest, the schema map and the owner map. Bad input, a missing
// manifest and a chunk the manifest does not list are *InputError.
func (e *Env) dealsOpenChunk(ctx context.Context, in *LoadInput, kind string) (*dealsChunk, error) {
	if err := checkInput(in.MigrationID, in.Manifest); err != nil {
		return nil, err
	}
	if in.Kind == "" {
		in.Kind = kind
	}
	if in.Kind != kind {
		return nil, &InputError{Msg: fmt.Sprintf("kind %q: this step loads %s", in.Kind, kind)}
	}
	if in.Source != extract.KindMatters {
		return nil, &InputError{Msg: fmt.Sprintf("source %q: %s load from %s chunks", in.Source, kind, extract.KindMatters)}
	}
	if e.Pipedrive == nil || e.Ledger == nil {
		return nil, fmt.Errorf("migrate: loading %s needs a Pipedrive client and a ledger", kind)
	}
	st, err := openStaged(ctx, e.Store, in.Manifest)
	if err != nil {
		return nil, err
	}
	chunks := st.manifest.Kinds[extract.KindMatters].Chunks
	if in.Chunk < 0 || in.Chunk >= len(chunks) {
		return nil, &InputError{Msg: fmt.Sprintf("chunk %d: the manifest lists %d matters chunks", in.Chunk, len(chunks))}
	}
	schema, err := loadSchemaFor(ctx, e, *in)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, &InputError{Msg: "no schema.json for migration " + in.MigrationID + ": apply the schema step first"}
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: the schema step's map: %w", kind, err)
	}
	owners, err := LoadOwnerMap(ctx, e.Store, in.MigrationID)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, &InputError{Msg: "no owners.json for migration " + in.MigrationID + ": run the owners step first"}
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: the owners step's map: %w", kind, err)
	}
	c := &dealsChunk{key: st.prefix + chunks[in.Chunk].Key, schema: schema, owners: owners, st: st}
	if len(in.Matters) > 0 {
		c.only = map[string]bool{}
		for _, id := range in.Matters {
			c.only[id] = true
		}
	}
	return c, nil
}

// each calls fn with every matter of the chunk the input selects.
func (c *dealsChunk) each(ctx context.Context, e *Env, fn func(*extract.MatterRecord) error) error {
	return eachInChunk(ctx, e.Store, c.key, func(r *extract.MatterRecord) error {
		if c.only != nil && !c.only[r.Matter.ID] {
			return nil
		}
		return fn(r)
	})
}

// dealsEntry returns the ledger entry under key, or found=false.
func dealsEntry(ctx context.Context, l ledger.Store, migration, key string) (ledger.Entry, bool, error) {
	en, err := l.Get(ctx, migration, key)
	if errors.Is(err, ledger.ErrNotFound) {
		return ledger.Entry{}, false, nil
	}
	if err != nil {
		return ledger.Entry{}, false, fmt.Errorf("ledger get %s: %w", key, err)
	}
	return en, true, nil
}

// dealsRecordError reports whether err concerns one record only (Pipedrive
// refused its content), so that the step counts it and goes on.
func dealsRecordError(err error) bool {
	var invalid *pipedrive.ValidationError
	return errors.As(err, &invalid)
}

// dealsRejected records a write Pipedrive refused: its entry, left
// pending by Once, is abandoned (the write never happened, so a later run
// makes it anew without looking for it first), and the record is counted
// Failed and flagged.
func (e *Env) dealsRejected(ctx context.Context, pw *planWriter, migration string, op PlannedOp, cause error) error {
	en, has, err := dealsEntry(ctx, e.Ledger, migration, op.Key)
	if err != nil {
		return err
	}
	if has && en.Status == ledger.StatusPending {
		en.Status = ledger.StatusAbandoned
		if err := e.Ledger.Update(ctx, ledger.StatusPending, en); err != nil {
			return fmt.Errorf("ledger abandon %s: %w", op.Key, err)
		}
	}
	return dealsFailed(pw, op, cause)
}

// dealsStamp is an update_time as the ledger keeps it.
func dealsStamp(t pipedrive.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// dealsFailed records a record that cannot be written: counted Failed and
// flagged in the plan.
func dealsFailed(pw *planWriter, op PlannedOp, err error) error {
	op.Op, op.Reason, op.Flag = PlanSkip, "failed", "failed: "+err.Error()
	if aerr := pw.add(op); aerr != nil {
		return aerr
	}
	pw.out.Failed++
	return nil
}

// dealsLoader is the state of one LoadDeals call.
type dealsLoader struct {
	env       *Env
	in        LoadInput
	mapper    transform.Mapper
	refs      *LedgerRefs
	pw        *planWriter
	sourceKey string
	ix        *pdindex.Index
}

// LoadDeals plans and, with Apply, makes the deals of one matters chunk:
// each matter's deal (created; skipped when the ledger holds it written;
// linked when Pipedrive already has a deal with its Perfect Portal ID and
// the ledger none), then a participant for every joint client and
// referrer whose person is written. Every write goes through Once. The
// plan, with payloads and the field-level diff, is written to PlanKey; a
// plan-only call writes nothing to Pipedrive.
//
// A record Pipedrive refuses, or that cannot be mapped, is counted Failed
// and flagged in the plan, and the step goes on. Pipedrive's named errors
// (BudgetExhaustedError, OutcomeUnknownError, BlockedError…) stop the step
// and come back as they are; bad input is *InputError; failures of the
// store or the ledger come back wrapped.
func (e *Env) LoadDeals(ctx context.Context, in LoadInput) (LoadOutput, error) {
	c, err := e.dealsOpenChunk(ctx, &in, LoadDeals)
	if err != nil {
		return LoadOutput{}, err
	}
	// The clients' organisations, filled in from each matter's client
	// links as it is loaded: the step reads its own chunk and nothing more.
	if err := c.st.needsClientOrgs(); err != nil {
		return LoadOutput{}, err
	}
	orgs := map[string]string{}
	l := &dealsLoader{env: e, in: in, pw: newPlanWriter(in),
		mapper: transform.Mapper{Config: e.config(), Schema: TransformSchema(c.schema)},
		refs:   &LedgerRefs{Ledger: e.Ledger, Migration: in.MigrationID, Owners: c.owners, ClientOrgs: orgs, Ctx: ctx}}
	if f, ok := c.schema.Field(string(transform.Deal), transform.FieldSourceID); ok {
		l.sourceKey = f.Key
	}
	err = c.each(ctx, e, func(r *extract.MatterRecord) error {
		for _, mc := range r.Clients {
			if mc.OrganisationID != "" {
				orgs[mc.ClientID] = mc.OrganisationID
			}
		}
		return l.matter(ctx, r)
	})
	if err != nil {
		return *l.pw.out, err
	}
	out, err := l.pw.save(ctx, e)
	if err != nil {
		return out, err
	}
	e.log().InfoContext(ctx, "deals loaded", "migration", in.MigrationID, "chunk", in.Chunk, "apply", in.Apply,
		"planned", out.Planned, "created", out.Created, "linked", out.Linked, "skipped", out.Skipped, "failed", out.Failed)
	return out, nil
}

// index lists the account's deals by Perfect Portal ID, once per call, on
// first need: a chunk whose deals are all written lists nothing.
func (l *dealsLoader) index(ctx context.Context) (*pdindex.Index, error) {
	if l.ix != nil {
		return l.ix, nil
	}
	ix := pdindex.New()
	err := l.env.Pipedrive.ListDeals(ctx, pipedrive.DealListOptions{}, func(d pipedrive.Deal) error {
		ix.AddDeal(d, l.sourceKey)
		return nil
	})
	if err != nil {
		return nil, fromPipedrive("list deals", err)
	}
	l.ix = ix
	return ix, nil
}

// matter plans and makes one matter's deal and participants.
func (l *dealsLoader) matter(ctx context.Context, rec *extract.MatterRecord) error {
	id := rec.Matter.ID
	key := MatterKey(id)
	payload, changes, terr := l.mapper.Deal(*rec, l.refs)
	op := PlannedOp{Key: key, TargetKind: "deal", Payload: payload, Changes: changes}
	entry, has, err := dealsEntry(ctx, l.env.Ledger, l.in.MigrationID, key)
	if err != nil {
		return err
	}
	var dealID int64
	linked := false
	switch {
	case has && entry.Status == ledger.StatusWritten && l.in.Delta && terr == nil:
		if err := l.env.deltaWritten(ctx, l.in, l.pw, deltaItem{op: op, entry: entry, payload: payload,
			updatedAt: rec.Matter.UpdatedAt, sourceKind: "matter", sourceID: id}); err != nil {
			return err
		}
		return l.participants(ctx, rec, entry.TargetID, payload.PersonID, entry.Op == ledger.OpLink)
	case has && entry.Status == ledger.StatusWritten:
		op.Op, op.Reason, op.TargetID, op.Payload, op.Changes = PlanSkip, dealsReasonWritten, entry.TargetID, nil, nil
		if err := l.pw.add(op); err != nil {
			return err
		}
		l.pw.out.Skipped++
		dealID, linked = entry.TargetID, entry.Op == ledger.OpLink
		return l.participants(ctx, rec, dealID, payload.PersonID, linked)
	case terr != nil:
		return dealsFailed(l.pw, op, terr)
	case has && entry.Status == ledger.StatusPending:
		op.Op, op.Reason = PlanCreate, dealsReasonPending
		if entry.Op == ledger.OpLink {
			op.Op, op.TargetID = PlanLink, entry.TargetID
		}
	default:
		ix, err := l.index(ctx)
		if err != nil {
			return err
		}
		op.Op = PlanCreate
		if found, ok := ix.DealBySource(id); ok {
			op.Op, op.Reason, op.TargetID = PlanLink, dealsReasonFoundBySource, int64(found)
			linked = true
		}
	}
	if !l.in.Apply {
		if err := l.pw.add(op); err != nil {
			return err
		}
		return l.participants(ctx, rec, op.TargetID, payload.PersonID, linked)
	}

	w := Write{Migration: l.in.MigrationID, Run: l.in.Run, Key: key, SourceKind: "matter", SourceID: id,
		TargetKind: "deal", Op: ledgerOp(op.Op), Payload: payload, TargetID: op.TargetID,
		Find: func(ctx context.Context) (int64, string, bool, error) {
			ix, err := l.index(ctx)
			if err != nil {
				return 0, "", false, err
			}
			found, ok := ix.DealBySource(id)
			if !ok {
				return 0, "", false, nil
			}
			return int64(found), dealsStamp(ix.Deals[found].UpdateTime), true, nil
		}}
	if op.Op == PlanCreate {
		w.Call = func(ctx context.Context) (int64, string, error) {
			d, err := l.env.Pipedrive.CreateDeal(ctx, payload)
			if err != nil {
				if lost(err) {
					l.ix = nil // Find lists the deals again
				}
				return 0, "", fromPipedrive("create deal", err)
			}
			if l.ix != nil {
				l.ix.AddDeal(d, l.sourceKey)
			}
			return int64(d.ID), dealsStamp(d.UpdateTime), nil
		}
	}
	dealID, outcome, err := l.env.Once(ctx, w)
	if err != nil {
		if dealsRecordError(err) {
			return l.env.dealsRejected(ctx, l.pw, l.in.MigrationID, op, err)
		}
		return err
	}
	op.TargetID = dealID
	if err := l.pw.add(op); err != nil {
		return err
	}
	l.pw.done(op.Op, outcome)
	return l.participants(ctx, rec, dealID, payload.PersonID, linked)
}

// dealsParticipantPayload is what a participant write sends.
type dealsParticipantPayload struct {
	DealID   int64 `json:"deal_id"`
	PersonID int   `json:"person_id"`
}

// participants adds every joint client and referrer of the matter whose
// person is written to its deal (dealID 0: the deal is only planned).
// On a linked deal, which existed before the migration, a person already
// taking part is linked rather than added again.
func (l *dealsLoader) participants(ctx context.Context, rec *extract.MatterRecord, dealID int64, dealPerson int, linked bool) error {
	var existing map[int]pipedrive.Participant
	list := func(ctx context.Context) (map[int]pipedrive.Participant, error) {
		if existing != nil {
			return existing, nil
		}
		m := map[int]pipedrive.Participant{}
		err := l.env.Pipedrive.ListParticipants(ctx, int(dealID), pipedrive.ListOptions{}, func(p pipedrive.Participant) error {
			if p.ActiveFlag {
				m[p.PersonID] = p
			}
			return nil
		})
		if err != nil {
			return nil, fromPipedrive("list deal participants", err)
		}
		existing = m
		return m, nil
	}
	seen := map[int]bool{}
	for _, person := range transform.DealPeople(*rec) {
		key := ParticipantKey(rec.Matter.ID, person)
		pid, written := l.refs.Person(person)
		payload := dealsParticipantPayload{DealID: dealID, PersonID: pid}
		op := PlannedOp{Key: key, TargetKind: "participant", Payload: payload}
		entry, has, err := dealsEntry(ctx, l.env.Ledger, l.in.MigrationID, key)
		if err != nil {
			return err
		}
		skip := func(reason string, id int64) error {
			op.Op, op.Reason, op.TargetID = PlanSkip, reason, id
			if err := l.pw.add(op); err != nil {
				return err
			}
			l.pw.out.Skipped++
			return nil
		}
		switch {
		case has && entry.Status == ledger.StatusWritten:
			seen[pid] = true
			if err := skip(dealsReasonWritten, entry.TargetID); err != nil {
				return err
			}
			continue
		case !written && l.in.Apply:
			if err := skip(dealsReasonPersonMissing, 0); err != nil {
				return err
			}
			continue
		case dealID == 0 && l.in.Apply:
			if err := skip(dealsReasonDealMissing, 0); err != nil {
				return err
			}
			continue
		case written && pid == dealPerson:
			if err := skip(dealsReasonDealPerson, 0); err != nil {
				return err
			}
			continue
		case written && seen[pid]:
			if err := skip(dealsReasonSamePerson, 0); err != nil {
				return err
			}
			continue
		}
		seen[pid] = true
		op.Op = PlanCreate
		switch {
		case !written:
			op.Reason = dealsReasonPersonLater
		case dealID == 0:
			op.Reason = dealsReasonDealLater
		case has && entry.Status == ledger.StatusPending:
			op.Reason = dealsReasonPending
		case linked:
			m, err := list(ctx)
			if err != nil {
				return err
			}
			if p, ok := m[pid]; ok {
				op.Op, op.Reason, op.TargetID = PlanLink, dealsReasonParticipantHas, int64(p.ID)
			}
		}
		if !l.in.Apply {
			if err := l.pw.add(op); err != nil {
				return err
			}
			continue
		}
		w := Write{Migration: l.in.MigrationID, Run: l.in.Run, Key: key, SourceKind: "matter_participant", SourceID: rec.Matter.ID,
			TargetKind: "participant", Op: ledgerOp(op.Op), ParentID: dealID, Payload: payload, TargetID: op.TargetID,
			Find: func(ctx context.Context) (int64, string, bool, error) {
				m, err := list(ctx)
				if err != nil {
					return 0, "", false, err
				}
				p, ok := m[pid]
				return int64(p.ID), "", ok, nil
			}}
		if op.Op == PlanCreate {
			w.Call = func(ctx context.Context) (int64, string, error) {
				p, err := l.env.Pipedrive.AddParticipant(ctx, int(dealID), pid)
				if err != nil {
					if lost(err) {
						existing = nil // Find lists the participants again
					}
					return 0, "", fromPipedrive("add deal participant", err)
				}
				if existing != nil {
					existing[pid] = p
				}
				return int64(p.ID), "", nil
			}
		}
		id, outcome, err := l.env.Once(ctx, w)
		if err != nil {
			if dealsRecordError(err) {
				if err := l.env.dealsRejected(ctx, l.pw, l.in.MigrationID, op, err); err != nil {
					return err
				}
				continue
			}
			return err
		}
		op.TargetID = id
		if err := l.pw.add(op); err != nil {
			return err
		}
		l.pw.done(op.Op, outcome)
	}
	return nil
}
