// Package steps holds the handlers the migration and rollback state
// machines call, one per Lambda function (functions/<step>/main.go wires
// one and calls lambda.Start) and all of them in-process when `conveyor
// run` executes the same state machine definitions locally.
//
// A handler takes and returns JSON-serialisable values that carry
// references (blob keys, chunk numbers, counts), never records; Step
// Functions keeps a state under 256 KB. Errors come back as named types,
// unwrapped, because aws-lambda-go reports the Go type name of the error a
// handler returns and the definitions' Retry and Catch match on it:
// migrate's and pipedrive's named errors as they are, anything else (the
// store, the ledger) as *StoreError, which the definitions retry.
package steps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// Deps is what the handlers depend on: on AWS the bucket, the DynamoDB
// ledger and a client for the firm's company; locally the state directory's
// store and ledger and the company's client (or the sandbox's).
type Deps struct {
	Store  blob.Store
	Ledger ledger.Store
	// Pipedrive returns the client for one invocation of a step that runs
	// beside workers-1 others sharing the company's API token (workers <=
	// 1: alone). Steps that do not call Pipedrive never ask for one.
	Pipedrive func(ctx context.Context, workers int) (*pipedrive.Client, error)
	// OpenBundle opens an export bundle by the reference an execution
	// input gives: a key prefix (or .zip key) in Store on AWS; locally a
	// directory, a .zip or s3:// URL as well.
	OpenBundle func(ctx context.Context, export string) (*pp.Bundle, error)
	// Plan and Seats are the company's Pipedrive plan and seats.
	Plan  string
	Seats int
	// DefaultOwner, when set, overrides the configuration's default owner
	// (a Pipedrive user's email).
	DefaultOwner string
	// LedgerTTL, when positive, is how long ledger entries are kept
	// (the rollback window); DynamoDB's TTL drops them after.
	LedgerTTL time.Duration
	// Now tells the time; nil means time.Now.
	Now func() time.Time
	// Log receives ids, counts and durations, never client data; nil discards.
	Log *slog.Logger
}

func (d *Deps) now() time.Time {
	if d.Now == nil {
		return time.Now().UTC()
	}
	return d.Now().UTC()
}

func (d *Deps) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

// env builds the migration environment for one invocation: the
// configuration the execution names (configKey, "" for the default) and,
// when pd, a Pipedrive client for workers concurrent invocations.
func (d *Deps) env(ctx context.Context, configKey string, pd bool, workers int) (*migrate.Env, error) {
	cfg, err := d.config(ctx, configKey)
	if err != nil {
		return nil, err
	}
	e := &migrate.Env{Store: d.Store, Ledger: d.Ledger, Config: cfg, Now: d.Now, Log: d.Log, LostAnswerRetries: lostAnswerRetries}
	if d.LedgerTTL > 0 && d.Ledger != nil {
		e.Ledger = expiring{Store: d.Ledger, ttl: d.LedgerTTL, now: d.now}
	}
	if pd {
		if d.Pipedrive == nil {
			return nil, errors.New("steps: no Pipedrive client configured")
		}
		if e.Pipedrive, err = d.Pipedrive(ctx, workers); err != nil {
			return nil, &ConfigError{Msg: "pipedrive: " + err.Error()}
		}
	}
	return e, nil
}

// lostAnswerRetries is how many times a load step looks for, and failing
// that sends again, a write whose answer was lost, before the step fails
// with OutcomeUnknownError (see migrate.Env.LostAnswerRetries). The
// definitions retry that error five times per chunk: without this, a
// chunk of a few hundred writes fails the run at a few per cent of
// dropped connections and timeouts.
const lostAnswerRetries = 3

// config reads the mapping configuration an execution names.
func (d *Deps) config(ctx context.Context, key string) (*mapping.Config, error) {
	cfg := mapping.Default()
	if key != "" {
		data, err := d.Store.Get(ctx, key)
		if errors.Is(err, blob.ErrNotFound) {
			return nil, &migrate.InputError{Msg: fmt.Sprintf("config %s: no such object in the bucket", key)}
		}
		if err != nil {
			return nil, &StoreError{Err: fmt.Errorf("config %s: %w", key, err)}
		}
		if cfg, err = mapping.Parse(key, data); err != nil {
			return nil, &migrate.InputError{Msg: err.Error()}
		}
	}
	if d.DefaultOwner != "" {
		cfg.Owners.Default = d.DefaultOwner
	}
	return cfg, nil
}

// expiring stamps every new ledger entry with the end of the rollback window.
type expiring struct {
	ledger.Store
	ttl time.Duration
	now func() time.Time
}

func (x expiring) Begin(ctx context.Context, e ledger.Entry) (ledger.Entry, error) {
	if e.ExpiresAt.IsZero() {
		e.ExpiresAt = x.now().Add(x.ttl)
	}
	return x.Store.Begin(ctx, e)
}

// StoreError is a failure of the bucket or the ledger (or anything else not
// named): worth retrying.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// ConfigError is the deployment's configuration being wrong (the token
// secret unreadable, the plan unknown): not worth retrying.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

// ReviewRequiredError stops a run for a person to look: the audit found
// error flags, or a source stage has no destination.
type ReviewRequiredError struct{ Msg string }

func (e *ReviewRequiredError) Error() string { return e.Msg }

// named returns err as the definitions expect it: a named error of the
// migration or the client as it is, anything else as *StoreError.
func named(err error) error {
	if err == nil {
		return nil
	}
	var (
		input     *migrate.InputError
		fieldCap  *migrate.FieldCapError
		conflict  *migrate.SchemaConflictError
		owner     *migrate.DefaultOwnerError
		mismatch  *migrate.VerifyMismatchError
		xInput    *extract.InputError
		bundle    *extract.BundleError
		budget    *pipedrive.BudgetExhaustedError
		blocked   *pipedrive.BlockedError
		unauth    *pipedrive.UnauthorizedError
		invalid   *pipedrive.ValidationError
		notFound  *pipedrive.NotFoundError
		unknown   *pipedrive.OutcomeUnknownError
		api       *pipedrive.APIError
		transport *pipedrive.TransportError
		store     *StoreError
		config    *ConfigError
		review    *ReviewRequiredError
	)
	switch {
	case errors.As(err, &input):
		return input
	case errors.As(err, &fieldCap):
		return fieldCap
	case errors.As(err, &conflict):
		return conflict
	case errors.As(err, &owner):
		return owner
	case errors.As(err, &mismatch):
		return mismatch
	case errors.As(err, &xInput):
		return xInput
	case errors.As(err, &bundle):
		return bundle
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
	case errors.As(err, &transport):
		return transport
	case errors.As(err, &store):
		return store
	case errors.As(err, &config):
		return config
	case errors.As(err, &review):
		return review
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return &StoreError{Err: err}
}
