// Package extract reads an export bundle, checks every row, decides its
// fate (accepted, merged, skipped or quarantined), writes the audit and,
// when asked, stages the accepted rows as canonical NDJSON chunks.
//
// It reads each table twice: the first pass decides, keeping only id
// indexes; the second stages. Memory grows with the number of ids, not
// with the size of the rows.
package extract

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// Options configure a run.
type Options struct {
	// Config is the mapping configuration; nil means the embedded default.
	Config *mapping.Config
	// Stage, when not nil, receives the staged chunks under StagePrefix.
	Stage       blob.Store
	StagePrefix string
	// Plan and Seats size the API budget for the risk register: lite,
	// growth, premium or ultimate (default growth), and seats (default 1).
	Plan  string
	Seats int
	// TempDir holds spill files while staging; "" means the system's.
	TempDir string
	// DocumentWorkers is how many documents are checksummed at once (default 4).
	DocumentWorkers int
}

// Result is what a run produced.
type Result struct {
	Report *Report
	// Staged describes the staged chunks; nil when nothing was staged.
	Staged *StageManifest
}

// Run checks the bundle and, with Options.Stage set, stages it. Problems
// with the data become flags in the report, never errors; the error is for
// a failure to read on or to write the staged chunks, or a cancelled ctx.
func Run(ctx context.Context, b *pp.Bundle, opt Options) (*Result, error) {
	if opt.Config == nil {
		opt.Config = mapping.Default()
	}
	r := newRunner(ctx, b, opt)
	if err := r.checkAll(); err != nil {
		return nil, err
	}
	rep := r.report()
	res := &Result{Report: rep}
	if opt.Stage != nil {
		m, err := r.stage()
		if err != nil {
			return nil, err
		}
		res.Staged = m
	}
	return res, nil
}

type runner struct {
	ctx    context.Context
	b      *pp.Bundle
	cfg    *mapping.Config
	opt    Options
	tables map[string]*tableState
	order  []string
	flags  []pp.Flag
	aggs   map[string]*aggregate
	aggSeq []string

	types, stages, statuses, actTypes, pipelines interner

	clientRedirect map[string]string   // merged client id -> survivor
	clientMerged   map[string][]string // survivor -> merged client ids

	docs     *docPool
	docPaths map[string]bool // lower-cased document paths rows refer to
}

// pipelineByName returns the configured pipeline of that name, or nil.
func (r *runner) pipelineByName(name string) *mapping.Pipeline {
	for i := range r.cfg.Pipelines {
		if r.cfg.Pipelines[i].Name == name {
			return &r.cfg.Pipelines[i]
		}
	}
	return nil
}

func newRunner(ctx context.Context, b *pp.Bundle, opt Options) *runner {
	return &runner{ctx: ctx, b: b, cfg: opt.Config, opt: opt, tables: map[string]*tableState{}, aggs: map[string]*aggregate{},
		clientRedirect: map[string]string{}, clientMerged: map[string][]string{}}
}

// aggregate is one flag standing for many rows with the same finding.
type aggregate struct {
	flag  pp.Flag
	count int
	text  func(count int) string
}

func (r *runner) aggregate(key string, f pp.Flag, text func(count int) string) {
	a, ok := r.aggs[key]
	if !ok {
		a = &aggregate{flag: f, text: text}
		r.aggs[key] = a
		r.aggSeq = append(r.aggSeq, key)
	}
	a.count++
}

func (r *runner) checkAll() error {
	if r.b.ManifestErr != nil {
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityError, Code: "bad_manifest", File: pp.ManifestName,
			Message: r.b.ManifestErr.Error() + "; checksums and row counts cannot be checked"})
	} else if r.b.Manifest == nil {
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityWarning, Code: "no_manifest", File: pp.ManifestName,
			Message: "the bundle has no manifest.json, so nothing proves the files are complete; ask for one with checksums and row counts"})
	}
	handlers := map[string]func(*tableState, *pp.Row){
		pp.TableFeeEarners:      r.feeEarner,
		pp.TableOrganisations:   r.organisation,
		pp.TableClients:         r.client,
		pp.TableReferrers:       r.referrer,
		pp.TableMatters:         r.matter,
		pp.TableMatterClients:   r.matterClient,
		pp.TableMatterReferrers: r.matterReferrer,
		pp.TableKeyStages:       r.keyStage,
		pp.TableActivities:      r.activity,
		pp.TableDocuments:       r.document,
		pp.TableTemplates:       r.template,
	}
	for _, spec := range pp.Schema {
		if err := r.scanTable(spec, handlers[spec.Name]); err != nil {
			return err
		}
	}
	if t := r.tables[pp.TableMatters]; !t.present {
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityError, Code: "no_matters", Table: pp.TableMatters,
			Message: "the bundle has no matters table (matters.csv, matters.ndjson or a matters sheet in export.xlsx); it is the one table every bundle needs"})
	}
	r.finishMatters()
	r.knownFiles()
	return nil
}

