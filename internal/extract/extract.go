// Package extract reads an export bundle, checks every row, decides its
// fate (accepted, merged, skipped or quarantined), writes the audit and,
// when asked, stages the accepted rows as canonical NDJSON chunks.
//
// It reads each table twice: the first pass decides, keeping only id
// indexes; the second stages. The indexes hold hashes of ids, never
// strings: of the tables other rows refer to (fee earners, organisations,
// clients, referrers, matters) in memory, 16 to 32 bytes a slot while the
// table is read and 16 to 24 after (see idIndex); of the others
// (activities, documents, templates, and the links of the link tables)
// as events sorted on disk in runs of fixed size, settled when the table
// has been read (see dedupe.go). So memory grows with the matters and
// their clients only, by a few tens of bytes each.
package extract

import (
	"context"
	"fmt"
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
	// clientOrg is each staged client's organisation (by idKey of the
	// client id; the organisation ids interned), for the matters chunks.
	clientOrg map[uint64]string

	docs *docPool
	// docFlagged holds, by line, what the flags of documents to be flagged
	// need, until the documents are settled; docSizes the accepted
	// documents' sizes, by line, for staging.
	docFlagged map[int32]*docFlagged
	docSizes   []lineSize
	// docPaths holds the lower-cased document paths rows refer to that are
	// not under documents/ (which is never reported unused).
	docPaths map[string]bool

	// Volumes of the tables whose ids are dropped once they are settled.
	actVolumes map[string]int
	docVolumes DocVolumes
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
		clientRedirect: map[string]string{}, clientMerged: map[string][]string{}, clientOrg: map[uint64]string{}}
}

// aggregate is one flag standing for many rows with the same finding.
type aggregate struct {
	flag  pp.Flag
	count int
	text  func(count int) string
	seq   int
}

// aggregate counts a row under key and returns the aggregate's place in
// aggSeq.
func (r *runner) aggregate(key string, f pp.Flag, text func(count int) string) int {
	a, ok := r.aggs[key]
	if !ok {
		a = &aggregate{flag: f, text: text, seq: len(r.aggSeq)}
		r.aggs[key] = a
		r.aggSeq = append(r.aggSeq, key)
	}
	a.count++
	return a.seq
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
	if err := r.finishMatters(); err != nil {
		return err
	}
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
	t.sizeFor(tf)
	if deferredTables[spec.Name] || linkTables[spec.Name] {
		t.deferred = newDeferred(r.opt.TempDir)
		defer func() {
			if t.deferred != nil { // not settled: a cancelled run
				t.deferred.close()
			}
		}()
	}
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
	return r.finishTable(t)
}

// finishTable settles a table after pass one: whole-file quarantine,
// shared emails, document checks; then counts the volumes of, and drops
// the ids of, the tables no other row refers to.
func (r *runner) finishTable(t *tableState) error {
	if t.name == pp.TableDocuments {
		r.finishDocuments(t)
	}
	if t.deferred != nil {
		if err := r.settleDeferred(t); err != nil {
			return err
		}
	}
	if t.allQuarantined != "" {
		t.ids.setAllStatus(Quarantined)
		t.outcomes = map[int32]outcome{}
		if t.read > 0 {
			r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityError, Code: t.allCode, Table: t.name, File: t.file.File,
				Message: fmt.Sprintf("all %d rows are quarantined: %s", t.read, t.allQuarantined)})
		}
	} else if t.name == pp.TableClients {
		if err := r.mergeSharedEmails(t); err != nil {
			return err
		}
	}
	if t.ids != nil {
		t.ids.dropStamps()
	}
	if t.name == pp.TableClients {
		t.ids.dropAux()
	}
	for l, o := range t.outcomes {
		if o.intoID != "" && !deferredTables[t.name] { // those are resolved when settled
			if into := r.tables[o.intoTable]; into != nil {
				e, _ := into.lookup(o.intoID)
				o.intoLine = e.line
				t.outcomes[l] = o
			}
		}
	}
	if deferredTables[t.name] {
		t.ids = nil
	}
	return nil
}

