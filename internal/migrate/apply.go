package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// schemaWriter creates the missing items of a schema, each recorded in the
// ledger: pending before the Pipedrive call, written after it.
type schemaWriter struct {
	env       *Env
	migration string
	run       string
	byName    map[string]*PlanItem // pipelines by folded name
}

// LedgerKey is the ledger key of a schema item:
// schema/<kind>/<name>, or schema/stage/<pipeline>/<stage>.
func LedgerKey(it *PlanItem) string {
	if it.Kind == KindStage {
		return "schema/" + it.Kind + "/" + it.Pipeline + "/" + it.Name
	}
	return "schema/" + it.Kind + "/" + it.Name
}

// fieldTarget is what a field's ledger entry keeps in Previous: v2 fields
// have no numeric id, so rollback deletes by field_code.
type fieldTarget struct {
	FieldCode string `json:"field_code"`
}

func (w *schemaWriter) apply(ctx context.Context, items []*PlanItem) error {
	for _, it := range items {
		if it.Kind == KindPipeline {
			w.byName[fold(it.Name)] = it
		}
	}
	for _, it := range items {
		var err error
		switch it.Action {
		case ActionExists:
			err = w.reconcileFound(ctx, it)
		case ActionCreate:
			err = w.create(ctx, it)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// reconcileFound settles a pending ledger entry for an item that exists:
// an earlier run created it and crashed before committing.
func (w *schemaWriter) reconcileFound(ctx context.Context, it *PlanItem) error {
	key := LedgerKey(it)
	e, err := w.env.Ledger.Get(ctx, w.migration, key)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ledger get %s: %w", key, err)
	}
	if e.Status != ledger.StatusPending {
		return nil
	}
	w.commitTarget(&e, it)
	if err := w.env.Ledger.Update(ctx, ledger.StatusPending, e); err != nil {
		return fmt.Errorf("ledger reconcile %s: %w", key, err)
	}
	it.Action = ActionReconciled
	w.env.log().InfoContext(ctx, "schema item reconciled", "migration", w.migration, "kind", it.Kind)
	return nil
}

// commitTarget fills what the entry records of a written item.
func (w *schemaWriter) commitTarget(e *ledger.Entry, it *PlanItem) {
	e.Status = ledger.StatusWritten
	e.Run = w.run
	e.UpdatedAt = w.env.now()
	switch it.Kind {
	case KindDealField, KindPersonField, KindOrganizationField:
		e.TargetID = 0
		e.Previous, _ = json.Marshal(fieldTarget{FieldCode: it.key})
	default:
		e.TargetID = int64(it.id)
	}
	if it.Kind == KindStage {
		if p := w.byName[fold(it.Pipeline)]; p != nil {
			e.ParentID = int64(p.id)
		}
	}
}

// create records the intent, makes the Pipedrive call and commits.
func (w *schemaWriter) create(ctx context.Context, it *PlanItem) error {
	key := LedgerKey(it)
	now := w.env.now()
	e := ledger.Entry{Migration: w.migration, Key: key, Run: w.run, TargetKind: it.Kind, Op: ledger.OpCreate,
		Status: ledger.StatusPending, PayloadHash: payloadHash(it), CreatedAt: now, UpdatedAt: now}
	got, err := w.env.Ledger.Begin(ctx, e)
	switch {
	case errors.Is(err, ledger.ErrExists) && got.Status == ledger.StatusPending:
		// An earlier attempt recorded the intent but, as the item is not
		// in Pipedrive, never made it: this attempt carries it out.
	case errors.Is(err, ledger.ErrExists):
		// Written (or undone) before, and gone from Pipedrive since:
		// record the intent again before creating it anew.
		from := got.Status
		got.Status, got.TargetID, got.Previous, got.Run, got.UpdatedAt = ledger.StatusPending, 0, nil, w.run, now
		got.PayloadHash = e.PayloadHash
		if err := w.env.Ledger.Update(ctx, from, got); err != nil {
			return fmt.Errorf("ledger re-begin %s: %w", key, err)
		}
	case err != nil:
		return fmt.Errorf("ledger begin %s: %w", key, err)
	}
	if err := w.call(ctx, it); err != nil {
		return err
	}
	w.commitTarget(&got, it)
	if err := w.env.Ledger.Update(ctx, ledger.StatusPending, got); err != nil {
		return fmt.Errorf("ledger commit %s: %w", key, err)
	}
	it.Action = ActionCreated
	w.env.log().InfoContext(ctx, "schema item created", "migration", w.migration, "kind", it.Kind)
	return nil
}

// call creates the item in Pipedrive and keeps its key or id.
func (w *schemaWriter) call(ctx context.Context, it *PlanItem) error {
	pd := w.env.Pipedrive
	switch it.Kind {
	case KindDealField, KindPersonField, KindOrganizationField:
		kind := fieldKindOf(it.Kind)
		f, err := pd.CreateField(ctx, kind, pipedrive.FieldInput{Name: it.Name, Type: it.Type, Options: it.Options})
		if err != nil {
			return fromPipedrive(fmt.Sprintf("create %s field", kind), err)
		}
		it.setField(f)
	case KindPipeline:
		p, err := pd.CreatePipeline(ctx, pipedrive.PipelineInput{Name: it.Name})
		if err != nil {
			return fromPipedrive("create pipeline", err)
		}
		it.id = p.ID
	case KindStage:
		p := w.byName[fold(it.Pipeline)]
		if p == nil || p.id == 0 {
			return fmt.Errorf("create stage: pipeline %q has no id", it.Pipeline)
		}
		s, err := pd.CreateStage(ctx, pipedrive.StageInput{Name: it.Name, PipelineID: p.id})
		if err != nil {
			return fromPipedrive("create stage", err)
		}
		it.id = s.ID
	case KindActivityType:
		t, err := pd.CreateActivityType(ctx, pipedrive.ActivityTypeInput{Name: it.Name, IconKey: it.Icon})
		if err != nil {
			return fromPipedrive("create activity type", err)
		}
		it.id, it.keyString = t.ID, t.KeyString
	default:
		return fmt.Errorf("create: unknown schema item kind %q", it.Kind)
	}
	return nil
}

// payloadHash fingerprints what an item is created with.
func payloadHash(it *PlanItem) string {
	b, _ := json.Marshal(struct {
		Kind, Name, Pipeline, Type, Icon string
		Options                          []string
	}{it.Kind, it.Name, it.Pipeline, it.Type, it.Icon, it.Options})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
