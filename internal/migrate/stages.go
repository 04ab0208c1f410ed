package migrate

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
)

// MapStagesInput is the stage mapping step's input.
type MapStagesInput struct {
	MigrationID string `json:"migration_id"`
	// Manifest is the key of the staged chunk manifest.
	Manifest string `json:"manifest"`
}

// MapStagesOutput is what the stage mapping step hands on.
type MapStagesOutput struct {
	MigrationID string `json:"migration_id"`
	// StageMap is the key of stage-map.json (a StageMap).
	StageMap string `json:"stage_map"`
	Matters  int    `json:"matters"`
	// Mapped and Unmapped count distinct (pipeline, source stage) pairs;
	// UnmappedMatters counts the matters with at least one unmapped stage.
	Mapped          int `json:"mapped"`
	Unmapped        int `json:"unmapped"`
	UnmappedMatters int `json:"unmapped_matters"`
	// Review is set when any source stage has no destination: the run
	// stops for the mapping configuration to be completed.
	Review bool `json:"review"`
}

// StageMap is stage-map.json: per pipeline, where each source stage goes,
// and the source stages that go nowhere.
type StageMap struct {
	MigrationID string           `json:"migration_id"`
	Pipelines   []PipelineStages `json:"pipelines"`
	Unmapped    []UnmappedStage  `json:"unmapped"`
}

// PipelineStages is one pipeline's stage table.
type PipelineStages struct {
	Pipeline string         `json:"pipeline"`
	Stages   []StageMapping `json:"stages"`
}

// StageMapping is one source stage name and the stage it goes to.
type StageMapping struct {
	Source string `json:"source"`
	Stage  string `json:"stage"`
	// StageID is the Pipedrive stage's id, when the schema has been applied.
	StageID int `json:"stage_id,omitempty"`
	// Fallback is set when no stage lists the source and the pipeline's
	// fallback_stage takes it.
	Fallback bool `json:"fallback,omitempty"`
	// Matters is how many matters are, or were, at the source stage.
	Matters int `json:"matters"`
}

// UnmappedStage is a source stage with no destination in a pipeline.
type UnmappedStage struct {
	Pipeline  string   `json:"pipeline"`
	Source    string   `json:"source"`
	Matters   int      `json:"matters"`
	MatterIDs []string `json:"matter_ids"`
}

// MapStages checks that every matter's current Key Stage and every stage
// in its history has a destination in the matter's pipeline, and writes
// stage-map.json. A stage with no destination is not an error: the output's
// Review is set. It returns *InputError for a bad input or a missing
// manifest, and wrapped errors of the store, which are worth retrying.
func (e *Env) MapStages(ctx context.Context, in MapStagesInput) (MapStagesOutput, error) {
	if err := checkInput(in.MigrationID, in.Manifest); err != nil {
		return MapStagesOutput{}, err
	}
	st, err := openStaged(ctx, e.Store, in.Manifest)
	if err != nil {
		return MapStagesOutput{}, err
	}
	schema, err := LoadSchemaMap(ctx, e.Store, in.MigrationID)
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		return MapStagesOutput{}, err
	}
	cfg := e.config()

	type pair struct{ pipeline, source string }
	type tally struct {
		source   string // first spelling seen
		stage    string
		mapped   bool
		fallback bool
		matters  []string
	}
	pairs := map[pair]*tally{}
	var order []pair
	unmappedMatters := map[string]bool{}
	out := MapStagesOutput{MigrationID: in.MigrationID, StageMap: Prefix(in.MigrationID) + StageMapName}
	err = st.eachMatter(ctx, func(r *extract.MatterRecord) error {
		out.Matters++
		typ := r.Matter.Type
		if c, ok := cfg.MatterType(typ); ok {
			typ = c
		}
		pl := cfg.PipelineFor(typ)
		if pl == nil {
			return nil
		}
		sources := []string{r.Matter.KeyStage}
		for _, s := range r.Stages {
			sources = append(sources, s.Stage)
		}
		seen := map[string]bool{}
		for _, src := range sources {
			src = strings.TrimSpace(src)
			if src == "" || seen[fold(src)] {
				continue
			}
			seen[fold(src)] = true
			p := pair{pl.Name, fold(src)}
			t := pairs[p]
			if t == nil {
				t = &tally{source: src}
				t.stage, t.mapped = pl.StageFor(src)
				t.fallback = t.mapped && byFallback(pl, src)
				pairs[p] = t
				order = append(order, p)
			}
			t.matters = append(t.matters, r.Matter.ID)
			if !t.mapped {
				unmappedMatters[r.Matter.ID] = true
			}
		}
		return nil
	})
	if err != nil {
		return MapStagesOutput{}, err
	}

	sm := StageMap{MigrationID: in.MigrationID, Pipelines: []PipelineStages{}, Unmapped: []UnmappedStage{}}
	tables := map[string]*PipelineStages{}
	for _, p := range cfg.Pipelines {
		sm.Pipelines = append(sm.Pipelines, PipelineStages{Pipeline: p.Name, Stages: []StageMapping{}})
	}
	for i := range sm.Pipelines {
		tables[sm.Pipelines[i].Pipeline] = &sm.Pipelines[i]
	}
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].pipeline != order[j].pipeline {
			return order[i].pipeline < order[j].pipeline
		}
		return order[i].source < order[j].source
	})
	for _, p := range order {
		t := pairs[p]
		if !t.mapped {
			out.Unmapped++
			sm.Unmapped = append(sm.Unmapped, UnmappedStage{Pipeline: p.pipeline, Source: t.source, Matters: len(t.matters), MatterIDs: t.matters})
			continue
		}
		out.Mapped++
		m := StageMapping{Source: t.source, Stage: t.stage, Fallback: t.fallback, Matters: len(t.matters)}
		if schema != nil {
			m.StageID, _ = schema.Stage(p.pipeline, t.stage)
		}
		tables[p.pipeline].Stages = append(tables[p.pipeline].Stages, m)
	}
	out.UnmappedMatters = len(unmappedMatters)
	out.Review = out.Unmapped > 0
	if err := e.putJSON(ctx, out.StageMap, sm); err != nil {
		return MapStagesOutput{}, err
	}
	e.log().InfoContext(ctx, "stages mapped", "migration", in.MigrationID, "matters", out.Matters, "mapped", out.Mapped,
		"unmapped", out.Unmapped, "unmapped_matters", out.UnmappedMatters, "review", out.Review)
	return out, nil
}

// byFallback reports whether a source stage reaches its stage only through
// the pipeline's fallback_stage.
func byFallback(pl *mapping.Pipeline, source string) bool {
	if pl.FallbackStage == "" {
		return false
	}
	strict := *pl
	strict.FallbackStage = ""
	_, listed := strict.StageFor(source)
	return !listed
}
