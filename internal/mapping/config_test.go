package mapping

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// mustParse parses a YAML fixture from testdata, failing the test on error.
func mustParse(tb testing.TB, file string) *Config {
	tb.Helper()
	c, err := Load(filepath.Join("testdata", file))
	if err != nil {
		tb.Fatalf("Load(%s): %v", file, err)
	}
	return c
}

func TestDefaultRoundTrips(t *testing.T) {
	got, err := Parse("default.yaml", DefaultYAML())
	if err != nil {
		t.Fatalf("Parse(DefaultYAML()): %v", err)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(DefaultYAML()) differs from Default():\ngot  %+v\nwant %+v", got, want)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate(): %v", err)
	}
	// What yaml.Marshal writes must read back the same, for tools that write configs.
	out, err := yaml.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("marshalled.yaml", out)
	if err != nil {
		t.Fatalf("Parse(yaml.Marshal(Default())): %v", err)
	}
	if !reflect.DeepEqual(again, Default()) {
		t.Errorf("Parse(yaml.Marshal(Default())) differs from Default()")
	}
}

func TestDefaultIsAFreshCopy(t *testing.T) {
	a := Default()
	a.Headers["matters"]["matter_number"][0] = "changed"
	a.MatterTypes[0].Aliases[0] = "changed"
	a.Statuses["open"] = nil
	a.Pipelines[0].Stages[0].Source[0] = "changed"
	a.Fields.Deal["source_id"] = Field{Label: "changed", Type: "text"}
	a.Owners.Map["x"] = "y@example.com"
	b := Default()
	if b.Headers["matters"]["matter_number"][0] != "Matter Ref" || b.MatterTypes[0].Aliases[0] != "purchase" ||
		b.Statuses["open"] == nil || b.Pipelines[0].Stages[0].Source[0] != "Instructed" ||
		b.Fields.Deal["source_id"].Label != "Perfect Portal ID" || len(b.Owners.Map) != 0 {
		t.Errorf("changing one Default() changed the next: %+v", b)
	}
	if got := DefaultYAML(); &got[0] == &DefaultYAML()[0] {
		t.Errorf("DefaultYAML returns a shared slice")
	}
}

// Every top-level section of default.yaml is explained to the reader by a
// comment just above it.
func TestDefaultYAMLCommentsEverySection(t *testing.T) {
	lines := strings.Split(string(DefaultYAML()), "\n")
	for i, l := range lines {
		if l == "" || l[0] == ' ' || l[0] == '#' {
			continue
		}
		if i == 0 || !strings.HasPrefix(lines[i-1], "#") {
			t.Errorf("default.yaml line %d: section %q has no comment above it", i+1, l)
		}
	}
}

// knownFields and default.yaml list the same fields.
func TestDefaultFieldsAreKnown(t *testing.T) {
	d := Default()
	for entity, m := range map[string]map[string]Field{"deal": d.Fields.Deal, "person": d.Fields.Person, "organization": d.Fields.Organization} {
		var got []string
		for k := range m {
			got = append(got, k)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(knownFields[entity]))
		if !slices.Equal(got, want) {
			t.Errorf("default.yaml fields.%s = %v, knownFields = %v", entity, got, want)
		}
	}
}

