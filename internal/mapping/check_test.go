package mapping

import (
	"errors"
	"strings"
	"testing"
)

// wantProblem is a problem expected at a line, its message containing a fragment.
type wantProblem struct {
	line     int
	path     string
	fragment string
}

func TestParseReportsProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []wantProblem
	}{
		// The file as a whole.
		{name: "empty file", yaml: "",
			want: []wantProblem{{0, "", "the file is empty"}}},
		{name: "only comments", yaml: "# nothing here\n",
			want: []wantProblem{{0, "", "the file is empty"}}},
		{name: "a list, not a mapping", yaml: "- version: 1\n",
			want: []wantProblem{{1, "", "must be a mapping of settings"}}},
		{name: "a single value", yaml: "conveyor\n",
			want: []wantProblem{{1, "", `not "conveyor"`}}},
		{name: "YAML syntax error", yaml: "version: 1\npolicies:\n\tmissing_email: skip\n",
			want: []wantProblem{{3, "", "YAML syntax error at or after this line: found character that cannot start any token"}}},
		{name: "YAML syntax error without a line", yaml: "a: b: c\n",
			want: []wantProblem{{0, "", "YAML syntax error: mapping values are not allowed in this context"}}},
		{name: "two documents", yaml: "version: 1\n---\nversion: 1\n",
			want: []wantProblem{{2, "", "a second YAML document"}}},
		{name: "unknown key", yaml: "version: 1\nhedaers: {}\n",
			want: []wantProblem{{2, "", `unknown key "hedaers"; did you mean "headers"?`}}},
		{name: "unknown key far from any", yaml: "colour: blue\n",
			want: []wantProblem{{1, "", `unknown key "colour"; expected one of version, headers, matter_types`}}},
		{name: "key written twice", yaml: "version: 1\nstaging: {}\nversion: 1\n",
			want: []wantProblem{{3, "", `"version" is written twice (first on line 1)`}}},
		{name: "merge key", yaml: "policies: &p\n  missing_email: skip\nstaging:\n  <<: *p\n",
			want: []wantProblem{{4, "staging", "merge keys (<<) are not supported"}}},
		{name: "a section of the wrong kind", yaml: "statuses: [open]\n",
			want: []wantProblem{{1, "statuses", "must be a mapping"}}},

		// version
		{name: "version 2", yaml: "version: 2\n",
			want: []wantProblem{{1, "version", "2 is not supported"}}},
		{name: "version not a number", yaml: "version: one\n",
			want: []wantProblem{{1, "version", `must be a whole number, not "one"`}}},

		// headers
		{name: "unknown table", yaml: "headers:\n  matter:\n    matter_id: [Id]\n",
			want: []wantProblem{{2, "headers", `unknown table "matter"; did you mean "matters"?; tables are fee_earners, organisations, clients`}}},
		{name: "unknown column", yaml: "headers:\n  matters:\n    matter_nmber: [Ref]\n",
			want: []wantProblem{{3, "headers.matters", `unknown column "matter_nmber" in matters; did you mean "matter_number"?`}}},
		{name: "column not in canonical spelling", yaml: "headers:\n  matters:\n    Matter Number: [Ref]\n",
			want: []wantProblem{{3, "headers.matters", `write the column "Matter Number" as "matter_number"`}}},
		{name: "custom column outside matters", yaml: "headers:\n  clients:\n    custom.Nickname: [Known as]\n",
			want: []wantProblem{{3, "headers.clients", "custom.<Name> columns exist only in matters"}}},
		{name: "custom column with no name", yaml: "headers:\n  matters:\n    'custom. ': [X]\n",
			want: []wantProblem{{3, "headers.matters", "write the custom column's name"}}},
		{name: "alias of a default column", yaml: "headers:\n  matters:\n    description: [Summary, Our Ref]\n",
			want: []wantProblem{{3, "headers.matters.description[1]", `"Our Ref" is already a header for matter_number (in the default configuration)`}}},
		{name: "alias of two columns", yaml: "headers:\n  matters:\n    lead_source: [Ref]\n    currency:\n      - ref\n",
			want: []wantProblem{{5, "headers.matters.currency[0]", `"ref" is already a header for lead_source (line 3)`}}},
		{name: "alias that is another column", yaml: "headers:\n  matters:\n    key_stage: [Status]\n",
			want: []wantProblem{{3, "headers.matters.key_stage[0]", `"Status" is the column status itself`}}},
		{name: "empty alias", yaml: "headers:\n  matters:\n    key_stage: [' - ']\n",
			want: []wantProblem{{3, "headers.matters.key_stage[0]", "an empty header matches nothing"}}},
		{name: "aliases not a list", yaml: "headers:\n  matters:\n    matter_id: Case ID\n",
			want: []wantProblem{{3, "headers.matters.matter_id", `must be a list`}}},

		// matter_types
		{name: "matter type named twice", yaml: "matter_types:\n  - name: Sale\n  - name: sale\n",
			want: []wantProblem{{3, "matter_types[1].name", `matter type "sale" is already defined (line 2)`}}},
		{name: "matter type alias claimed twice", yaml: "matter_types:\n  - name: Purchase\n    aliases: [buy]\n  - name: Sale\n    aliases: [Buy]\n",
			want: []wantProblem{{5, "matter_types[1].aliases[0]", `"Buy" is already a spelling of matter type Purchase (line 3)`}}},
		{name: "matter type alias that is another type's name", yaml: "matter_types:\n  - name: Purchase\n  - name: Sale\n    aliases: [purchase]\n",
			want: []wantProblem{{4, "matter_types[1].aliases[0]", "already a spelling of matter type Purchase"}}},
		{name: "matter type without a name", yaml: "matter_types:\n  - aliases: [x]\n",
			want: []wantProblem{{2, "matter_types[0].name", "a matter type needs a name"}}},
		{name: "matter type unknown key", yaml: "matter_types:\n  - name: Sale\n    alias: [sell]\n",
			want: []wantProblem{{3, "matter_types[0]", `unknown key "alias"; did you mean "aliases"?`}}},
		{name: "matter type not a mapping", yaml: "matter_types:\n  - Sale\n",
			want: []wantProblem{{2, "matter_types[0]", "must be a mapping with name and aliases"}}},

		// statuses and activity types
		{name: "unknown status", yaml: "statuses:\n  onhold: [parked]\n",
			want: []wantProblem{{2, "statuses", `unknown status "onhold"; did you mean "on_hold"?; use one of open, completed, aborted, on_hold`}}},
		{name: "status spelling claimed twice", yaml: "statuses:\n  completed: [closed, done]\n  aborted: [Done]\n",
			want: []wantProblem{{3, "statuses.aborted[0]", `"Done" is already a spelling of completed (line 2)`}}},
		{name: "status spelling that is another status", yaml: "statuses:\n  aborted: [open]\n",
			want: []wantProblem{{2, "statuses.aborted[0]", `"open" is already a spelling of open`}}},
		{name: "unknown activity type", yaml: "activity_types:\n  letter: [letter]\n",
			want: []wantProblem{{2, "activity_types", `unknown activity type "letter"; use one of call, email, meeting, sms, task, note`}}},
		{name: "activity spelling claimed twice", yaml: "activity_types:\n  sms: [text]\n  email: [Text]\n",
			want: []wantProblem{{3, "activity_types.email[0]", `"Text" is already a spelling of sms (line 2)`}}},

		// pipelines
		{name: "no pipelines", yaml: "pipelines: []\n",
			want: []wantProblem{{1, "pipelines", "at least one pipeline is required"}}},
		{name: "pipeline named twice", yaml: pipelines("A", "[]", "B", "[Sale]", "a", "[Purchase]"),
			want: []wantProblem{{14, "pipelines[2].name", `pipeline "a" is already defined (line 2)`}}},
		{name: "no default pipeline", yaml: pipelines("A", "[Sale]"),
			want: []wantProblem{{1, "pipelines", "no default pipeline: give exactly one pipeline an empty matter_types list"}}},
		{name: "two default pipelines", yaml: pipelines("A", "[]", "B", "[]"),
			want: []wantProblem{{10, "pipelines[1].matter_types", `pipeline "B" is a second default pipeline`}}},
		{name: "unknown matter type in a pipeline", yaml: pipelines("A", "[]", "B", "[Probate]"),
			want: []wantProblem{{10, "pipelines[1].matter_types[0]", `"Probate" is not a matter type; add it to matter_types, or use one of Purchase, Sale`}}},
		{name: "a matter type's alias in a pipeline", yaml: pipelines("A", "[]", "B", "[buying]"),
			want: []wantProblem{{10, "pipelines[1].matter_types[0]", `"buying" is a spelling of matter type "Purchase"`}}},
		{name: "a matter type in two pipelines", yaml: pipelines("A", "[]", "B", "[Sale]", "C", "[sale]"),
			want: []wantProblem{{16, "pipelines[2].matter_types[0]", `matter type Sale is already in pipeline "B"`}}},
		{name: "pipeline without stages", yaml: "pipelines:\n  - name: A\n    matter_types: []\n    stages: []\n",
			want: []wantProblem{{4, "pipelines[0].stages", `pipeline "A" needs at least one stage`}}},
		{name: "stage named twice", yaml: "pipelines:\n  - name: A\n    matter_types: []\n    stages:\n      - name: Searches\n      - name: searches\n",
			want: []wantProblem{{6, "pipelines[0].stages[1].name", `stage "searches" is already in this pipeline (line 5)`}}},
		{name: "stage without a name", yaml: "pipelines:\n  - name: A\n    matter_types: []\n    stages:\n      - source: [x]\n",
			want: []wantProblem{{5, "pipelines[0].stages[0].name", "a stage needs a name"}}},
		{name: "source stage in two stages", yaml: "pipelines:\n  - name: A\n    matter_types: []\n    stages:\n      - name: One\n        source: [Searches, AML]\n      - name: Two\n        source: [aml]\n",
			want: []wantProblem{{8, "pipelines[0].stages[1].source[0]", `source stage "aml" already goes to stage "One" (line 6)`}}},
		{name: "fallback stage not a stage", yaml: "pipelines:\n  - name: A\n    matter_types: []\n    stages:\n      - name: One\n    fallback_stage: one\n",
			want: []wantProblem{{6, "pipelines[0].fallback_stage", `"one" is not a stage of pipeline "A"; write one of "One"`}}},
		{name: "pipeline unknown key", yaml: "pipelines:\n  - name: A\n    matter_types: []\n    stage:\n      - name: One\n",
			want: []wantProblem{{4, "pipelines[0]", `unknown key "stage"; did you mean "stages"?`}, {2, "pipelines[0].stages", "needs at least one stage"}}},

		// fields
		{name: "field type not Pipedrive's", yaml: "fields:\n  deal:\n    mortgage_lender: {label: Lender, type: varchar2}\n",
			want: []wantProblem{{3, "fields.deal.mortgage_lender.type", `"varchar2" is not a Pipedrive field type; did you mean "varchar"?`}}},
		{name: "datetime field type", yaml: "fields:\n  deal:\n    created_at:\n      label: Created\n      type: datetime\n",
			want: []wantProblem{{5, "fields.deal.created_at.type", "Pipedrive has no datetime field type; use date"}}},
		{name: "empty label", yaml: "fields:\n  person:\n    role: {label: ' '}\n",
			want: []wantProblem{{3, "fields.person.role.label", "a field needs a label"}}},
		{name: "stage_entered label without {stage}", yaml: "fields:\n  deal:\n    stage_entered: {label: Stage entered}\n",
			want: []wantProblem{{3, "fields.deal.stage_entered.label", `"Stage entered" must contain {stage}`}}},
		{name: "unknown deal field", yaml: "fields:\n  deal:\n    lender: {label: Lender, type: varchar}\n",
			want: []wantProblem{{3, "fields.deal", `unknown field "lender"; deal fields are matter_number`}}},
		{name: "unknown field key", yaml: "fields:\n  deal:\n    source_id: {label: Id, kind: varchar}\n",
			want: []wantProblem{{3, "fields.deal.source_id", `unknown key "kind"`}}},
		{name: "two fields with one label", yaml: "fields:\n  deal:\n    mortgage_lender: {label: matter number}\n",
			want: []wantProblem{{3, "fields.deal.mortgage_lender.label", `"matter number" is already the label of deal.matter_number (in the default configuration)`}}},
		{name: "custom field with a default field's label", yaml: "fields:\n  custom:\n    Lender: {label: Mortgage lender}\n",
			want: []wantProblem{{3, "fields.custom.Lender.label", `already the label of deal.mortgage_lender`}}},
		{name: "custom field written with its prefix", yaml: "fields:\n  custom:\n    custom.Lender: {label: Lender}\n",
			want: []wantProblem{{3, "fields.custom", `write "custom.Lender" without the "custom." prefix`}}},
		{name: "custom field named twice", yaml: "fields:\n  custom:\n    Lender: {}\n    lender: {label: Lender 2}\n",
			want: []wantProblem{{4, "fields.custom", `"lender" is the same column as fields.custom.Lender (line 3)`}}},

		// owners
		{name: "default owner not an email", yaml: "owners:\n  default: Jane Smith\n",
			want: []wantProblem{{2, "owners.default", `"Jane Smith" is not an email address`}}},
		{name: "mapped owner not an email", yaml: "owners:\n  map:\n    FE1: jane@example\n    FE2: jane@example.com\n",
			want: []wantProblem{{3, "owners.map.FE1", `"jane@example" is not an email address`}}},
		{name: "two @ in an email", yaml: "owners:\n  default: a@b@example.com\n",
			want: []wantProblem{{2, "owners.default", "is not an email address"}}},

		// policies and staging
		{name: "missing_email not an option", yaml: "policies:\n  missing_email: maybe\n",
			want: []wantProblem{{2, "policies.missing_email", `"maybe" is not one of migrate, skip`}}},
		{name: "missing_title not an option", yaml: "policies:\n  missing_title: untitled\n",
			want: []wantProblem{{2, "policies.missing_title", `"untitled" is not one of fallback, skip`}}},
		{name: "fallback activity type unknown", yaml: "policies:\n  fallback_activity_type: letter\n",
			want: []wantProblem{{2, "policies.fallback_activity_type", `"letter" is not one of call, email, meeting, sms, task`}}},
		{name: "fallback activity type note", yaml: "policies:\n  fallback_activity_type: note\n",
			want: []wantProblem{{2, "policies.fallback_activity_type", "note cannot be the fallback"}}},
		{name: "attachment limit zero", yaml: "policies:\n  attachment_size_limit: 0MB\n",
			want: []wantProblem{{2, "policies.attachment_size_limit", "must be more than 0"}}},
		{name: "attachment limit over 2GB", yaml: "policies:\n  attachment_size_limit: 2049 MiB\n",
			want: []wantProblem{{2, "policies.attachment_size_limit", "2049MB is over the largest allowed, 2GB"}}},
		{name: "attachment limit not a size", yaml: "policies:\n  attachment_size_limit: 25 megs\n",
			want: []wantProblem{{2, "policies.attachment_size_limit", `"25 megs" is not a size`}}},
		{name: "policy unknown key", yaml: "policies:\n  missing_emial: skip\n",
			want: []wantProblem{{2, "policies", `unknown key "missing_emial"; did you mean "missing_email"?`}}},
		{name: "policy not a single value", yaml: "policies:\n  missing_email: [skip]\n",
			want: []wantProblem{{2, "policies.missing_email", "must be a single value, not a list"}}},
		{name: "chunk_matters zero", yaml: "staging:\n  chunk_matters: 0\n",
			want: []wantProblem{{2, "staging.chunk_matters", "0 is not between 1 and 10000"}}},
		{name: "chunk_matters too big", yaml: "staging:\n  chunk_matters: 10001\n",
			want: []wantProblem{{2, "staging.chunk_matters", "10001 is not between 1 and 10000"}}},
		{name: "chunk_matters a fraction", yaml: "staging:\n  chunk_matters: 2.5\n",
			want: []wantProblem{{2, "staging.chunk_matters", "must be a whole number"}}},

		// Limits.
		{name: "aliases expanding without end", yaml: aliasBomb(),
			want: []wantProblem{{0, "", "expands to too many values"}}},

		// Everything at once.
		{name: "problems from reading and checking together",
			yaml: "version: 3\npolicies:\n  missing_email: [x]\n  missing_title: maybe\nstaging:\n  chunk_matters: -1\n",
			want: []wantProblem{
				{1, "version", "3 is not supported"},
				{3, "policies.missing_email", "must be a single value"},
				{4, "policies.missing_title", `"maybe" is not one of fallback, skip`},
				{6, "staging.chunk_matters", "-1 is not between 1 and 10000"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("conveyor.yaml", []byte(tt.yaml))
			if c != nil {
				t.Errorf("Parse returned a Config with an error")
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Parse = %v, want *Error", err)
			}
			if cerr.File != "conveyor.yaml" {
				t.Errorf("File = %q", cerr.File)
			}
			got := cerr.Problems
			if len(got) != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%v", len(got), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !hasProblem(got, w) {
					t.Errorf("no problem at line %d, path %q, containing %q; got:\n%v", w.line, w.path, w.fragment, err)
				}
			}
		})
	}
}

