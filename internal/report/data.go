package report

import (
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// Version is the layout of Data; it changes when a field changes meaning.
const Version = 1

// Section ids, in the order the report shows them. Every one is always
// present in the HTML, with a note when there is nothing to show.
const (
	SectionSummary  = "summary"
	SectionAudit    = "audit"
	SectionMapping  = "mapping"
	SectionDiff     = "diff"
	SectionBudget   = "budget"
	SectionSchema   = "schema"
	SectionVerify   = "verify"
	SectionRebuild  = "rebuild"
	SectionCosts    = "costs"
	SectionRollback = "rollback"
	SectionDelta    = "delta"
)

// Sections lists every section id with its heading, in report order.
var Sections = []struct{ ID, Title string }{
	{SectionSummary, "The run"},
	{SectionAudit, "Audit of the export"},
	{SectionMapping, "Mapping decisions"},
	{SectionDiff, "Field-level diff"},
	{SectionBudget, "API budget"},
	{SectionSchema, "Schema checklist"},
	{SectionVerify, "Verification"},
	{SectionRebuild, "Rebuild plan: notifications and portal"},
	{SectionCosts, "Cost worksheet"},
	{SectionRollback, "Rollback"},
	{SectionDelta, "Delta"},
}

// Data is everything the report shows about one run of a migration. It is
// JSON-serialisable (`conveyor report --json`) and holds the firm's client
// data: keep it owner-only, never log it.
//
// A section is nil when the migration has nothing for it (a plan run has
// no verification); Notes then says why, by section id. Notes may also
// qualify a section that is present.
type Data struct {
	Version  int       `json:"version"`
	Identity Identity  `json:"identity"`
	Runs     []RunInfo `json:"runs"`
	Audit    *Audit    `json:"audit,omitempty"`
	Mapping  *Mapping  `json:"mapping,omitempty"`
	Diff     *Diff     `json:"diff,omitempty"`
	Budget   *Budget   `json:"budget,omitempty"`
	Schema   *Schema   `json:"schema,omitempty"`
	Verify   *Verify   `json:"verify,omitempty"`
	Rebuild  *Rebuild  `json:"rebuild,omitempty"`
	Costs    *Costs    `json:"costs,omitempty"`
	Rollback *Rollback `json:"rollback,omitempty"`
	Delta    *Delta    `json:"delta,omitempty"`
	// Notes are by section id, each a list of sentences.
	Notes map[string][]string `json:"notes"`

	costOverrides []CostOverrides // the cost figures applied, in order
}

// Run statuses.
const (
	StatusSucceeded  = "succeeded"
	StatusStopped    = "stopped"
	StatusFailed     = "failed"
	StatusIncomplete = "incomplete"
	StatusWaiting    = "waiting for approval"
	StatusNotRun     = "not run"
)

// Identity says which run the report is of, and how it ended.
type Identity struct {
	Migration string `json:"migration"`
	Run       string `json:"run,omitempty"`
	Mode      string `json:"mode,omitempty"`
	// Started and Finished are RFC 3339 times, when known: Started from
	// the run id or the first load step, Finished from the summary.
	Started  string `json:"started,omitempty"`
	Finished string `json:"finished,omitempty"`
	// Generated is when the report was built.
	Generated  string `json:"generated"`
	ExportID   string `json:"export_id,omitempty"`
	ExportedAt string `json:"exported_at,omitempty"`
	Firm       string `json:"firm,omitempty"`
	// Status is succeeded, stopped, failed, incomplete, waiting for
	// approval or not run; Reason
	// says why for any but succeeded.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Plan and Seats are the Pipedrive plan the run was priced or throttled at.
	Plan  string `json:"plan,omitempty"`
	Seats int    `json:"seats,omitempty"`
	// Kinds is what the run's load steps planned and did, per kind.
	Kinds []KindCount `json:"kinds,omitempty"`
	// Requests and Tokens are what the run spent in Pipedrive.
	Requests  int    `json:"requests"`
	Tokens    int    `json:"tokens"`
	Watermark string `json:"watermark,omitempty"`
}

// KindCount is one load kind's totals.
type KindCount struct {
	Kind    string `json:"kind"`
	Planned int    `json:"planned"`
	Created int    `json:"created"`
	Updated int    `json:"updated"`
	Linked  int    `json:"linked"`
	Skipped int    `json:"skipped"`
	Failed  int    `json:"failed"`
	Flags   int    `json:"flags"`
}

// RunInfo is one run of the migration, newest first.
type RunInfo struct {
	Run     string `json:"run"`
	Mode    string `json:"mode,omitempty"`
	Status  string `json:"status"`
	Started string `json:"started,omitempty"`
	// This marks the run the report is of.
	This bool `json:"this,omitempty"`
}

// Audit is the extract step's audit of the export.
type Audit struct {
	Location string     `json:"location"`
	Trusted  bool       `json:"trusted"`
	Tables   []TableRow `json:"tables"`
	// Totals adds up every table; Read = Accepted + Merged + Skipped +
	// Quarantined when every table balances.
	Totals     TableRow       `json:"totals"`
	Flags      []pp.Flag      `json:"flags"`
	FlagCounts FlagCounts     `json:"flag_counts"`
	FlagTables []string       `json:"flag_tables"`
	Risks      []extract.Risk `json:"risks"`
	Volumes    Volumes        `json:"volumes"`
}

// TableRow accounts for every row of one table.
type TableRow struct {
	Table       string `json:"table"`
	File        string `json:"file,omitempty"`
	Read        int    `json:"read"`
	Accepted    int    `json:"accepted"`
	Merged      int    `json:"merged"`
	Skipped     int    `json:"skipped"`
	Quarantined int    `json:"quarantined"`
	Balanced    bool   `json:"balanced"`
}

// FlagCounts counts the flags by severity.
type FlagCounts struct {
	Error   int `json:"error"`
	Warning int `json:"warning"`
	Info    int `json:"info"`
}

// Volumes is what will be migrated (accepted rows), for the charts.
type Volumes struct {
	MattersByType     []Count `json:"matters_by_type"`
	MattersByStage    []Count `json:"matters_by_stage"`
	MattersByStatus   []Count `json:"matters_by_status"`
	ActivitiesByType  []Count `json:"activities_by_type"`
	Persons           int     `json:"persons"`
	Organisations     int     `json:"organisations"`
	Documents         int     `json:"documents"`
	DocumentBytes     int64   `json:"document_bytes"`
	DocumentsOver     int     `json:"documents_over_limit"`
	MattersWithoutAny int     `json:"matters_without_client"`
}

// Count is a named number.
type Count struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// Mapping is what the run decided about where things go.
type Mapping struct {
	// ConfigSource says where the mapping configuration came from.
	ConfigSource string                   `json:"config_source"`
	Pipelines    []migrate.PipelineStages `json:"pipelines"`
	Unmapped     []migrate.UnmappedStage  `json:"unmapped"`
	MatterTypes  []MatterTypeRoute        `json:"matter_types"`
	Fields       []FieldRow               `json:"fields"`
	Owners       []OwnerRow               `json:"owners"`
	DefaultOwner *migrate.DefaultOwner    `json:"default_owner,omitempty"`
	Policies     []Policy                 `json:"policies"`
}

// MatterTypeRoute is a matter type and the pipeline its deals go into.
type MatterTypeRoute struct {
	Type     string   `json:"type"`
	Aliases  []string `json:"aliases"`
	Pipeline string   `json:"pipeline"`
}

// FieldRow is one source column and the Pipedrive field it fills.
type FieldRow struct {
	// Kind is the Pipedrive kind: deal, person, organization, activity, note.
	Kind   string `json:"kind"`
	Source string `json:"source"`
	// Field is a built-in field's name or a custom field's label; Key is
	// the custom field's key in this company (empty for built-in fields).
	Field string `json:"field"`
	Key   string `json:"key,omitempty"`
	Type  string `json:"type,omitempty"`
	// Writes counts the run's planned writes that fill it.
	Writes int `json:"writes"`
}

// OwnerRow is one fee earner and the Pipedrive user who owns their records.
type OwnerRow struct {
	FeeEarnerID string `json:"fee_earner_id"`
	Name        string `json:"name,omitempty"`
	Active      *bool  `json:"active,omitempty"`
	UserID      int    `json:"user_id"`
	// How is email, map or default.
	How  string `json:"how"`
	Flag string `json:"flag,omitempty"`
}

// Policy is one policy in force.
type Policy struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Meaning string `json:"meaning"`
}