// scanTable runs pass one over a table.
func (r *runner) scanTable(spec pp.TableSpec, handle func(*tableState, *pp.Row)) error {
	t := newTableState(spec)
	r.tables[spec.Name] = t
	r.order = append(r.order, spec.Name)
	tf, flags, ok, err := r.b.Locate(r.ctx, spec.Name)
	r.flags = append(r.flags, flags...)
	if err != nil {
		if ctxErr := r.ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		t.present = true
		t.file = tf
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityError, Code: "unreadable_file", Table: spec.Name, File: tf.File,
			Message: fmt.Sprintf("the file cannot be read (%v); re-export it", err)})
		return nil
	}
	if !ok {
		return nil
	}
	t.present, t.file = true, tf
	if tf.Untrusted {
		t.allQuarantined, t.allCode = "the file's checksum disagrees with manifest.json", "checksum_mismatch"
	}
	first := true
	aliases := r.cfg.HeaderAliases(spec.Name)
	res, err := r.b.Scan(r.ctx, tf, aliases, func(row *pp.Row) error {
		t.read++
		if first {
			first = false
			if miss := row.Header().MissingRequired(spec.Name); len(miss) > 0 && t.allQuarantined == "" {
				t.allQuarantined = fmt.Sprintf("required columns are missing: %s", strings.Join(miss, ", "))
				t.allCode = "missing_required_column"
			}
		}
		if t.allQuarantined != "" {
			return nil
		}
		line := int32(row.Line)
		switch {
		case row.Problem != "":
			t.setOutcome(line, outcome{status: Quarantined, code: "malformed_row", severity: pp.SeverityWarning, message: row.Problem})
		case row.Blank:
			t.setOutcome(line, outcome{status: Skipped, code: "blank_row", severity: pp.SeverityInfo, message: "the row is empty; skipped"})
		default:
			handle(t, row)
		}
		return nil
	})
	r.flags = append(r.flags, res.Flags...)
	if err != nil {
		if ctxErr := r.ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityError, Code: "unreadable_file", Table: spec.Name, File: tf.File,
			Message: err.Error()})
		if t.allQuarantined == "" {
			t.allQuarantined, t.allCode = "the file could not be read to its end", "unreadable_file"
		}
	}
	if tf.ManifestRows != nil && *tf.ManifestRows != t.read {
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityError, Code: "row_count_mismatch", Table: spec.Name, File: tf.File,
			Message: fmt.Sprintf("%d rows read but manifest.json says %d: the file is incomplete or was edited; none of its rows will be used until it is re-exported", t.read, *tf.ManifestRows)})
		if t.allQuarantined == "" {
			t.allQuarantined, t.allCode = "the file's row count disagrees with manifest.json", "row_count_mismatch"
		}
	}
	r.finishTable(t)
	return nil
}

// finishTable settles a table after pass one: whole-file quarantine,
// shared emails, document checks.
func (r *runner) finishTable(t *tableState) {
	if t.name == pp.TableDocuments {
		r.finishDocuments(t)
	}
	if t.allQuarantined != "" {
		for id, e := range t.ids {
			e.status = Quarantined
			t.ids[id] = e
		}
		t.outcomes = map[int32]outcome{}
		if t.read > 0 {
			r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityError, Code: t.allCode, Table: t.name, File: t.file.File,
				Message: fmt.Sprintf("all %d rows are quarantined: %s", t.read, t.allQuarantined)})
		}
		return
	}
	if t.name == pp.TableClients {
		r.mergeSharedEmails(t)
	}
}

// mergeSharedEmails makes clients that share an email one person: the
// first (by line) keeps its id, the others are merged into it.
func (r *runner) mergeSharedEmails(t *tableState) {
	type cl struct {
		line  int32
		id    string
		email uint64
	}
	var list []cl
	for id, e := range t.ids {
		if e.status == Accepted && e.email() != 0 {
			list = append(list, cl{e.line, id, e.email()})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].line < list[j].line })
	first := map[uint64]string{}
	for _, c := range list {
		survivor, ok := first[c.email]
		if !ok {
			first[c.email] = c.id
			continue
		}
		e := t.ids[c.id]
		e.status = Merged
		t.ids[c.id] = e
		r.clientRedirect[c.id] = survivor
		r.clientMerged[survivor] = append(r.clientMerged[survivor], c.id)
		t.setOutcome(c.line, outcome{status: Merged, code: "shared_email", sourceID: c.id, severity: pp.SeverityWarning,
			message: "shares its email with another client (compared trimmed, ignoring case): one Pipedrive person", intoID: survivor, intoTable: pp.TableClients})
	}
}

