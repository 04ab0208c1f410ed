package extract

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// Report is the audit: what the bundle holds, what becomes of every row,
// and what a firm should look at before migrating.
type Report struct {
	Export ExportInfo `json:"export"`
	// Tables has an entry for each of the eleven tables, present or not.
	Tables  map[string]TableCounts `json:"tables"`
	Flags   []pp.Flag              `json:"flags"`
	Volumes Volumes                `json:"volumes"`
	Risks   []Risk                 `json:"risks"`
	// Budget estimates the API tokens and days the migration needs.
	Budget Budget `json:"budget"`
	// Trusted is false when an error-severity flag means the bundle
	// cannot be trusted as it is.
	Trusted bool `json:"trusted"`
}

// ExportInfo identifies the bundle.
type ExportInfo struct {
	Location   string         `json:"location"`
	ExportID   string         `json:"export_id,omitempty"`
	ExportedAt string         `json:"exported_at,omitempty"`
	Firm       string         `json:"firm,omitempty"`
	Files      []pp.TableFile `json:"files"`
}

// TableCounts accounts for every row of one table: Read is always the sum
// of the other four.
type TableCounts struct {
	File        string `json:"file,omitempty"`
	Read        int    `json:"read"`
	Accepted    int    `json:"accepted"`
	Merged      int    `json:"merged"`
	Skipped     int    `json:"skipped"`
	Quarantined int    `json:"quarantined"`
}

// Balanced reports whether the four outcomes add up to the rows read.
func (c TableCounts) Balanced() bool {
	return c.Read == c.Accepted+c.Merged+c.Skipped+c.Quarantined
}

// Volumes counts what will be migrated (accepted rows only).
type Volumes struct {
	MattersByType     map[string]int `json:"matters_by_type"`
	MattersByStage    map[string]int `json:"matters_by_stage"`
	MattersByStatus   map[string]int `json:"matters_by_status"`
	ActivitiesByType  map[string]int `json:"activities_by_type"`
	Documents         DocVolumes     `json:"documents"`
	Persons           int            `json:"persons"`
	Organisations     int            `json:"organisations"`
	MattersWithoutAny int            `json:"matters_without_client"`
}

// DocVolumes sums up the documents.
type DocVolumes struct {
	Count          int   `json:"count"`
	Bytes          int64 `json:"bytes"`
	OverLimit      int   `json:"over_limit"`
	OverLimitBytes int64 `json:"over_limit_bytes"`
	LimitBytes     int64 `json:"limit_bytes"`
	LargestBytes   int64 `json:"largest_bytes"`
}

// Risk is one entry of the risk register.
type Risk struct {
	Code string `json:"code"`
	// Level is high (the run stops or data is lost), medium (data arrives
	// changed or incomplete) or low (worth knowing).
	Level  string  `json:"level"`
	Count  int     `json:"count"`
	Share  float64 `json:"share,omitempty"`
	Detail string  `json:"detail"`
}

// Budget estimates the API cost of the migration.
type Budget struct {
	Plan                string  `json:"plan"`
	Seats               int     `json:"seats"`
	DailyTokens         int     `json:"daily_tokens"`
	Tokens              int     `json:"tokens"`
	HistoryTokens       int     `json:"history_tokens"`
	Days                float64 `json:"days"`
	DaysWithoutHistory  float64 `json:"days_without_history"`
	HistoryShareOfSpend float64 `json:"history_share"`
}

// Token costs per write, from Pipedrive's OpenAPI documents (x-token-cost):
// v2 POST persons, organizations, deals, activities 5; v1 POST notes, files,
// deal participants 10.
const (
	costV2Create     = 5
	costV1Create     = 10
	tokensPerSeatDay = 30000
)

var planMultiplier = map[string]int{"lite": 1, "growth": 2, "premium": 5, "ultimate": 7}

