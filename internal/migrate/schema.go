package migrate

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// SchemaInput is the Schema step's input.
type SchemaInput struct {
	MigrationID string `json:"migration_id"`
	// Run names this execution in the ledger.
	Run string `json:"run,omitempty"`
	// Manifest is the key of the staged chunk manifest (extract's output).
	Manifest string `json:"manifest"`
	// Apply creates what is missing; without it the step only reads
	// Pipedrive and says what it would create.
	Apply bool `json:"apply"`
}

// SchemaOutput is what the Schema step hands on: keys and counts.
type SchemaOutput struct {
	MigrationID string `json:"migration_id"`
	Applied     bool   `json:"applied"`
	// Schema is the key of schema.json (a SchemaMap); empty without Apply.
	Schema string `json:"schema,omitempty"`
	// Plan is the key of schema-plan.json: every item and what was (or
	// would be) done with it. Checklist is the key of the admin's checklist.
	Plan      string `json:"plan"`
	Checklist string `json:"checklist"`
	// Existing items were found in Pipedrive; ToCreate are still missing
	// (without Apply, what Apply would create); Created were created by
	// this run and Reconciled were found for a pending ledger entry.
	Existing   int `json:"existing"`
	ToCreate   int `json:"to_create"`
	Created    int `json:"created"`
	Reconciled int `json:"reconciled"`
	// CustomFields is the plan's custom field cap and its use.
	CustomFields FieldBudget `json:"custom_fields"`
	// MissingOptions counts options existing enum fields lack (see
	// SchemaMap.MissingOptions); Conflicts counts fields that cannot be
	// used (see SchemaConflictError).
	MissingOptions int `json:"missing_options"`
	Conflicts      int `json:"conflicts"`
}

// FieldBudget is the company's custom field cap and how the schema uses it.
type FieldBudget struct {
	Plan     string `json:"plan"`
	Cap      int    `json:"cap"`
	Existing int    `json:"existing"`
	Needed   int    `json:"needed"`
}

// FieldCaps are the custom field limits per company (deal, person and
// organization fields together) of Pipedrive's plans.
var FieldCaps = map[string]int{"lite": 30, "growth": 100, "premium": 300, "ultimate": 500}

// SchemaPlan is schema-plan.json: every item of the schema and what was,
// or would be, done with it.
type SchemaPlan struct {
	MigrationID  string      `json:"migration_id"`
	Applied      bool        `json:"applied"`
	CustomFields FieldBudget `json:"custom_fields"`
	Items        []*PlanItem `json:"items"`
	Conflicts    []Conflict  `json:"conflicts,omitempty"`
}

// Item kinds, as ledger entries' TargetKind names them.
const (
	KindDealField         = "deal_field"
	KindPersonField       = "person_field"
	KindOrganizationField = "organization_field"
	KindPipeline          = "pipeline"
	KindStage             = "stage"
	KindActivityType      = "activity_type"
)

// Actions of a plan item.
const (
	ActionExists     = "exists"     // found in Pipedrive
	ActionCreate     = "create"     // missing: Apply creates it
	ActionCreated    = "created"    // created by this run
	ActionReconciled = "reconciled" // found for a pending ledger entry: an earlier run created it
	ActionConflict   = "conflict"   // found, but unusable (see Conflicts)
)

// PlanItem is one field, pipeline, stage or activity type.
type PlanItem struct {
	Kind string `json:"kind"`
	// Name is the field's label, or the pipeline's, stage's or activity
	// type's name; Pipeline is a stage's pipeline.
	Name     string `json:"name"`
	Pipeline string `json:"pipeline,omitempty"`
	// Type and Options are a field's; Icon an activity type's.
	Type    string   `json:"type,omitempty"`
	Options []string `json:"options,omitempty"`
	Icon    string   `json:"icon,omitempty"`
	// Names are the logical names of a field ("matter_number") or the
	// canonical activity types an activity type serves.
	Names  []string `json:"names,omitempty"`
	Action string   `json:"action"`
	// MissingOptions are options an existing enum or set field lacks.
	MissingOptions []string `json:"missing_options,omitempty"`

	key       string         // field_code
	id        int            // pipeline, stage or activity type id
	optionIDs map[string]int // option label -> id
	keyString string         // activity type
}

// fieldKinds are the three kinds of field, in the order they are created.
var fieldKinds = []struct {
	kind  pipedrive.FieldKind
	item  string
	names func(mapping.Fields) map[string]mapping.Field
}{
	{pipedrive.DealFields, KindDealField, func(f mapping.Fields) map[string]mapping.Field { return f.Deal }},
	{pipedrive.PersonFields, KindPersonField, func(f mapping.Fields) map[string]mapping.Field { return f.Person }},
	{pipedrive.OrganizationFields, KindOrganizationField, func(f mapping.Fields) map[string]mapping.Field { return f.Organization }},
}

