package steps

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/migrate"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/report"
)

// FinishInput ends a run: its summary, and for a full or delta run the
// watermark and delta report; Failure, when set, is the error that stopped
// it (Step Functions' {"Error", "Cause"}).
type FinishInput struct {
	StepInput
	Failure *Failure `json:"failure,omitempty"`
	// Verify is the verify step's output; Estimate the key of a plan run's
	// estimate.
	Verify   *migrate.VerifyOutput `json:"verify,omitempty"`
	Estimate string                `json:"estimate,omitempty"`
	// State, on the failure path, is the whole state when the error was
	// caught; the fields above the caught state has are read from it.
	State json.RawMessage `json:"state,omitempty"`
}

// Failure is an error a state machine caught.
type Failure struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Summary is runs/<run>/summary.json: what the run did, per kind.
type Summary struct {
	MigrationID string                         `json:"migration_id"`
	Run         string                         `json:"run"`
	Mode        string                         `json:"mode"`
	Kinds       map[string]*migrate.LoadOutput `json:"kinds"`
	Verify      *migrate.VerifyOutput          `json:"verify,omitempty"`
	Estimate    string                         `json:"estimate,omitempty"`
	Finish      *migrate.FinishOutput          `json:"finish,omitempty"`
	Failure     *Failure                       `json:"failure,omitempty"`
	// Reports lists the keys a person reads after the run.
	Reports []string `json:"reports"`
	// Requests and Tokens are what the run's load steps spent in Pipedrive;
	// Timeline is each load step's, in the order they ran.
	Requests int            `json:"requests"`
	Tokens   int            `json:"tokens"`
	Timeline []TimelineStep `json:"timeline"`
}