// mergeSharedEmails makes clients that share an email one person: the
// first (by line) keeps its id, the others are merged into it. Pass one
// kept hashes of ids and emails; when emails are shared, the clients'
// file is read again for the ids of the clients concerned.
func (r *runner) mergeSharedEmails(t *tableState) error {
	type cl struct {
		line       int32
		key, email uint64
	}
	var list []cl
	t.ids.each(func(key uint64, e entry) {
		if e.status == Accepted && e.email() != 0 {
			list = append(list, cl{e.line, key, e.email()})
		}
	})
	sort.Slice(list, func(i, j int) bool {
		if list[i].email != list[j].email {
			return list[i].email < list[j].email
		}
		return list[i].line < list[j].line
	})
	// Keep the clients of shared emails only, in groups, first by line.
	shared := list[:0]
	for i := 0; i < len(list); {
		j := i + 1
		for j < len(list) && list[j].email == list[i].email {
			j++
		}
		if j-i > 1 {
			shared = append(shared, list[i:j]...)
		}
		i = j
	}
	if len(shared) == 0 {
		return nil
	}
	ids := make(map[int32]string, len(shared))
	for _, c := range shared {
		ids[c.line] = ""
	}
	if err := r.idsAt(t, ids, func(row *pp.Row) string { c, _ := pp.DecodeClient(row); return c.ID }); err != nil {
		return err
	}
	for i := 0; i < len(shared); {
		survivor := ids[shared[i].line]
		j := i + 1
		for ; j < len(shared) && shared[j].email == shared[i].email; j++ {
			c := shared[j]
			id := ids[c.line]
			e, _ := t.ids.get(c.key)
			e.status = Merged
			t.ids.put(c.key, e)
			r.clientRedirect[id] = survivor
			r.clientMerged[survivor] = append(r.clientMerged[survivor], id)
			t.setOutcome(c.line, outcome{status: Merged, code: "shared_email", sourceID: id, severity: pp.SeverityWarning,
				message: "shares its email with another client (compared trimmed, ignoring case): one Pipedrive person", intoID: survivor, intoTable: pp.TableClients})
		}
		i = j
	}
	return nil
}

// idsAt reads a table again for the ids of the rows at the lines given
// (pass one keeps hashes of ids, not ids), filling in lines.
func (r *runner) idsAt(t *tableState, lines map[int32]string, id func(*pp.Row) string) error {
	found := 0
	_, err := r.b.Scan(r.ctx, t.file, r.cfg.HeaderAliases(t.name), func(row *pp.Row) error {
		if _, ok := lines[int32(row.Line)]; ok && row.Problem == "" && !row.Blank {
			lines[int32(row.Line)] = strings.Clone(id(row))
			found++
		}
		return nil
	})
	if err == nil && found != len(lines) {
		err = fmt.Errorf("%s changed while it was read: %d of %d rows read again", t.file.File, found, len(lines))
	}
	if err != nil {
		if ctxErr := r.ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("read %s again: %w", t.file.File, err)
	}
	return nil
}

// register records a usable row under its id, settling duplicates: an
// identical row merges into the first; of conflicting rows the newest
// updated_at wins (the later row on a tie) and the other is merged into it.
func (r *runner) register(t *tableState, id string, e entry) {
	key := idKey(id)
	if t.deferred != nil {
		t.deferred.add(event{key: key, val: e.hash, line: e.line, op: opRegister, v0: e.v[0]})
		return
	}
	prev, ok := t.ids.get(key)
	if !ok || prev.status != Accepted {
		t.ids.put(key, e)
		return
	}
	if prev.hash == fingerprint(e.hash) {
		t.setOutcome(e.line, outcome{status: Merged, code: "duplicate_identical", sourceID: id, severity: pp.SeverityInfo,
			message: "an identical row with the same id appears earlier", intoID: id, intoTable: t.name})
		return
	}
	winner, loser := e, prev
	if prev.stamp > e.stamp {
		winner, loser = prev, e
	}
	t.ids.put(key, winner)
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
	if id != "" && t.deferred != nil {
		t.deferred.add(event{key: idKey(id), line: line, op: opReject, st: uint8(st)})
	} else if id != "" {
		key := idKey(id)
		if prev, ok := t.ids.get(key); !ok || (prev.status != Accepted && prev.status != Merged) {
			t.ids.put(key, entry{line: line, status: st})
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
	e, ok := r.tables[table].lookup(ref)
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

// hashString is FNV-1a of s, 0 for "" and never 0 otherwise.
func hashString(s string) uint64 {
	if s == "" {
		return 0
	}
	return idKey(s)
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
	r.b.EachFile(func(f string) {
		lf := strings.ToLower(f)
		if used[lf] || strings.HasPrefix(lf, "documents/") || r.docPaths[lf] {
			return
		}
		stray = append(stray, f)
	})
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
