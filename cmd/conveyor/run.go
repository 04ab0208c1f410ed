package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/stratify"
)

// runSummary is what `conveyor run --json` prints.
type runSummary struct {
	Migration string                         `json:"migration"`
	Run       string                         `json:"run"`
	Mode      string                         `json:"mode"`
	Kinds     map[string]*migrate.LoadOutput `json:"kinds"`
	API       struct {
		Requests  int `json:"requests"`
		Tokens    int `json:"tokens"`
		Retries   int `json:"retries"`
		Throttled int `json:"throttled"`
	} `json:"api"`
	Verify *migrate.VerifyOutput `json:"verify,omitempty"`
	// Since is the watermark a delta run (or a plan after a full run)
	// started from; Finish what the finished run recorded.
	Since    string                `json:"since,omitempty"`
	Finish   *migrate.FinishOutput `json:"finish,omitempty"`
	Estimate *migrate.Estimate     `json:"estimate,omitempty"`
	Sample   int                   `json:"sample_matters,omitempty"`
	Reports  []string              `json:"reports"`
	Stopped  string                `json:"stopped,omitempty"`
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "--export PATH --migration ID --mode plan|sample|full|delta [--sandbox | --pipedrive-url URL] [--state DIR] [--yes] [--json]", stderr)
	export := fs.String("export", "", "the export bundle: a directory, a .zip or s3://bucket/prefix/ (required)")
	migration := fs.String("migration", "", "migration id (required)")
	mode := fs.String("mode", "plan", "plan (read-only), sample (a stratified sample of matters), full, or delta (a newer export after a full run: only what changed)")
	configPath := fs.String("config", "", "mapping configuration file (default: the embedded default)")
	pdURL := fs.String("pipedrive-url", "", "the company's Pipedrive URL, https://<company>.pipedrive.com; the token comes from PIPEDRIVE_API_TOKEN")
	useSandbox := fs.Bool("sandbox", false, "run against an in-process Pipedrive sandbox kept in the state directory")
	state := fs.String("state", ".conveyor", "local state: the blob store, the ledger and (with --sandbox) the sandbox")
	yes := fs.Bool("yes", false, "do not ask before writing to Pipedrive")
	asJSON := fs.Bool("json", false, "print one JSON summary")
	plan := fs.String("plan", "growth", "the Pipedrive plan: lite, growth, premium or ultimate")
	seats := fs.Int("seats", 1, "Pipedrive seats")
	sampleSize := fs.Int("sample", 200, "matters in a sample run (100–300)")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	switch {
	case *export == "" || *migration == "":
		fmt.Fprintln(stderr, "conveyor run: --export and --migration are required")
		return exitUsage
	case !migrationIDPattern.MatchString(*migration):
		fmt.Fprintf(stderr, "conveyor run: --migration %q: use letters, digits, '.', '_' and '-'\n", *migration)
		return exitUsage
	case *mode != "plan" && *mode != "sample" && *mode != "full" && *mode != "delta":
		fmt.Fprintf(stderr, "conveyor run: --mode %q: use plan, sample, full or delta\n", *mode)
		return exitUsage
	case *sampleSize < 100 || *sampleSize > 300:
		fmt.Fprintln(stderr, "conveyor run: --sample must be between 100 and 300")
		return exitUsage
	case !*useSandbox && *pdURL == "":
		fmt.Fprintln(stderr, "conveyor run: give --pipedrive-url (and PIPEDRIVE_API_TOKEN), or --sandbox")
		return exitUsage
	}
	cfg := mapping.Default()
	if *configPath != "" {
		var err error
		if cfg, err = mapping.Load(*configPath); err != nil {
			fmt.Fprintf(stderr, "conveyor run: %v\n", err)
			return exitUsage
		}
	}
	env, closeEnv, err := target{state: *state, sandbox: *useSandbox, pipedriveURL: *pdURL, plan: *plan, seats: *seats}.open(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor run: %v\n", err)
		return exitUsage
	}
	defer closeEnv()
	client := env.Pipedrive
	r := &runner{ctx: ctx, env: env, out: stdout, quiet: *asJSON, seats: *seats, sum: runSummary{Migration: *migration, Mode: *mode,
		Run: newRunID(time.Now()), Kinds: map[string]*migrate.LoadOutput{}}}
	code := r.run(*export, *sampleSize, *yes, stderr)
	m := client.Meter()
	r.sum.API.Requests, r.sum.API.Tokens, r.sum.API.Retries, r.sum.API.Throttled = m.Requests(), m.Total(), m.Retries(), m.Throttled()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r.sum)
	} else {
		r.printSummary()
	}
	return code
}

