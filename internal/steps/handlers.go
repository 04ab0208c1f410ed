package steps

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/stratify"
)

// Modes of a migration execution.
const (
	ModePlan   = "plan"
	ModeSample = "sample"
	ModeFull   = "full"
	ModeDelta  = "delta"
)

// Execution is the migration state machine's input (see events/start-*.json).
type Execution struct {
	MigrationID string `json:"migration_id"`
	// Export is the bundle: a key prefix (or .zip key) in the bucket.
	Export string `json:"export"`
	Mode   string `json:"mode"`
	// Config is the key of a mapping configuration in the bucket; "" means
	// the embedded default.
	Config string `json:"config"`
	// SampleSize is the sample run's number of matters (100–300).
	SampleSize int `json:"sample_size"`
	// Concurrency is how many load steps run at once; together they stay
	// within the plan's burst limit.
	Concurrency int `json:"concurrency"`
	// Approved skips the approvals before a sample, full or delta run.
	Approved bool `json:"approved"`
}

// ExtractOutput is the execution, its defaults filled in, with what the
// extract step found: the state the rest of the migration reads.
type ExtractOutput struct {
	Execution
	Manifest string `json:"manifest"`
	Audit    string `json:"audit"`
	Trusted  bool   `json:"trusted"`
	Errors   int    `json:"errors"`
	Warnings int    `json:"warnings"`
	// Chunks lists each staged kind's chunk numbers, for the Map states.
	Chunks map[string][]int `json:"chunks"`
	// Matters is the sample's matters (filled by the sample step; empty
	// for every matter).
	Matters []string `json:"matters"`
}

// Extract validates an execution's input, fills in its defaults, and reads,
// audits and stages the export. An untrusted export is not an error: the
// output says so and the state machine stops for review.
func (d *Deps) Extract(ctx context.Context, in Execution) (ExtractOutput, error) {
	if in.Mode == "" {
		in.Mode = ModePlan
	}
	switch in.Mode {
	case ModePlan, ModeSample, ModeFull, ModeDelta:
	default:
		return ExtractOutput{}, &migrate.InputError{Msg: fmt.Sprintf("mode %q: use plan, sample, full or delta", in.Mode)}
	}
	if in.SampleSize == 0 {
		in.SampleSize = 200
	}
	if in.SampleSize < 100 || in.SampleSize > 300 {
		return ExtractOutput{}, &migrate.InputError{Msg: fmt.Sprintf("sample_size %d: use 100 to 300", in.SampleSize)}
	}
	if in.Concurrency == 0 {
		in.Concurrency = 1
	}
	if plan, ok := pipedrive.Plans[d.Plan]; ok {
		if _, err := pipedrive.ThrottleFor(plan, in.Concurrency); err != nil || in.Concurrency < 1 {
			return ExtractOutput{}, &migrate.InputError{Msg: fmt.Sprintf("concurrency %d: too many for the %s plan's burst limit", in.Concurrency, d.Plan)}
		}
	}
	if in.Export == "" {
		return ExtractOutput{}, &migrate.InputError{Msg: "export: name the bundle (a folder or .zip under exports/)"}
	}
	cfg, err := d.config(ctx, in.Config)
	if err != nil {
		return ExtractOutput{}, err
	}
	if d.OpenBundle == nil {
		return ExtractOutput{}, errors.New("steps: no bundle opener configured")
	}
	b, err := d.OpenBundle(ctx, in.Export)
	if err != nil {
		return ExtractOutput{}, &extract.BundleError{Err: err}
	}
	defer b.Close()
	prefix := extract.StagePrefix(in.MigrationID)
	res, err := extract.Run(ctx, b, extract.Options{Config: cfg, Stage: d.Store, StagePrefix: prefix, Plan: d.Plan, Seats: d.Seats})
	if err != nil {
		return ExtractOutput{}, named(fmt.Errorf("extract: %w", err))
	}
	out := ExtractOutput{Execution: in, Manifest: prefix + extract.StageManifestName, Audit: prefix + extract.AuditName,
		Trusted: res.Report.Trusted, Chunks: map[string][]int{}, Matters: []string{}}
	for _, f := range res.Report.Flags {
		switch f.Severity {
		case pp.SeverityError:
			out.Errors++
		case pp.SeverityWarning:
			out.Warnings++
		}
	}
	for kind, kc := range res.Staged.Kinds {
		idx := make([]int, len(kc.Chunks))
		for i := range idx {
			idx[i] = i
		}
		out.Chunks[kind] = idx
	}
	for _, kind := range []string{extract.KindOrganisations, extract.KindClients, extract.KindReferrers, extract.KindMatters} {
		if out.Chunks[kind] == nil {
			out.Chunks[kind] = []int{}
		}
	}
	d.log().InfoContext(ctx, "extract", "migration", in.MigrationID, "mode", in.Mode, "trusted", out.Trusted,
		"errors", out.Errors, "warnings", out.Warnings, "matters", res.Staged.Kinds[extract.KindMatters].Records)
	return out, nil
}

