package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/asl"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/steps"
	"github.com/conveyor-migrate/conveyor/statemachine"
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
	failure  *steps.Failure
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
	concurrency := fs.Int("concurrency", 1, "load steps run at once (together within the plan's burst limit)")
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
	case *mode != steps.ModePlan && *mode != steps.ModeSample && *mode != steps.ModeFull && *mode != steps.ModeDelta:
		fmt.Fprintf(stderr, "conveyor run: --mode %q: use plan, sample, full or delta\n", *mode)
		return exitUsage
	case *sampleSize < 100 || *sampleSize > 300:
		fmt.Fprintln(stderr, "conveyor run: --sample must be between 100 and 300")
		return exitUsage
	case !*useSandbox && *pdURL == "":
		fmt.Fprintln(stderr, "conveyor run: give --pipedrive-url (and PIPEDRIVE_API_TOKEN), or --sandbox")
		return exitUsage
	}
	var configYAML []byte
	if *configPath != "" {
		if _, err := mapping.Load(*configPath); err != nil {
			fmt.Fprintf(stderr, "conveyor run: %v\n", err)
			return exitUsage
		}
		var err error
		if configYAML, err = os.ReadFile(*configPath); err != nil {
			fmt.Fprintf(stderr, "conveyor run: %v\n", err)
			return exitUsage
		}
	}
	env, closeEnv, err := target{state: *state, sandbox: *useSandbox, pipedriveURL: *pdURL, plan: *plan, seats: *seats}.open(mapping.Default())
	if err != nil {
		fmt.Fprintf(stderr, "conveyor run: %v\n", err)
		return exitUsage
	}
	defer closeEnv()
	if *mode == steps.ModeDelta {
		since, err := env.Watermark(ctx, *migration)
		if err != nil {
			fmt.Fprintf(stderr, "conveyor run: %v\n", err)
			return exitUsage
		}
		if since == "" {
			fmt.Fprintf(stderr, "conveyor run: --mode delta: migration %s has no finished full run to pick up from; run --mode full first\n", *migration)
			return exitUsage
		}
	}
	in := steps.Execution{MigrationID: *migration, Export: *export, Mode: *mode, SampleSize: *sampleSize, Concurrency: *concurrency, Approved: *yes}
	if configYAML != nil {
		in.Config = migrate.Prefix(*migration) + "config.yaml"
		if err := env.Store.Put(ctx, in.Config, bytes.NewReader(configYAML)); err != nil {
			fmt.Fprintf(stderr, "conveyor run: keep the configuration: %v\n", err)
			return exitUsage
		}
	}
	r := &runner{ctx: ctx, env: env, out: stdout, quiet: *asJSON, state: *state, sum: runSummary{Migration: *migration, Mode: *mode,
		Run: newRunID(time.Now()), Kinds: map[string]*migrate.LoadOutput{}}}
	if *mode == steps.ModeDelta || *mode == steps.ModePlan {
		r.sum.Since, _ = env.Watermark(ctx, *migration)
	}
	code := r.execute(localDeps(env, *plan, *seats), in, stderr)
	m := env.Pipedrive.Meter()
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

// localDeps are the step handlers' dependencies on this machine: the state
// directory's store and ledger, the one throttled client (shared by every
// load step, so that together they keep to the plan's limit), and bundles
// opened from a directory, a .zip or s3://.
func localDeps(env *migrate.Env, plan string, seats int) *steps.Deps {
	client := env.Pipedrive
	return &steps.Deps{Store: env.Store, Ledger: env.Ledger, Plan: plan, Seats: seats, Now: env.Now, Log: env.Log,
		Pipedrive:  func(context.Context, int) (*pipedrive.Client, error) { return client, nil },
		OpenBundle: openBundle}
}

type runner struct {
	ctx   context.Context
	env   *migrate.Env
	out   io.Writer
	quiet bool
	sum   runSummary
	// state is the state directory, where the store's files are.
	state string
	// staged is the staged manifest, for the progress bars.
	staged *extract.StageManifest
}

func (r *runner) say(format string, a ...any) {
	if !r.quiet {
		fmt.Fprintf(r.out, format+"\n", a...)
	}
}

