package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	"github.com/conveyor-migrate/conveyor/internal/report"
	"github.com/conveyor-migrate/conveyor/internal/report/reporttest"
)

func build(t testing.TB, f *fixture, run string) *report.Data {
	t.Helper()
	d, err := report.Build(context.Background(), f.store, f.led, fixtureMigration, run)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func render(t testing.TB, d *report.Data) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.Render(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestGoldenFixture: the report's data for the hand-made migration (the
// latest run, a delta; and the full run before it), against the golden
// files. go test ./internal/report -run Golden -update rewrites them.
func TestGoldenFixture(t *testing.T) {
	fixedNow(t)
	f := newFixture(t)
	reporttest.Golden(t, "testdata/fixture-delta.golden.json", mustJSON(t, build(t, f, "")))
	reporttest.Golden(t, "testdata/fixture-full.golden.json", mustJSON(t, build(t, f, fullRun)))
}

// TestBuildFixture checks what the golden files hold that matters most.
func TestBuildFixture(t *testing.T) {
	fixedNow(t)
	d := build(t, newFixture(t), "")
	id := d.Identity
	if id.Run != deltaRun || id.Mode != "delta" || id.Status != report.StatusSucceeded || id.ExportID != "acme-export-2" || id.Started != "2026-04-02T09:00:00Z" {
		t.Errorf("identity = %+v", id)
	}
	if len(d.Runs) != 2 || !d.Runs[0].This || d.Runs[1].Run != fullRun {
		t.Errorf("runs = %+v", d.Runs)
	}
	a := d.Audit
	if a.Totals.Read != 10 || a.Totals.Read != a.Totals.Accepted+a.Totals.Merged+a.Totals.Skipped+a.Totals.Quarantined || !a.Totals.Balanced {
		t.Errorf("audit totals = %+v", a.Totals)
	}
	if a.FlagCounts != (report.FlagCounts{Error: 1, Warning: 2, Info: 1}) || strings.Join(a.FlagTables, ",") != "clients,matters" {
		t.Errorf("flags %+v in %v", a.FlagCounts, a.FlagTables)
	}
	diff := d.Diff
	if !diff.Performed || diff.Total != 5 || diff.Writes != 4 || len(diff.Ops) != 5 || diff.Ops[0].Key != "client/C1" {
		t.Fatalf("diff = %+v", diff)
	}
	upd := diff.Ops[2]
	if upd.Key != "matter/M1" || upd.Op != "update" {
		t.Fatalf("ops[2] = %+v", upd)
	}
	byField := map[string]report.DiffChange{}
	for _, c := range upd.Changes {
		byField[c.Field] = c
	}
	if c := byField["title"]; c.SourceValue != hostile1+" purchase of 1 High St" || !c.HasPrevious || c.Previous != "Old <b>title</b> "+hostile2 {
		t.Errorf("title change = %+v", c)
	}
	if c := byField["value"]; c.SourceValue != "1250.00" || c.Value != "1250" || !c.HasPrevious || c.Previous != "" {
		t.Errorf("value change = %+v", c)
	}
	if c := byField["Matter number"]; c.Previous != "CONV/0" || c.SourceValue != "CONV/1" {
		t.Errorf("custom field change = %+v", c)
	}
	if c := byField["person_id"]; c.SourceValue != "C1 (lead), C2" || c.HasPrevious {
		t.Errorf("person change = %+v", c)
	}
	if c := byField["Tenure"]; c.SourceValue != "Freehold" {
		t.Errorf("custom column change = %+v", c)
	}
	if c := diff.Ops[0].Changes[1]; c.Field != "postal_address" || c.Value != "1 High St, Leeds, LS1 1AA" || c.SourceValue != "1 High St, Leeds, LS1 1AA" || !c.HasPrevious || c.Previous != "" {
		t.Errorf("link change = %+v", c)
	}
	if p := diff.Ops[3]; p.TargetKind != "participant" || len(p.Changes) != 2 || p.Changes[1].Field != "person_id" || p.Changes[1].Value != "22" {
		t.Errorf("participant = %+v", p)
	}
	if s := diff.Ops[4]; s.Op != "skip" || s.Key != "matter/M2" {
		t.Errorf("the skip is not last: %+v", s)
	}
	if bu := d.Budget; bu.Source != "audit" || bu.Plan != "premium" || bu.Spent == nil || bu.Spent.Tokens != 80 || len(bu.Timeline) != 2 {
		t.Errorf("budget = %+v", bu)
	}
	if v := d.Verify; len(v.Mismatches) != 1 || v.Mismatches[0].Want != hostile2 || len(v.Kinds) != 2 || v.Kinds[0].Kind != "person" {
		t.Errorf("verify = %+v", v)
	}
	if dl := d.Delta; dl == nil || len(dl.Updated) != 1 || len(dl.Conflicts) != 1 || len(dl.Gone) != 1 || dl.GoneByKind[0] != (report.Count{Name: "activity", N: 1}) {
		t.Errorf("delta = %+v", dl)
	}
	rb := d.Rollback
	if rb.Totals != (report.RollbackPlan{Delete: 2, Restore: 2, CheckByHand: 1}) || len(rb.Done) != 1 || rb.Done[0].Totals.Deleted != 2 {
		t.Errorf("rollback = %+v", rb)
	}
	if !strings.Contains(rb.Command, "--run "+deltaRun) || !strings.Contains(rb.AWSInput, `"run":"`+deltaRun+`"`) {
		t.Errorf("rollback commands %q %q", rb.Command, rb.AWSInput)
	}
	// Templates: T1 on entering Instructed; T2's Exchange is part of
	// Completion; T3's stage goes nowhere.
	auto := map[string]report.Automation{}
	for _, a := range d.Rebuild.Automations {
		auto[a.Template] = a
	}
	if a := auto["T1"]; a.Action != "Send email" || a.Trigger != `Deal stage changed to "Instructed" (pipeline Conveyancing)` {
		t.Errorf("T1 = %+v", a)
	}
	if a := auto["T2"]; !strings.Contains(a.Trigger, `"Completion"`) || !strings.HasPrefix(a.Action, "Create activity") || !strings.Contains(a.Note, "Inactive") || !strings.Contains(a.Recipient, "referrer") {
		t.Errorf("T2 = %+v", a)
	}
	if a := auto["T3"]; !strings.HasPrefix(a.Trigger, "none") {
		t.Errorf("T3 = %+v", a)
	}
	if got := d.Rebuild.Templates[0].MergeFields; strings.Join(got, ",") != "client_first_name,matter_type" {
		t.Errorf("merge fields = %v", got)
	}
	// Costs: the migration's costs.yaml replaces the per-matter placeholder.
	c := d.Costs
	if c.FiguresFrom != "migrations/acme-2026/costs.yaml" || c.Figures.PerfectPortalPerMatter != 35 || strings.Join(c.Placeholders, ",") != "exchange_rate" {
		t.Errorf("cost figures = %+v from %s, placeholders %v", c.Figures, c.FiguresFrom, c.Placeholders)
	}
	// One matter created in the 12 months before 31 March 2026; 1 active
	// fee earner, but the audit's budget priced 2 seats on premium.
	if c.MattersPerYear != 1 || c.Seats != 2 || c.Plan != "premium" || c.BeforeYear != 35+600 || c.AfterYearPipedrive != 59*2*12 || c.AfterYear != 1062 || c.Saving != 635-1062 {
		t.Errorf("worksheet = %+v", c)
	}
	if d.Mapping.Owners[0].Name != "Jo Bloggs" || d.Mapping.Owners[1].Flag != "not_in_export" {
		t.Errorf("owners = %+v", d.Mapping.Owners)
	}
}

// TestRenderEscapes: whatever the export holds is shown as text, in the
// page and in the diff's embedded JSON, never run.
func TestRenderEscapes(t *testing.T) {
	fixedNow(t)
	html := render(t, build(t, newFixture(t), ""))
	for _, raw := range []string{hostile1, hostile2, "alert(1)</script>", "<script>alert", "<b>title</b>"} {
		if strings.Contains(html, raw) {
			t.Errorf("the page holds %q unescaped", raw)
		}
	}
	for _, escaped := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;",                // as text in the page
		"&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;", // ditto
		`\u003cscript\u003ealert(1)\u003c/script\u003e`,        // in the embedded JSON
		`\u003c/script\u003e\u003cscript\u003ealert(2)\u003c/script\u003e`,
	} {
		if !strings.Contains(html, escaped) {
			t.Errorf("the page does not hold %q", escaped)
		}
	}
	// The only scripts are the report's own: the JSON data and the code.
	if n := strings.Count(strings.ToLower(html), "<script"); n != 2 {
		t.Errorf("%d <script> tags; want 2", n)
	}
	if n := strings.Count(strings.ToLower(html), "</script"); n != 2 {
		t.Errorf("%d </script> tags; want 2", n)
	}
	// The embedded JSON is the diff, whole, and parses.
	m := regexp.MustCompile(`(?s)<script type="application/json" id="diff-data">(.*?)</script>`).FindStringSubmatch(html)
	if m == nil {
		t.Fatal("no diff data")
	}
	var ops []report.DiffOp
	if err := json.Unmarshal([]byte(m[1]), &ops); err != nil {
		t.Fatalf("diff data: %v", err)
	}
	if len(ops) != 5 || ops[2].Changes[0].Value != hostile1+" purchase of 1 High St" {
		t.Errorf("diff data = %+v", ops)
	}
	// Template bodies are shown as text in a <pre>.
	if !strings.Contains(html, "Dear {{client_first_name}},\n&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the template body is not shown as text")
	}
	// The chart label from the export is text too.
	if !strings.Contains(html, `class="lbl">&lt;script&gt;alert(1)&lt;/script&gt;</text>`) {
		t.Error("the chart's hostile label is not escaped text")
	}
}

