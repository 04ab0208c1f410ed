package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

func cmdSampleExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sample-export", "--out DIR [--matters N] [--seed S] [--zip] [--messy] [--format csv|ndjson|xlsx|mixed] [--newer N]", stderr)
	out := fs.String("out", "", "directory to write the bundle into (with --zip: the .zip file) (required)")
	matters := fs.Int("matters", 50, "number of matters")
	seed := fs.Int64("seed", 1, "random seed: the same seed and flags write the same bytes")
	zip := fs.Bool("zip", false, "write one .zip instead of a directory")
	messy := fs.Bool("messy", false, "add what real extracts contain: aliased headers, BOM, Windows-1252, UK dates, duplicates, orphans")
	format := fs.String("format", sampleexport.FormatCSV, "table format: csv, ndjson, xlsx (one export.xlsx) or mixed")
	large := fs.Int("large-docs", 0, "number of documents over the 25 MB attachment limit: 0 means 2 from 20 matters up, -1 none")
	largeBytes := fs.Int64("large-doc-bytes", 0, "size of each large document in bytes (default 26 MiB)")
	newer := fs.Int("newer", 0, fmt.Sprintf("write the N-th later export of the same firm, N days on (1 to %d), for a delta migration: a few matters, clients and activities changed, new or removed", sampleexport.MaxNewer))
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if *out == "" {
		fmt.Fprintln(stderr, "conveyor sample-export: --out is required")
		return exitUsage
	}
	if *matters < 1 {
		fmt.Fprintln(stderr, "conveyor sample-export: --matters must be at least 1")
		return exitUsage
	}
	if *newer < 0 || *newer > sampleexport.MaxNewer {
		fmt.Fprintf(stderr, "conveyor sample-export: --newer must be between 0 and %d\n", sampleexport.MaxNewer)
		return exitUsage
	}
	opt := sampleexport.Options{Matters: *matters, Seed: *seed, Messy: *messy, Format: *format, LargeDocuments: *large,
		LargeDocumentBytes: *largeBytes, Newer: *newer}
	var sum sampleexport.Summary
	var err error
	if *zip {
		if !strings.HasSuffix(strings.ToLower(*out), ".zip") {
			*out += ".zip"
		}
		sum, err = sampleexport.WriteZip(*out, opt)
	} else {
		sum, err = sampleexport.Write(*out, opt)
	}
	if err != nil {
		fmt.Fprintf(stderr, "conveyor sample-export: %v\n", err)
		return exitUsage
	}
	rows := 0
	tables := make([]string, 0, len(sum.Rows))
	for t, n := range sum.Rows {
		rows += n
		tables = append(tables, t)
	}
	sort.Strings(tables)
	fmt.Fprintf(stdout, "Wrote %s: %d matters, %d rows in %d tables, %d documents (%d bytes)\n", *out, *matters, rows, len(tables), sum.Documents, sum.DocumentBytes)
	if *messy {
		codes := make([]string, 0, len(sum.Planted))
		for c, n := range sum.Planted {
			codes = append(codes, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(stdout, "Planted problems: %s\n", strings.Join(codes, ", "))
	}
	if *newer > 0 {
		d := sum.Delta
		fmt.Fprintf(stdout, "Newer export %d (exported %s, changes since %s): matters %d changed, %d new, %d removed; "+
			"clients %d changed, %d new; organisations %d changed, %d new; referrers %d changed; "+
			"activities %d new, %d changed, %d removed; documents %d new, %d changed, %d removed\n",
			*newer, d.ExportedAt.Format(time.RFC3339), d.Since.Format(time.RFC3339),
			len(d.ChangedMatters), len(d.NewMatters), len(d.RemovedMatters),
			len(d.ChangedClients), len(d.NewClients), len(d.ChangedOrganisations), len(d.NewOrganisations), len(d.ChangedReferrers),
			len(d.NewActivities), len(d.ChangedActivities), len(d.RemovedActivities),
			len(d.NewDocuments), len(d.ChangedDocuments), len(d.RemovedDocuments))
	}
	return exitOK
}
