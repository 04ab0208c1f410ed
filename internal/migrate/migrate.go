// Package migrate holds the step handlers that prepare Pipedrive for a
// migration and decide where every record goes: Schema (custom fields,
// pipelines, stages and activity types, find-or-create by name), MapStages
// (every source Key Stage to a Pipedrive stage, or a stop for review) and
// ResolveOwners (fee earners to Pipedrive users).
//
// Each step is a method of Env with a JSON-serialisable input and output
// that carry references (blob keys, counts), never records. What a step
// decides is written as JSON under migrations/<id>/ in the blob store, and
// the later steps read it from there.
package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// Env holds what the steps depend on. Store, and for Schema and
// ResolveOwners Pipedrive, are required; the rest have defaults.
type Env struct {
	// Store holds the staged export and receives what the steps decide.
	Store blob.Store
	// Ledger records every write Schema makes in Pipedrive.
	Ledger ledger.Store
	// Pipedrive is the firm's company (or a sandbox).
	Pipedrive *pipedrive.Client
	// Config is the mapping configuration; nil means mapping.Default().
	Config *mapping.Config
	// Now tells the time for ledger entries; nil means time.Now.
	Now func() time.Time
	// Log receives counts and keys, never names or emails; nil discards.
	Log *slog.Logger
	// LostAnswerRetries is how many times a load looks for the record of a
	// write whose answer was lost (*pipedrive.OutcomeUnknownError) and, not
	// finding it, sends the write again, before it stops the step with the
	// error and leaves the ledger entry pending for the step's next attempt
	// to reconcile. Zero stops at the first lost answer. The state machine's
	// retries allow a load step a handful of attempts, so a chunk of a few
	// hundred writes needs this when a few per cent of answers are lost.
	LostAnswerRetries int
}

// Keys of what the steps write, under migrations/<id>/.
const (
	SchemaName          = "schema.json"
	SchemaPlanName      = "schema-plan.json"
	SchemaChecklistName = "schema-checklist.md"
	StageMapName        = "stage-map.json"
	OwnersName          = "owners.json"
)

// Prefix is where a migration's step results live in the blob store.
func Prefix(migrationID string) string { return "migrations/" + migrationID + "/" }

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)

func checkInput(migrationID, manifest string) error {
	if !idPattern.MatchString(migrationID) {
		return &InputError{Msg: fmt.Sprintf("migration_id %q: use letters, digits, '.', '_' and '-' (up to 80)", migrationID)}
	}
	if manifest == "" || blob.ValidKey(manifest) != nil {
		return &InputError{Msg: fmt.Sprintf("manifest %q is not a key in the bucket", manifest)}
	}
	return nil
}

func (e *Env) config() *mapping.Config {
	if e.Config == nil {
		return mapping.Default()
	}
	return e.Config
}

func (e *Env) now() time.Time {
	if e.Now == nil {
		return time.Now().UTC()
	}
	return e.Now().UTC()
}

func (e *Env) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// putJSON writes v, indented, at key.
func (e *Env) putJSON(ctx context.Context, key string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := e.Store.Put(ctx, key, bytes.NewReader(append(data, '\n'))); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// getJSON reads key into v; a missing key wraps blob.ErrNotFound.
func getJSON(ctx context.Context, store blob.Store, key string, v any) error {
	data, err := store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

// fromPipedrive passes Pipedrive's named errors on as they are (they name
// the endpoint, and Step Functions matches on their type names) and wraps
// anything else with what was being done.
func fromPipedrive(doing string, err error) error {
	if err == nil {
		return nil
	}
	var (
		budget   *pipedrive.BudgetExhaustedError
		blocked  *pipedrive.BlockedError
		unauth   *pipedrive.UnauthorizedError
		invalid  *pipedrive.ValidationError
		notFound *pipedrive.NotFoundError
		unknown  *pipedrive.OutcomeUnknownError
		api      *pipedrive.APIError
		trans    *pipedrive.TransportError
	)
	switch {
	case errors.As(err, &budget):
		return budget
	case errors.As(err, &blocked):
		return blocked
	case errors.As(err, &unauth):
		return unauth
	case errors.As(err, &invalid):
		return invalid
	case errors.As(err, &notFound):
		return notFound
	case errors.As(err, &unknown):
		return unknown
	case errors.As(err, &api):
		return api
	case errors.As(err, &trans):
		return trans
	}
	return fmt.Errorf("%s: %w", doing, err)
}