func fieldKindOf(item string) pipedrive.FieldKind {
	for _, k := range fieldKinds {
		if k.item == item {
			return k.kind
		}
	}
	return ""
}

// Schema finds or creates, by name, the custom fields, pipelines, stages
// and activity types the migration writes to, and writes schema-plan.json
// and schema-checklist.md (always) and schema.json (with Apply).
//
// Before creating anything it checks the plan's custom field cap and the
// fields found by label: it returns *FieldCapError when the fields to create
// do not fit, and, with Apply, *SchemaConflictError for a field whose type
// cannot take Conveyor's values; in both cases nothing is written to
// Pipedrive. It returns *InputError for a bad input or a missing manifest,
// Pipedrive's named errors as they are (an *pipedrive.OutcomeUnknownError
// leaves a pending ledger entry that the next run reconciles), and wrapped
// errors of the store and the ledger, which are worth retrying.
func (e *Env) Schema(ctx context.Context, in SchemaInput) (SchemaOutput, error) {
	if err := checkInput(in.MigrationID, in.Manifest); err != nil {
		return SchemaOutput{}, err
	}
	if e.Pipedrive == nil {
		return SchemaOutput{}, errors.New("migrate: Schema needs a Pipedrive client")
	}
	if in.Apply && e.Ledger == nil {
		return SchemaOutput{}, errors.New("migrate: Schema with Apply needs a ledger")
	}
	st, err := openStaged(ctx, e.Store, in.Manifest)
	if err != nil {
		return SchemaOutput{}, err
	}
	found, err := scanForSchema(ctx, e.config(), st)
	if err != nil {
		return SchemaOutput{}, err
	}
	items, conflicts := wantedSchema(e.config(), found)

	pd, err := e.readPipedrive(ctx)
	if err != nil {
		return SchemaOutput{}, err
	}
	conflicts = append(conflicts, pd.resolve(items)...)
	budget := FieldBudget{Plan: e.Pipedrive.Plan().Name, Cap: FieldCaps[e.Pipedrive.Plan().Name], Existing: pd.customFields}
	for _, it := range items {
		if fieldKindOf(it.Kind) != "" && it.Action == ActionCreate {
			budget.Needed++
		}
	}

	prefix := Prefix(in.MigrationID)
	out := SchemaOutput{MigrationID: in.MigrationID, Plan: prefix + SchemaPlanName, Checklist: prefix + SchemaChecklistName,
		CustomFields: budget, Conflicts: len(conflicts)}
	plan := &SchemaPlan{MigrationID: in.MigrationID, CustomFields: budget, Items: items, Conflicts: conflicts}
	writeReports := func() error {
		if err := e.putJSON(ctx, out.Plan, plan); err != nil {
			return err
		}
		return e.putText(ctx, out.Checklist, checklist(in.MigrationID, plan))
	}

	if budget.Cap > 0 && budget.Needed > budget.Cap-budget.Existing {
		if err := writeReports(); err != nil {
			return SchemaOutput{}, err
		}
		return SchemaOutput{}, &FieldCapError{Plan: budget.Plan, Cap: budget.Cap, Existing: budget.Existing,
			Needed: budget.Needed, Available: max(budget.Cap-budget.Existing, 0)}
	}
	if in.Apply && len(conflicts) > 0 {
		if err := writeReports(); err != nil {
			return SchemaOutput{}, err
		}
		return SchemaOutput{}, &SchemaConflictError{Conflicts: conflicts}
	}

	if in.Apply {
		w := &schemaWriter{env: e, migration: in.MigrationID, run: in.Run, byName: map[string]*PlanItem{}}
		if err := w.apply(ctx, items); err != nil {
			// What was done so far is in the ledger; the reports say it too.
			plan.Applied = false
			_ = writeReports()
			return SchemaOutput{}, err
		}
		out.Applied, plan.Applied = true, true
	}
	for _, it := range items {
		switch it.Action {
		case ActionExists:
			out.Existing++
		case ActionCreate:
			out.ToCreate++
		case ActionCreated:
			out.Created++
		case ActionReconciled:
			out.Reconciled++
		}
		out.MissingOptions += len(it.MissingOptions)
	}
	if err := writeReports(); err != nil {
		return SchemaOutput{}, err
	}
	if in.Apply {
		out.Schema = prefix + SchemaName
		if err := e.putJSON(ctx, out.Schema, schemaMap(in.MigrationID, items)); err != nil {
			return SchemaOutput{}, err
		}
	} else if err := e.putJSON(ctx, prefix+ProvisionalSchemaName, provisionalMap(in.MigrationID, items)); err != nil {
		return SchemaOutput{}, err
	}
	e.log().InfoContext(ctx, "schema", "migration", in.MigrationID, "applied", out.Applied, "existing", out.Existing,
		"to_create", out.ToCreate, "created", out.Created, "reconciled", out.Reconciled, "conflicts", out.Conflicts,
		"missing_options", out.MissingOptions)
	return out, nil
}