// StepInput is what the steps after extract take: the migration, the run,
// the staged manifest and the execution's settings.
type StepInput struct {
	MigrationID string `json:"migration_id"`
	Run         string `json:"run"`
	Manifest    string `json:"manifest"`
	Mode        string `json:"mode"`
	Config      string `json:"config,omitempty"`
}

func (in StepInput) apply() bool { return in.Mode != ModePlan }

// Schema finds or creates the fields, pipelines, stages and activity types
// (only finds, in a plan). A delta run without a finished full run before
// it is refused here, before anything is written.
func (d *Deps) Schema(ctx context.Context, in StepInput) (migrate.SchemaOutput, error) {
	e, err := d.env(ctx, in.Config, true, 1)
	if err != nil {
		return migrate.SchemaOutput{}, err
	}
	if in.Mode == ModeDelta {
		since, err := e.Watermark(ctx, in.MigrationID)
		if err != nil {
			return migrate.SchemaOutput{}, named(err)
		}
		if since == "" {
			return migrate.SchemaOutput{}, &migrate.InputError{Msg: fmt.Sprintf("mode delta: migration %s has no finished full run to pick up from; run a full migration first", in.MigrationID)}
		}
	}
	out, err := e.Schema(ctx, migrate.SchemaInput{MigrationID: in.MigrationID, Run: in.Run, Manifest: in.Manifest, Apply: in.apply()})
	return out, named(err)
}

// Stages maps every source stage; Review in the output stops the run.
func (d *Deps) Stages(ctx context.Context, in StepInput) (migrate.MapStagesOutput, error) {
	e, err := d.env(ctx, in.Config, false, 1)
	if err != nil {
		return migrate.MapStagesOutput{}, err
	}
	out, err := e.MapStages(ctx, migrate.MapStagesInput{MigrationID: in.MigrationID, Manifest: in.Manifest})
	return out, named(err)
}

// Owners resolves fee earners to Pipedrive users.
func (d *Deps) Owners(ctx context.Context, in StepInput) (migrate.OwnersOutput, error) {
	e, err := d.env(ctx, in.Config, true, 1)
	if err != nil {
		return migrate.OwnersOutput{}, err
	}
	out, err := e.ResolveOwners(ctx, migrate.OwnersInput{MigrationID: in.MigrationID, Manifest: in.Manifest})
	return out, named(err)
}

// SampleInput asks for a review sample.
type SampleInput struct {
	StepInput
	Size int `json:"size"`
}

// SampleOutput is the sample's matters and where they are listed.
type SampleOutput struct {
	Matters []string `json:"matters"`
	Key     string   `json:"key"`
}

