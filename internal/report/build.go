// Package report builds the migration report: one self-contained HTML file
// in which a firm reads what a run will do before approving it, and proves
// afterwards that it happened. Build gathers what the steps left in the
// blob store (and the write ledger) for one run into Data; Render writes
// Data as HTML with no network references at all.
//
// Everything the report holds is the firm's client data. This package logs
// nothing; whoever writes the report writes it owner-only.
package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// ErrMigrationNotFound: the store holds nothing for the migration.
var ErrMigrationNotFound = errors.New("no such migration")

// ErrRunNotFound: the migration has no run by that id.
var ErrRunNotFound = errors.New("no such run")

// DiffLimit caps the planned operations the diff holds (and the HTML
// embeds); the rest are counted and stay in the plan files.
var DiffLimit = 5000

// Now tells the time the report is generated; tests replace it.
var Now = func() time.Time { return time.Now().UTC() }

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$`)

// runIDTime reads the start time a local run id carries ("r20261126T101422Z-a16e66").
var runIDTime = regexp.MustCompile(`^r(\d{8}T\d{6}Z)-`)

// Keys the report reads under migrations/<id>/ besides migrate's.
const (
	auditKey    = "staged/" + extract.AuditName
	manifestKey = "staged/" + extract.StageManifestName
	verifyKey   = "verify.json"
	configKey   = "config.yaml"
	costsKey    = "costs.yaml"
)

// loadKinds are the load kinds in the order a run loads them.
var loadKinds = []string{migrate.LoadOrganisations, migrate.LoadPersons, migrate.LoadDeals, migrate.LoadActivities, migrate.LoadDocuments}

// targetKinds are Pipedrive kinds in a stable, readable order.
var targetKinds = []string{"organization", "person", "deal", "participant", "activity", "note", "file",
	migrate.KindDealField, migrate.KindPersonField, migrate.KindOrganizationField, migrate.KindPipeline, migrate.KindStage, migrate.KindActivityType}

func rank(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return len(list)
}

// summaryFile is runs/<run>/summary.json as the finish step writes it (the
// steps package's Summary; read here without importing steps, which
// imports this package).
type summaryFile struct {
	MigrationID string                         `json:"migration_id"`
	Run         string                         `json:"run"`
	Mode        string                         `json:"mode"`
	Kinds       map[string]*migrate.LoadOutput `json:"kinds"`
	Verify      *migrate.VerifyOutput          `json:"verify"`
	Estimate    string                         `json:"estimate"`
	Finish      *migrate.FinishOutput          `json:"finish"`
	Failure     *struct {
		Error string `json:"Error"`
		Cause string `json:"Cause"`
	} `json:"failure"`
	Reports  []string `json:"reports"`
	Requests int      `json:"requests"`
	Tokens   int      `json:"tokens"`
	Timeline []struct {
		Kind     string    `json:"kind"`
		Source   string    `json:"source"`
		Chunk    int       `json:"chunk"`
		Started  time.Time `json:"started"`
		Finished time.Time `json:"finished"`
		Requests int       `json:"requests"`
		Tokens   int       `json:"tokens"`
	} `json:"timeline"`
}

// runFiles is what the store holds for one run.
type runFiles struct {
	id         string
	files      int
	latest     time.Time // newest object
	summaryAt  time.Time // zero without a summary
	summary    *summaryFile
	started    time.Time
	hasVerify  bool
	summaryErr error
	// approvalMode is set when the run asked for an approval.
	approvalMode string
	approvalAt   time.Time
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (r *runFiles) when() time.Time {
	if !r.summaryAt.IsZero() {
		return r.summaryAt
	}
	return r.latest
}

type builder struct {
	ctx    context.Context
	store  blob.Store
	led    ledger.Store
	id     string
	prefix string
	d      *Data

	run      *runFiles
	runs     []*runFiles // newest first
	cfg      *mapping.Config
	audit    *extract.Report
	auditAt  time.Time
	manifest *extract.StageManifest
	schema   *migrate.SchemaMap
	stageMap *migrate.StageMap
	owners   *migrate.OwnerMap

	// from the staged export
	feeEarners []pp.FeeEarner
	templates  []pp.Template
	sources    *sourceIndex
	matters    mattersSeen

	// from the plans and the ledger
	embedded  map[string]bool // keys of the ops the diff holds
	fieldUses map[fieldUse]int
	previous  map[string]map[string]any
}

// Build gathers what the migration's steps wrote for one run (run "" is the
// latest) into Data. A piece that is missing leaves its section out with a
// note; the only errors are a migration the store knows nothing of
// (ErrMigrationNotFound), a run it has no trace of (ErrRunNotFound) and a
// store that cannot be listed. led may be nil: the rollback section then
// says what it cannot know.
func Build(ctx context.Context, store blob.Store, led ledger.Store, migrationID, run string) (*Data, error) {
	if !idPattern.MatchString(migrationID) {
		return nil, fmt.Errorf("migration %q: %w", migrationID, ErrMigrationNotFound)
	}
	if run != "" && !idPattern.MatchString(run) {
		return nil, fmt.Errorf("run %q: %w", run, ErrRunNotFound)
	}
	b := &builder{ctx: ctx, store: store, led: led, id: migrationID, prefix: migrate.Prefix(migrationID),
		d: &Data{Version: Version, Notes: map[string][]string{}, Runs: []RunInfo{}}}
	b.d.Identity = Identity{Migration: migrationID, Generated: Now().UTC().Format(time.RFC3339)}
	if err := b.findRuns(); err != nil {
		return nil, err
	}
	if len(b.runs) == 0 {
		exists, err := b.exists()
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, fmt.Errorf("migration %q: %w", migrationID, ErrMigrationNotFound)
		}
	}
	switch {
	case run != "":
		for _, r := range b.runs {
			if r.id == run {
				b.run = r
			}
		}
		if b.run == nil {
			return nil, fmt.Errorf("migration %s, run %q: %w", migrationID, run, ErrRunNotFound)
		}
	case len(b.runs) > 0:
		b.run = b.runs[0]
	}
	b.readMigration()
	b.identity()
	b.auditSection()
	b.readStaged()
	b.diffSection()
	b.mappingSection()
	b.budgetSection()
	b.schemaSection()
	b.verifySection()
	b.rebuildSection()
	b.costsSection()
	b.rollbackSection()
	b.deltaSection()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for k, v := range b.d.Notes {
		if len(v) == 0 {
			delete(b.d.Notes, k)
		}
	}
	return b.d, nil
}

func (b *builder) note(section, format string, a ...any) {
	b.d.Notes[section] = append(b.d.Notes[section], fmt.Sprintf(format, a...))
}

// get reads key (under the migration's prefix unless it starts with
// "migrations/") into v. It reports whether the object was there; a
// failure other than absence is noted under section and reported absent.
func (b *builder) get(section, key string, v any) bool {
	if !strings.HasPrefix(key, "migrations/") {
		key = b.prefix + key
	}
	data, err := b.store.Get(b.ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return false
	}
	if err != nil {
		b.note(section, "%s could not be read: %v", key, err)
		return false
	}
	if err := json.Unmarshal(data, v); err != nil {
		b.note(section, "%s could not be decoded: %v", key, err)
		return false
	}
	return true
}

func (b *builder) stat(key string) (blob.Info, bool) {
	if !strings.HasPrefix(key, "migrations/") {
		key = b.prefix + key
	}
	in, err := b.store.Stat(b.ctx, key)
	return in, err == nil
}

// exists reports whether the store holds anything for the migration.
func (b *builder) exists() (bool, error) {
	for _, k := range []string{manifestKey, auditKey, migrate.StageMapName, migrate.SchemaPlanName} {
		if _, ok := b.stat(k); ok {
			return true, nil
		}
	}
	infos, err := b.store.List(b.ctx, b.prefix)
	if err != nil {
		return false, fmt.Errorf("list %s: %w", b.prefix, err)
	}
	return len(infos) > 0, nil
}

// findRuns lists runs/<run>/ and reads each run's summary.
func (b *builder) findRuns() error {
	infos, err := b.store.List(b.ctx, b.prefix+"runs/")
	if err != nil {
		return fmt.Errorf("list %sruns/: %w", b.prefix, err)
	}
	byID := map[string]*runFiles{}
	for _, in := range infos {
		rest := strings.TrimPrefix(in.Key, b.prefix+"runs/")
		id, file, ok := strings.Cut(rest, "/")
		if !ok || id == "" {
			continue
		}
		r := byID[id]
		if r == nil {
			r = &runFiles{id: id}
			byID[id] = r
			b.runs = append(b.runs, r)
		}
		r.files++
		if in.ModTime.After(r.latest) {
			r.latest = in.ModTime
		}
		if file == "summary.json" {
			r.summaryAt = in.ModTime
		}
	}
	// A run waiting at its approval has written nothing under runs/ yet:
	// its approval request names it.
	approvals, err := b.store.List(b.ctx, b.prefix+"approvals/")
	if err != nil {
		return fmt.Errorf("list %sapprovals/: %w", b.prefix, err)
	}
	for _, in := range approvals {
		id, ok := strings.CutSuffix(strings.TrimPrefix(in.Key, b.prefix+"approvals/"), ".json")
		if !ok || id == "" || strings.Contains(id, "/") {
			continue
		}
		var req struct {
			Mode string `json:"mode"`
		}
		if data, err := b.store.Get(b.ctx, in.Key); err == nil {
			_ = json.Unmarshal(data, &req)
		}
		r := byID[id]
		if r == nil {
			r = &runFiles{id: id, latest: in.ModTime}
			byID[id] = r
			b.runs = append(b.runs, r)
		}
		r.approvalMode, r.approvalAt = cmpOr(req.Mode, "?"), in.ModTime
	}
	for _, r := range b.runs {
		if !r.summaryAt.IsZero() {
			var s summaryFile
			if data, err := b.store.Get(b.ctx, b.prefix+"runs/"+r.id+"/summary.json"); err != nil {
				r.summaryErr = err
			} else if err := json.Unmarshal(data, &s); err != nil {
				r.summaryErr = err
			} else {
				r.summary = &s
				r.hasVerify = s.Verify != nil
			}
		}
		if m := runIDTime.FindStringSubmatch(r.id); m != nil {
			r.started, _ = time.Parse("20060102T150405Z", m[1])
		}
		if r.started.IsZero() && r.summary != nil {
			for _, t := range r.summary.Timeline {
				if r.started.IsZero() || t.Started.Before(r.started) {
					r.started = t.Started
				}
			}
		}
	}
	sort.SliceStable(b.runs, func(i, j int) bool {
		a, c := b.runs[i], b.runs[j]
		if !a.when().Equal(c.when()) {
			return a.when().After(c.when())
		}
		return a.id > c.id
	})
	return nil
}

// runStatus says how a run ended.
func runStatus(r *runFiles) (status, reason string) {
	if r.summary == nil {
		if r.approvalMode != "" && r.files == 0 {
			return StatusWaiting, fmt.Sprintf("the %s run waits for its approval (conveyor approve), asked for %s; it writes nothing to Pipedrive before",
				r.approvalMode, r.approvalAt.UTC().Format("2 Jan 2006 15:04 UTC"))
		}
		if r.summaryErr != nil {
			return StatusIncomplete, "its summary could not be read: " + r.summaryErr.Error()
		}
		return StatusIncomplete, "the run has no summary: it is still running, or it stopped before its finish step"
	}
	f := r.summary.Failure
	switch {
	case f == nil:
		return StatusSucceeded, ""
	case f.Error == "ApprovalRejected":
		return StatusStopped, "not approved: " + causeMessage(f.Cause)
	case f.Error == "ReviewRequiredError" || f.Error == "ReviewRequired":
		return StatusStopped, "stopped for review: " + causeMessage(f.Cause)
	}
	return StatusFailed, f.Error + ": " + causeMessage(f.Cause)
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

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// readMigration reads what the steps keep per migration.
func (b *builder) readMigration() {
	var rep extract.Report
	if b.get(SectionAudit, auditKey, &rep) {
		b.audit = &rep
		if in, ok := b.stat(auditKey); ok {
			b.auditAt = in.ModTime
		}
	}
	var m extract.StageManifest
	if b.get(SectionSummary, manifestKey, &m) {
		b.manifest = &m
	}
	var sm migrate.SchemaMap
	if b.get(SectionMapping, migrate.SchemaName, &sm) {
		b.schema = &sm
	} else if b.get(SectionMapping, migrate.ProvisionalSchemaName, &sm) {
		b.schema = &sm
	}
	var st migrate.StageMap
	if b.get(SectionMapping, migrate.StageMapName, &st) {
		b.stageMap = &st
	}
	var om migrate.OwnerMap
	if b.get(SectionMapping, migrate.OwnersName, &om) {
		b.owners = &om
	}
	b.cfg = mapping.Default()
	if data, err := b.store.Get(b.ctx, b.prefix+configKey); err == nil {
		if cfg, err := mapping.Parse(configKey, data); err == nil {
			b.cfg = cfg
		} else {
			b.note(SectionMapping, "The migration's config.yaml could not be read (%v): the embedded default is shown.", err)
		}
	}
}

// identity fills in the run, its status and the other runs.
func (b *builder) identity() {
	id := &b.d.Identity
	for _, r := range b.runs {
		st, _ := runStatus(r)
		info := RunInfo{Run: r.id, Mode: r.approvalMode, Status: st, Started: rfc3339(r.started), This: r == b.run}
		if r.summary != nil {
			info.Mode = r.summary.Mode
		}
		b.d.Runs = append(b.d.Runs, info)
	}
	if b.audit != nil {
		id.ExportID, id.ExportedAt, id.Firm = b.audit.Export.ExportID, b.audit.Export.ExportedAt, b.audit.Export.Firm
		id.Plan, id.Seats = b.audit.Budget.Plan, b.audit.Budget.Seats
	}
	if id.ExportID == "" && b.manifest != nil {
		id.ExportID = b.manifest.ExportID
	}
	if b.run == nil {
		id.Status, id.Reason = StatusNotRun, "no run of this migration has reached its load steps"
		if r := b.reviewStop(); r != "" {
			id.Status, id.Reason = StatusStopped, r
		}
		b.note(SectionSummary, "This report shows what the migration's steps have written so far: the audit and the mapping. Run a plan to see every write.")
		return
	}
	r := b.run
	id.Run, id.Started = r.id, rfc3339(r.started)
	id.Status, id.Reason = runStatus(r)
	id.Mode = r.approvalMode
	if s := r.summary; s != nil {
		id.Mode, id.Finished = s.Mode, rfc3339(r.summaryAt)
		id.Requests, id.Tokens = s.Requests, s.Tokens
		if s.Finish != nil {
			id.Watermark = s.Finish.Watermark
		}
		for _, k := range sortedKeys(s.Kinds, loadKinds) {
			o := s.Kinds[k]
			id.Kinds = append(id.Kinds, KindCount{Kind: k, Planned: o.Planned, Created: o.Created, Updated: o.Updated,
				Linked: o.Linked, Skipped: o.Skipped, Failed: o.Failed, Flags: o.Flags})
		}
		if id.Status == StatusSucceeded && s.Mode == "plan" {
			id.Reason = "plan only: nothing was written to Pipedrive"
		}
	}
	if b.runs[0] != r {
		b.note(SectionSummary, "A later run (%s) has run since. The audit, the mapping, the schema and the templates in this report are the migration's current ones, which the latest run wrote: the steps keep one copy per migration, not one per run.", b.runs[0].id)
	} else if rs := b.reviewStop(); rs != "" && b.auditAt.After(r.when()) {
		b.note(SectionSummary, "A later execution stopped before its load steps, leaving no run record: %s", rs)
	}
}

// reviewStop says why an execution would have stopped for review before
// loading anything, from the audit and the stage map; "" when it would not.
func (b *builder) reviewStop() string {
	switch {
	case b.audit != nil && !b.audit.Trusted:
		return "stopped for review: the audit found error flags, so part of the export cannot be trusted (see the audit)"
	case b.stageMap != nil && len(b.stageMap.Unmapped) > 0:
		return fmt.Sprintf("stopped for review: %d source stage(s) have no destination stage (see the mapping decisions)", len(b.stageMap.Unmapped))
	}
	return ""
}

func sortedKeys[V any](m map[string]V, order []string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank(order, keys[i]), rank(order, keys[j])
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	return keys
}

func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{Name: k, N: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func (b *builder) auditSection() {
	rep := b.audit
	if rep == nil {
		b.note(SectionAudit, "No audit: the migration's extract step has not written staged/audit.json.")
		return
	}
	a := &Audit{Location: rep.Export.Location, Trusted: rep.Trusted, Flags: rep.Flags, Risks: rep.Risks, Tables: []TableRow{}}
	if a.Flags == nil {
		a.Flags = []pp.Flag{}
	}
	if a.Risks == nil {
		a.Risks = []extract.Risk{}
	}
	a.Totals.Table = "total"
	seen := map[string]bool{}
	add := func(name string, c extract.TableCounts) {
		row := TableRow{Table: name, File: c.File, Read: c.Read, Accepted: c.Accepted, Merged: c.Merged, Skipped: c.Skipped,
			Quarantined: c.Quarantined, Balanced: c.Balanced()}
		a.Tables = append(a.Tables, row)
		a.Totals.Read += c.Read
		a.Totals.Accepted += c.Accepted
		a.Totals.Merged += c.Merged
		a.Totals.Skipped += c.Skipped
		a.Totals.Quarantined += c.Quarantined
		seen[name] = true
	}
	for _, s := range pp.Schema {
		if c, ok := rep.Tables[s.Name]; ok {
			add(s.Name, c)
		}
	}
	for _, k := range sortedKeys(rep.Tables, nil) {
		if !seen[k] {
			add(k, rep.Tables[k])
		}
	}
	a.Totals.Balanced = a.Totals.Read == a.Totals.Accepted+a.Totals.Merged+a.Totals.Skipped+a.Totals.Quarantined
	tables := map[string]bool{}
	for _, f := range rep.Flags {
		switch f.Severity {
		case pp.SeverityError:
			a.FlagCounts.Error++
		case pp.SeverityWarning:
			a.FlagCounts.Warning++
		default:
			a.FlagCounts.Info++
		}
		tables[f.Table] = true
	}
	a.FlagTables = []string{}
	for _, s := range pp.Schema {
		if tables[s.Name] {
			a.FlagTables = append(a.FlagTables, s.Name)
			delete(tables, s.Name)
		}
	}
	a.FlagTables = append(a.FlagTables, sortedKeys(tables, nil)...)
	v := rep.Volumes
	a.Volumes = Volumes{MattersByType: counts(v.MattersByType), MattersByStage: counts(v.MattersByStage), MattersByStatus: counts(v.MattersByStatus),
		ActivitiesByType: counts(v.ActivitiesByType), Persons: v.Persons, Organisations: v.Organisations, Documents: v.Documents.Count,
		DocumentBytes: v.Documents.Bytes, DocumentsOver: v.Documents.OverLimit, MattersWithoutAny: v.MattersWithoutAny}
	b.d.Audit = a
}

// mattersSeen is what the report counts from the staged matters.
type mattersSeen struct {
	total     int
	lastYear  int
	reference time.Time
	basis     string
}

// readStaged reads the staged fee earners and templates.
func (b *builder) readStaged() {
	if b.manifest == nil {
		b.note(SectionRebuild, "No staged export: the migration's extract step has not run.")
		return
	}
	b.feeEarners = eachStaged[pp.FeeEarner](b, extract.KindFeeEarners, SectionMapping)
	b.templates = eachStaged[pp.Template](b, extract.KindTemplates, SectionRebuild)
}

// eachStaged decodes every staged record of a simple kind.
func eachStaged[T any](b *builder, kind, section string) []T {
	var out []T
	for _, c := range b.manifest.Kinds[kind].Chunks {
		key := b.prefix + "staged/" + c.Key
		err := eachLine(b, key, func(line []byte) error {
			var v T
			if err := json.Unmarshal(line, &v); err != nil {
				return err
			}
			out = append(out, v)
			return nil
		})
		if err != nil {
			b.note(section, "Staged chunk %s could not be read: %v", key, err)
		}
	}
	return out
}

// eachLine streams the NDJSON object at key, one JSON value at a time.
func eachLine(b *builder, key string, fn func([]byte) error) error {
	rc, err := b.store.Open(b.ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := fn(raw); err != nil {
			return err
		}
	}
}

// diffSection reads every plan file of the run.
func (b *builder) diffSection() {
	b.sources = newSourceIndex()
	defer b.scanMatters()
	if b.run == nil {
		b.note(SectionDiff, "No run yet: a plan run lists every write it would make, field by field.")
		return
	}
	prefix := migrate.RunPrefix(b.id, b.run.id) + "plan/"
	infos, err := b.store.List(b.ctx, prefix)
	if err != nil {
		b.note(SectionDiff, "The plan files could not be listed: %v", err)
		return
	}
	if len(infos) == 0 {
		if b.run.approvalMode != "" && b.run.files == 0 {
			for _, r := range b.runs[b.runIndex()+1:] {
				if r.summary != nil && r.summary.Mode == "plan" {
					b.note(SectionDiff, "The run waits for its approval and has written nothing yet. The report of the plan run %s lists every write a run would make: conveyor report --run %s.", r.id, r.id)
					return
				}
			}
			b.note(SectionDiff, "The run waits for its approval and has written nothing yet; a plan run lists every write it would make.")
			return
		}
		b.note(SectionDiff, "The run wrote no plan files: it stopped before its load steps.")
		return
	}
	sort.SliceStable(infos, func(i, j int) bool {
		ki, _, _ := strings.Cut(strings.TrimPrefix(infos[i].Key, prefix), "/")
		kj, _, _ := strings.Cut(strings.TrimPrefix(infos[j].Key, prefix), "/")
		if rank(loadKinds, ki) != rank(loadKinds, kj) {
			return rank(loadKinds, ki) < rank(loadKinds, kj)
		}
		return infos[i].Key < infos[j].Key
	})
	mode := ""
	if b.run.summary != nil {
		mode = b.run.summary.Mode
	}
	d := &Diff{Performed: mode != "" && mode != "plan", Limit: DiffLimit, Ops: []DiffOp{}, Files: []string{}, Counts: []OpCount{}, Kinds: []string{}}
	opCounts := map[[2]string]int{}
	fields := map[fieldUse]int{}
	var skips []DiffOp
	b.embedded = map[string]bool{}
	for _, in := range infos {
		d.Files = append(d.Files, in.Key)
		err := eachLine(b, in.Key, func(line []byte) error {
			// Every operation is counted; only those the diff keeps are
			// decoded whole (payloads and values can be large).
			var op lightOp
			if err := json.Unmarshal(line, &op); err != nil {
				return err
			}
			full := func() (DiffOp, error) {
				var whole migrate.PlannedOp
				err := json.Unmarshal(line, &whole)
				return diffOp(whole), err
			}
			d.Total++
			if op.Op != migrate.PlanSkip {
				d.Writes++
			}
			opCounts[[2]string{op.TargetKind, op.Op}]++
			for _, c := range op.Changes {
				kind := c.Kind
				if kind == "" {
					kind = op.TargetKind
				}
				fields[fieldUse{kind, c.Source, c.Field, c.Key}]++
			}
			// Writes first, then the skips (a delta run skips most
			// records), each kept up to the limit.
			keep := &d.Ops
			if op.Op == migrate.PlanSkip {
				keep = &skips
			}
			if len(*keep) < DiffLimit {
				o, err := full()
				if err != nil {
					return err
				}
				*keep = append(*keep, o)
			}
			return nil
		})
		if err != nil {
			b.note(SectionDiff, "Plan file %s could not be read: %v", in.Key, err)
		}
	}
	d.Ops = append(d.Ops, skips[:min(len(skips), max(0, DiffLimit-len(d.Ops)))]...)
	d.Truncated = d.Total > len(d.Ops)
	for _, op := range d.Ops {
		b.embedded[op.Key] = true
	}
	kinds := map[string]bool{}
	for k, n := range opCounts {
		d.Counts = append(d.Counts, OpCount{TargetKind: k[0], Op: k[1], N: n})
		kinds[k[0]] = true
	}
	sort.Slice(d.Counts, func(i, j int) bool {
		a, c := d.Counts[i], d.Counts[j]
		if rank(targetKinds, a.TargetKind) != rank(targetKinds, c.TargetKind) {
			return rank(targetKinds, a.TargetKind) < rank(targetKinds, c.TargetKind)
		}
		return rank(opOrder, a.Op) < rank(opOrder, c.Op)
	})
	d.Kinds = sortedKeys(kinds, targetKinds)
	if d.Truncated {
		b.note(SectionDiff, "The run planned %d operations; %d are shown here, the writes first, then the records left as they are. Every one is in the plan files listed below.", d.Total, len(d.Ops))
	}
	b.fieldUses = fields
	for i := range d.Ops {
		for _, c := range d.Ops[i].Changes {
			b.sources.want(c.Source, c.sourceID)
		}
	}
	b.d.Diff = d
}

var opOrder = []string{migrate.PlanCreate, migrate.PlanUpdate, migrate.PlanLink, migrate.PlanSkip}

// lightOp is a planned operation without its payload and values.
type lightOp struct {
	Key        string `json:"key"`
	Op         string `json:"op"`
	TargetKind string `json:"target_kind"`
	Changes    []struct {
		Kind   string `json:"kind"`
		Source string `json:"source"`
		Field  string `json:"field"`
		Key    string `json:"key"`
	} `json:"changes"`
}

// fieldUse is one source column filling one Pipedrive field.
type fieldUse struct{ kind, source, field, key string }

// diffOp converts a planned operation for the report. A write without a
// field-level diff (a file, a participant) shows its payload's fields.
func diffOp(op migrate.PlannedOp) DiffOp {
	out := DiffOp{Key: op.Key, Op: op.Op, TargetKind: op.TargetKind, TargetID: op.TargetID, Reason: op.Reason, Flag: op.Flag}
	for _, c := range op.Changes {
		out.Changes = append(out.Changes, DiffChange{Source: c.Source, Field: c.Field, Key: c.Key, Value: display(c.Value), sourceID: c.SourceID})
	}
	if len(op.Changes) == 0 && op.Payload != nil {
		p, _ := op.Payload.(map[string]any)
		id := sourceIDOf(op.Key)
		for _, k := range sortedKeys(p, nil) {
			c := DiffChange{Field: k, Value: display(p[k])}
			if op.TargetKind == "file" {
				switch k {
				case "name":
					c.Source, c.sourceID = "documents.file_name", id
				case "source_size":
					c.Source, c.sourceID = "documents.size_bytes", id
				}
			}
			out.Changes = append(out.Changes, c)
		}
	}
	return out
}

// sourceIDOf is the source id in a ledger key ("document/D1/part/2" → "D1").
func sourceIDOf(key string) string {
	parts := strings.Split(key, "/")
	if len(parts) >= 2 {
		return parts[1]
	}
	return ""
}

// display renders a value for people: strings as they are, Pipedrive's
// {"value": …} wrappers and lists of them by their values, the rest as JSON.
func display(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case float64, json.Number, int, int64:
		return fmt.Sprint(x)
	case map[string]any:
		if val, ok := x["value"]; ok {
			if cur, ok := x["currency"].(string); ok && len(x) == 2 {
				return display(val) + " " + cur
			}
			if len(x) == 1 || x["label"] != nil || x["primary"] != nil || x["country"] != nil || x["locality"] != nil {
				return display(val)
			}
		}
	case []any:
		parts := make([]string, 0, len(x))
		simple := true
		for _, e := range x {
			switch e.(type) {
			case map[string]any, string, float64, bool:
				parts = append(parts, display(e))
			default:
				simple = false
			}
		}
		if simple {
			return strings.Join(parts, "; ")
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(buf.String())
}
