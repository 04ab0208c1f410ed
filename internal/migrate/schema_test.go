package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

var hex40 = regexp.MustCompile(`^[0-9a-f]{40}$`)

// wantDealFields are the deal fields the default configuration and the
// sample export call for.
var wantDealFields = map[string]string{
	"Matter number": "varchar", "Matter type": "enum", "Original matter created": "date",
	"Stage entered: Instructed": "date", "Stage entered: Searches": "date", "Stage entered: Compliance": "date",
	"Stage entered: Completion": "date", "Stage timestamps (UTC)": "text", "Property address": "address",
	"Purchase price": "monetary", "Mortgage lender": "varchar", "Referring solicitor": "varchar",
	"Perfect Portal ID": "varchar", "Lender Ref": "varchar", "Tenure": "varchar",
}

func fieldTypes(fs []*sandbox.Field) map[string]string {
	out := map[string]string{}
	for _, f := range fs {
		out[f.Name] = f.Type
	}
	return out
}

func names(st sandbox.State, kind string, pred func(*sandbox.Entity) bool) []string {
	var ids []int
	for id, e := range st.Items[kind] {
		if !e.Deleted && (pred == nil || pred(e)) {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	var out []string
	for _, id := range ids {
		out = append(out, st.Items[kind][id].Attrs["name"].(string))
	}
	return out
}

func attrInt(e *sandbox.Entity, k string) int {
	switch v := e.Attrs[k].(type) {
	case float64:
		return int(v)
	case int64:
		return int(v)
	case int:
		return v
	}
	return -1
}

func TestSchemaApply(t *testing.T) {
	ctx := context.Background()
	maps := map[int64]*SchemaMap{}
	for _, seed := range []int64{1, 2} {
		t.Run("seed "+string(rune('0'+seed)), func(t *testing.T) {
			env := newTestEnv(t, envOptions{seed: seed})
			in := SchemaInput{MigrationID: testMigration, Run: "r1", Manifest: env.manifest, Apply: true}
			out, err := env.Schema(ctx, in)
			if err != nil {
				t.Fatalf("Schema: %v", err)
			}
			st := env.sb.Snapshot()

			if got := fieldTypes(st.Fields["deal"]); !mapsEqual(got, wantDealFields) {
				t.Errorf("deal fields %v\nwant %v", got, wantDealFields)
			}
			if got, want := fieldTypes(st.Fields["person"]), map[string]string{"Third-party role": "varchar", "Perfect Portal ID": "varchar"}; !mapsEqual(got, want) {
				t.Errorf("person fields %v, want %v", got, want)
			}
			if got, want := fieldTypes(st.Fields["organization"]), map[string]string{"Perfect Portal ID": "varchar"}; !mapsEqual(got, want) {
				t.Errorf("organization fields %v, want %v", got, want)
			}
			var conv *sandbox.Entity
			for _, p := range st.Items["pipelines"] {
				if p.Attrs["name"] == "Conveyancing" {
					conv = p
				}
			}
			if conv == nil {
				t.Fatalf("no Conveyancing pipeline: %v", names(st, "pipelines", nil))
			}
			stages := names(st, "stages", func(e *sandbox.Entity) bool { return attrInt(e, "pipeline_id") == conv.ID })
			if want := []string{"Instructed", "Searches", "Compliance", "Completion"}; !slices.Equal(stages, want) {
				t.Errorf("stages %v, want %v", stages, want)
			}
			if got := names(st, "activityTypes", nil); !slices.Contains(got, "SMS") || len(got) != 7 {
				t.Errorf("activity types %v: want the six defaults and SMS", got)
			}
			// 15 deal + 2 person + 1 organization fields, a pipeline, 4 stages, SMS.
			if out.Created != 24 || out.ToCreate != 0 || out.Conflicts != 0 {
				t.Errorf("output %+v", out)
			}
			entries := env.entries(t)
			if len(entries) != out.Created {
				t.Errorf("%d ledger entries, want %d", len(entries), out.Created)
			}
			for _, e := range entries {
				if e.Status != ledger.StatusWritten || e.Op != ledger.OpCreate || (e.TargetID == 0 && len(e.Previous) == 0) {
					t.Errorf("ledger entry %+v", e)
				}
			}

			var m SchemaMap
			first := env.getJSON(t, out.Schema, &m)
			for label, f := range byLabel(st.Fields["deal"]) {
				found := false
				for _, ref := range m.Fields["deal"] {
					if ref.Label == label {
						found = true
						if ref.Key != f.Key || !hex40.MatchString(ref.Key) {
							t.Errorf("%s: key %q, sandbox %q", label, ref.Key, f.Key)
						}
					}
				}
				if !found {
					t.Errorf("schema.json lacks deal field %q", label)
				}
			}
			if ref, ok := m.Field("deal", "matter_type"); !ok || len(ref.Options) != 5 {
				t.Errorf("matter_type %+v", ref)
			}
			if _, ok := m.Field("deal", "stage_entered:Searches"); !ok {
				t.Errorf("no stage_entered:Searches")
			}
			if _, ok := m.Field("deal", "custom:Lender Ref"); !ok {
				t.Errorf("no custom:Lender Ref")
			}
			if ref, _ := m.Field("person", "role"); ref.Label != "Third-party role" {
				t.Errorf("person role %+v", ref)
			}
			if id, ok := m.Stage("Conveyancing", "Completion"); !ok || id == 0 {
				t.Errorf("stage id %d", id)
			}
			if m.ActivityTypes["sms"] == "" || m.ActivityTypes["call"] != "call" || m.ActivityTypes["email"] != "email" {
				t.Errorf("activity types %v", m.ActivityTypes)
			}
			maps[seed] = &m

			// A second apply finds everything and writes nothing.
			before := writes(env.sb.Meter())
			out2, err := env.Schema(ctx, SchemaInput{MigrationID: testMigration, Run: "r2", Manifest: env.manifest, Apply: true})
			if err != nil {
				t.Fatalf("second Schema: %v", err)
			}
			if out2.Created != 0 || out2.Reconciled != 0 || out2.Existing != 28 { // the four built-in activity types too
				t.Errorf("second output %+v", out2)
			}
			if d := sandbox.Compare(st, env.sb.Snapshot()); len(d) > 0 {
				t.Errorf("second apply changed Pipedrive: %v", d)
			}
			if after := writes(env.sb.Meter()); !mapsEqual(before, after) {
				t.Errorf("second apply wrote: %v -> %v", before, after)
			}
			if second := env.getJSON(t, out2.Schema, nil); !bytes.Equal(first, second) {
				t.Errorf("schema.json changed:\n%s\n---\n%s", first, second)
			}
			checklist := string(env.getJSON(t, out2.Checklist, nil))
			if !strings.Contains(checklist, "- [x] **Matter type**: Single option (`enum`); options: Purchase, Sale") ||
				!strings.Contains(checklist, "  4. [x] Completion") {
				t.Errorf("checklist:\n%s", checklist)
			}
		})
	}
	if len(maps) == 2 {
		a, b := maps[1], maps[2]
		for name, ra := range a.Fields["deal"] {
			rb := b.Fields["deal"][name]
			if ra.Label != rb.Label || ra.Type != rb.Type {
				t.Errorf("%s: %+v vs %+v", name, ra, rb)
			}
			if ra.Key == rb.Key {
				t.Errorf("%s: same key %s in two companies", name, ra.Key)
			}
		}
		if len(a.Fields["deal"]) != len(b.Fields["deal"]) {
			t.Errorf("deal fields %d vs %d", len(a.Fields["deal"]), len(b.Fields["deal"]))
		}
	}
}

func byLabel(fs []*sandbox.Field) map[string]*sandbox.Field {
	out := map[string]*sandbox.Field{}
	for _, f := range fs {
		out[f.Name] = f
	}
	return out
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestSchemaPlanMode(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, envOptions{})
	before := env.sb.Snapshot()
	out, err := env.Schema(ctx, SchemaInput{MigrationID: testMigration, Manifest: env.manifest})
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	if w := writes(env.sb.Meter()); len(w) > 0 {
		t.Errorf("plan mode sent %v", w)
	}
	if m := env.sb.Meter(); m.Requests != 6 {
		t.Errorf("plan mode made %d requests, want 6 lists", m.Requests)
	}
	if d := sandbox.Compare(before, env.sb.Snapshot()); len(d) > 0 {
		t.Errorf("plan mode changed Pipedrive: %v", d)
	}
	if out.Applied || out.Schema != "" || out.ToCreate != 24 || out.Created != 0 || out.CustomFields.Needed != 18 {
		t.Errorf("output %+v", out)
	}
	if n := len(env.entries(t)); n != 0 {
		t.Errorf("plan mode wrote %d ledger entries", n)
	}
	if _, err := env.store.Get(ctx, Prefix(testMigration)+SchemaName); err == nil {
		t.Errorf("plan mode wrote schema.json")
	}
	var plan SchemaPlan
	env.getJSON(t, out.Plan, &plan)
	if len(plan.Items) != 28 { // 18 fields, a pipeline, 4 stages, 5 activity types
		t.Errorf("%d plan items", len(plan.Items))
	}
	if c := string(env.getJSON(t, out.Checklist, nil)); !strings.Contains(c, "- [ ] **Stage entered: Searches**: Date (`date`)") ||
		!strings.Contains(c, "- [ ] Pipeline **Conveyancing**") || !strings.Contains(c, "- [x] **Call**") {
		t.Errorf("checklist:\n%s", c)
	}
}

func TestSchemaReconcilesPending(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, envOptions{})
	// A run recorded its intents, created the field, and crashed before
	// committing; it never got to the pipeline.
	for _, key := range []string{"schema/deal_field/Matter number", "schema/pipeline/Conveyancing"} {
		if _, err := env.ledger.Begin(ctx, ledger.Entry{Migration: testMigration, Key: key, Run: "r0", TargetKind: strings.Split(key, "/")[1], Op: ledger.OpCreate}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := env.Pipedrive.CreateField(ctx, pipedrive.DealFields, pipedrive.FieldInput{Name: "Matter number", Type: "varchar"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := env.Schema(ctx, SchemaInput{MigrationID: testMigration, Run: "r1", Manifest: env.manifest, Apply: true})
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	if out.Reconciled != 1 || out.Created != 23 {
		t.Errorf("output %+v", out)
	}
	st := env.sb.Snapshot()
	n := 0
	for _, x := range st.Fields["deal"] {
		if x.Name == "Matter number" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d Matter number fields, want 1", n)
	}
	if got := names(st, "pipelines", func(e *sandbox.Entity) bool { return e.Attrs["name"] == "Conveyancing" }); len(got) != 1 {
		t.Errorf("pipelines %v", got)
	}
	e, err := env.ledger.Get(ctx, testMigration, "schema/deal_field/Matter number")
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != ledger.StatusWritten || !strings.Contains(string(e.Previous), f.Code) {
		t.Errorf("reconciled entry %+v", e)
	}
	p, _ := env.ledger.Get(ctx, testMigration, "schema/pipeline/Conveyancing")
	if p.Status != ledger.StatusWritten || p.TargetID == 0 {
		t.Errorf("pipeline entry %+v", p)
	}
	var m SchemaMap
	env.getJSON(t, out.Schema, &m)
	if ref, _ := m.Field("deal", "matter_number"); ref.Key != f.Code {
		t.Errorf("matter_number key %q, want %q", ref.Key, f.Code)
	}
}

func TestSchemaFieldCap(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		filler int
		apply  bool
		want   *FieldCapError
	}{
		{"lite nearly full, apply", 25, true, &FieldCapError{Plan: "lite", Cap: 30, Existing: 25, Needed: 18, Available: 5}},
		{"lite nearly full, plan", 25, false, &FieldCapError{Plan: "lite", Cap: 30, Existing: 25, Needed: 18, Available: 5}},
		{"lite with room", 12, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, envOptions{plan: "lite"})
			kinds := []pipedrive.FieldKind{pipedrive.PersonFields, pipedrive.OrganizationFields, pipedrive.DealFields}
			for i := range tc.filler {
				if _, err := env.Pipedrive.CreateField(ctx, kinds[i%3], pipedrive.FieldInput{Name: "Filler " + string(rune('A'+i)), Type: "varchar"}); err != nil {
					t.Fatal(err)
				}
			}
			before, meter := env.sb.Snapshot(), writes(env.sb.Meter())
			out, err := env.Schema(ctx, SchemaInput{MigrationID: testMigration, Manifest: env.manifest, Apply: tc.apply})
			if tc.want == nil {
				if err != nil || out.CustomFields.Existing != tc.filler {
					t.Fatalf("Schema: %+v, %v", out, err)
				}
				return
			}
			var capErr *FieldCapError
			if !errors.As(err, &capErr) {
				t.Fatalf("err = %T %v; want *FieldCapError", err, err)
			}
			if *capErr != *tc.want {
				t.Errorf("got %+v, want %+v", *capErr, *tc.want)
			}
			if d := sandbox.Compare(before, env.sb.Snapshot()); len(d) > 0 {
				t.Errorf("Pipedrive changed: %v", d)
			}
			if after := writes(env.sb.Meter()); !mapsEqual(meter, after) {
				t.Errorf("writes %v -> %v", meter, after)
			}
			if n := len(env.entries(t)); n != 0 {
				t.Errorf("%d ledger entries", n)
			}
		})
	}
}

func TestSchemaExistingFields(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		existing  pipedrive.FieldInput
		apply     bool
		conflict  bool
		missing   []string
		wantLabel string
	}{
		{"matter type of another type, apply", pipedrive.FieldInput{Name: "matter TYPE ", Type: "varchar"}, true, true, nil, ""},
		{"matter type of another type, plan", pipedrive.FieldInput{Name: "Matter type", Type: "varchar"}, false, true, nil, ""},
		{"enum lacking options", pipedrive.FieldInput{Name: "Matter Type", Type: "enum", Options: []string{"purchase", "Sale"}}, true, false,
			[]string{"Sale and purchase", "Remortgage", "Transfer of equity"}, "Matter Type"},
		{"wider text type is used", pipedrive.FieldInput{Name: "Mortgage lender", Type: "text"}, true, false, nil, "Mortgage lender"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, envOptions{})
			f, err := env.Pipedrive.CreateField(ctx, pipedrive.DealFields, tc.existing)
			if err != nil {
				t.Fatal(err)
			}
			before := env.sb.Snapshot()
			out, err := env.Schema(ctx, SchemaInput{MigrationID: testMigration, Manifest: env.manifest, Apply: tc.apply})
			var conflict *SchemaConflictError
			switch {
			case tc.conflict && tc.apply:
				if !errors.As(err, &conflict) || len(conflict.Conflicts) != 1 || conflict.Conflicts[0].Got != "varchar" {
					t.Fatalf("err = %v; want one *SchemaConflictError", err)
				}
				if d := sandbox.Compare(before, env.sb.Snapshot()); len(d) > 0 {
					t.Errorf("Pipedrive changed: %v", d)
				}
				return
			case tc.conflict:
				if err != nil || out.Conflicts != 1 {
					t.Fatalf("plan: %+v, %v", out, err)
				}
				return
			case err != nil:
				t.Fatalf("Schema: %v", err)
			}
			var m SchemaMap
			env.getJSON(t, out.Schema, &m)
			found := false
			for _, ref := range m.Fields["deal"] {
				if ref.Key == f.Code {
					found = true
				}
			}
			if !found {
				t.Errorf("schema.json does not use the existing field %s", f.Code)
			}
			if tc.missing != nil {
				if got := m.MissingOptions["deal"]["matter_type"]; !slices.Equal(got, tc.missing) || out.MissingOptions != len(tc.missing) {
					t.Errorf("missing options %v (%d), want %v", got, out.MissingOptions, tc.missing)
				}
				if ref, _ := m.Field("deal", "matter_type"); ref.Options["purchase"] == 0 {
					t.Errorf("options %v", ref.Options)
				}
			}
			n := 0
			for _, x := range env.sb.Snapshot().Fields["deal"] {
				if strings.EqualFold(x.Name, tc.wantLabel) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d fields labelled %q", n, tc.wantLabel)
			}
		})
	}
}