// Sample picks a stratified sample of matters across types and stages and
// writes the list to runs/<run>/sample.json.
func (d *Deps) Sample(ctx context.Context, in SampleInput) (SampleOutput, error) {
	e, err := d.env(ctx, in.Config, false, 1)
	if err != nil {
		return SampleOutput{}, err
	}
	cfg := e.Config
	var staged extract.StageManifest
	if err := getJSON(ctx, d, in.Manifest, &staged); err != nil {
		return SampleOutput{}, err
	}
	prefix := in.Manifest[:strings.LastIndexByte(in.Manifest, '/')+1]
	var items []stratify.Item
	for _, c := range staged.Kinds[extract.KindMatters].Chunks {
		rc, err := d.Store.Open(ctx, prefix+c.Key)
		if err != nil {
			return SampleOutput{}, &StoreError{Err: err}
		}
		sc := bufio.NewScanner(rc)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var rec struct {
				Matter pp.Matter `json:"matter"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				rc.Close()
				return SampleOutput{}, &StoreError{Err: err}
			}
			typ, ok := cfg.MatterType(rec.Matter.Type)
			if !ok {
				typ = rec.Matter.Type
			}
			stage, _ := cfg.PipelineFor(typ).StageFor(rec.Matter.KeyStage)
			items = append(items, stratify.Item{ID: rec.Matter.ID, Stratum: typ + "/" + stage})
		}
		rc.Close()
		if err := sc.Err(); err != nil {
			return SampleOutput{}, &StoreError{Err: err}
		}
	}
	ids := stratify.Select(items, in.Size, 1)
	sort.Strings(ids)
	out := SampleOutput{Matters: ids, Key: migrate.RunPrefix(in.MigrationID, in.Run) + "sample.json"}
	if err := putJSON(ctx, d, out.Key, ids); err != nil {
		return SampleOutput{}, err
	}
	d.log().InfoContext(ctx, "sample", "migration", in.MigrationID, "run", in.Run, "matters", len(ids))
	return out, nil
}

// LoadInput is one load step: one kind, one chunk.
type LoadInput struct {
	StepInput
	Kind   string `json:"kind"`
	Source string `json:"source"`
	Chunk  int    `json:"chunk"`
	// Matters limits a sample run to its matters.
	Matters []string `json:"matters,omitempty"`
	// Workers is how many load steps run at once.
	Workers int `json:"workers,omitempty"`
	// Export is the bundle, for the documents (the transfer step).
	Export string `json:"export,omitempty"`
}

// LoadOutput is a load step's counts and, when the company's daily token
// budget ran out, when to carry on: the state machine waits until then and
// runs the same step again, which carries on where it stopped.
type LoadOutput struct {
	migrate.LoadOutput
	BudgetExhausted bool   `json:"budget_exhausted"`
	ResumeAt        string `json:"resume_at"`
	// Output is the key the counts are kept under for the run's summary.
	Output string `json:"output"`
}

// Load plans and (but in a plan) writes one chunk of organisations,
// persons, deals or activities and notes. In a delta run, and in a plan
// after a full run, it loads from the last run's watermark.
func (d *Deps) Load(ctx context.Context, in LoadInput) (LoadOutput, error) {
	if in.Kind == migrate.LoadDocuments {
		return LoadOutput{}, &migrate.InputError{Msg: "documents are the transfer step's"}
	}
	return d.load(ctx, in, nil)
}

// Transfer uploads one chunk's documents, streamed from the export.
func (d *Deps) Transfer(ctx context.Context, in LoadInput) (LoadOutput, error) {
	if in.Kind != migrate.LoadDocuments {
		return LoadOutput{}, &migrate.InputError{Msg: fmt.Sprintf("kind %q: the transfer step loads documents", in.Kind)}
	}
	if !in.apply() {
		// A plan tells from the staged sizes what will be zipped or split,
		// without reading the documents.
		return d.load(ctx, in, nil)
	}
	if in.Export == "" {
		return LoadOutput{}, &migrate.InputError{Msg: "export: the transfer step reads the documents from the export"}
	}
	if d.OpenBundle == nil {
		return LoadOutput{}, errors.New("steps: no bundle opener configured")
	}
	b, err := d.OpenBundle(ctx, in.Export)
	if err != nil {
		return LoadOutput{}, &extract.BundleError{Err: err}
	}
	defer b.Close()
	return d.load(ctx, in, b)
}

func (d *Deps) load(ctx context.Context, in LoadInput, bundle *pp.Bundle) (LoadOutput, error) {
	e, err := d.env(ctx, in.Config, true, in.Workers)
	if err != nil {
		return LoadOutput{}, err
	}
	li := migrate.LoadInput{MigrationID: in.MigrationID, Run: in.Run, Manifest: in.Manifest, Kind: in.Kind, Source: in.Source,
		Chunk: in.Chunk, Apply: in.apply(), Matters: in.Matters}
	if in.Mode == ModeDelta || in.Mode == ModePlan {
		since, err := e.Watermark(ctx, in.MigrationID)
		if err != nil {
			return LoadOutput{}, named(err)
		}
		li.Delta, li.Since = since != "", since
		if in.Mode == ModeDelta && since == "" {
			return LoadOutput{}, &migrate.InputError{Msg: "mode delta: no finished full run to pick up from"}
		}
	}
	start := d.now()
	meter := e.Pipedrive.Meter()
	requests0, tokens0 := meter.Requests(), meter.Total()
	var out migrate.LoadOutput
	switch in.Kind {
	case migrate.LoadOrganisations, migrate.LoadPersons:
		out, err = e.LoadPeople(ctx, li)
	case migrate.LoadDeals:
		out, err = e.LoadDeals(ctx, li)
	case migrate.LoadActivities:
		out, err = e.LoadActivities(ctx, li)
	case migrate.LoadDocuments:
		out, err = e.LoadDocuments(ctx, li, bundle)
	default:
		return LoadOutput{}, &migrate.InputError{Msg: fmt.Sprintf("kind %q: use organisations, persons, deals, activities or documents", in.Kind)}
	}
	res := LoadOutput{LoadOutput: out, Output: OutputKey(in.MigrationID, in.Run, in.Kind, in.Source, in.Chunk)}
	var budget *pipedrive.BudgetExhaustedError
	if errors.As(err, &budget) {
		res.BudgetExhausted, res.ResumeAt = true, budget.ResumeAt.UTC().Format(time.RFC3339)
		d.log().InfoContext(ctx, "daily budget exhausted", "migration", in.MigrationID, "run", in.Run, "kind", in.Kind,
			"chunk", in.Chunk, "resume_at", res.ResumeAt)
		return res, nil
	}
	if err != nil {
		return LoadOutput{}, named(err)
	}
	rec := LoadRecord{LoadOutput: out, Started: start, Finished: d.now(), Requests: meter.Requests() - requests0, Tokens: meter.Total() - tokens0}
	if err := putJSON(ctx, d, res.Output, rec); err != nil {
		return LoadOutput{}, err
	}
	d.log().InfoContext(ctx, "load", "migration", in.MigrationID, "run", in.Run, "kind", in.Kind, "source", in.Source,
		"chunk", in.Chunk, "planned", out.Planned, "created", out.Created, "updated", out.Updated, "skipped", out.Skipped,
		"failed", out.Failed, "requests", rec.Requests, "tokens", rec.Tokens, "ms", rec.Finished.Sub(start).Milliseconds())
	return res, nil
}

// LoadRecord is what a load step keeps under OutputKey: its counts, when it
// ran, and the requests and tokens it spent (for the run's summary and the
// report's chart of the run over time). A step the budget stopped and that
// ran again keeps its last invocation's.
type LoadRecord struct {
	migrate.LoadOutput
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Requests int       `json:"requests"`
	Tokens   int       `json:"tokens"`
}

// OutputKey is where a load step keeps its counts for the run's summary.
func OutputKey(migrationID, run, kind, source string, chunk int) string {
	return fmt.Sprintf("%sloads/%s/%s-%05d.json", migrate.RunPrefix(migrationID, run), kind, source, chunk)
}

// Estimate prices a plan run at the deployment's plan and seats.
func (d *Deps) Estimate(ctx context.Context, in StepInput) (migrate.EstimateOutput, error) {
	e, err := d.env(ctx, in.Config, false, 1)
	if err != nil {
		return migrate.EstimateOutput{}, err
	}
	out, err := e.EstimateRun(ctx, migrate.EstimateInput{MigrationID: in.MigrationID, Run: in.Run, Plan: d.Plan, Seats: d.Seats})
	return out, named(err)
}

// VerifyInput names what to read back: every migrated record, or the
// sample's.
type VerifyInput struct {
	StepInput
	Matters []string `json:"matters,omitempty"`
}

// Verify reads the migrated records back and compares them with the
// staged export; a difference is *migrate.VerifyMismatchError.
func (d *Deps) Verify(ctx context.Context, in VerifyInput) (migrate.VerifyOutput, error) {
	e, err := d.env(ctx, in.Config, true, 1)
	if err != nil {
		return migrate.VerifyOutput{}, err
	}
	out, err := e.Verify(ctx, migrate.VerifyInput{MigrationID: in.MigrationID, Manifest: in.Manifest, Matters: in.Matters})
	return out, named(err)
}

func getJSON(ctx context.Context, d *Deps, key string, v any) error {
	data, err := d.Store.Get(ctx, key)
	if err != nil {
		return &StoreError{Err: fmt.Errorf("read %s: %w", key, err)}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &StoreError{Err: fmt.Errorf("read %s: %w", key, err)}
	}
	return nil
}

func putJSON(ctx context.Context, d *Deps, key string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := d.Store.Put(ctx, key, strings.NewReader(string(data))); err != nil {
		return &StoreError{Err: fmt.Errorf("write %s: %w", key, err)}
	}
	return nil
}