func TestParseMergesOverDefault(t *testing.T) {
	def := Default()
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, c *Config)
	}{
		{"policies only keep every other section", "policies:\n  missing_email: skip\n", func(t *testing.T, c *Config) {
			want := Default()
			want.Policies.MissingEmail = MissingEmailSkip
			if err := want.Validate(); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got %+v\nwant %+v", c, want)
			}
		}},
		{"a policy left out keeps its default", "policies:\n  missing_title: skip\n", func(t *testing.T, c *Config) {
			if got, want := c.Policies, (Policies{MissingEmail: "migrate", MissingTitle: "skip", FallbackActivityType: "task", AttachmentSizeLimit: 25 * MB}); got != want {
				t.Errorf("Policies = %+v, want %+v", got, want)
			}
		}},
		{"an empty section keeps the default", "headers:\npolicies:\n", func(t *testing.T, c *Config) {
			if !reflect.DeepEqual(c, def) {
				t.Errorf("got %+v, want the default", c)
			}
		}},
		{"a header entry replaces only itself", "headers:\n  matters:\n    matter_number: [Ref No]\n  key_stages:\n    stage: [Key Stage]\n", func(t *testing.T, c *Config) {
			if got := c.Headers["matters"]["matter_number"]; !slices.Equal(got, []string{"Ref No"}) {
				t.Errorf("matter_number aliases = %q", got)
			}
			if got, want := c.Headers["matters"]["matter_id"], def.Headers["matters"]["matter_id"]; !slices.Equal(got, want) {
				t.Errorf("matter_id aliases = %q, want the default %q", got, want)
			}
			if got := c.Headers["clients"]; !reflect.DeepEqual(got, def.Headers["clients"]) {
				t.Errorf("clients headers = %v, want the default", got)
			}
			if got := c.Headers["key_stages"]["stage"]; !slices.Equal(got, []string{"Key Stage"}) {
				t.Errorf("key_stages.stage aliases = %q", got)
			}
		}},
		{"an empty list drops a default entry's spellings", "headers:\n  matters:\n    legal_fee: []\n", func(t *testing.T, c *Config) {
			if got := c.Headers["matters"]["legal_fee"]; len(got) != 0 {
				t.Errorf("legal_fee aliases = %q, want none", got)
			}
			if _, ok := c.HeaderAliases("matters")["fee"]; ok {
				t.Errorf(`"fee" still maps to a column`)
			}
		}},
		{"a status entry replaces only itself", "statuses:\n  on_hold: [parked]\n", func(t *testing.T, c *Config) {
			if got := c.Statuses["on_hold"]; !slices.Equal(got, []string{"parked"}) {
				t.Errorf("on_hold = %q", got)
			}
			if got, want := c.Statuses["aborted"], def.Statuses["aborted"]; !slices.Equal(got, want) {
				t.Errorf("aborted = %q, want the default %q", got, want)
			}
		}},
		{"a list replaces the default list", "matter_types:\n  - name: Probate\n    aliases: [probate]\n", func(t *testing.T, c *Config) {
			if got, want := c.MatterTypes, []MatterType{{Name: "Probate", Aliases: []string{"probate"}}}; !reflect.DeepEqual(got, want) {
				t.Errorf("MatterTypes = %+v, want %+v", got, want)
			}
		}},
		{"a field entry keeps what it leaves out", "fields:\n  deal:\n    matter_number: {label: Our reference}\n  custom:\n    Exchange date: {type: date}\n    Lender: {}\n", func(t *testing.T, c *Config) {
			if got, want := c.Fields.Deal["matter_number"], (Field{Label: "Our reference", Type: "varchar"}); got != want {
				t.Errorf("matter_number = %+v, want %+v", got, want)
			}
			if got, want := c.Fields.Custom["Exchange date"], (Field{Label: "Exchange date", Type: "date"}); got != want {
				t.Errorf("custom Exchange date = %+v, want %+v", got, want)
			}
			if got, want := c.Fields.Custom["Lender"], (Field{Label: "Lender", Type: "varchar"}); got != want {
				t.Errorf("custom Lender = %+v, want %+v", got, want)
			}
		}},
		{"owners.map entries add to the default", "owners:\n  map:\n    FE1: a@example.com\n", func(t *testing.T, c *Config) {
			if got, want := c.Owners, (Owners{Map: map[string]string{"FE1": "a@example.com"}}); !reflect.DeepEqual(got, want) {
				t.Errorf("Owners = %+v, want %+v", got, want)
			}
		}},
		{"anchors and aliases are followed", "pipelines:\n  - name: A\n    matter_types: []\n    stages: &s\n      - name: One\n        source: [x]\n  - name: B\n    matter_types: [Sale]\n    stages: *s\n", func(t *testing.T, c *Config) {
			if got, want := c.Pipelines[1].Stages, c.Pipelines[0].Stages; !reflect.DeepEqual(got, want) || len(got) != 1 {
				t.Errorf("B stages = %+v, want %+v", got, want)
			}
		}},
		{"sizes and numbers in every form", "policies:\n  attachment_size_limit: 1048576\nstaging:\n  chunk_matters: 0x10\n", func(t *testing.T, c *Config) {
			if c.Policies.AttachmentSizeLimit != MB || c.Staging.ChunkMatters != 16 {
				t.Errorf("limit %v, chunk %d", c.Policies.AttachmentSizeLimit, c.Staging.ChunkMatters)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("conveyor.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoad(t *testing.T) {
	c := mustParse(t, "policies-only.yaml")
	if got, want := c.Policies.AttachmentSizeLimit, 10*MB; got != want {
		t.Errorf("AttachmentSizeLimit = %v, want %v", got, want)
	}
	if got, want := c.Headers, Default().Headers; !reflect.DeepEqual(got, want) {
		t.Errorf("Headers = %v, want the default", got)
	}

	_, err := Load(filepath.Join("testdata", "no-such-file.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing file) = %v, want an error wrapping os.ErrNotExist", err)
	}
}

// The whole report for a file with many problems, against a golden file
// (go test -update rewrites it).
func TestManyProblemsReportedTogether(t *testing.T) {
	path := filepath.Join("testdata", "many-problems.yaml")
	_, err := Load(path)
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Load = %v, want *Error", err)
	}
	got := err.Error() + "\n"
	golden := filepath.Join("testdata", "many-problems.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("error report:\n%s\nwant:\n%s", got, want)
	}
	if len(cerr.Problems) < 8 {
		t.Errorf("%d problems, want at least 8", len(cerr.Problems))
	}
	for i := 1; i < len(cerr.Problems); i++ {
		if a, b := cerr.Problems[i-1].Line, cerr.Problems[i].Line; b != 0 && (a == 0 || a > b) {
			t.Errorf("problems out of line order: %d before %d", a, b)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "conveyor.yaml", Problems: []Problem{
		{Line: 42, Path: "policies.missing_email", Message: `"maybe" is not one of migrate, skip`},
		{Line: 7, Message: `unknown key "hedaers"`},
		{Path: "pipelines", Message: "no default pipeline"},
	}}
	want := `conveyor.yaml line 42: policies.missing_email: "maybe" is not one of migrate, skip
conveyor.yaml line 7: unknown key "hedaers"
conveyor.yaml: pipelines: no default pipeline`
	if got := e.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if got, want := (&Error{Problems: []Problem{{Path: "version", Message: "m"}}}).Error(), "mapping configuration: version: m"; got != want {
		t.Errorf("Error() without a file = %q, want %q", got, want)
	}
}

func TestValidateAfterChange(t *testing.T) {
	c := Default()
	c.MatterTypes = append(c.MatterTypes, MatterType{Name: "Probate", Aliases: []string{"estate"}})
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got, ok := c.MatterType("Estate"); !ok || got != "Probate" {
		t.Errorf(`MatterType("Estate") = %q, %v after Validate; want "Probate", true`, got, ok)
	}

	c.Policies.MissingEmail = "maybe"
	c.Fields.Deal["created_at"] = Field{Label: "Created", Type: "datetime"}
	err := c.Validate()
	var cerr *Error
	if !errors.As(err, &cerr) || len(cerr.Problems) != 2 {
		t.Fatalf("Validate = %v, want 2 problems", err)
	}
	for _, p := range cerr.Problems {
		if p.Line != 0 {
			t.Errorf("problem %+v has a line; a Config built in code has none", p)
		}
	}
}