// register records a usable row under its id, settling duplicates: an
// identical row merges into the first; of conflicting rows the newest
// updated_at wins (the later row on a tie) and the other is merged into it.
func (r *runner) register(t *tableState, id string, e entry) {
	prev, ok := t.ids[id]
	if !ok || prev.status != Accepted {
		t.put(id, e)
		return
	}
	if prev.hash == e.hash {
		t.setOutcome(e.line, outcome{status: Merged, code: "duplicate_identical", sourceID: id, severity: pp.SeverityInfo,
			message: "an identical row with the same id appears earlier", intoID: id, intoTable: t.name})
		return
	}
	winner, loser := e, prev
	if prev.stamp > e.stamp {
		winner, loser = prev, e
	}
	t.put(id, winner)
	how := "the one with the newer updated_at is kept"
	if prev.stamp == e.stamp {
		how = "neither has a newer updated_at, so the later row is kept"
	}
	t.setOutcome(loser.line, outcome{status: Merged, code: "duplicate_conflict", sourceID: id, severity: pp.SeverityWarning,
		message: "another row has the same id and different values; " + how, intoID: id, intoTable: t.name})
}

// reject records a row that cannot be used; its id, if new, is remembered
// with that status so that rows referring to it follow it.
func (r *runner) reject(t *tableState, row *pp.Row, id string, st Status, code, msg string, sev pp.Severity) {
	line := int32(row.Line)
	t.setOutcome(line, outcome{status: st, code: code, sourceID: id, severity: sev, message: msg})
	if id != "" {
		if prev, ok := t.ids[id]; !ok || (prev.status != Accepted && prev.status != Merged) {
			t.put(id, entry{line: line, status: st})
		}
	}
}

// fatal returns the first issue that makes the row unusable, if any.
func fatal(issues []pp.Issue) *pp.Issue {
	for i := range issues {
		if issues[i].Fatal {
			return &issues[i]
		}
	}
	return nil
}

// warn turns a usable row's value issues into warnings.
func (r *runner) warn(t *tableState, row *pp.Row, id string, issues []pp.Issue) {
	for _, is := range issues {
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityWarning, Code: is.Code, Table: t.name, File: row.File, Line: row.Line, SourceID: id, Message: is.Message})
	}
}

// check handles what every row goes through: a fatal issue quarantines it,
// other issues are warnings. It reports whether the row may go on.
func (r *runner) check(t *tableState, row *pp.Row, id string, issues []pp.Issue) bool {
	if f := fatal(issues); f != nil {
		r.reject(t, row, id, Quarantined, f.Code, f.Message, pp.SeverityWarning)
		return false
	}
	r.warn(t, row, id, issues)
	return true
}

// follow resolves a reference from a row to a row of another table. It
// returns the id to use (a merged client's survivor), and false after
// recording the row's fate when the referenced row is missing,
// quarantined or skipped.
func (r *runner) follow(t *tableState, row *pp.Row, id, col, table, ref string) (string, bool) {
	pt := r.tables[table]
	e, ok := pt.lookup(ref)
	if !ok {
		r.reject(t, row, id, Quarantined, "missing_reference",
			fmt.Sprintf("%s %q does not exist in %s; fix the reference or add the missing row", col, ref, table), pp.SeverityWarning)
		return "", false
	}
	switch e.status {
	case Quarantined:
		r.reject(t, row, id, Quarantined, "parent_quarantined",
			fmt.Sprintf("%s %q is quarantined (line %d), so this row cannot be linked", col, ref, e.line), pp.SeverityWarning)
		return "", false
	case Skipped:
		r.reject(t, row, id, Skipped, "parent_skipped",
			fmt.Sprintf("%s %q was skipped by policy (line %d), so this row is skipped with it", col, ref, e.line), pp.SeverityInfo)
		return "", false
	case Merged:
		if s, ok := r.clientRedirect[ref]; ok && table == pp.TableClients {
			return s, true
		}
	}
	return ref, true
}

func unixNano(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}

func hashString(s string) uint64 {
	if s == "" {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(s))
	if v := h.Sum64(); v != 0 {
		return v
	}
	return 1
}

// knownFiles flags files in the bundle that no rule reads.
func (r *runner) knownFiles() {
	used := map[string]bool{strings.ToLower(pp.ManifestName): true}
	for _, t := range r.tables {
		if t.present {
			used[strings.ToLower(strings.SplitN(t.file.File, "#", 2)[0])] = true
		}
	}
	var stray []string
	for _, f := range r.b.Files() {
		lf := strings.ToLower(f)
		if used[lf] || strings.HasPrefix(lf, "documents/") || r.docPaths[lf] {
			continue
		}
		stray = append(stray, f)
	}
	if len(stray) > 0 {
		sort.Strings(stray)
		more := ""
		if len(stray) > 10 {
			more = fmt.Sprintf(" and %d more", len(stray)-10)
			stray = stray[:10]
		}
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityInfo, Code: "unused_file",
			Message: fmt.Sprintf("files no table or document row refers to: %s%s", strings.Join(stray, ", "), more)})
	}
}
