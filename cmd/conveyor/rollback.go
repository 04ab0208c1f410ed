package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/asl"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	"github.com/conveyor-migrate/conveyor/internal/steps"
	"github.com/conveyor-migrate/conveyor/statemachine"
)

func cmdRollback(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("rollback", "--migration ID [--run ID] [--sandbox | --pipedrive-url URL] [--state DIR] [--yes] [--dry-run] [--force] [--json]", stderr)
	migration := fs.String("migration", "", "migration id (required)")
	run := fs.String("run", "", "undo only this run's writes (default: every run)")
	pdURL := fs.String("pipedrive-url", "", "the company's Pipedrive URL; the token comes from PIPEDRIVE_API_TOKEN")
	useSandbox := fs.Bool("sandbox", false, "the in-process Pipedrive sandbox kept in the state directory")
	state := fs.String("state", ".conveyor", "local state: the blob store, the ledger and (with --sandbox) the sandbox")
	yes := fs.Bool("yes", false, "do not ask before undoing")
	dryRun := fs.Bool("dry-run", false, "report what would be undone; change nothing")
	force := fs.Bool("force", false, "also undo writes to records someone edited in Pipedrive since")
	asJSON := fs.Bool("json", false, "print one JSON summary")
	plan := fs.String("plan", "growth", "the Pipedrive plan: lite, growth, premium or ultimate")
	seats := fs.Int("seats", 1, "Pipedrive seats")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if !migrationIDPattern.MatchString(*migration) {
		fmt.Fprintln(stderr, "conveyor rollback: --migration is required (letters, digits, '.', '_' and '-')")
		return exitUsage
	}
	if !*useSandbox && *pdURL == "" {
		fmt.Fprintln(stderr, "conveyor rollback: give --pipedrive-url (and PIPEDRIVE_API_TOKEN), or --sandbox")
		return exitUsage
	}
	env, closeEnv, err := target{state: *state, sandbox: *useSandbox, pipedriveURL: *pdURL, plan: *plan, seats: *seats, requireLedger: true}.open(mapping.Default())
	if err != nil {
		fmt.Fprintf(stderr, "conveyor rollback: %v\n", err)
		return exitUsage
	}
	defer closeEnv()
	apply := !*dryRun
	if apply && !*yes && !confirm(stdout, fmt.Sprintf("Undo migration %s in Pipedrive?", *migration)) {
		fmt.Fprintln(stdout, "Nothing was undone.")
		return exitOK
	}
	d := localDeps(env, *plan, *seats)
	var out migrate.RollbackOutput
	if !apply {
		res, err := d.Rollback(ctx, steps.RollbackInput{RollbackInput: migrate.RollbackInput{MigrationID: *migration, Run: *run, Force: *force}})
		if err != nil {
			fmt.Fprintf(stderr, "conveyor rollback: %v\n", err)
			return exitUntrusted
		}
		out = res.RollbackOutput
	} else {
		res, err := executeRollback(ctx, d, *migration, *run, *force)
		if err != nil {
			fmt.Fprintf(stderr, "conveyor rollback: %v\n", err)
			return exitUntrusted
		}
		out = res
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		verb := "Rolled back"
		if !apply {
			verb = "Dry run: would roll back"
		}
		fmt.Fprintf(stdout, "%s migration %s: %d deleted, %d restored, %d already gone, %d unchanged, %d left alone (edited since; --force undoes them), %d to check by hand. Report: %s\n",
			verb, *migration, out.Deleted, out.Restored, out.AlreadyGone, out.Unchanged, out.Flagged, out.Unknown, out.Report)
	}
	if out.Flagged > 0 || out.Unknown > 0 {
		return exitUntrusted
	}
	return exitOK
}

// executeRollback runs statemachine/rollback.asl.json with the handlers
// in-process (approved: the command asked already), every entry in one
// batch, and returns the report's totals.
func executeRollback(ctx context.Context, d *steps.Deps, migration, run string, force bool) (migrate.RollbackOutput, error) {
	def, err := asl.Substitute(statemachine.Rollback, steps.Substitutions())
	if err != nil {
		return migrate.RollbackOutput{}, err
	}
	m, err := asl.Parse(def)
	if err != nil {
		return migrate.RollbackOutput{}, fmt.Errorf("the rollback definition: %w", err)
	}
	input, _ := json.Marshal(map[string]any{"migration_id": migration, "run": run, "force": force, "approved": true, "limit": 0})
	if _, err := m.Execute(ctx, input, asl.Options{Name: newRunID(time.Now()), StateMachineName: "conveyor-rollback", Handlers: d.Handlers(),
		WaitForTaskToken: func(context.Context, string, string, json.RawMessage) (json.RawMessage, error) {
			return nil, &asl.TaskFailedError{Name: "ApprovalRejected", Cause: "asked on the terminal already"}
		}}); err != nil {
		return migrate.RollbackOutput{}, err
	}
	name := "all"
	if run != "" {
		name = run
	}
	var rep migrate.RollbackReport
	data, err := d.Store.Get(ctx, migrate.Prefix(migration)+"rollback-"+name+".json")
	if err != nil {
		return migrate.RollbackOutput{}, err
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return migrate.RollbackOutput{}, err
	}
	return rep.Totals, nil
}
