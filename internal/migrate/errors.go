package migrate

import (
	"fmt"
	"strings"
)

// The error types below are what the steps return for failures a state
// machine should not retry; their names are stable, for Step Functions'
// Catch. Failures of the blob store or the ledger come back wrapped (worth
// retrying), and Pipedrive's own named errors (BudgetExhaustedError,
// OutcomeUnknownError, ...) come back as they are.

// InputError is a step input that cannot be acted on: a bad migration id,
// a manifest that is missing or unreadable.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// FieldCapError is the company's plan allowing fewer custom fields than
// the schema needs. Nothing was written to Pipedrive.
type FieldCapError struct {
	Plan string `json:"plan"`
	// Cap is the plan's limit on custom fields per company (deal, person
	// and organization fields together).
	Cap int `json:"cap"`
	// Existing is the number of custom fields the company has.
	Existing int `json:"existing"`
	// Needed is the number of fields the schema would create; Available
	// is Cap - Existing.
	Needed    int `json:"needed"`
	Available int `json:"available"`
}

func (e *FieldCapError) Error() string {
	return fmt.Sprintf("the %s plan allows %d custom fields and the company has %d: %d more are needed but only %d are available; delete unused custom fields, upgrade the plan, or drop fields from the mapping configuration",
		e.Plan, e.Cap, e.Existing, e.Needed, e.Available)
}

// Conflict is one item of the schema that exists in Pipedrive in a form
// Conveyor cannot write to.
type Conflict struct {
	// Kind is deal_field, person_field or organization_field.
	Kind  string `json:"kind"`
	Label string `json:"label"`
	// Want is the configured type; Got is what Pipedrive has ("built-in"
	// for a label that names one of Pipedrive's own fields).
	Want string `json:"want"`
	Got  string `json:"got"`
}

// SchemaConflictError is a field found by its label with a type that does
// not take the values Conveyor writes, or two configured fields sharing a
// label with different types. Schema with Apply returns it before writing
// anything; fix the field in Pipedrive or its label in the configuration.
type SchemaConflictError struct {
	Conflicts []Conflict `json:"conflicts"`
}

func (e *SchemaConflictError) Error() string {
	parts := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		parts[i] = fmt.Sprintf("%s %q is %s, want %s", c.Kind, c.Label, c.Got, c.Want)
	}
	return "schema conflicts with Pipedrive: " + strings.Join(parts, "; ")
}

// DefaultOwnerError is the configured default owner (owners.default) not
// being an active Pipedrive user of the company.
type DefaultOwnerError struct{}

func (e *DefaultOwnerError) Error() string {
	return "owners.default names no active Pipedrive user of this company; set it to a user's email or leave it empty for the API token's user"
}
