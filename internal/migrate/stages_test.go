package migrate

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
)

const stagesWithoutCompliance = `version: 1
pipelines:
  - name: Conveyancing
    matter_types: []
    stages:
      - name: Instructed
        source: [Instructed, Quote accepted, Onboarding, Client care]
      - name: Searches
        source: [Searches, Searches ordered, Searches received, Enquiries]
      - name: Completion
        source: [Exchange, Exchanged, Completion, Completed, Post completion]
`

const remortgagePipeline = `
  - name: Remortgage
    matter_types: [Remortgage]
    stages:
      - name: Instructed
        source: [Instructed]
      - name: Completion
        source: [Completion]
`

func TestMapStages(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		yaml string
		// unmapped: pipeline -> the source stages that must be unmapped
		// there; a matter is in a pipeline when inPipeline says so.
		unmapped   map[string][]string
		inPipeline func(matterType string) string
		fallback   string // the source stage a fallback takes
	}{
		{name: "default config", yaml: "version: 1\n"},
		{name: "a stage missing", yaml: stagesWithoutCompliance, unmapped: map[string][]string{"Conveyancing": {"Compliance"}}},
		{name: "fallback stage", yaml: stagesWithoutCompliance + "    fallback_stage: Searches\n", fallback: "Compliance"},
		{name: "second pipeline", yaml: strings.Replace(stagesWithoutCompliance, "      - name: Completion", "      - name: Compliance\n        source: [Compliance]\n      - name: Completion", 1) + remortgagePipeline,
			unmapped: map[string][]string{"Remortgage": {"Searches", "Compliance"}},
			inPipeline: func(mt string) string {
				if mt == "Remortgage" {
					return "Remortgage"
				}
				return "Conveyancing"
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustConfig(t, tc.yaml)
			env := newTestEnv(t, envOptions{cfg: cfg, matters: 30})
			out, err := env.MapStages(ctx, MapStagesInput{MigrationID: testMigration, Manifest: env.manifest})
			if err != nil {
				t.Fatalf("MapStages: %v", err)
			}
			var sm StageMap
			env.getJSON(t, out.StageMap, &sm)

			// What the staged matters say should be unmapped, by pipeline
			// and stage.
			want := map[string][]string{}
			affected := map[string]bool{}
			matters := env.stagedMatters(t)
			for _, r := range matters {
				pl := "Conveyancing"
				if tc.inPipeline != nil {
					mt, _ := cfg.MatterType(r.Matter.Type)
					pl = tc.inPipeline(mt)
				}
				stages := []string{r.Matter.KeyStage}
				for _, s := range r.Stages {
					stages = append(stages, s.Stage)
				}
				for _, bad := range tc.unmapped[pl] {
					if slices.Contains(stages, bad) {
						k := pl + "/" + bad
						if !slices.Contains(want[k], r.Matter.ID) {
							want[k] = append(want[k], r.Matter.ID)
						}
						affected[r.Matter.ID] = true
					}
				}
			}
			got := map[string][]string{}
			for _, u := range sm.Unmapped {
				ids := slices.Clone(u.MatterIDs)
				sort.Strings(ids)
				got[u.Pipeline+"/"+u.Source] = ids
				if u.Matters != len(u.MatterIDs) {
					t.Errorf("%s/%s: %d matters, %d ids", u.Pipeline, u.Source, u.Matters, len(u.MatterIDs))
				}
			}
			for k := range want {
				sort.Strings(want[k])
			}
			if len(got) != len(want) {
				t.Errorf("unmapped %v\nwant %v", got, want)
			}
			for k, ids := range want {
				if !slices.Equal(got[k], ids) {
					t.Errorf("unmapped %s: %v, want %v", k, got[k], ids)
				}
			}
			if out.Review != (len(want) > 0) || out.Unmapped != len(want) || out.UnmappedMatters != len(affected) || out.Matters != len(matters) {
				t.Errorf("output %+v; want %d unmapped pairs over %d matters", out, len(want), len(affected))
			}
			if len(tc.unmapped) > 0 && len(want) == 0 {
				t.Fatalf("the sample has no matter at %v: the case tests nothing", tc.unmapped)
			}

			// Every mapped row says where it goes; the fallback is marked.
			total := 0
			for _, p := range sm.Pipelines {
				for _, s := range p.Stages {
					total++
					if s.Matters == 0 || s.Stage == "" {
						t.Errorf("%s: %+v", p.Pipeline, s)
					}
					if s.Fallback != (s.Source == tc.fallback) {
						t.Errorf("%s: %+v, fallback for %q", p.Pipeline, s, tc.fallback)
					}
					if s.Source == tc.fallback && s.Stage != "Searches" {
						t.Errorf("fallback went to %q", s.Stage)
					}
				}
			}
			if total != out.Mapped || total == 0 {
				t.Errorf("%d mapped rows, output says %d", total, out.Mapped)
			}
		})
	}
}

func TestMapStagesWithSchema(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, envOptions{})
	if _, err := env.Schema(ctx, SchemaInput{MigrationID: testMigration, Manifest: env.manifest, Apply: true}); err != nil {
		t.Fatal(err)
	}
	out, err := env.MapStages(ctx, MapStagesInput{MigrationID: testMigration, Manifest: env.manifest})
	if err != nil || out.Review {
		t.Fatalf("MapStages: %+v, %v", out, err)
	}
	schema, err := LoadSchemaMap(ctx, env.store, testMigration)
	if err != nil {
		t.Fatal(err)
	}
	var sm StageMap
	env.getJSON(t, out.StageMap, &sm)
	for _, s := range sm.Pipelines[0].Stages {
		if id, _ := schema.Stage("Conveyancing", s.Stage); s.StageID != id || id == 0 {
			t.Errorf("%+v: want stage id %d", s, id)
		}
	}
}