// Counts of what each kind of write the budget estimate rests on.
func (r *runner) budget(v Volumes) Budget {
	plan := strings.ToLower(r.opt.Plan)
	if _, ok := planMultiplier[plan]; !ok {
		plan = "growth"
	}
	seats := r.opt.Seats
	if seats <= 0 {
		seats = 1
	}
	mc := r.tables[pp.TableMatterClients].counts().Accepted
	mr := r.tables[pp.TableMatterReferrers].counts().Accepted
	deals := 0
	for _, n := range v.MattersByType {
		deals += n
	}
	notes := v.ActivitiesByType["note"]
	acts := 0
	for _, n := range v.ActivitiesByType {
		acts += n
	}
	acts -= notes
	core := (v.Persons+v.Organisations+deals)*costV2Create + (mc+mr)*costV1Create
	history := acts*costV2Create + (notes+v.Documents.Count)*costV1Create
	b := Budget{Plan: plan, Seats: seats, DailyTokens: tokensPerSeatDay * planMultiplier[plan] * seats, Tokens: core + history, HistoryTokens: history}
	b.Days = round2(float64(b.Tokens) / float64(b.DailyTokens))
	b.DaysWithoutHistory = round2(float64(core) / float64(b.DailyTokens))
	if b.Tokens > 0 {
		b.HistoryShareOfSpend = round2(float64(history) / float64(b.Tokens))
	}
	return b
}

// finishMatters flags matters left without a client, naming the first
// (whose id is read again from the matters file: the index keeps hashes).
func (r *runner) finishMatters() error {
	mt := r.tables[pp.TableMatters]
	if !r.tables[pp.TableMatterClients].present {
		return nil
	}
	first := int32(math.MaxInt32)
	n := 0
	mt.ids.each(func(_ uint64, e entry) {
		if e.status == Accepted && e.links == 0 {
			n++
			first = min(first, e.line)
		}
	})
	if n > 0 {
		ids := map[int32]string{first: ""}
		if err := r.idsAt(mt, ids, func(row *pp.Row) string { m, _ := pp.DecodeMatter(row); return m.ID }); err != nil {
			return err
		}
		firstID := ids[first]
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityWarning, Code: "matter_without_client", Table: pp.TableMatters, File: mt.file.File, Line: int(first), SourceID: firstID,
			Message: fmt.Sprintf("%s no client in matter_clients (the first at this line); their deals will have no person", plural(n, "matter has", "matters have"))})
	}
	return nil
}

func (r *runner) volumes() Volumes {
	v := Volumes{MattersByType: map[string]int{}, MattersByStage: map[string]int{}, MattersByStatus: map[string]int{}, ActivitiesByType: map[string]int{}}
	r.tables[pp.TableMatters].ids.each(func(_ uint64, e entry) {
		if e.status != Accepted {
			return
		}
		v.MattersByType[nonEmpty(r.types.name(e.v[0]))]++
		v.MattersByStage[nonEmpty(r.stages.name(e.v[1]))]++
		v.MattersByStatus[nonEmpty(r.statuses.name(e.v[2]))]++
		if e.links == 0 && r.tables[pp.TableMatterClients].present {
			v.MattersWithoutAny++
		}
	})
	for k, n := range r.actVolumes {
		v.ActivitiesByType[k] = n
	}
	v.Documents = r.docVolumes
	v.Documents.LimitBytes = int64(r.cfg.Policies.AttachmentSizeLimit)
	v.Persons = r.tables[pp.TableClients].counts().Accepted + r.tables[pp.TableReferrers].counts().Accepted
	v.Organisations = r.tables[pp.TableOrganisations].counts().Accepted
	return v
}

