package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/transform"
)

// Load kinds: each load step handles one kind, one staged chunk at a time,
// in this dependency order.
const (
	LoadOrganisations = "organisations" // client organisations and referrers' firms
	LoadPersons       = "persons"       // clients and referrers
	LoadDeals         = "deals"         // matters, with their participants
	LoadActivities    = "activities"    // activities and notes
	LoadDocuments     = "documents"     // files
)

// LoadInput is a load step's input: one kind, one chunk of the staged
// manifest's chunk list for that kind (clients/referrers/organisations
// chunks for people, matters chunks for the rest).
type LoadInput struct {
	MigrationID string `json:"migration_id"`
	Run         string `json:"run"`
	Manifest    string `json:"manifest"`
	Kind        string `json:"kind"`
	// Source is the staged kind the chunk belongs to (extract.KindClients…)
	// and Chunk its index in the manifest's list for that kind.
	Source string `json:"source"`
	Chunk  int    `json:"chunk"`
	// Apply writes to Pipedrive; without it the step only plans.
	Apply bool `json:"apply"`
	// Matters, when set, limits the step to these matters and what they
	// need (the review sample).
	Matters []string `json:"matters,omitempty"`
	// Delta makes a delta run (see delta.go): written records whose source
	// changed are updated, field by field, instead of skipped.
	Delta bool `json:"delta,omitempty"`
	// Since is the watermark of the last run (RFC 3339): in a delta run a
	// record whose updated_at is at or before it is unchanged.
	Since string `json:"since,omitempty"`
}

// LoadOutput counts what a load step planned or did, and where the plan is.
type LoadOutput struct {
	MigrationID string `json:"migration_id"`
	Kind        string `json:"kind"`
	Source      string `json:"source"`
	Chunk       int    `json:"chunk"`
	Planned     int    `json:"planned"`
	Created     int    `json:"created"`
	Updated     int    `json:"updated"`
	Linked      int    `json:"linked"`
	Skipped     int    `json:"skipped"`
	Failed      int    `json:"failed"`
	// Plan is the key of the chunk's planned operations (NDJSON of PlannedOp).
	Plan string `json:"plan"`
	// Flags counts records flagged for review (e.g. files split in parts).
	Flags int `json:"flags,omitempty"`
}

// Planned operations.
const (
	PlanCreate = "create"
	PlanUpdate = "update"
	PlanLink   = "link"
	PlanSkip   = "skip"
)

// PlannedOp is one record's planned write: what, why, and the field-level
// diff. It is what the firm reviews before approving.
type PlannedOp struct {
	Key        string             `json:"key"`
	Op         string             `json:"op"`
	TargetKind string             `json:"target_kind"`
	TargetID   int64              `json:"target_id,omitempty"`
	Reason     string             `json:"reason,omitempty"`
	Payload    any                `json:"payload,omitempty"`
	Changes    []transform.Change `json:"changes,omitempty"`
	// Flag says why a person should look at this record, if they should.
	Flag string `json:"flag,omitempty"`
}

// PlanKey is where a load step of a run writes a chunk's planned
// operations: under RunPrefix, so that every run keeps its own.
func PlanKey(migrationID, run, kind, source string, chunk int) string {
	return fmt.Sprintf("%splan/%s/%s-%05d.ndjson", RunPrefix(migrationID, run), kind, source, chunk)
}

// RunPrefix is where a run's own outputs go (its plans and reports).
func RunPrefix(migrationID, run string) string {
	if run == "" {
		run = "unnamed"
	}
	return Prefix(migrationID) + "runs/" + run + "/"
}

// planWriter collects a chunk's planned operations and counts them.
type planWriter struct {
	buf bytes.Buffer
	out *LoadOutput
}

func newPlanWriter(in LoadInput) *planWriter {
	return &planWriter{out: &LoadOutput{MigrationID: in.MigrationID, Kind: in.Kind, Source: in.Source, Chunk: in.Chunk,
		Plan: PlanKey(in.MigrationID, in.Run, in.Kind, in.Source, in.Chunk)}}
}

// add records a planned operation.
func (p *planWriter) add(op PlannedOp) error {
	data, err := json.Marshal(op)
	if err != nil {
		return fmt.Errorf("plan %s: %w", op.Key, err)
	}
	p.buf.Write(data)
	p.buf.WriteByte('\n')
	p.out.Planned++
	if op.Flag != "" {
		p.out.Flags++
	}
	return nil
}

// done counts what a write did.
func (p *planWriter) done(op string, outcome Outcome) {
	if outcome == AlreadyDone {
		p.out.Skipped++
		return
	}
	switch op {
	case PlanCreate:
		p.out.Created++
	case PlanUpdate:
		p.out.Updated++
	case PlanLink:
		p.out.Linked++
	case PlanSkip:
		p.out.Skipped++
	}
}

// save writes the chunk's plan to the store and returns the output.
func (p *planWriter) save(ctx context.Context, e *Env) (LoadOutput, error) {
	if err := e.Store.Put(ctx, p.out.Plan, bytes.NewReader(p.buf.Bytes())); err != nil {
		return *p.out, fmt.Errorf("save plan %s: %w", p.out.Plan, err)
	}
	return *p.out, nil
}

// ledgerOp is the ledger operation for a planned one.
func ledgerOp(op string) ledger.Op {
	switch op {
	case PlanUpdate:
		return ledger.OpUpdate
	case PlanLink:
		return ledger.OpLink
	}
	return ledger.OpCreate
}