// Diff is every planned or performed write of the run, field by field.
type Diff struct {
	// Performed is set when the run wrote to Pipedrive (not a plan run).
	Performed bool `json:"performed"`
	// Total counts every planned operation, Writes those that are not
	// skips; Ops holds the first Limit.
	Total     int       `json:"total"`
	Writes    int       `json:"writes"`
	Limit     int       `json:"limit"`
	Truncated bool      `json:"truncated"`
	Counts    []OpCount `json:"counts"`
	Kinds     []string  `json:"kinds"`
	Ops       []DiffOp  `json:"ops"`
	// Files are the plan files the diff was read from.
	Files []string `json:"files"`
}

// OpCount counts planned operations of one target kind and operation.
type OpCount struct {
	TargetKind string `json:"target_kind"`
	Op         string `json:"op"`
	N          int    `json:"n"`
}

// DiffOp is one planned write.
type DiffOp struct {
	Key        string       `json:"key"`
	Op         string       `json:"op"`
	TargetKind string       `json:"target_kind"`
	TargetID   int64        `json:"target_id,omitempty"`
	Reason     string       `json:"reason,omitempty"`
	Flag       string       `json:"flag,omitempty"`
	Changes    []DiffChange `json:"changes,omitempty"`
}

// DiffChange is one field of a write: the source column and its value in
// the export beside the Pipedrive field and the value written, and for an
// update or link the value it replaced, where the ledger kept it.
type DiffChange struct {
	Source      string `json:"source,omitempty"`
	SourceValue string `json:"source_value,omitempty"`
	Field       string `json:"field"`
	Key         string `json:"key,omitempty"`
	Value       string `json:"value"`
	Previous    string `json:"previous,omitempty"`
	HasPrevious bool   `json:"has_previous,omitempty"`

	sourceID string // the source record the value is looked up in
}