func TestSchemaInputErrors(t *testing.T) {
	env := &Env{}
	tests := []struct {
		name string
		in   SchemaInput
	}{
		{"bad migration id", SchemaInput{MigrationID: "../x", Manifest: "migrations/x/staged/manifest.json"}},
		{"no manifest", SchemaInput{MigrationID: "m1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e *InputError
			if _, err := env.Schema(context.Background(), tc.in); !errors.As(err, &e) {
				t.Errorf("err = %T %v; want *InputError", err, err)
			}
		})
	}
}

// TestSchemaLostAnswer drops the answer to a create that Pipedrive
// applied: the step returns the client's OutcomeUnknownError as it is, and
// the next run reconciles the pending entry instead of creating twice.
func TestSchemaLostAnswer(t *testing.T) {
	ctx := context.Background()
	// Writes go deal fields (0-14), person fields (15-16), organization
	// field (17), pipeline (18), stages (19-22), SMS (23).
	for _, after := range []int{1, 16, 17, 18, 19, 23} {
		t.Run(fmt.Sprintf("after %d writes", after), func(t *testing.T) {
			env := newTestEnv(t, envOptions{})
			if err := env.sb.SetFaults(sandbox.Faults{FailAfterWrites: after}); err != nil {
				t.Fatal(err)
			}
			in := SchemaInput{MigrationID: testMigration, Run: "r1", Manifest: env.manifest, Apply: true}
			_, err := env.Schema(ctx, in)
			var unknown *pipedrive.OutcomeUnknownError
			if !errors.As(err, &unknown) || err != error(unknown) {
				t.Fatalf("err = %T %v; want *pipedrive.OutcomeUnknownError, unwrapped", err, err)
			}
			pending := 0
			for _, e := range env.entries(t) {
				if e.Status == ledger.StatusPending {
					pending++
				}
			}
			if pending != 1 {
				t.Errorf("%d pending entries, want 1", pending)
			}
			if err := env.sb.SetFaults(sandbox.Faults{}); err != nil {
				t.Fatal(err)
			}
			in.Run = "r2"
			out, err := env.Schema(ctx, in)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			if out.Reconciled != 1 || out.Created+out.Reconciled+after != 24 {
				t.Errorf("second run %+v", out)
			}
			st := env.sb.Snapshot()
			total := 0
			for _, fs := range st.Fields {
				total += len(fs)
			}
			if total != 18 || len(names(st, "stages", nil)) != 5+4 || len(names(st, "pipelines", nil)) != 2 || len(names(st, "activityTypes", nil)) != 7 {
				t.Errorf("after the retry: %d fields, %d stages, %d pipelines, %d activity types", total,
					len(names(st, "stages", nil)), len(names(st, "pipelines", nil)), len(names(st, "activityTypes", nil)))
			}
			for _, e := range env.entries(t) {
				if e.Status != ledger.StatusWritten {
					t.Errorf("entry %s is %s", e.Key, e.Status)
				}
			}
		})
	}
}
