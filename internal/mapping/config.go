// Package mapping holds the mapping configuration: the one source of truth for
// how a Perfect Portal export maps to Pipedrive — other spellings of column
// headers, matter types, statuses and activity types, pipelines and the stages
// each source Key Stage lands in, Pipedrive custom field labels and types,
// owners, and the policies for incomplete records.
//
// A firm's configuration is YAML (see default.yaml, written out by
// `conveyor init-config`). Parse checks all of it and reports every problem
// with its line; what a file leaves out keeps the default's value.
package mapping

import (
	_ "embed"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
)

//go:embed default.yaml
var defaultYAML []byte

// Config is a mapping configuration. Configs from Parse, Load and Default are
// valid and have their lookup tables built; after changing one, call Validate
// to check it and rebuild them. Lookups only read, so any number of goroutines
// may use one Config at once as long as none changes it.
type Config struct {
	// Version is the configuration format; only 1 exists.
	Version int `yaml:"version"`
	// Headers holds other spellings of column headers: table -> canonical
	// column -> aliases.
	Headers map[string]map[string][]string `yaml:"headers"`
	// MatterTypes are the canonical matter types with their spellings.
	MatterTypes []MatterType `yaml:"matter_types"`
	// Statuses maps a canonical status (open, completed, aborted, on_hold) to
	// its spellings.
	Statuses map[string][]string `yaml:"statuses"`
	// ActivityTypes maps a canonical activity type (call, email, meeting, sms,
	// task, note) to its spellings.
	ActivityTypes map[string][]string `yaml:"activity_types"`
	// Pipelines are the Pipedrive pipelines deals go into.
	Pipelines []Pipeline `yaml:"pipelines"`
	// Fields are the Pipedrive custom fields Conveyor writes.
	Fields Fields `yaml:"fields"`
	// Owners says which Pipedrive user owns each fee earner's records.
	Owners Owners `yaml:"owners"`
	// Policies say what to do with incomplete records.
	Policies Policies `yaml:"policies"`
	// Staging sizes the pieces the export is cut into.
	Staging Staging `yaml:"staging"`
	// Costs are the figures of the report's cost worksheet (per-matter
	// pricing before, per-seat after); the report reads and checks them
	// (internal/report.ParseCosts), the migration ignores them.
	Costs map[string]any `yaml:"costs,omitempty"`

	idx *index
}

// MatterType is a canonical matter type and the spellings found in exports.
type MatterType struct {
	Name    string   `yaml:"name"`
	Aliases []string `yaml:"aliases"`
}

// Pipeline is a Pipedrive pipeline and the source stages each of its stages takes.
type Pipeline struct {
	Name string `yaml:"name"`
	// MatterTypes are the canonical matter types whose deals go into this
	// pipeline; empty for the default pipeline, which takes all the others.
	MatterTypes []string `yaml:"matter_types"`
	// Stages are in pipeline order.
	Stages []Stage `yaml:"stages"`
	// FallbackStage takes source stages that no stage lists; empty means such
	// a matter stops the run for review.
	FallbackStage string `yaml:"fallback_stage"`

	sources map[string]string // fold(source stage) -> stage name
}

// Stage is a Pipedrive stage and the firm's source stage names that land in it.
type Stage struct {
	Name   string   `yaml:"name"`
	Source []string `yaml:"source"`
}

// Fields are the Pipedrive custom fields, by entity, keyed by what they hold
// (e.g. Deal["source_id"]).
type Fields struct {
	Deal         map[string]Field `yaml:"deal"`
	Person       map[string]Field `yaml:"person"`
	Organization map[string]Field `yaml:"organization"`
	// Custom holds Deal fields for custom.<Name> matter columns, keyed by
	// <Name>; see Config.CustomField.
	Custom map[string]Field `yaml:"custom"`
}

// Field is a Pipedrive custom field: the label it is found or created by, and
// its Pipedrive field type.
type Field struct {
	Label string `yaml:"label"`
	Type  string `yaml:"type"`
}

// Owners maps fee earners to Pipedrive users where matching by email fails.
type Owners struct {
	// Default is the Pipedrive user email for fee earners that resolve to no
	// user; empty means the API token's user.
	Default string `yaml:"default"`
	// Map takes a fee_earner_id or fee earner email to a Pipedrive user email.
	Map map[string]string `yaml:"map"`
}

// Policies say what to do with incomplete records.
type Policies struct {
	// MissingEmail is MissingEmailMigrate or MissingEmailSkip.
	MissingEmail string `yaml:"missing_email"`
	// MissingTitle is MissingTitleFallback or MissingTitleSkip.
	MissingTitle string `yaml:"missing_title"`
	// FallbackActivityType is the activity type (not note) for unknown types.
	FallbackActivityType string `yaml:"fallback_activity_type"`
	// AttachmentSizeLimit is the largest file uploaded as it is.
	AttachmentSizeLimit ByteSize `yaml:"attachment_size_limit"`
}

// Staging sizes the pieces the export is cut into.
type Staging struct {
	// ChunkMatters is the number of matters, with all their children, per
	// staged chunk: 1 to 10000.
	ChunkMatters int `yaml:"chunk_matters"`
}

