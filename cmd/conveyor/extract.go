package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"

	"github.com/conveyor-migrate/conveyor/internal/blob/fileblob"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

var migrationIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)

func cmdExtract(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("extract", "--export PATH [--config FILE] [--state DIR] [--migration ID]", stderr)
	var a auditFlags
	a.register(fs)
	state := fs.String("state", ".conveyor", "local state directory (the embedded blob store)")
	migration := fs.String("migration", "local", "migration id: staged chunks go under migrations/<id>/staged/")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if !migrationIDPattern.MatchString(*migration) {
		fmt.Fprintf(stderr, "conveyor extract: --migration %q: use letters, digits, '.', '_' and '-' (up to 80)\n", *migration)
		return exitUsage
	}
	cfg, b, code := a.open(ctx, stderr)
	if code >= 0 {
		return code
	}
	defer b.Close()
	store, err := fileblob.New(*state)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor extract: state %s: %v\n", *state, err)
		return exitUsage
	}
	prefix := "migrations/" + *migration + "/staged/"
	res, err := extract.Run(ctx, b, extract.Options{Config: cfg, Plan: a.plan, Seats: a.seats, Stage: store, StagePrefix: prefix})
	if err != nil {
		fmt.Fprintf(stderr, "conveyor extract: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "Staged into %s\n", filepath.Join(*state, filepath.FromSlash(prefix)))
	for _, kind := range []string{extract.KindFeeEarners, extract.KindOrganisations, extract.KindClients, extract.KindReferrers, extract.KindMatters, extract.KindTemplates} {
		k := res.Staged.Kinds[kind]
		fmt.Fprintf(stdout, "  %-14s %7d records in %d chunks\n", kind, k.Records, len(k.Chunks))
	}
	fmt.Fprintf(stdout, "  audit: %s%s, manifest: %s%s\n", prefix, extract.AuditName, prefix, extract.StageManifestName)
	if !res.Report.Trusted {
		for _, f := range res.Report.Flags {
			if f.Severity == pp.SeverityError {
				fmt.Fprintf(stderr, "conveyor: %s\n", f)
			}
		}
		return exitUntrusted
	}
	return exitOK
}