var (
	urlAttr = regexp.MustCompile(`(?i)\b(src|href|action|poster|data|xlink:href|formaction)\s*=\s*["']?\s*([^"'\s>]*)`)
	cssURL  = regexp.MustCompile(`(?i)url\s*\(`)
)

// TestRenderNoNetwork: the page fetches nothing: no URL in a src or href
// (only in-page anchors), no CSS url() or @import, no <link>, <img>,
// <iframe> or <object>, and the CSP forbids it anyway.
func TestRenderNoNetwork(t *testing.T) {
	fixedNow(t)
	html := render(t, build(t, newFixture(t), ""))
	markup := regexp.MustCompile(`(?is)<(script|style)\b[^>]*>.*?</(script|style)>`).ReplaceAllString(html, "")
	for _, m := range urlAttr.FindAllStringSubmatch(markup, -1) {
		if !strings.HasPrefix(m[2], "#") {
			t.Errorf("%s=%q: only in-page links are allowed", m[1], m[2])
		}
	}
	lower := strings.ToLower(html)
	if cssURL.MatchString(html) || strings.Contains(lower, "@import") {
		t.Error("CSS fetches something")
	}
	for _, tag := range []string{"<link", "<img", "<iframe", "<object", "<embed", "<base", "<form", "<audio", "<video", "fetch(", "xmlhttprequest", "websocket", "import(", "window.open", "location", ".src", "sendbeacon"} {
		if strings.Contains(lower, tag) {
			t.Errorf("the page has %s", tag)
		}
	}
	for _, m := range regexp.MustCompile(`(?i)(?:src|href)\s*=\s*["']?\s*(?:https?:)?//`).FindAllString(html, -1) {
		t.Errorf("network reference %q", m)
	}
	csp := `<meta http-equiv="Content-Security-Policy" content="` + report.CSP + `">`
	if !strings.Contains(html, csp) {
		t.Errorf("no CSP meta %s", csp)
	}
	if i, j := strings.Index(html, csp), strings.Index(lower, "<script"); i < 0 || i > j {
		t.Error("the CSP must come before any script")
	}
}