func hasProblem(ps []Problem, w wantProblem) bool {
	for _, p := range ps {
		if (w.line == 0 || p.Line == w.line) && p.Path == w.path && strings.Contains(p.Message, w.fragment) {
			return true
		}
	}
	return false
}

// pipelines writes matter types Purchase and Sale and a pipeline per
// name/matter_types pair, six lines each starting on line 2.
func pipelines(nameTypes ...string) string {
	var b strings.Builder
	b.WriteString("pipelines:\n")
	for i := 0; i+1 < len(nameTypes); i += 2 {
		b.WriteString("  - name: " + nameTypes[i] + "\n")
		b.WriteString("    # a comment keeps each pipeline six lines long\n")
		b.WriteString("    matter_types: " + nameTypes[i+1] + "\n")
		b.WriteString("    stages:\n      - name: One\n        source: [x]\n")
	}
	b.WriteString("matter_types:\n  - name: Purchase\n    aliases: [buying]\n  - name: Sale\n")
	return b.String()
}

// aliasBomb writes a small file whose aliases expand to a million values.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("pipelines:\n  - &p\n    name: A\n    matter_types: []\n    stages:\n      - &s\n        name: S\n        source: [")
	for i := 0; i < 100; i++ {
		b.WriteString("x, ")
	}
	b.WriteString("x]\n")
	for i := 0; i < 100; i++ {
		b.WriteString("      - *s\n")
	}
	for i := 0; i < 100; i++ {
		b.WriteString("  - *p\n")
	}
	return b.String()
}

func TestValidateWithoutLines(t *testing.T) {
	c := &Config{}
	err := c.Validate()
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Validate(empty Config) = %v, want *Error", err)
	}
	for _, w := range []wantProblem{
		{0, "version", "0 is not supported"},
		{0, "pipelines", "at least one pipeline is required"},
		{0, "fields.deal", `field "source_id" is missing`},
		{0, "policies.missing_email", `"" is not one of migrate, skip`},
		{0, "policies.attachment_size_limit", "must be more than 0"},
		{0, "staging.chunk_matters", "0 is not between 1 and 10000"},
	} {
		if !hasProblem(cerr.Problems, w) {
			t.Errorf("no problem %+v; got:\n%v", w, err)
		}
	}
}