func nonEmpty(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// report assembles the audit from pass one.
func (r *runner) report() *Report {
	rep := &Report{Tables: map[string]TableCounts{}, Trusted: true}
	rep.Export.Location = r.b.Location
	if m := r.b.Manifest; m != nil {
		rep.Export.ExportID, rep.Export.ExportedAt, rep.Export.Firm = m.ExportID, m.ExportedAt, m.Firm
	}
	flags := append([]pp.Flag(nil), r.flags...)
	for _, name := range r.order {
		t := r.tables[name]
		rep.Tables[name] = t.counts()
		if t.present {
			rep.Export.Files = append(rep.Export.Files, t.file)
		}
		flags = append(flags, t.outcomeFlags()...)
	}
	for _, k := range r.aggSeq {
		a := r.aggs[k]
		f := a.flag
		f.Message = a.text(a.count)
		flags = append(flags, f)
	}
	sortFlags(flags)
	rep.Flags = flags
	for _, f := range flags {
		if f.Severity == pp.SeverityError {
			rep.Trusted = false
		}
	}
	rep.Volumes = r.volumes()
	rep.Budget = r.budget(rep.Volumes)
	rep.Risks = r.risks(rep)
	return rep
}

// sortFlags orders flags by table (in dependency order), line, then code,
// with file-level findings first.
func sortFlags(flags []pp.Flag) {
	rank := map[string]int{"": -1}
	for i, s := range pp.Schema {
		rank[s.Name] = i
	}
	sev := map[pp.Severity]int{pp.SeverityError: 0, pp.SeverityWarning: 1, pp.SeverityInfo: 2}
	sort.SliceStable(flags, func(i, j int) bool {
		a, b := flags[i], flags[j]
		if rank[a.Table] != rank[b.Table] {
			return rank[a.Table] < rank[b.Table]
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if sev[a.Severity] != sev[b.Severity] {
			return sev[a.Severity] < sev[b.Severity]
		}
		return a.Code < b.Code
	})
}

func (r *runner) risks(rep *Report) []Risk {
	var out []Risk
	count := func(code string) (n int) {
		for _, f := range rep.Flags {
			if f.Code == code {
				n++
			}
		}
		return n
	}
	errs := 0
	for _, f := range rep.Flags {
		if f.Severity == pp.SeverityError {
			errs++
		}
	}
	if errs > 0 {
		out = append(out, Risk{Code: "untrusted_files", Level: "high", Count: errs,
			Detail: "files disagree with the manifest or cannot be read: their rows are quarantined until they are re-exported"})
	}
	if n := count("unmapped_stage"); n > 0 {
		out = append(out, Risk{Code: "unmapped_stages", Level: "high", Count: n,
			Detail: "source stages with no destination stage: the run stops for review before any write"})
	}
	quarantined := 0
	for _, c := range rep.Tables {
		quarantined += c.Quarantined
	}
	if quarantined > 0 {
		out = append(out, Risk{Code: "quarantined_rows", Level: "high", Count: quarantined,
			Detail: "rows that will not be migrated until fixed: see the flags for each file, line and reason"})
	}
	clients := rep.Tables[pp.TableClients]
	if n := count("missing_email"); n > 0 && clients.Read > 0 {
		noEmail := 0
		for _, f := range rep.Flags {
			if f.Code == "missing_email" && f.Table == pp.TableClients {
				noEmail++
			}
		}
		if noEmail > 0 {
			out = append(out, Risk{Code: "clients_without_email", Level: "medium", Count: noEmail, Share: share(noEmail, clients.Read),
				Detail: fmt.Sprintf("clients without email cannot be matched to existing Pipedrive persons or to later exports (policy missing_email: %s)", r.cfg.Policies.MissingEmail)})
		}
	}
	if n := count("invalid_email") + count("invalid_phone"); n > 0 {
		out = append(out, Risk{Code: "invalid_contact_details", Level: "medium", Count: n,
			Detail: "emails or phone numbers that are not valid: migrated as written, worth correcting"})
	}
	if d := rep.Volumes.Documents; d.OverLimit > 0 {
		out = append(out, Risk{Code: "files_over_limit", Level: "medium", Count: d.OverLimit, Share: share(d.OverLimit, d.Count),
			Detail: fmt.Sprintf("%d files (%s) are over the %s attachment limit: compressed, or split into ordered parts", d.OverLimit, humanBytes(d.OverLimitBytes), mapping.ByteSize(d.LimitBytes))})
	}
	if n := count("unknown_fee_earner") + count("missing_fee_earner"); n > 0 {
		out = append(out, Risk{Code: "unresolved_owners", Level: "medium", Count: n,
			Detail: "matters or activities whose fee earner is unknown: they go to the default owner"})
	}
	if n := rep.Volumes.MattersWithoutAny; n > 0 {
		out = append(out, Risk{Code: "matters_without_client", Level: "medium", Count: n, Share: share(n, rep.Tables[pp.TableMatters].Accepted),
			Detail: "deals that will have no person"})
	}
	merged := 0
	for _, c := range rep.Tables {
		merged += c.Merged
	}
	if merged > 0 {
		out = append(out, Risk{Code: "merged_rows", Level: "low", Count: merged,
			Detail: "duplicate rows and clients sharing an email were merged: check the merges listed in the flags"})
	}
	if n := count("undeclared_encoding"); n > 0 {
		out = append(out, Risk{Code: "undeclared_encoding", Level: "low", Count: n,
			Detail: "files read as Windows-1252 because they are not UTF-8: check £ signs and accented names"})
	}
	if b := rep.Budget; b.Tokens > 0 {
		level := "low"
		if b.Days > 1 {
			level = "medium"
		}
		out = append(out, Risk{Code: "api_budget", Level: level, Count: b.Tokens, Share: math.Round(b.HistoryShareOfSpend*1000) / 1000,
			Detail: fmt.Sprintf("about %d API tokens: %.1f days of the daily budget (%d tokens on %s with %d seat(s)); activities, notes and files are %.0f%% of it, %.1f days without them",
				b.Tokens, b.Days, b.DailyTokens, b.Plan, b.Seats, 100*b.HistoryShareOfSpend, b.DaysWithoutHistory)})
	}
	return out
}

// humanBytes renders a size for people: "812 B", "4.2 MB" (MB = 1024 KB,
// as the attachment limit is counted).
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "KMGT"[exp])
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// plural writes "1 matter" or "2 matters".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(of)*1000) / 1000
}