// TimelineStep is one load step of a run: when it ran and what it spent.
type TimelineStep struct {
	Kind     string    `json:"kind"`
	Source   string    `json:"source"`
	Chunk    int       `json:"chunk"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Requests int       `json:"requests"`
	Tokens   int       `json:"tokens"`
}

// FinishOutput is where the summary and the HTML report are.
type FinishOutput struct {
	Summary string                `json:"summary"`
	Report  string                `json:"report"`
	Finish  *migrate.FinishOutput `json:"finish,omitempty"`
	Failed  bool                  `json:"failed"`
}

// SummaryKey is where a run's summary is kept.
func SummaryKey(migrationID, run string) string {
	return migrate.RunPrefix(migrationID, run) + "summary.json"
}

// Finish adds up a run's load steps into its summary and, for a full or
// delta run that did not fail, records its watermark (and the delta
// report).
func (d *Deps) Finish(ctx context.Context, in FinishInput) (FinishOutput, error) {
	if len(in.State) > 0 {
		var st StepInput
		_ = json.Unmarshal(in.State, &st)
		in.Manifest, in.Mode, in.Config = cmp.Or(in.Manifest, st.Manifest), cmp.Or(in.Mode, st.Mode), cmp.Or(in.Config, st.Config)
	}
	e, err := d.env(ctx, in.Config, false, 1)
	if err != nil && in.Failure == nil {
		return FinishOutput{}, err
	}
	if err != nil {
		e, _ = d.env(ctx, "", false, 1) // a bad configuration is what failed: report it anyway
	}
	sum := Summary{MigrationID: in.MigrationID, Run: in.Run, Mode: in.Mode, Kinds: map[string]*migrate.LoadOutput{}, Failure: in.Failure,
		Verify: in.Verify, Estimate: in.Estimate}
	prefix := migrate.RunPrefix(in.MigrationID, in.Run)
	infos, err := d.Store.List(ctx, prefix+"loads/")
	if err != nil {
		return FinishOutput{}, &StoreError{Err: err}
	}
	sum.Timeline = []TimelineStep{}
	for _, info := range infos {
		var rec LoadRecord
		if err := getJSON(ctx, d, info.Key, &rec); err != nil {
			return FinishOutput{}, err
		}
		o := rec.LoadOutput
		sum.Requests += rec.Requests
		sum.Tokens += rec.Tokens
		sum.Timeline = append(sum.Timeline, TimelineStep{Kind: o.Kind, Source: o.Source, Chunk: o.Chunk, Started: rec.Started,
			Finished: rec.Finished, Requests: rec.Requests, Tokens: rec.Tokens})
		t := sum.Kinds[o.Kind]
		if t == nil {
			t = &migrate.LoadOutput{MigrationID: o.MigrationID, Kind: o.Kind}
			sum.Kinds[o.Kind] = t
		}
		t.Planned += o.Planned
		t.Created += o.Created
		t.Updated += o.Updated
		t.Linked += o.Linked
		t.Skipped += o.Skipped
		t.Failed += o.Failed
		t.Flags += o.Flags
	}
	for _, name := range []string{"staged/audit.json", migrate.SchemaPlanName, migrate.SchemaChecklistName, migrate.StageMapName, migrate.OwnersName, "verify.json"} {
		if _, err := d.Store.Stat(ctx, migrate.Prefix(in.MigrationID)+name); err == nil {
			sum.Reports = append(sum.Reports, migrate.Prefix(in.MigrationID)+name)
		}
	}
	for _, name := range []string{"estimate.json", "sample.json"} {
		if _, err := d.Store.Stat(ctx, prefix+name); err == nil {
			sum.Reports = append(sum.Reports, prefix+name)
		}
	}
	sort.Slice(sum.Timeline, func(i, j int) bool { return sum.Timeline[i].Started.Before(sum.Timeline[j].Started) })
	out := FinishOutput{Summary: SummaryKey(in.MigrationID, in.Run), Failed: in.Failure != nil}
	if in.Failure == nil && (in.Mode == ModeFull || in.Mode == ModeDelta) {
		fin, err := e.Finish(ctx, migrate.FinishInput{MigrationID: in.MigrationID, Run: in.Run, Manifest: in.Manifest, Mode: in.Mode})
		if err != nil {
			return FinishOutput{}, named(err)
		}
		sum.Finish, out.Finish = &fin, &fin
		if fin.Report != "" {
			sum.Reports = append(sum.Reports, fin.Report)
		}
	}
	out.Report = migrate.RunPrefix(in.MigrationID, in.Run) + "report.html"
	sum.Reports = append(sum.Reports, out.Report)
	sort.Strings(sum.Reports)
	if err := putJSON(ctx, d, out.Summary, sum); err != nil {
		return FinishOutput{}, err
	}
	if err := d.writeReport(ctx, in.MigrationID, in.Run, out.Report); err != nil {
		// The run's results stand without it; `conveyor report` can make it again.
		d.log().WarnContext(ctx, "report not written", "migration", in.MigrationID, "run", in.Run, "error", err.Error())
		out.Report = ""
	}
	d.log().InfoContext(ctx, "run summary written", "migration", in.MigrationID, "run", in.Run, "mode", in.Mode, "failed", out.Failed)
	return out, nil
}

// ApprovalInput is what the approval task records: the run waiting, what
// it waits to do, and the task token that lets it go on.
type ApprovalInput struct {
	MigrationID string   `json:"migration_id"`
	Run         string   `json:"run"`
	Mode        string   `json:"mode"`
	Token       string   `json:"token"`
	Reports     []string `json:"reports,omitempty"`
}

// ApprovalRequest is migrations/<id>/approvals/<run>.json: a waiting
// approval. `conveyor approve` reads it and sends the token back.
type ApprovalRequest struct {
	MigrationID string   `json:"migration_id"`
	Run         string   `json:"run"`
	Mode        string   `json:"mode"`
	Token       string   `json:"token"`
	State       string   `json:"state,omitempty"`
	RequestedAt string   `json:"requested_at"`
	Reports     []string `json:"reports,omitempty"`
}

// ApprovalKey is where a run's waiting approval is kept.
func ApprovalKey(migrationID, run string) string {
	return migrate.Prefix(migrationID) + "approvals/" + run + ".json"
}

// ApprovalOutput says where the request is; the state machine then waits
// for the token to come back.
type ApprovalOutput struct {
	Request string `json:"request"`
}

// Approval records a waiting approval (the task token of a
// .waitForTaskToken task) for `conveyor approve` to answer.
func (d *Deps) Approval(ctx context.Context, in ApprovalInput) (ApprovalOutput, error) {
	if in.Token == "" {
		return ApprovalOutput{}, &migrate.InputError{Msg: "token: the approval task passes $$.Task.Token"}
	}
	if strings.ContainsAny(in.Run, "/\\") || in.Run == "" {
		return ApprovalOutput{}, &migrate.InputError{Msg: fmt.Sprintf("run %q", in.Run)}
	}
	req := ApprovalRequest{MigrationID: in.MigrationID, Run: in.Run, Mode: in.Mode, Token: in.Token,
		RequestedAt: d.now().Format("2006-01-02T15:04:05Z"), Reports: in.Reports}
	key := ApprovalKey(in.MigrationID, in.Run)
	if err := putJSON(ctx, d, key, req); err != nil {
		return ApprovalOutput{}, err
	}
	d.log().InfoContext(ctx, "approval requested", "migration", in.MigrationID, "run", in.Run, "mode", in.Mode)
	return ApprovalOutput{Request: key}, nil
}

// RollbackInput is a batch of a rollback (its Limit caps the entries one
// invocation undoes; the output's More says whether any are left, and the
// state machine comes back with the output's Before).
type RollbackInput struct {
	migrate.RollbackInput
	Config string `json:"config,omitempty"`
}

// RollbackOutput is a batch's counts and, when the daily budget ran out,
// when to carry on.
type RollbackOutput struct {
	migrate.RollbackOutput
	BudgetExhausted bool   `json:"budget_exhausted"`
	ResumeAt        string `json:"resume_at"`
}

// Rollback undoes a migration (or one run of it), newest write first.
func (d *Deps) Rollback(ctx context.Context, in RollbackInput) (RollbackOutput, error) {
	e, err := d.env(ctx, in.Config, true, 1)
	if err != nil {
		return RollbackOutput{}, err
	}
	out, err := e.Rollback(ctx, in.RollbackInput)
	var budget *pipedrive.BudgetExhaustedError
	if errors.As(err, &budget) {
		// out says how far it got: the state machine waits, then carries
		// on from out.Before.
		return RollbackOutput{RollbackOutput: out, BudgetExhausted: true, ResumeAt: budget.ResumeAt.UTC().Format(time.RFC3339)}, nil
	}
	return RollbackOutput{RollbackOutput: out}, named(err)
}

// writeReport renders the run's HTML report (internal/report) next to its
// JSON results.
func (d *Deps) writeReport(ctx context.Context, migrationID, run, key string) error {
	data, err := report.Build(ctx, d.Store, d.Ledger, migrationID, run)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, data); err != nil {
		return err
	}
	return d.Store.Put(ctx, key, &buf)
}