// stagedSchema is what the staged export adds to the configured schema.
type stagedSchema struct {
	// matterTypes are canonical matter types (or raw ones the
	// configuration does not know) in the staged matters.
	matterTypes []string
	// custom are the custom.<Name> columns with a value in some matter,
	// and for enum and set columns their distinct values.
	custom map[string][]string
}

func scanForSchema(ctx context.Context, cfg *mapping.Config, st *staged) (stagedSchema, error) {
	types := map[string]string{}
	custom := map[string]map[string]string{}
	err := st.eachMatter(ctx, func(r *extract.MatterRecord) error {
		if t := strings.TrimSpace(r.Matter.Type); t != "" {
			if c, ok := cfg.MatterType(t); ok {
				t = c
			}
			if _, seen := types[fold(t)]; !seen {
				types[fold(t)] = t
			}
		}
		for name, v := range r.Matter.Custom {
			vals := custom[name]
			if vals == nil {
				vals = map[string]string{}
				custom[name] = vals
			}
			if typ := cfg.CustomField(name).Type; typ == "enum" || typ == "set" {
				if v = strings.TrimSpace(v); v != "" {
					if _, seen := vals[fold(v)]; !seen {
						vals[fold(v)] = v
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return stagedSchema{}, err
	}
	out := stagedSchema{custom: map[string][]string{}}
	for _, t := range types {
		out.matterTypes = append(out.matterTypes, t)
	}
	sort.Strings(out.matterTypes)
	for name, vals := range custom {
		list := make([]string, 0, len(vals))
		for _, v := range vals {
			list = append(list, v)
		}
		sort.Strings(list)
		out.custom[name] = list
	}
	return out, nil
}

// fold is how names are compared: trimmed, without regard to case.
func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// fieldOrder puts the configured fields in the order an admin reads them;
// others follow by name.
var fieldOrder = []string{"matter_number", "matter_type", "created_at", "stage_entered", "stage_timestamps",
	"property_address", "purchase_price", "mortgage_lender", "referring_solicitor", "role", "source_id"}

func orderedNames(m map[string]mapping.Field) []string {
	rank := func(n string) int {
		for i, o := range fieldOrder {
			if o == n {
				return i
			}
		}
		return len(fieldOrder)
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

// stageNames are the stages of every pipeline, each name once, in order.
func stageNames(cfg *mapping.Config) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range cfg.Pipelines {
		for _, s := range p.Stages {
			if !seen[fold(s.Name)] {
				seen[fold(s.Name)] = true
				out = append(out, s.Name)
			}
		}
	}
	return out
}

// matterTypeOptions are the configured matter types and then any others
// the staged matters have.
func matterTypeOptions(cfg *mapping.Config, found []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" && !seen[fold(s)] {
			seen[fold(s)] = true
			out = append(out, s)
		}
	}
	for _, mt := range cfg.MatterTypes {
		add(mt.Name)
	}
	for _, t := range found {
		add(t)
	}
	return out
}

// activityTypes are the canonical activity types that become Pipedrive
// activities, with the name and icon of the type created where missing.
var activityTypes = []struct{ canonical, name, icon string }{
	{mapping.ActivityCall, "Call", "call"},
	{mapping.ActivityEmail, "Email", "email"},
	{mapping.ActivityMeeting, "Meeting", "meeting"},
	{mapping.ActivityTask, "Task", "task"},
	{mapping.ActivitySMS, "SMS", "smartphone"},
}

// wantedSchema lists every item the configuration and the staged export
// call for. Fields of one kind that share a label become one item; two
// that share a label with different types are a conflict.
func wantedSchema(cfg *mapping.Config, found stagedSchema) ([]*PlanItem, []Conflict) {
	var items []*PlanItem
	var conflicts []Conflict
	for _, fk := range fieldKinds {
		byLabel := map[string]*PlanItem{}
		add := func(name string, f mapping.Field, options []string) {
			label := strings.TrimSpace(f.Label)
			if label == "" {
				return
			}
			if it, ok := byLabel[fold(label)]; ok {
				if it.Type != f.Type {
					conflicts = append(conflicts, Conflict{Kind: fk.item, Label: label, Want: it.Type, Got: f.Type + " (configured twice)"})
					return
				}
				it.Names = append(it.Names, name)
				return
			}
			it := &PlanItem{Kind: fk.item, Name: label, Type: f.Type, Options: options, Names: []string{name}}
			byLabel[fold(label)] = it
			items = append(items, it)
		}
		configured := fk.names(cfg.Fields)
		for _, name := range orderedNames(configured) {
			f := configured[name]
			switch {
			case fk.kind == pipedrive.DealFields && name == "stage_entered":
				for _, s := range stageNames(cfg) {
					add("stage_entered:"+s, mapping.Field{Label: strings.ReplaceAll(f.Label, "{stage}", s), Type: f.Type}, nil)
				}
			case fk.kind == pipedrive.DealFields && name == "matter_type" && (f.Type == "enum" || f.Type == "set"):
				add(name, f, matterTypeOptions(cfg, found.matterTypes))
			default:
				add(name, f, nil)
			}
		}
		if fk.kind == pipedrive.DealFields {
			names := make([]string, 0, len(found.custom))
			for n := range found.custom {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				f := cfg.CustomField(n)
				var opts []string
				if f.Type == "enum" || f.Type == "set" {
					opts = found.custom[n]
				}
				add("custom:"+n, f, opts)
			}
		}
	}
	for _, p := range cfg.Pipelines {
		items = append(items, &PlanItem{Kind: KindPipeline, Name: p.Name})
		for _, s := range p.Stages {
			items = append(items, &PlanItem{Kind: KindStage, Name: s.Name, Pipeline: p.Name})
		}
	}
	for _, at := range activityTypes {
		items = append(items, &PlanItem{Kind: KindActivityType, Name: at.name, Icon: at.icon, Names: []string{at.canonical}})
	}
	return items, conflicts
}

// ProvisionalSchemaName is the schema map a plan-mode run plans with: what
// exists has its real key and id; what would be created has a placeholder
// key "new:<label>" and a negative id, so that the planned payloads show
// where a new field or stage goes.
const ProvisionalSchemaName = "schema-provisional.json"

// provisionalMap is schemaMap with placeholders for the items to create.
func provisionalMap(migrationID string, items []*PlanItem) *SchemaMap {
	next := 0
	placeholder := func() int { next--; return next }
	copies := make([]*PlanItem, len(items))
	for i, it := range items {
		c := *it
		if c.Action == ActionCreate {
			c.key = "new:" + c.Name
			c.id = placeholder()
			c.keyString = "new:" + c.Name
			if len(c.Options) > 0 {
				c.optionIDs = map[string]int{}
				for _, o := range c.Options {
					c.optionIDs[o] = placeholder()
				}
			}
		}
		copies[i] = &c
	}
	return schemaMap(migrationID, copies)
}

// schemaMap builds schema.json from the applied items.
func schemaMap(migrationID string, items []*PlanItem) *SchemaMap {
	m := &SchemaMap{Version: 1, MigrationID: migrationID, Fields: map[string]map[string]FieldRef{},
		Pipelines: map[string]PipelineRef{}, ActivityTypes: map[string]string{}}
	for _, fk := range fieldKinds {
		m.Fields[string(fk.kind)] = map[string]FieldRef{}
	}
	pipelines := map[string]*PipelineRef{}
	for _, it := range items {
		switch it.Kind {
		case KindDealField, KindPersonField, KindOrganizationField:
			kind := string(fieldKindOf(it.Kind))
			for _, n := range it.Names {
				m.Fields[kind][n] = FieldRef{Label: it.Name, Key: it.key, Type: it.Type, Options: it.optionIDs}
				if len(it.MissingOptions) > 0 {
					if m.MissingOptions == nil {
						m.MissingOptions = map[string]map[string][]string{}
					}
					if m.MissingOptions[kind] == nil {
						m.MissingOptions[kind] = map[string][]string{}
					}
					m.MissingOptions[kind][n] = it.MissingOptions
				}
			}
		case KindPipeline:
			pipelines[it.Name] = &PipelineRef{ID: it.id, Stages: map[string]int{}}
		case KindStage:
			pipelines[it.Pipeline].Stages[it.Name] = it.id
		case KindActivityType:
			for _, n := range it.Names {
				m.ActivityTypes[n] = it.keyString
			}
		}
	}
	for name, p := range pipelines {
		m.Pipelines[name] = *p
	}
	return m
}