// WriteText renders the report for people.
func (rep *Report) WriteText(w io.Writer, maxFlags int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Audit of %s\n", rep.Export.Location)
	if rep.Export.ExportID != "" {
		fmt.Fprintf(&b, "Export %s, exported %s\n", rep.Export.ExportID, rep.Export.ExportedAt)
	}
	b.WriteString("\nRows per table (every row read ends in exactly one of the four columns):\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\tfile\tread\taccepted\tmerged\tskipped\tquarantined\tbalanced\t")
	for _, s := range pp.Schema {
		c := rep.Tables[s.Name]
		file := c.File
		if file == "" {
			file = "-"
		}
		ok := "yes"
		if !c.Balanced() {
			ok = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t\n", s.Name, file, c.Read, c.Accepted, c.Merged, c.Skipped, c.Quarantined, ok)
	}
	tw.Flush()

	v := rep.Volumes
	b.WriteString("\nVolumes (accepted rows):\n")
	fmt.Fprintf(&b, "  persons %d, organisations %d, documents %d (%s, %d over the %s limit)\n", v.Persons, v.Organisations, v.Documents.Count,
		humanBytes(v.Documents.Bytes), v.Documents.OverLimit, mapping.ByteSize(v.Documents.LimitBytes))
	writeCounts(&b, "matters by type", v.MattersByType)
	writeCounts(&b, "matters by stage", v.MattersByStage)
	writeCounts(&b, "matters by status", v.MattersByStatus)
	writeCounts(&b, "activities by type", v.ActivitiesByType)

	b.WriteString("\nRisk register:\n")
	if len(rep.Risks) == 0 {
		b.WriteString("  none\n")
	}
	for _, r := range rep.Risks {
		fmt.Fprintf(&b, "  [%s] %s (%d): %s\n", r.Level, r.Code, r.Count, r.Detail)
	}
	bySev := map[pp.Severity]int{}
	for _, f := range rep.Flags {
		bySev[f.Severity]++
	}
	fmt.Fprintf(&b, "\nFlags: %d errors, %d warnings, %d info\n", bySev[pp.SeverityError], bySev[pp.SeverityWarning], bySev[pp.SeverityInfo])
	shown := 0
	for _, sev := range []pp.Severity{pp.SeverityError, pp.SeverityWarning, pp.SeverityInfo} {
		for _, f := range rep.Flags {
			if f.Severity != sev {
				continue
			}
			if maxFlags > 0 && shown >= maxFlags {
				break
			}
			fmt.Fprintf(&b, "  %s\n", f)
			shown++
		}
	}
	if maxFlags > 0 && len(rep.Flags) > shown {
		fmt.Fprintf(&b, "  ... and %d more (--json lists them all)\n", len(rep.Flags)-shown)
	}
	if rep.Trusted {
		b.WriteString("\nResult: the bundle was read; every row is accounted for.\n")
	} else {
		b.WriteString("\nResult: NOT TRUSTED: error flags above name the files to fix or re-export.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeCounts(b *strings.Builder, title string, m map[string]int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	fmt.Fprintf(b, "  %s: %s\n", title, strings.Join(parts, ", "))
}