// Canonical statuses.
const (
	StatusOpen      = "open"
	StatusCompleted = "completed"
	StatusAborted   = "aborted"
	StatusOnHold    = "on_hold"
)

// Canonical activity types.
const (
	ActivityCall    = "call"
	ActivityEmail   = "email"
	ActivityMeeting = "meeting"
	ActivitySMS     = "sms"
	ActivityTask    = "task"
	ActivityNote    = "note"
)

// Policy values.
const (
	// MissingEmailMigrate migrates a client with no email (flagged).
	MissingEmailMigrate = "migrate"
	// MissingEmailSkip skips a client with no email.
	MissingEmailSkip = "skip"
	// MissingTitleFallback titles a matter with no description
	// "<matter_number> <property_address>".
	MissingTitleFallback = "fallback"
	// MissingTitleSkip skips a matter with no description.
	MissingTitleSkip = "skip"
)

// DefaultYAML returns the default configuration as commented YAML, for
// `conveyor init-config` to write out. The caller owns the returned slice.
func DefaultYAML() []byte {
	return slices.Clone(defaultYAML)
}

var defaultConfig = sync.OnceValue(func() *Config {
	c, err := parse("default.yaml", defaultYAML, &Config{})
	if err != nil {
		// The embedded file is part of the program; TestDefault keeps it valid.
		panic(fmt.Sprintf("mapping: embedded default.yaml is invalid:\n%v", err))
	}
	return c
})

// Default returns the default configuration, a fresh copy on each call that the
// caller may change (then call Validate).
func Default() *Config {
	c := defaultConfig().clone()
	idx, _ := check(c, nil)
	c.setIndex(idx)
	return c
}

// Parse reads a configuration from YAML on top of the default: what data leaves
// out keeps the default's value (see default.yaml). name, usually the file's
// path, starts every error message. If anything is wrong, Parse returns a nil
// Config and an *Error listing every problem with its line.
func Parse(name string, data []byte) (*Config, error) {
	// parse builds the lookup tables, so the default's copy need not.
	return parse(name, data, defaultConfig().clone())
}

// Load reads and parses the configuration file at path. It returns the file
// system's error if the file cannot be read, and otherwise what Parse returns.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mapping configuration: %w", err)
	}
	return Parse(path, data)
}

// parse decodes data over base, which it changes and returns if all is well.
func parse(name string, data []byte, base *Config) (*Config, error) {
	d := newDecoder()
	if root := d.document(data); root != nil {
		d.config(root, base)
		if d.tooMany {
			// What was read is cut short: checking it would only add noise.
			sortProblems(d.problems)
			return nil, &Error{File: name, Problems: d.problems}
		}
		idx, problems := check(base, d.lines)
		d.problems = append(d.problems, problems...)
		if len(d.problems) == 0 {
			base.setIndex(idx)
			return base, nil
		}
	}
	sortProblems(d.problems)
	return nil, &Error{File: name, Problems: d.problems}
}

// Validate checks c as Parse does and, when it is valid, rebuilds the lookup
// tables, so that lookups see changes made to c. It returns an *Error listing
// every problem; the problems have no line numbers.
func (c *Config) Validate() error {
	idx, problems := check(c, nil)
	if len(problems) > 0 {
		sortProblems(problems)
		return &Error{Problems: problems}
	}
	c.setIndex(idx)
	return nil
}

// clone returns a deep copy of c without lookup tables.
func (c *Config) clone() *Config {
	n := *c
	if c.Headers != nil {
		n.Headers = make(map[string]map[string][]string, len(c.Headers))
		for t, cols := range c.Headers {
			n.Headers[t] = cloneLists(cols)
		}
	}
	n.MatterTypes = make([]MatterType, len(c.MatterTypes))
	for i, mt := range c.MatterTypes {
		n.MatterTypes[i] = MatterType{Name: mt.Name, Aliases: slices.Clone(mt.Aliases)}
	}
	n.Statuses = cloneLists(c.Statuses)
	n.ActivityTypes = cloneLists(c.ActivityTypes)
	n.Pipelines = make([]Pipeline, len(c.Pipelines))
	for i, p := range c.Pipelines {
		stages := make([]Stage, len(p.Stages))
		for j, s := range p.Stages {
			stages[j] = Stage{Name: s.Name, Source: slices.Clone(s.Source)}
		}
		n.Pipelines[i] = Pipeline{Name: p.Name, MatterTypes: slices.Clone(p.MatterTypes), Stages: stages, FallbackStage: p.FallbackStage}
	}
	n.Fields = Fields{
		Deal:         maps.Clone(c.Fields.Deal),
		Person:       maps.Clone(c.Fields.Person),
		Organization: maps.Clone(c.Fields.Organization),
		Custom:       maps.Clone(c.Fields.Custom),
	}
	n.Owners.Map = maps.Clone(c.Owners.Map)
	n.idx = nil
	return &n
}

func cloneLists(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	n := make(map[string][]string, len(m))
	for k, v := range m {
		n[k] = slices.Clone(v)
	}
	return n
}