type runner struct {
	ctx   context.Context
	env   *migrate.Env
	out   io.Writer
	quiet bool
	sum   runSummary
	seats int
	plans []string
}

func (r *runner) say(format string, a ...any) {
	if !r.quiet {
		fmt.Fprintf(r.out, format+"\n", a...)
	}
}

// run is the migration's sequence of steps, in the order the state machine
// runs them.
func (r *runner) run(export string, sampleSize int, yes bool, stderr io.Writer) int {
	ctx, env, id := r.ctx, r.env, r.sum.Migration
	apply := r.sum.Mode != "plan"
	since, err := env.Watermark(ctx, id)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor run: %v\n", err)
		return exitUsage
	}
	if r.sum.Mode == "delta" && since == "" {
		fmt.Fprintf(stderr, "conveyor run: --mode delta: migration %s has no finished full run to pick up from; run --mode full first\n", id)
		return exitUsage
	}
	if r.sum.Mode == "delta" || r.sum.Mode == "plan" {
		// After a full run, a plan shows what a delta run would do.
		r.sum.Since = since
	}
	b, err := openBundle(ctx, export)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor run: %v\n", err)
		return exitUsage
	}
	defer b.Close()
	prefix := extract.StagePrefix(id)
	res, err := extract.Run(ctx, b, extract.Options{Config: env.Config, Stage: env.Store, StagePrefix: prefix})
	if err != nil {
		fmt.Fprintf(stderr, "conveyor run: extract: %v\n", err)
		return exitUsage
	}
	manifest := prefix + extract.StageManifestName
	r.sum.Reports = append(r.sum.Reports, prefix+extract.AuditName)
	r.say("1. audit: %d matters staged (%s)", res.Staged.Kinds[extract.KindMatters].Records, trustWord(res.Report.Trusted))
	if !res.Report.Trusted {
		r.sum.Stopped = "the audit found error flags: fix the export (conveyor audit lists them)"
		return exitUntrusted
	}
	sch, err := env.Schema(ctx, migrate.SchemaInput{MigrationID: id, Run: r.sum.Run, Manifest: manifest, Apply: apply})
	if err != nil {
		return r.fail("schema", err, stderr)
	}
	r.sum.Reports = append(r.sum.Reports, sch.Plan, sch.Checklist)
	r.say("2. schema: %d fields, pipelines and stages exist, %d to create, %d created", sch.Existing, sch.ToCreate, sch.Created)
	stages, err := env.MapStages(ctx, migrate.MapStagesInput{MigrationID: id, Manifest: manifest})
	if err != nil {
		return r.fail("stage mapping", err, stderr)
	}
	r.sum.Reports = append(r.sum.Reports, stages.StageMap)
	if stages.Review {
		r.sum.Stopped = fmt.Sprintf("%d source stages have no destination (%d matters): add them to the mapping configuration; see %s", stages.Unmapped, stages.UnmappedMatters, stages.StageMap)
		return exitUntrusted
	}
	r.say("3. stages: every stage of %d matters maps", stages.Matters)
	owners, err := env.ResolveOwners(ctx, migrate.OwnersInput{MigrationID: id, Manifest: manifest})
	if err != nil {
		return r.fail("owners", err, stderr)
	}
	r.sum.Reports = append(r.sum.Reports, owners.Owners)
	r.say("4. owners: %d fee earners by email, %d by the map, %d to the default owner (%d flagged)", owners.ByEmail, owners.ByMap, owners.ByDefault, owners.Flagged)
	var matters []string
	if r.sum.Mode == "sample" {
		if matters, err = sampleMatters(ctx, env, manifest, sampleSize); err != nil {
			return r.fail("sample", err, stderr)
		}
		r.sum.Sample = len(matters)
		r.say("5. sample: %d matters across types and stages", len(matters))
	}
	if !apply {
		return r.plan(b, manifest, sch, stderr)
	}
	if !yes && !confirm(r.out, fmt.Sprintf("Write the %s migration to Pipedrive?", r.sum.Mode)) {
		r.sum.Stopped = "not approved"
		return exitOK
	}
	if code := r.loadAll(b, manifest, matters, true, stderr); code >= 0 {
		return code
	}
	r.say("6. loaded: %s", r.kindsLine())
	v, err := env.Verify(ctx, migrate.VerifyInput{MigrationID: id, Manifest: manifest, Matters: matters})
	r.sum.Verify = &v
	r.sum.Reports = append(r.sum.Reports, v.Report)
	var vm *migrate.VerifyMismatchError
	if errors.As(err, &vm) {
		r.sum.Stopped = vm.Error()
		return exitUntrusted
	}
	if err != nil {
		return r.fail("verify", err, stderr)
	}
	r.say("7. verify: %d records read back, none missing, no field differs", v.Checked)
	if r.sum.Mode == "sample" {
		return exitOK
	}
	fin, err := env.Finish(ctx, migrate.FinishInput{MigrationID: id, Run: r.sum.Run, Manifest: manifest, Mode: r.sum.Mode})
	if err != nil {
		return r.fail("finish", err, stderr)
	}
	r.sum.Finish = &fin
	if fin.Report != "" {
		r.sum.Reports = append(r.sum.Reports, fin.Report)
		r.say("8. delta: %d records updated, %d changed records left alone (edited in Pipedrive since), %d no longer in the export (listed, not deleted); see %s",
			fin.Updated, fin.Conflicts, fin.Gone, fin.Report)
	}
	r.say("   watermark for the next delta run: %s", fin.Watermark)
	return exitOK
}

