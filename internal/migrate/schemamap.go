package migrate

import (
	"context"
	"errors"

	"github.com/conveyor-migrate/conveyor/internal/blob"
)

// SchemaMap is what the Schema step resolved, as the later steps use it:
// the keys of the custom fields (random in every company), the ids of the
// pipelines and stages, and the activity types. It is written, with Apply,
// to migrations/<id>/schema.json; it holds no timestamps, so that applying
// the same schema twice writes the same file.
type SchemaMap struct {
	Version     int    `json:"version"`
	MigrationID string `json:"migration_id"`
	// Fields are by kind ("deal", "person", "organization") and logical
	// name: a key of the configuration's fields section ("matter_number",
	// "source_id", "role"), "stage_entered:<Stage>" for each stage's date
	// field, and "custom:<Name>" for each custom.<Name> matter column.
	Fields map[string]map[string]FieldRef `json:"fields"`
	// Pipelines are by configured name.
	Pipelines map[string]PipelineRef `json:"pipelines"`
	// ActivityTypes takes a canonical activity type (call, email, meeting,
	// sms, task) to the key_string of the Pipedrive activity type.
	ActivityTypes map[string]string `json:"activity_types"`
	// MissingOptions lists, by kind and logical name, the options an
	// existing enum or set field lacks; the client cannot add options to
	// an existing field, so an admin must (see the checklist). Values that
	// need a missing option are left empty.
	MissingOptions map[string]map[string][]string `json:"missing_options,omitempty"`
}

// FieldRef is one custom field as Pipedrive has it.
type FieldRef struct {
	Label string `json:"label"`
	// Key is the field_code: 40 hex digits for a custom field.
	Key  string `json:"key"`
	Type string `json:"type"`
	// Options takes an enum or set option's label to its id.
	Options map[string]int `json:"options,omitempty"`
}

// PipelineRef is a pipeline's id and its stages' ids by configured name.
type PipelineRef struct {
	ID     int            `json:"id"`
	Stages map[string]int `json:"stages"`
}

// Option returns the id of the option labelled label, compared trimmed and
// without regard to case.
func (f FieldRef) Option(label string) (int, bool) {
	if id, ok := f.Options[label]; ok {
		return id, true
	}
	for l, id := range f.Options {
		if fold(l) == fold(label) {
			return id, true
		}
	}
	return 0, false
}

// Field returns the field of kind ("deal", "person", "organization") with
// a logical name, and whether there is one.
func (m *SchemaMap) Field(kind, name string) (FieldRef, bool) {
	f, ok := m.Fields[kind][name]
	return f, ok
}

// Stage returns the id of a stage of a pipeline, by configured names.
func (m *SchemaMap) Stage(pipeline, stage string) (int, bool) {
	p, ok := m.Pipelines[pipeline]
	if !ok {
		return 0, false
	}
	id, ok := p.Stages[stage]
	return id, ok
}

// LoadSchemaMap reads a migration's schema.json. It returns an error
// wrapping blob.ErrNotFound when the Schema step has not been applied.
// LoadPlanningSchemaMap returns the schema map a plan-mode step plans
// with: schema.json once the schema is applied, else the provisional map
// the schema step wrote in plan mode.
func LoadPlanningSchemaMap(ctx context.Context, store blob.Store, migrationID string) (*SchemaMap, error) {
	m, err := LoadSchemaMap(ctx, store, migrationID)
	if err == nil || !errors.Is(err, blob.ErrNotFound) {
		return m, err
	}
	var p SchemaMap
	if err := getJSON(ctx, store, Prefix(migrationID)+ProvisionalSchemaName, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func LoadSchemaMap(ctx context.Context, store blob.Store, migrationID string) (*SchemaMap, error) {
	var m SchemaMap
	if err := getJSON(ctx, store, Prefix(migrationID)+SchemaName, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// loadSchemaFor is the schema map a load step works with: the applied one,
// or, in plan mode before the schema is applied, the provisional one.
func loadSchemaFor(ctx context.Context, e *Env, in LoadInput) (*SchemaMap, error) {
	if in.Apply {
		return LoadSchemaMap(ctx, e.Store, in.MigrationID)
	}
	return LoadPlanningSchemaMap(ctx, e.Store, in.MigrationID)
}
