package migrate

import (
	"context"
	"fmt"

	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// pipedriveSchema is what the company has: its fields, pipelines, stages
// and activity types, read once (six list calls) before anything is decided.
type pipedriveSchema struct {
	fields        map[string]*pipedrive.FieldSet // by item kind
	customFields  int
	pipelines     []pipedrive.Pipeline
	stages        []pipedrive.Stage
	activityTypes []pipedrive.ActivityType
}

func (e *Env) readPipedrive(ctx context.Context) (*pipedriveSchema, error) {
	pd := &pipedriveSchema{fields: map[string]*pipedrive.FieldSet{}}
	for _, fk := range fieldKinds {
		fields, err := e.Pipedrive.ListFields(ctx, fk.kind)
		if err != nil {
			return nil, fromPipedrive(fmt.Sprintf("list %s fields", fk.kind), err)
		}
		for _, f := range fields {
			// The documents' is_custom_field tells a company's own field
			// from Pipedrive's: only those count against the plan's cap.
			if f.IsCustomField {
				pd.customFields++
			}
		}
		pd.fields[fk.item] = pipedrive.NewFieldSet(fk.kind, fields)
	}
	var err error
	if pd.pipelines, err = e.Pipedrive.ListPipelines(ctx); err != nil {
		return nil, fromPipedrive("list pipelines", err)
	}
	if pd.stages, err = e.Pipedrive.ListStages(ctx, 0); err != nil {
		return nil, fromPipedrive("list stages", err)
	}
	if pd.activityTypes, err = e.Pipedrive.ListActivityTypes(ctx); err != nil {
		return nil, fromPipedrive("list activity types", err)
	}
	return pd, nil
}

// compatible reports whether a field of type got takes the values Conveyor
// writes to a field configured as want: the same type, or for text a wider
// text type.
func compatible(want, got string) bool {
	if want == got {
		return true
	}
	return want == "varchar" && (got == "varchar_auto" || got == "text")
}

// resolve marks every item exists (with its key or id), create or
// conflict, and returns the conflicts.
func (pd *pipedriveSchema) resolve(items []*PlanItem) []Conflict {
	var conflicts []Conflict
	pipelineIDs := map[string]int{}
	for _, it := range items {
		it.Action = ActionCreate
		switch it.Kind {
		case KindDealField, KindPersonField, KindOrganizationField:
			f, ok := pd.fields[it.Kind].Field(it.Name)
			if !ok {
				continue
			}
			switch {
			case !f.IsCustomField:
				it.Action = ActionConflict
				conflicts = append(conflicts, Conflict{Kind: it.Kind, Label: it.Name, Want: it.Type, Got: "built-in"})
			case !compatible(it.Type, f.Type):
				it.Action = ActionConflict
				conflicts = append(conflicts, Conflict{Kind: it.Kind, Label: it.Name, Want: it.Type, Got: f.Type})
			default:
				it.Action = ActionExists
				it.setField(f)
			}
		case KindPipeline:
			if p, ok := pd.pipeline(it.Name); ok {
				it.Action, it.id = ActionExists, p.ID
				pipelineIDs[fold(it.Name)] = p.ID
			}
		case KindStage:
			if pid, ok := pipelineIDs[fold(it.Pipeline)]; ok {
				if s, ok := pd.stage(pid, it.Name); ok {
					it.Action, it.id = ActionExists, s.ID
				}
			}
		case KindActivityType:
			if t, ok := pd.activityType(it.Names[0], it.Name); ok {
				it.Action, it.id, it.keyString = ActionExists, t.ID, t.KeyString
			}
		}
	}
	return conflicts
}

// setField takes a found or created field's key and options, and notes
// the wanted options it lacks.
func (it *PlanItem) setField(f pipedrive.Field) {
	it.key = f.Code
	it.Type = f.Type
	if len(f.Options) == 0 && len(it.Options) == 0 {
		return
	}
	it.optionIDs = map[string]int{}
	have := map[string]bool{}
	for _, o := range f.Options {
		it.optionIDs[o.Label] = o.ID
		have[fold(o.Label)] = true
	}
	it.MissingOptions = nil
	for _, o := range it.Options {
		if !have[fold(o)] {
			it.MissingOptions = append(it.MissingOptions, o)
		}
	}
}

func (pd *pipedriveSchema) pipeline(name string) (pipedrive.Pipeline, bool) {
	for _, p := range pd.pipelines {
		if !p.IsDeleted && fold(p.Name) == fold(name) {
			return p, true
		}
	}
	return pipedrive.Pipeline{}, false
}

func (pd *pipedriveSchema) stage(pipelineID int, name string) (pipedrive.Stage, bool) {
	for _, s := range pd.stages {
		if !s.IsDeleted && s.PipelineID == pipelineID && fold(s.Name) == fold(name) {
			return s, true
		}
	}
	return pipedrive.Stage{}, false
}

// activityType finds an active type by its key_string (Pipedrive's
// built-in call, email, meeting, task) or else by name.
func (pd *pipedriveSchema) activityType(canonical, name string) (pipedrive.ActivityType, bool) {
	for _, t := range pd.activityTypes {
		if t.ActiveFlag && t.KeyString == canonical {
			return t, true
		}
	}
	for _, t := range pd.activityTypes {
		if t.ActiveFlag && fold(t.Name) == fold(name) {
			return t, true
		}
	}
	return pipedrive.ActivityType{}, false
}