func trustWord(ok bool) string {
	if ok {
		return "every row accounted for"
	}
	return "NOT TRUSTED"
}

func (r *runner) add(kind string, o migrate.LoadOutput) {
	t := r.sum.Kinds[kind]
	if t == nil {
		t = &migrate.LoadOutput{Kind: kind}
		r.sum.Kinds[kind] = t
	}
	t.Planned += o.Planned
	t.Created += o.Created
	t.Updated += o.Updated
	t.Linked += o.Linked
	t.Skipped += o.Skipped
	t.Failed += o.Failed
	t.Flags += o.Flags
}

func (r *runner) kindsLine() string {
	var parts []string
	for _, k := range []string{migrate.LoadOrganisations, migrate.LoadPersons, migrate.LoadDeals, migrate.LoadActivities, migrate.LoadDocuments} {
		if t := r.sum.Kinds[k]; t != nil {
			if t.Updated > 0 {
				parts = append(parts, fmt.Sprintf("%s %d created, %d updated, %d linked, %d skipped, %d failed", k, t.Created, t.Updated, t.Linked, t.Skipped, t.Failed))
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %d created, %d linked, %d skipped, %d failed", k, t.Created, t.Linked, t.Skipped, t.Failed))
		}
	}
	return strings.Join(parts, "; ")
}

func (r *runner) fail(step string, err error, stderr io.Writer) int {
	r.sum.Stopped = step + ": " + err.Error()
	fmt.Fprintf(stderr, "conveyor run: %s: %v\n", step, err)
	return exitUntrusted
}

func (r *runner) printSummary() {
	s := r.sum
	fmt.Fprintf(r.out, "Migration %s, run %s (%s): API %d requests, %d tokens, %d retries, %d throttled\n", s.Migration, s.Run, s.Mode, s.API.Requests, s.API.Tokens, s.API.Retries, s.API.Throttled)
	if s.Stopped != "" {
		fmt.Fprintf(r.out, "Stopped: %s\n", s.Stopped)
	}
}

// loadAll runs every load step over every chunk, planning or writing; it
// returns an exit code to stop with, or -1 to go on.
func (r *runner) loadAll(b *pp.Bundle, manifest string, matters []string, apply bool, stderr io.Writer) int {
	ctx, env, id := r.ctx, r.env, r.sum.Migration
	var staged extract.StageManifest
	if err := getJSON(ctx, env, manifest, &staged); err != nil {
		return r.fail("read staged manifest", err, stderr)
	}
	steps := []struct{ kind, source string }{
		{migrate.LoadOrganisations, extract.KindOrganisations},
		{migrate.LoadOrganisations, extract.KindReferrers},
		{migrate.LoadPersons, extract.KindClients},
		{migrate.LoadPersons, extract.KindReferrers},
		{migrate.LoadDeals, extract.KindMatters},
		{migrate.LoadActivities, extract.KindMatters},
		{migrate.LoadDocuments, extract.KindMatters},
	}
	for _, s := range steps {
		for i := range staged.Kinds[s.source].Chunks {
			in := migrate.LoadInput{MigrationID: id, Run: r.sum.Run, Manifest: manifest, Kind: s.kind, Source: s.source, Chunk: i, Apply: apply, Matters: matters,
				Delta: r.sum.Since != "", Since: r.sum.Since}
			var out migrate.LoadOutput
			var err error
			switch s.kind {
			case migrate.LoadOrganisations, migrate.LoadPersons:
				out, err = env.LoadPeople(ctx, in)
			case migrate.LoadDeals:
				out, err = env.LoadDeals(ctx, in)
			case migrate.LoadActivities:
				out, err = env.LoadActivities(ctx, in)
			case migrate.LoadDocuments:
				out, err = env.LoadDocuments(ctx, in, b)
			}
			if err != nil {
				return r.fail(s.kind+" "+s.source, err, stderr)
			}
			r.add(s.kind, out)
			r.plans = append(r.plans, out.Plan)
		}
	}
	return -1
}

// plan plans every record without writing, prices the run and writes the
// estimate next to the plans.
func (r *runner) plan(b *pp.Bundle, manifest string, sch migrate.SchemaOutput, stderr io.Writer) int {
	ctx, env, id := r.ctx, r.env, r.sum.Migration
	if code := r.loadAll(b, manifest, nil, false, stderr); code >= 0 {
		return code
	}
	tally := migrate.NewTally()
	var schemaPlan migrate.SchemaPlan
	if err := getJSON(ctx, env, sch.Plan, &schemaPlan); err != nil {
		return r.fail("read schema plan", err, stderr)
	}
	for _, it := range schemaPlan.Items {
		if it.Action == migrate.ActionCreate {
			tally.Add(it.Kind, migrate.PlanCreate, 1)
		}
	}
	for _, key := range r.plans {
		data, err := env.Store.Get(ctx, key)
		if err != nil {
			return r.fail("read plan", err, stderr)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if line == "" {
				continue
			}
			var op migrate.PlannedOp
			if err := json.Unmarshal([]byte(line), &op); err != nil {
				return r.fail("read plan "+key, err, stderr)
			}
			tally.Add(op.TargetKind, op.Op, 1)
		}
	}
	// The reads a run makes besides its writes: one page of each list it
	// matches against or reconciles with, at the least.
	for _, ep := range []string{"GET /api/v2/persons", "GET /api/v2/organizations", "GET /api/v2/deals", "GET /api/v2/dealFields",
		"GET /api/v2/personFields", "GET /api/v2/organizationFields", "GET /api/v2/pipelines", "GET /api/v2/stages", "GET /v1/activityTypes", "GET /v1/users"} {
		tally.AddList(ep, 0, 500)
	}
	est, err := tally.Estimate(env.Pipedrive.Plan(), r.seats)
	if err != nil {
		return r.fail("estimate", err, stderr)
	}
	key := migrate.Prefix(id) + "estimate.json"
	data, _ := json.MarshalIndent(est, "", "  ")
	if err := env.Store.Put(ctx, key, strings.NewReader(string(data))); err != nil {
		return r.fail("save estimate", err, stderr)
	}
	r.sum.Estimate = &est
	r.sum.Reports = append(r.sum.Reports, key)
	r.say("5. plan: %s", r.planLine())
	r.say("6. estimate on %s with %d seat(s): %d requests, %d tokens, %s at the burst limit, %.2f days of the daily budget (%d tokens/day); without activities, notes and files: %d tokens, %s, %.2f days",
		est.Plan, est.Seats, est.All.Requests, est.All.Tokens, duration(est.All.Hours), est.All.Days, est.DailyTokens,
		est.WithoutHistory.Tokens, duration(est.WithoutHistory.Hours), est.WithoutHistory.Days)
	r.say("Plan only: nothing was written to Pipedrive. Every planned write, with its field-level diff, is under %splan/.", migrate.RunPrefix(id, r.sum.Run))
	return exitOK
}

// duration renders hours for people: minutes under an hour.
func duration(hours float64) string {
	if hours < 1 {
		return fmt.Sprintf("%.0f minutes", max(1, hours*60))
	}
	return fmt.Sprintf("%.1f hours", hours)
}

func (r *runner) planLine() string {
	var parts []string
	for _, k := range []string{migrate.LoadOrganisations, migrate.LoadPersons, migrate.LoadDeals, migrate.LoadActivities, migrate.LoadDocuments} {
		if t := r.sum.Kinds[k]; t != nil {
			parts = append(parts, fmt.Sprintf("%s %d planned (%d flagged)", k, t.Planned, t.Flags))
		}
	}
	return strings.Join(parts, "; ")
}

// sampleMatters picks the review sample: matters across types and stages.
func sampleMatters(ctx context.Context, env *migrate.Env, manifest string, n int) ([]string, error) {
	var staged extract.StageManifest
	if err := getJSON(ctx, env, manifest, &staged); err != nil {
		return nil, err
	}
	prefix := manifest[:strings.LastIndexByte(manifest, '/')+1]
	var items []stratify.Item
	for _, c := range staged.Kinds[extract.KindMatters].Chunks {
		rc, err := env.Store.Open(ctx, prefix+c.Key)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(rc)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var rec struct {
				Matter pp.Matter `json:"matter"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				rc.Close()
				return nil, err
			}
			typ, ok := env.Config.MatterType(rec.Matter.Type)
			if !ok {
				typ = rec.Matter.Type
			}
			stage, _ := env.Config.PipelineFor(typ).StageFor(rec.Matter.KeyStage)
			items = append(items, stratify.Item{ID: rec.Matter.ID, Stratum: typ + "/" + stage})
		}
		rc.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	ids := stratify.Select(items, n, 1)
	sort.Strings(ids)
	return ids, nil
}

func getJSON(ctx context.Context, env *migrate.Env, key string, v any) error {
	data, err := env.Store.Get(ctx, key)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// confirm asks on the terminal; anything but y or yes is no.
func confirm(w io.Writer, question string) bool {
	fmt.Fprintf(w, "%s [y/N] ", question)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

// newRunID names a run by its start time, with a random suffix so that two
// runs started in the same second stay apart.
func newRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "r" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