// TestRenderSections: every section has its id, heading and an entry in
// the table of contents, in every state of a migration.
func TestRenderSections(t *testing.T) {
	fixedNow(t)
	f := newFixture(t)
	empty := memblob.New()
	empty.Put(context.Background(), migrate.Prefix("bare")+"stage-map.json", strings.NewReader(`{"migration_id":"bare","pipelines":[],"unmapped":[{"pipeline":"Conveyancing","source":"Odd","matters":1,"matter_ids":["M1"]}]}`))
	bare, err := report.Build(context.Background(), empty, nil, "bare", "")
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]*report.Data{"delta": build(t, f, ""), "full": build(t, f, fullRun), "bare": bare} {
		html := render(t, d)
		for _, s := range report.Sections {
			if !strings.Contains(html, fmt.Sprintf(`<section id="%s">`, s.ID)) {
				t.Errorf("%s: no section %s", name, s.ID)
			}
			if !strings.Contains(html, fmt.Sprintf(`<li><a href="#%s">%s</a></li>`, s.ID, s.Title)) {
				t.Errorf("%s: %s is not in the contents", name, s.ID)
			}
			if !strings.Contains(html, "<h2>"+s.Title+"</h2>") {
				t.Errorf("%s: section %s has no heading", name, s.ID)
			}
		}
	}
	if bare.Identity.Status != report.StatusStopped || !strings.Contains(bare.Identity.Reason, "1 source stage") {
		t.Errorf("bare identity = %+v", bare.Identity)
	}
	for _, id := range []string{report.SectionAudit, report.SectionDiff, report.SectionVerify, report.SectionRollback, report.SectionDelta, report.SectionSchema} {
		if len(bare.Notes[id]) == 0 {
			t.Errorf("bare: no note for the missing %s", id)
		}
	}
	if bare.Audit != nil || bare.Diff != nil || bare.Verify != nil || bare.Schema != nil || bare.Delta != nil {
		t.Errorf("bare: sections without data: %+v", bare)
	}
}

func TestBuildErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := report.Build(ctx, f.store, f.led, "nobody", ""); !errors.Is(err, report.ErrMigrationNotFound) {
		t.Errorf("unknown migration: %v", err)
	}
	if _, err := report.Build(ctx, f.store, f.led, "../x", ""); !errors.Is(err, report.ErrMigrationNotFound) {
		t.Errorf("bad migration id: %v", err)
	}
	if _, err := report.Build(ctx, f.store, f.led, fixtureMigration, "r20990101T000000Z-000000"); !errors.Is(err, report.ErrRunNotFound) {
		t.Errorf("unknown run: %v", err)
	}
	// Without a ledger the report is made; the rollback section says what
	// it cannot know, and the diff has no previous values.
	d, err := report.Build(ctx, f.store, nil, fixtureMigration, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Rollback.Ledger || len(d.Rollback.Entries) != 0 || len(d.Notes[report.SectionRollback]) == 0 {
		t.Errorf("rollback without a ledger = %+v %v", d.Rollback, d.Notes[report.SectionRollback])
	}
	for _, op := range d.Diff.Ops {
		for _, c := range op.Changes {
			if c.HasPrevious {
				t.Errorf("%s %s has a previous value without a ledger", op.Key, c.Field)
			}
		}
	}
}

// TestRunStatus: how a run ended, from its summary.
func TestRunStatus(t *testing.T) {
	for _, tc := range []struct {
		summary      string
		status, want string
	}{
		{`{"mode":"full"}`, report.StatusSucceeded, ""},
		{`{"mode":"plan"}`, report.StatusSucceeded, "plan only"},
		{`{"mode":"full","failure":{"Error":"ApprovalRejected","Cause":"the run was not approved"}}`, report.StatusStopped, "not approved: the run was not approved"},
		{`{"mode":"full","failure":{"Error":"ReviewRequiredError","Cause":"{\"errorMessage\":\"2 stages unmapped\"}"}}`, report.StatusStopped, "stopped for review: 2 stages unmapped"},
		{`{"mode":"full","failure":{"Error":"VerifyMismatchError","Cause":"{\"errorMessage\":\"verify: 1 records missing\"}"}}`, report.StatusFailed, "VerifyMismatchError: verify: 1 records missing"},
		{``, report.StatusIncomplete, "no summary"},
		{`approval`, report.StatusWaiting, "the full run waits for its approval"},
	} {
		store := memblob.New()
		ctx := context.Background()
		key := migrate.Prefix("m") + "runs/r20260101T000000Z-abcdef/"
		switch tc.summary {
		case "":
			store.Put(ctx, key+"loads/deals/matters-00000.json", strings.NewReader(`{}`))
		case "approval":
			store.Put(ctx, migrate.Prefix("m")+"approvals/r20260101T000000Z-abcdef.json", strings.NewReader(`{"run":"r20260101T000000Z-abcdef","mode":"full","token":"secret"}`))
		default:
			store.Put(ctx, key+"summary.json", strings.NewReader(tc.summary))
		}
		d, err := report.Build(ctx, store, nil, "m", "")
		if err != nil {
			t.Fatal(err)
		}
		if d.Identity.Status != tc.status || !strings.Contains(d.Identity.Reason, tc.want) {
			t.Errorf("%s: status %q, %q; want %q, %q", tc.summary, d.Identity.Status, d.Identity.Reason, tc.status, tc.want)
		}
		if d.Identity.Started != "2026-01-01T00:00:00Z" || d.Identity.Run != "r20260101T000000Z-abcdef" {
			t.Errorf("run %q started %q", d.Identity.Run, d.Identity.Started)
		}
		if data, _ := json.Marshal(d); strings.Contains(string(data), "secret") {
			t.Error("the report holds the approval's task token")
		}
	}
}