// execute runs statemachine/migrate.asl.json with the handlers in-process:
// the same definition Step Functions runs on AWS.
func (r *runner) execute(d *steps.Deps, in steps.Execution, stderr io.Writer) int {
	ctx := r.ctx
	def, err := asl.Substitute(statemachine.Migrate, steps.Substitutions())
	var m *asl.Machine
	if err == nil {
		m, err = asl.Parse(def)
	}
	if err != nil {
		fmt.Fprintf(stderr, "conveyor run: the migration definition: %v\n", err)
		return exitUsage
	}
	input, _ := json.Marshal(in)
	p := &progress{w: r.out, tty: isTerminal(r.out), quiet: r.quiet, meter: r.env.Pipedrive.Meter(), total: r.chunkTotal}
	_, err = m.Execute(ctx, input, asl.Options{Name: r.sum.Run, StateMachineName: "conveyor-migrate", Handlers: d.Handlers(),
		WaitForTaskToken: r.approve, OnTransition: p.event})
	r.readSummary()
	var failed *asl.ExecutionFailedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &failed) && failed.Name == "ReviewRequired":
		r.sum.Stopped = failed.Cause
		return exitUntrusted
	case errors.As(err, &failed) && r.sum.failure != nil && r.sum.failure.Error == "ApprovalRejected":
		r.sum.Stopped = "not approved"
		return exitOK
	case errors.As(err, &failed) && r.sum.failure != nil:
		r.sum.Stopped = r.sum.failure.Error + ": " + causeMessage(r.sum.failure.Cause)
		fmt.Fprintf(stderr, "conveyor run: %s\n", r.sum.Stopped)
		var input *migrate.InputError
		if r.sum.failure.Error == goName(input) {
			return exitUsage
		}
		return exitUntrusted
	default:
		r.sum.Stopped = err.Error()
		fmt.Fprintf(stderr, "conveyor run: %v\n", err)
		return exitUntrusted
	}
}

// approve stands for `conveyor approve`: on a terminal it asks; anything
// but yes rejects the run. (--yes skips the approval states altogether.)
func (r *runner) approve(ctx context.Context, token, state string, input json.RawMessage) (json.RawMessage, error) {
	var req steps.ApprovalInput
	_ = json.Unmarshal(input, &req)
	if r.quiet || !confirm(r.out, fmt.Sprintf("Write the %s migration to Pipedrive? Read first: %s", req.Mode, strings.Join(req.Reports, ", "))) {
		return nil, &asl.TaskFailedError{Name: "ApprovalRejected", Cause: "the run was not approved"}
	}
	return json.Marshal(map[string]any{"approved": true, "by": "terminal", "at": time.Now().UTC().Format(time.RFC3339)})
}

// chunkTotal is how many chunks a load Map state iterates over, from the
// staged manifest (read once, after extract).
func (r *runner) chunkTotal(state string) int {
	if r.staged == nil {
		var m extract.StageManifest
		if err := getJSON(r.ctx, r.env, extract.StagePrefix(r.sum.Migration)+extract.StageManifestName, &m); err != nil {
			return 0
		}
		r.staged = &m
	}
	source := map[string]string{"Organisations": extract.KindOrganisations, "Referrers' firms": extract.KindReferrers,
		"Clients": extract.KindClients, "Referrers": extract.KindReferrers}[state]
	if source == "" {
		source = extract.KindMatters
	}
	if state == "Verify" {
		return 0
	}
	return len(r.staged.Kinds[source].Chunks)
}

// readSummary reads what the run's finish step wrote.
func (r *runner) readSummary() {
	var s steps.Summary
	if err := getJSON(r.ctx, r.env, steps.SummaryKey(r.sum.Migration, r.sum.Run), &s); err != nil {
		return
	}
	for k, o := range s.Kinds {
		r.sum.Kinds[k] = o
	}
	r.sum.Verify, r.sum.Finish, r.sum.failure = s.Verify, s.Finish, s.Failure
	r.sum.Reports = s.Reports
	if s.Estimate != "" {
		var est migrate.Estimate
		if getJSON(r.ctx, r.env, s.Estimate, &est) == nil {
			r.sum.Estimate = &est
			r.sum.Reports = append(r.sum.Reports, s.Estimate)
		}
	}
	sort.Strings(r.sum.Reports)
}