// Budget is what the run costs in Pipedrive's API terms.
type Budget struct {
	// Source is "estimate" (the run's estimate.json), "plan" (the
	// estimate of the plan run that came before it, EstimateRun) or
	// "audit" (the audit's rougher budget, without requests or hours).
	Source         string         `json:"source"`
	EstimateRun    string         `json:"estimate_run,omitempty"`
	Plan           string         `json:"plan"`
	Seats          int            `json:"seats"`
	DailyTokens    int            `json:"daily_tokens"`
	BurstPerSecond float64        `json:"burst_per_second,omitempty"`
	All            migrate.Cost   `json:"all"`
	WithoutHistory migrate.Cost   `json:"without_history"`
	ByEndpoint     []EndpointCost `json:"by_endpoint,omitempty"`
	// Spent is what the run's load steps spent, and Timeline each step's.
	Spent    *Spent         `json:"spent,omitempty"`
	Timeline []TimelineStep `json:"timeline,omitempty"`
}

// EndpointCost is the tokens planned for one endpoint.
type EndpointCost struct {
	Endpoint string `json:"endpoint"`
	Tokens   int    `json:"tokens"`
}

// Spent is what a run spent.
type Spent struct {
	Requests int `json:"requests"`
	Tokens   int `json:"tokens"`
}

// TimelineStep is one load step: when it ran and what it spent.
type TimelineStep struct {
	Kind     string `json:"kind"`
	Source   string `json:"source"`
	Chunk    int    `json:"chunk"`
	Started  string `json:"started"`
	Finished string `json:"finished"`
	Requests int    `json:"requests"`
	Tokens   int    `json:"tokens"`
}

// Schema is the checklist for an admin who creates the schema by hand.
type Schema struct {
	Applied       bool                `json:"applied"`
	CustomFields  migrate.FieldBudget `json:"custom_fields"`
	Fields        []SchemaField       `json:"fields"`
	Pipelines     []SchemaPipeline    `json:"pipelines"`
	ActivityTypes []SchemaActivity    `json:"activity_types"`
	Conflicts     []migrate.Conflict  `json:"conflicts,omitempty"`
}

// SchemaField is one custom field to have in Pipedrive.
type SchemaField struct {
	Kind     string   `json:"kind"`
	Label    string   `json:"label"`
	Type     string   `json:"type"`
	TypeName string   `json:"type_name"`
	Options  []string `json:"options,omitempty"`
	// Required is always false: Conveyor fills no field that Pipedrive
	// must insist on, and a required field rejects records without it.
	Required       bool     `json:"required"`
	Action         string   `json:"action"`
	MissingOptions []string `json:"missing_options,omitempty"`
}

// SchemaPipeline is a pipeline and its stages, in order.
type SchemaPipeline struct {
	Name   string        `json:"name"`
	Action string        `json:"action"`
	Stages []SchemaStage `json:"stages"`
}

// SchemaStage is one stage of a pipeline.
type SchemaStage struct {
	Name   string `json:"name"`
	Action string `json:"action"`
}

