package migrate

import (
	"bytes"
	"context"
	"fmt"
	"strings"
)

// fieldTypeNames are the field types as Pipedrive's settings name them.
var fieldTypeNames = map[string]string{
	"varchar": "Text", "varchar_auto": "Autocomplete", "text": "Large text", "double": "Numerical",
	"monetary": "Monetary", "date": "Date", "daterange": "Date range", "time": "Time", "timerange": "Time range",
	"set": "Multiple options", "enum": "Single option", "user": "User", "org": "Organization", "people": "Person",
	"phone": "Phone", "address": "Address",
}

var checklistSections = []struct{ kind, title string }{
	{KindDealField, "Deal fields"},
	{KindPersonField, "Person fields"},
	{KindOrganizationField, "Organization fields"},
}

// checklist is schema-checklist.md: for an admin who prefers to create the
// schema by hand, every field (name, type, options), pipeline and stage in
// order, and activity type, ticked where Pipedrive has it already.
func checklist(migrationID string, plan *SchemaPlan) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Pipedrive schema checklist: migration %s\n\n", migrationID)
	b.WriteString("Conveyor finds each item by its name (ignoring case and surrounding spaces), so use exactly these names.\n")
	b.WriteString("Items already in Pipedrive are ticked. Run the schema step again afterwards: it creates whatever is still missing.\n")
	fmt.Fprintf(&b, "\nCustom fields on the %s plan: %d of %d were in use before this run; the schema needed %d more.\n",
		plan.CustomFields.Plan, plan.CustomFields.Existing, plan.CustomFields.Cap, plan.CustomFields.Needed)
	for _, sec := range checklistSections {
		fmt.Fprintf(&b, "\n## %s\n\n", sec.title)
		for _, it := range plan.Items {
			if it.Kind != sec.kind {
				continue
			}
			typ := fieldTypeNames[it.Type]
			if typ == "" {
				typ = it.Type
			}
			fmt.Fprintf(&b, "- [%s] **%s**: %s (`%s`)", tick(it), it.Name, typ, it.Type)
			if len(it.Options) > 0 {
				fmt.Fprintf(&b, "; options: %s", strings.Join(it.Options, ", "))
			}
			b.WriteString(note(it))
			b.WriteByte('\n')
		}
	}
	b.WriteString("\n## Pipelines and stages, in order\n\n")
	n := 0
	for _, it := range plan.Items {
		switch it.Kind {
		case KindPipeline:
			n = 0
			fmt.Fprintf(&b, "- [%s] Pipeline **%s**%s\n", tick(it), it.Name, note(it))
		case KindStage:
			n++
			fmt.Fprintf(&b, "  %d. [%s] %s%s\n", n, tick(it), it.Name, note(it))
		}
	}
	b.WriteString("\n## Activity types\n\n")
	for _, it := range plan.Items {
		if it.Kind == KindActivityType {
			fmt.Fprintf(&b, "- [%s] **%s** (icon `%s`) for %s activities%s\n", tick(it), it.Name, it.Icon, strings.Join(it.Names, ", "), note(it))
		}
	}
	if len(plan.Conflicts) > 0 {
		b.WriteString("\n## To fix first\n\n")
		for _, c := range plan.Conflicts {
			fmt.Fprintf(&b, "- %s **%s** is `%s` in Pipedrive but must be `%s`: rename one of them or change its label in the mapping configuration\n",
				strings.ReplaceAll(c.Kind, "_", " "), c.Label, c.Got, c.Want)
		}
	}
	return b.Bytes()
}

func tick(it *PlanItem) string {
	switch it.Action {
	case ActionExists, ActionCreated, ActionReconciled:
		return "x"
	}
	return " "
}

func note(it *PlanItem) string {
	switch {
	case it.Action == ActionConflict:
		return " (exists with another type: see below)"
	case len(it.MissingOptions) > 0:
		return fmt.Sprintf(" (exists; add the options %s)", strings.Join(it.MissingOptions, ", "))
	}
	return ""
}

// putText writes data at key.
func (e *Env) putText(ctx context.Context, key string, data []byte) error {
	if err := e.Store.Put(ctx, key, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}
