package mapping

import (
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"On Hold", "on hold"},
		{"  on-hold ", "on hold"},
		{"ON__HOLD", "on hold"},
		{"on \t- hold", "on hold"},
		{"Sale & Purchase", "sale & purchase"},
		{"sale/purchase", "sale/purchase"},
		{"RE-MORTGAGE", "re mortgage"},
		{"on\u00a0hold", "on hold"}, // a no-break space from a spreadsheet
		{"ÉTAPE Deux", "étape deux"},
		{" - _ ", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := fold(tt.in); got != tt.want {
			t.Errorf("fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHeaderAliases(t *testing.T) {
	c := mustParse(t, "two-pipelines.yaml")
	tests := []struct {
		name, table, header, want string
	}{
		{"an alias", "matters", "Matter Ref", "matter_number"},
		{"an alias spelled loosely", "matters", " matter-ref ", "matter_number"},
		{"an alias in upper case", "matters", "CASE_ID", "matter_id"},
		{"the column itself", "matters", "Matter Number", "matter_number"},
		{"a column no alias names", "matters", "status", "status"},
		{"a custom column's alias", "matters", "Lender No", "custom.Lender ref"},
		{"a custom column itself", "matters", "custom.Lender ref", "custom.Lender ref"},
		{"another table", "clients", "E-mail", "email"},
		{"an alias of another table", "clients", "Matter Ref", ""},
		{"a table with no aliases", "key_stages", "Entered At", "entered_at"},
		{"an unknown header", "matters", "Colour", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.HeaderAliases(tt.table)[perfectportal.NormalizeHeader(tt.header)]
			if got != tt.want {
				t.Errorf("HeaderAliases(%q)[NormalizeHeader(%q)] = %q, want %q", tt.table, tt.header, got, tt.want)
			}
		})
	}
	if got := c.HeaderAliases("no_such_table"); got != nil {
		t.Errorf("HeaderAliases(unknown table) = %v, want nil", got)
	}
	m := c.HeaderAliases("matters")
	m["matter_ref"] = "changed"
	if got := c.HeaderAliases("matters")["matter_ref"]; got != "matter_number" {
		t.Errorf("changing a returned map changed the Config: %q", got)
	}
}

func TestValueLookups(t *testing.T) {
	c := Default()
	tests := []struct {
		name   string
		lookup func(string) (string, bool)
		raw    string
		want   string
		wantOK bool
	}{
		{"matter type by alias", c.MatterType, "Sale & Purchase", "Sale and purchase", true},
		{"matter type by name", c.MatterType, "transfer of equity", "Transfer of equity", true},
		{"matter type spelled loosely", c.MatterType, " RE-MORTGAGE ", "Remortgage", true},
		{"matter type by short alias", c.MatterType, "TOE", "Transfer of equity", true},
		{"unknown matter type", c.MatterType, "probate", "", false},
		{"empty matter type", c.MatterType, "", "", false},
		{"status with a space", c.Status, "On Hold", StatusOnHold, true},
		{"status as its key", c.Status, "on_hold", StatusOnHold, true},
		{"status by alias", c.Status, "Fell-Through", StatusAborted, true},
		{"status in capitals", c.Status, "CANCELLED", StatusAborted, true},
		{"unknown status", c.Status, "pending", "", false},
		{"activity type by alias", c.ActivityType, "Phone Call", ActivityCall, true},
		{"activity type loosely", c.ActivityType, "phone_call", ActivityCall, true},
		{"activity type sms", c.ActivityType, "Text Message", ActivitySMS, true},
		{"activity type note", c.ActivityType, "File Note", ActivityNote, true},
		{"activity type as itself", c.ActivityType, "SMS", ActivitySMS, true},
		{"unknown activity type", c.ActivityType, "letter", "", false},
		{"a long value", c.ActivityType, "a very long activity type description that is well past sixty-four bytes", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.lookup(tt.raw)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("lookup(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestPipelineFor(t *testing.T) {
	c := mustParse(t, "two-pipelines.yaml")
	tests := []struct{ matterType, want string }{
		{"Remortgage", "Remortgage"},
		{"Transfer of equity", "Remortgage"},
		{"remortgage", "Remortgage"},
		{"Purchase", "Conveyancing"},
		{"Sale", "Conveyancing"},
		{"", "Conveyancing"},
		{"Probate", "Conveyancing"},
	}
	for _, tt := range tests {
		if got := c.PipelineFor(tt.matterType); got == nil || got.Name != tt.want {
			t.Errorf("PipelineFor(%q) = %+v, want pipeline %q", tt.matterType, got, tt.want)
		}
	}
	if got := Default().PipelineFor("Purchase"); got == nil || got.Name != "Conveyancing" {
		t.Errorf("Default().PipelineFor(Purchase) = %+v, want Conveyancing", got)
	}
	if got := (&Config{}).PipelineFor("Purchase"); got != nil {
		t.Errorf("PipelineFor on a Config without pipelines = %+v, want nil", got)
	}
}

func TestStageFor(t *testing.T) {
	c := mustParse(t, "two-pipelines.yaml")
	def := Default()
	tests := []struct {
		name     string
		pipeline *Pipeline
		source   string
		want     string
		wantOK   bool
	}{
		{"a source stage", def.PipelineFor("Purchase"), "Searches ordered", "Searches", true},
		{"a source stage spelled loosely", def.PipelineFor("Purchase"), "  searches-ORDERED", "Searches", true},
		{"the last stage", def.PipelineFor("Sale"), "Exchanged", "Completion", true},
		{"no stage and no fallback", def.PipelineFor("Sale"), "Awaiting funds", "", false},
		{"the other pipeline", c.PipelineFor("Remortgage"), "redemption", "Redeemed", true},
		{"a stage only the other pipeline has", c.PipelineFor("Purchase"), "Redeemed", "", false},
		{"the fallback stage", c.PipelineFor("Remortgage"), "Awaiting funds", "Instructed", true},
		{"a pipeline built in code", &Pipeline{Name: "P", Stages: []Stage{{Name: "S", Source: []string{"Start"}}}}, "START", "S", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.pipeline.StageFor(tt.source)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("%s.StageFor(%q) = %q, %v; want %q, %v", tt.pipeline.Name, tt.source, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestCustomField(t *testing.T) {
	c := mustParse(t, "two-pipelines.yaml")
	tests := []struct {
		name, column string
		want         Field
	}{
		{"configured", "Lender ref", Field{Label: "Lender reference", Type: "varchar"}},
		{"configured, with its prefix", "custom.Lender ref", Field{Label: "Lender reference", Type: "varchar"}},
		{"configured, spelled loosely", "lender-REF", Field{Label: "Lender reference", Type: "varchar"}},
		{"configured with a type only", "Exchange date", Field{Label: "Exchange date", Type: "date"}},
		{"not configured", "Survey booked", Field{Label: "Survey booked", Type: "varchar"}},
		{"not configured, with its prefix", "Custom. Survey booked", Field{Label: "Survey booked", Type: "varchar"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.CustomField(tt.column); got != tt.want {
				t.Errorf("CustomField(%q) = %+v, want %+v", tt.column, got, tt.want)
			}
		})
	}
}

// A Config built in code, never validated, still answers lookups.
func TestLookupsWithoutIndex(t *testing.T) {
	c := &Config{
		MatterTypes: []MatterType{{Name: "Purchase", Aliases: []string{"buy"}}},
		Statuses:    map[string][]string{StatusOnHold: {"parked"}},
		Pipelines:   []Pipeline{{Name: "P", Stages: []Stage{{Name: "S", Source: []string{"x"}}}}},
	}
	if got, ok := c.MatterType("BUY"); got != "Purchase" || !ok {
		t.Errorf("MatterType(BUY) = %q, %v", got, ok)
	}
	if got, ok := c.Status("Parked"); got != StatusOnHold || !ok {
		t.Errorf("Status(Parked) = %q, %v", got, ok)
	}
	if got := c.PipelineFor("Purchase"); got == nil || got.Name != "P" {
		t.Errorf("PipelineFor(Purchase) = %+v", got)
	}
	if got := c.HeaderAliases("matters")["matter_id"]; got != "matter_id" {
		t.Errorf("HeaderAliases(matters)[matter_id] = %q", got)
	}
}

// The reader's per-row work: resolve a file's headers once, then look up
// activity types, matter types and statuses for every row.
func BenchmarkLookups(b *testing.B) {
	c := Default()
	headers := []string{"Activity ID", "Case ID", "Activity Type", "Direction", "Subject", "Body", "Date", "Duration Minutes", "Fee Earner", "Done"}
	b.Run("HeaderAliases", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			aliases := c.HeaderAliases(perfectportal.TableActivities)
			for _, h := range headers {
				_ = aliases[perfectportal.NormalizeHeader(h)]
			}
		}
	})
	types := []string{"Phone Call", "email", "Text Message", "File Note", "letter", "MEETING", "to do"}
	b.Run("ActivityType", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			c.ActivityType(types[i%len(types)])
			i++
		}
	})
	b.Run("Row", func(b *testing.B) {
		b.ReportAllocs()
		p := c.PipelineFor("Purchase")
		for b.Loop() {
			c.ActivityType("Phone Call")
			c.MatterType("Sale & Purchase")
			c.Status("On Hold")
			p.StageFor("Searches ordered")
		}
	})
}