// causeMessage is an error's message from a Step Functions Cause: Lambda's
// JSON {"errorMessage": …}, or the message itself.
func causeMessage(cause string) string {
	var c struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &c) == nil && c.ErrorMessage != "" {
		return c.ErrorMessage
	}
	return cause
}

// goName is the name aws-lambda-go (and the embedded executor) gives an
// error of v's type.
func goName(v any) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func (r *runner) printSummary() {
	s := r.sum
	if line := r.kindsLine(); line != "" {
		fmt.Fprintf(r.out, "Loaded: %s\n", line)
	}
	if s.Estimate != nil {
		est := s.Estimate
		fmt.Fprintf(r.out, "Estimate on %s with %d seat(s): %d requests, %d tokens, %s at the burst limit, %.2f days of the daily budget (%d tokens/day); without activities, notes and files: %d tokens, %s, %.2f days\n",
			est.Plan, est.Seats, est.All.Requests, est.All.Tokens, duration(est.All.Hours), est.All.Days, est.DailyTokens,
			est.WithoutHistory.Tokens, duration(est.WithoutHistory.Hours), est.WithoutHistory.Days)
		fmt.Fprintf(r.out, "Plan only: nothing was written to Pipedrive. Every planned write, with its field-level diff, is under %splan/.\n", migrate.RunPrefix(s.Migration, s.Run))
	}
	if s.Verify != nil {
		fmt.Fprintf(r.out, "Verify: %d records read back, %d missing, %d fields differ (%s)\n", s.Verify.Checked, s.Verify.Missing, s.Verify.Mismatches, s.Verify.Report)
	}
	if f := s.Finish; f != nil {
		if f.Report != "" {
			fmt.Fprintf(r.out, "Delta: %d records updated, %d changed records left alone (edited in Pipedrive since), %d no longer in the export (listed, not deleted); see %s\n",
				f.Updated, f.Conflicts, f.Gone, f.Report)
		}
		fmt.Fprintf(r.out, "Watermark for the next delta run: %s\n", f.Watermark)
	}
	for _, k := range s.Reports {
		if strings.HasSuffix(k, "/report.html") {
			fmt.Fprintf(r.out, "Report: %s (open it in a browser; it holds client data)\n", filepath.Join(r.state, "store", filepath.FromSlash(k)))
		}
	}
	fmt.Fprintf(r.out, "Migration %s, run %s (%s): API %d requests, %d tokens, %d retries, %d throttled\n", s.Migration, s.Run, s.Mode, s.API.Requests, s.API.Tokens, s.API.Retries, s.API.Throttled)
	if s.Stopped != "" {
		fmt.Fprintf(r.out, "Stopped: %s\n", s.Stopped)
	}
}

func (r *runner) kindsLine() string {
	var parts []string
	for _, k := range []string{migrate.LoadOrganisations, migrate.LoadPersons, migrate.LoadDeals, migrate.LoadActivities, migrate.LoadDocuments} {
		t := r.sum.Kinds[k]
		if t == nil {
			continue
		}
		if r.sum.Mode == steps.ModePlan {
			parts = append(parts, fmt.Sprintf("%s %d planned (%d flagged)", k, t.Planned, t.Flags))
			continue
		}
		if t.Updated > 0 {
			parts = append(parts, fmt.Sprintf("%s %d created, %d updated, %d linked, %d skipped, %d failed", k, t.Created, t.Updated, t.Linked, t.Skipped, t.Failed))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d created, %d linked, %d skipped, %d failed", k, t.Created, t.Linked, t.Skipped, t.Failed))
	}
	return strings.Join(parts, "; ")
}

// duration renders hours for people: minutes under an hour.
func duration(hours float64) string {
	if hours < 1 {
		return fmt.Sprintf("%.0f minutes", max(1, hours*60))
	}
	return fmt.Sprintf("%.1f hours", hours)
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
