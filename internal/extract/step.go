package extract

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// StepInput is the extract step's input as a state machine passes it:
// references into the blob store, never records.
type StepInput struct {
	MigrationID string `json:"migration_id"`
	// Export is the bundle's key prefix (a folder) or the key of a .zip.
	Export string `json:"export"`
	// Config is the key of a mapping configuration; "" means the default.
	Config string `json:"config,omitempty"`
	Plan   string `json:"plan,omitempty"`
	Seats  int    `json:"seats,omitempty"`
}

// StepOutput is what the extract step hands on: keys and counts.
type StepOutput struct {
	MigrationID string `json:"migration_id"`
	// Manifest is the key of the staged chunk manifest; Audit the audit's.
	Manifest string                 `json:"manifest"`
	Audit    string                 `json:"audit"`
	Trusted  bool                   `json:"trusted"`
	Errors   int                    `json:"errors"`
	Warnings int                    `json:"warnings"`
	Tables   map[string]TableCounts `json:"tables"`
}

// InputError is returned for a step input that cannot be acted on; a state
// machine should not retry it.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// BundleError is returned when the export cannot be opened as a bundle; a
// state machine should not retry it.
type BundleError struct{ Err error }

func (e *BundleError) Error() string { return e.Err.Error() }
func (e *BundleError) Unwrap() error { return e.Err }

// Step runs extraction against a blob store: the bundle is read from it and
// the staged chunks and audit written back under
// migrations/<id>/staged/.
type Step struct {
	Store blob.Store
}

var stepIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)

// StagePrefix is where a migration's staged chunks live in the blob store.
func StagePrefix(migrationID string) string { return "migrations/" + migrationID + "/staged/" }

// Handle runs the step. It returns *InputError for a bad input,
// *BundleError for an export that cannot be opened, and other errors
// (worth retrying) for failures of the store.
func (s *Step) Handle(ctx context.Context, in StepInput) (StepOutput, error) {
	if !stepIDPattern.MatchString(in.MigrationID) {
		return StepOutput{}, &InputError{Msg: fmt.Sprintf("migration_id %q: use letters, digits, '.', '_' and '-' (up to 80)", in.MigrationID)}
	}
	if in.Export == "" || blob.ValidKey(strings.TrimSuffix(in.Export, "/")) != nil {
		return StepOutput{}, &InputError{Msg: fmt.Sprintf("export %q is not a key prefix in the bucket", in.Export)}
	}
	cfg := mapping.Default()
	if in.Config != "" {
		data, err := s.Store.Get(ctx, in.Config)
		if err != nil {
			return StepOutput{}, &InputError{Msg: fmt.Sprintf("config %s: %v", in.Config, err)}
		}
		if cfg, err = mapping.Parse(in.Config, data); err != nil {
			return StepOutput{}, &InputError{Msg: err.Error()}
		}
	}
	b, err := pp.OpenStore(ctx, s.Store, in.Export)
	if err != nil {
		return StepOutput{}, &BundleError{Err: err}
	}
	defer b.Close()
	prefix := StagePrefix(in.MigrationID)
	res, err := Run(ctx, b, Options{Config: cfg, Stage: s.Store, StagePrefix: prefix, Plan: in.Plan, Seats: in.Seats})
	if err != nil {
		return StepOutput{}, fmt.Errorf("extract %s: %w", in.Export, err)
	}
	out := StepOutput{MigrationID: in.MigrationID, Manifest: prefix + StageManifestName, Audit: prefix + AuditName,
		Trusted: res.Report.Trusted, Tables: res.Report.Tables}
	for _, f := range res.Report.Flags {
		switch f.Severity {
		case pp.SeverityError:
			out.Errors++
		case pp.SeverityWarning:
			out.Warnings++
		}
	}
	return out, nil
}