// TestDiffLimit: a big run's diff holds the first DiffLimit writes; the
// page renders the first FallbackRows without scripts and embeds them all.
func TestDiffLimit(t *testing.T) {
	fixedNow(t)
	store := memblob.New()
	ctx := context.Background()
	var b strings.Builder
	for i := 0; i < 250; i++ {
		fmt.Fprintf(&b, `{"key":"client/C%04d","op":"create","target_kind":"person","changes":[{"kind":"person","source_id":"C%04d","source":"clients.email","field":"emails","value":"c%d@example.com"}]}`+"\n", i, i, i)
	}
	run := migrate.Prefix("big") + "runs/r20260101T000000Z-abcdef/"
	store.Put(ctx, run+"summary.json", strings.NewReader(`{"mode":"plan"}`))
	store.Put(ctx, run+"plan/persons/clients-00000.ndjson", strings.NewReader(b.String()))
	saved := report.DiffLimit
	report.DiffLimit = 200
	t.Cleanup(func() { report.DiffLimit = saved })
	d, err := report.Build(ctx, store, nil, "big", "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Diff.Total != 250 || len(d.Diff.Ops) != 200 || !d.Diff.Truncated || d.Diff.Counts[0].N != 250 || len(d.Notes[report.SectionDiff]) == 0 {
		t.Errorf("diff = total %d, %d ops, truncated %v, counts %+v", d.Diff.Total, len(d.Diff.Ops), d.Diff.Truncated, d.Diff.Counts)
	}
	html := render(t, d)
	body := html[strings.Index(html, `<tbody id="diff-rows">`):]
	body = body[:strings.Index(body, "</tbody>")]
	if n := strings.Count(body, `class="op-start"`); n != report.FallbackRows {
		t.Errorf("%d rows without scripts; want %d", n, report.FallbackRows)
	}
	if !strings.Contains(html, "c199@example.com") || strings.Contains(html, "c200@example.com") {
		t.Error("the embedded data does not hold exactly the first 200 writes")
	}
	if !strings.Contains(html, "Scripts are off: the first 100 of 200 writes are shown") {
		t.Error("no word on the rows left out without scripts")
	}
}

func TestCosts(t *testing.T) {
	o, ok, err := report.ParseCosts("firm.yaml", []byte(`
version: 1
costs:
  currency: GBP
  pipedrive_currency: GBP
  perfect_portal_per_matter: 12.5
  matters_per_year: 400
  pipedrive_plan: Growth
  pipedrive_seats: 3
  pipedrive_per_seat_month: {growth: 29}
`))
	if err != nil || !ok {
		t.Fatalf("ParseCosts: %v %v", ok, err)
	}
	d := &report.Data{Costs: &report.Costs{MattersCounted: 90, RunPlan: "lite", RunSeats: 1, ActiveFeeEarners: 5}}
	d.ApplyCosts()
	c := d.Costs
	if c.MattersPerYear != 90 || c.Seats != 5 || c.Plan != "lite" || c.BeforeYear != 900 || c.AfterYearPipedrive != 14*5*12 || c.AfterYear != 630 || c.Saving != 270 ||
		strings.Join(c.Placeholders, ",") != "exchange_rate,perfect_portal_per_matter" || c.FiguresFrom != "defaults" {
		t.Errorf("defaults: %+v", c)
	}
	d.AddCosts(o)
	c = d.Costs
	if c.MattersPerYear != 400 || c.Seats != 3 || c.Plan != "growth" || c.BeforeYear != 5000 || c.AfterYear != 29*3*12 || c.Saving != 5000-1044 ||
		len(c.Placeholders) != 0 || c.FiguresFrom != "firm.yaml" || c.Figures.PipedrivePerSeatMonth["premium"] != 59 {
		t.Errorf("given: %+v", c)
	}
	if _, ok, err := report.ParseCosts("x", []byte("version: 1\npolicies: {}\n")); ok || err != nil {
		t.Errorf("a configuration without costs: %v %v", ok, err)
	}
	if _, ok, err := report.ParseCosts("x", []byte("perfect_portal_per_matter: 9\n")); !ok || err != nil {
		t.Errorf("bare figures: %v %v", ok, err)
	}
	if _, _, err := report.ParseCosts("x", []byte("costs:\n  perfect_portal_per_matter: -1\n")); err == nil {
		t.Error("a negative price was accepted")
	}
	if _, _, err := report.ParseCosts("x", []byte("costs: [")); err == nil {
		t.Error("bad YAML was accepted")
	}
}