// SchemaActivity is an activity type.
type SchemaActivity struct {
	Name   string   `json:"name"`
	Icon   string   `json:"icon,omitempty"`
	For    []string `json:"for,omitempty"`
	Action string   `json:"action"`
}

// Verify is the read-back: counts per kind, completeness, every mismatch.
type Verify struct {
	Kinds        []VerifyKind          `json:"kinds"`
	Completeness []CompletenessRow     `json:"completeness"`
	Mismatches   []VerifyMismatch      `json:"mismatches"`
	Missing      []string              `json:"missing"`
	Output       *migrate.VerifyOutput `json:"output,omitempty"`
}

// VerifyKind counts one kind of record.
type VerifyKind struct {
	Kind     string `json:"kind"`
	Expected int    `json:"expected"`
	Written  int    `json:"written"`
	Found    int    `json:"found"`
	Matching int    `json:"matching"`
}

// CompletenessRow is how many records have a field filled.
type CompletenessRow struct {
	Field     string `json:"field"`
	Source    int    `json:"source"`
	Pipedrive int    `json:"pipedrive"`
}

// VerifyMismatch is one field that differs.
type VerifyMismatch struct {
	Key   string `json:"key"`
	Field string `json:"field"`
	Want  string `json:"want"`
	Got   string `json:"got"`
}

// Rebuild is what Pipedrive lacks and must be rebuilt by hand: the
// notification templates as Automations, and the client portal.
type Rebuild struct {
	Templates   []TemplateRow `json:"templates"`
	Automations []Automation  `json:"automations"`
}

// TemplateRow is one Perfect Portal notification template.
type TemplateRow struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Channel      string   `json:"channel"`
	TriggerStage string   `json:"trigger_stage"`
	Audience     string   `json:"audience"`
	Subject      string   `json:"subject,omitempty"`
	Body         string   `json:"body"`
	Active       bool     `json:"active"`
	MergeFields  []string `json:"merge_fields,omitempty"`
}

// Automation is the Pipedrive Automation that replaces one template.
type Automation struct {
	Template  string `json:"template"`
	Name      string `json:"name"`
	Pipeline  string `json:"pipeline,omitempty"`
	Trigger   string `json:"trigger"`
	Action    string `json:"action"`
	Recipient string `json:"recipient"`
	Note      string `json:"note,omitempty"`
}

// Rollback is what undoing the run would do, and what undoing did.
type Rollback struct {
	// Ledger is false when no ledger was given (the counts are then empty).
	Ledger  bool          `json:"ledger"`
	Entries []RollbackRow `json:"entries"`
	Totals  RollbackPlan  `json:"totals"`
	// Command, DryRunCommand and AWSInput are how to undo it.
	Command       string `json:"command"`
	DryRunCommand string `json:"dry_run_command"`
	AWSInput      string `json:"aws_input"`
	AWSCommand    string `json:"aws_command"`
	// Done are the rollback reports already written for this run (or for
	// the whole migration).
	Done []RollbackDone `json:"done,omitempty"`
}

// RollbackRow counts the run's ledger entries of one kind, operation and
// status, and says what a rollback does with them.
type RollbackRow struct {
	TargetKind string `json:"target_kind"`
	Op         string `json:"op"`
	Status     string `json:"status"`
	Action     string `json:"action"`
	N          int    `json:"n"`
}

// RollbackPlan adds up what a rollback of the run would do.
type RollbackPlan struct {
	Delete            int `json:"delete"`
	Restore           int `json:"restore"`
	NothingToRestore  int `json:"nothing_to_restore"`
	CheckByHand       int `json:"check_by_hand"`
	AlreadyRolledBack int `json:"already_rolled_back"`
}

// RollbackDone is a rollback report already written.
type RollbackDone struct {
	Key     string                  `json:"key"`
	Run     string                  `json:"run,omitempty"`
	Applied bool                    `json:"applied"`
	Force   bool                    `json:"force"`
	Totals  migrate.RollbackOutput  `json:"totals"`
	Counts  []migrate.RollbackCount `json:"counts"`
}

// Delta is what a delta run found.
type Delta struct {
	Since      string                `json:"since,omitempty"`
	Watermark  string                `json:"watermark"`
	Updated    []migrate.DeltaRecord `json:"updated"`
	Conflicts  []migrate.DeltaRecord `json:"conflicts"`
	Gone       []migrate.DeltaRecord `json:"gone"`
	GoneByKind []Count               `json:"gone_by_kind"`
}
