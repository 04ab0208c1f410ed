package sampleexport_test

import (
	"archive/zip"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

// record is one row as the project's reader reads it: its canonical
// columns' values.
type record map[string]string

// readTables reads every table of a bundle with the perfectportal reader,
// the mapping configuration's header aliases resolving messy spellings.
func readTables(tb testing.TB, dir string) map[string][]record {
	tb.Helper()
	ctx := context.Background()
	b, err := pp.Open(ctx, dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer b.Close()
	cfg := mapping.Default()
	out := map[string][]record{}
	for _, spec := range pp.Schema {
		tf, _, ok, err := b.Locate(ctx, spec.Name)
		if err != nil {
			tb.Fatal(err)
		}
		if !ok {
			continue
		}
		_, err = b.Scan(ctx, tf, cfg.HeaderAliases(spec.Name), func(r *pp.Row) error {
			if r.Problem != "" {
				tb.Fatalf("%s line %d: %s", r.File, r.Line, r.Problem)
			}
			rec := record{}
			for _, c := range r.Header().Columns {
				if c != "" {
					rec[c] = r.Get(c)
				}
			}
			out[spec.Name] = append(out[spec.Name], rec)
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// byKey groups a table's records by a column.
func byKey(recs []record, col string) map[string][]record {
	m := map[string][]record{}
	for _, r := range recs {
		m[r[col]] = append(m[r[col]], r)
	}
	return m
}

// diffCols lists the columns whose values differ between two records.
func diffCols(a, b record) []string {
	var out []string
	for c, v := range a {
		if b[c] != v {
			out = append(out, c)
		}
	}
	for c := range b {
		if _, ok := a[c]; !ok {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

func sameRecords(a, b []record) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(r record) string {
		cols := make([]string, 0, len(r))
		for c := range r {
			cols = append(cols, c)
		}
		slices.Sort(cols)
		var s strings.Builder
		for _, c := range cols {
			s.WriteString(c + "\x1f" + r[c] + "\x1e")
		}
		return s.String()
	}
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i], kb[i] = key(a[i]), key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

func setOf(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func parseTime(tb testing.TB, what, s string) time.Time {
	tb.Helper()
	t, err := pp.ParseTime(s)
	if err != nil {
		tb.Fatalf("%s: %q: %v", what, s, err)
	}
	return t
}

// stageOrder is the firm's stages in order.
var stageOrder = []string{"Instructed", "Searches", "Compliance", "Completion"}

// checkDelta checks that dir, a newer export, differs from prev, the
// export before it, exactly as its summary says.
func checkDelta(t *testing.T, prev, dir string, sum sampleexport.DeltaSummary) {
	t.Helper()
	old, cur := readTables(t, prev), readTables(t, dir)
	for name, l := range map[string][]string{
		"ChangedMatters": sum.ChangedMatters, "ChangedClients": sum.ChangedClients, "ChangedOrganisations": sum.ChangedOrganisations,
		"ChangedReferrers": sum.ChangedReferrers, "NewMatters": sum.NewMatters, "RemovedMatters": sum.RemovedMatters,
		"NewActivities": sum.NewActivities, "ChangedActivities": sum.ChangedActivities, "ChangedDocuments": sum.ChangedDocuments,
		"NewClients": sum.NewClients, "RemovedActivities": sum.RemovedActivities, "RemovedDocuments": sum.RemovedDocuments,
	} {
		if len(l) == 0 {
			t.Errorf("Delta.%s is empty", name)
		}
		if !slices.IsSorted(l) || len(slices.Compact(slices.Clone(l))) != len(l) {
			t.Errorf("Delta.%s is not sorted and unique: %v", name, l)
		}
	}
	after := func(what, s string) {
		t.Helper()
		ts := parseTime(t, what, s)
		if !ts.After(sum.Since) || ts.After(sum.ExportedAt) {
			t.Errorf("%s = %s, want after the previous export (%s) and not after this one (%s)", what, s, sum.Since, sum.ExportedAt)
		}
	}

	// checkIDs compares an id-keyed table: only the listed ids are new,
	// gone or different, and the different ones only in allowed columns.
	checkIDs := func(table, idCol string, added, removed, changed []string, allowed ...string) (map[string][]record, map[string][]record) {
		t.Helper()
		o, c := byKey(old[table], idCol), byKey(cur[table], idCol)
		add, rem, chg := setOf(added), setOf(removed), setOf(changed)
		for id, recs := range o {
			switch {
			case rem[id]:
				if len(c[id]) > 0 {
					t.Errorf("%s %s: listed as removed, still there", table, id)
				}
			case len(c[id]) == 0:
				t.Errorf("%s %s: gone, not listed as removed", table, id)
			case chg[id]:
				if len(recs) != len(c[id]) {
					t.Errorf("%s %s: %d rows, was %d", table, id, len(c[id]), len(recs))
					continue
				}
				for i := range recs {
					cols := diffCols(recs[i], c[id][i])
					if len(cols) == 0 {
						t.Errorf("%s %s: listed as changed, the same", table, id)
					}
					for _, col := range cols {
						if !slices.Contains(allowed, col) {
							t.Errorf("%s %s: %s changed (%q -> %q); only %v may", table, id, col, recs[i][col], c[id][i][col], allowed)
						}
					}
				}
			case !sameRecords(recs, c[id]):
				t.Errorf("%s %s: differs, not listed as changed: columns %v", table, id, diffCols(recs[0], c[id][0]))
			}
		}
		for id := range c {
			if len(o[id]) == 0 && !add[id] {
				t.Errorf("%s %s: new, not listed", table, id)
			}
		}
		for id := range add {
			if len(o[id]) > 0 || len(c[id]) == 0 {
				t.Errorf("%s %s: listed as new: %d rows before, %d now", table, id, len(o[id]), len(c[id]))
			}
		}
		for id := range chg {
			if len(o[id]) == 0 || len(c[id]) == 0 {
				t.Errorf("%s %s: listed as changed, missing from one export", table, id)
			}
		}
		return o, c
	}

	// Matters.
	om, cm := checkIDs(pp.TableMatters, "matter_id", sum.NewMatters, sum.RemovedMatters, sum.ChangedMatters,
		"status", "key_stage", "legal_fee", "updated_at")
	for _, id := range sum.ChangedMatters {
		if len(om[id]) == 0 || len(cm[id]) == 0 {
			continue
		}
		o, c := om[id][0], cm[id][0]
		if o["legal_fee"] == c["legal_fee"] {
			t.Errorf("matter %s: legal_fee unchanged", id)
		}
		if o["key_stage"] != c["key_stage"] {
			if slices.Index(stageOrder, c["key_stage"]) <= slices.Index(stageOrder, o["key_stage"]) {
				t.Errorf("matter %s: key_stage %q -> %q, not a later stage", id, o["key_stage"], c["key_stage"])
			}
		} else if o["status"] != c["status"] || c["status"] != "completed" {
			t.Logf("matter %s: only its fee changed", id)
		}
		after("matter "+id+" updated_at", c["updated_at"])
	}
	for _, id := range sum.NewMatters {
		for _, r := range cm[id] {
			after("new matter "+id+" created_at", r["created_at"])
			after("new matter "+id+" updated_at", r["updated_at"])
		}
	}

	// Clients, organisations, referrers: new and changed, never removed.
	_, cc := checkIDs(pp.TableClients, "client_id", sum.NewClients, nil, sum.ChangedClients, "phone", "updated_at")
	for _, id := range sum.ChangedClients {
		if r := cc[id]; len(r) > 0 {
			after("client "+id+" updated_at", r[0]["updated_at"])
		}
	}
	for _, id := range sum.NewClients {
		if r := cc[id]; len(r) > 0 {
			after("new client "+id+" created_at", r[0]["created_at"])
			after("new client "+id+" updated_at", r[0]["updated_at"])
		}
	}
	_, co := checkIDs(pp.TableOrganisations, "organisation_id", sum.NewOrganisations, nil, sum.ChangedOrganisations, "address_line1", "updated_at")
	for _, id := range sum.ChangedOrganisations {
		if r := co[id]; len(r) > 0 {
			after("organisation "+id+" updated_at", r[0]["updated_at"])
		}
	}
	_, cr := checkIDs(pp.TableReferrers, "referrer_id", nil, nil, sum.ChangedReferrers, "phone", "updated_at")
	for _, id := range sum.ChangedReferrers {
		if r := cr[id]; len(r) > 0 {
			after("referrer "+id+" updated_at", r[0]["updated_at"])
		}
	}
	checkIDs(pp.TableFeeEarners, "fee_earner_id", nil, nil, nil)
	checkIDs(pp.TableTemplates, "template_id", nil, nil, nil)

	// Activities: the changed ones differ by content only.
	removedMatters, newMatters := setOf(sum.RemovedMatters), setOf(sum.NewMatters)
	oa, ca := checkIDs(pp.TableActivities, "activity_id", sum.NewActivities, sum.RemovedActivities, sum.ChangedActivities, "body")
	for _, id := range sum.NewActivities {
		for _, r := range ca[id] {
			after("new activity "+id+" occurred_at", r["occurred_at"])
			if len(cm[r["matter_id"]]) == 0 {
				t.Errorf("new activity %s is on %s, not a matter of the export", id, r["matter_id"])
			}
		}
	}
	notedExisting := 0
	for _, id := range sum.NewActivities {
		if r := ca[id]; len(r) > 0 && !newMatters[r[0]["matter_id"]] {
			notedExisting++
		}
	}
	if notedExisting == 0 {
		t.Errorf("no new activity on an existing matter")
	}
	for _, id := range sum.RemovedActivities {
		if r := oa[id]; len(r) > 0 && !removedMatters[r[0]["matter_id"]] {
			t.Errorf("removed activity %s was on %s, not a removed matter", id, r[0]["matter_id"])
		}
	}

	// Documents: a changed one has new content, its row the new size and
	// checksum, and the files say the same.
	od, cd := checkIDs(pp.TableDocuments, "document_id", sum.NewDocuments, sum.RemovedDocuments, sum.ChangedDocuments, "size_bytes", "sha256")
	for _, id := range sum.ChangedDocuments {
		if len(od[id]) == 0 || len(cd[id]) == 0 {
			continue
		}
		o, c := od[id][0], cd[id][0]
		if o["sha256"] == c["sha256"] {
			t.Errorf("document %s: sha256 unchanged", id)
		}
		for _, x := range []struct {
			dir string
			r   record
		}{{prev, o}, {dir, c}} {
			b, err := os.ReadFile(filepath.Join(x.dir, filepath.FromSlash(x.r["path"])))
			if err != nil {
				t.Fatal(err)
			}
			if sha256Hex(b) != x.r["sha256"] || x.r["size_bytes"] != strconv.Itoa(len(b)) {
				t.Errorf("document %s in %s: the row does not describe the file", id, x.dir)
			}
		}
	}
	for _, id := range sum.NewDocuments {
		for _, r := range cd[id] {
			after("new document "+id+" uploaded_at", r["uploaded_at"])
			if !newMatters[r["matter_id"]] {
				t.Errorf("new document %s is on %s, not a new matter", id, r["matter_id"])
			}
		}
	}
	for _, id := range sum.RemovedDocuments {
		if r := od[id]; len(r) > 0 {
			if !removedMatters[r[0]["matter_id"]] {
				t.Errorf("removed document %s was on %s, not a removed matter", id, r[0]["matter_id"])
			}
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(r[0]["path"]))); err == nil {
				t.Errorf("removed document %s: its file is still there", id)
			}
		}
	}

	// Rows with no id of their own go with their matter; a changed matter
	// has one more key stage, entered since the previous export.
	changedMatters := setOf(sum.ChangedMatters)
	for _, table := range []string{pp.TableMatterClients, pp.TableMatterReferrers, pp.TableKeyStages} {
		o, c := byKey(old[table], "matter_id"), byKey(cur[table], "matter_id")
		for id, recs := range o {
			switch {
			case removedMatters[id]:
				if len(c[id]) > 0 {
					t.Errorf("%s: removed matter %s still has %d rows", table, id, len(c[id]))
				}
			case table == pp.TableKeyStages && changedMatters[id] && len(c[id]) != len(recs):
				if len(c[id]) != len(recs)+1 || !sameRecords(recs, c[id][:len(recs)]) {
					t.Errorf("key_stages of changed matter %s: %d rows, was %d", id, len(c[id]), len(recs))
					continue
				}
				extra := c[id][len(recs)]
				after("key stage of "+id+" entered_at", extra["entered_at"])
				if extra["stage"] != cm[id][0]["key_stage"] {
					t.Errorf("matter %s: entered %q, its key_stage is %q", id, extra["stage"], cm[id][0]["key_stage"])
				}
			case !sameRecords(recs, c[id]):
				t.Errorf("%s rows of %s differ", table, id)
			}
		}
		for id, recs := range c {
			if len(o[id]) == 0 && !newMatters[id] {
				t.Errorf("%s: rows for %s, neither an old nor a new matter", table, id)
			}
			if newMatters[id] && table == pp.TableKeyStages {
				for _, r := range recs {
					after("key stage of new matter "+id+" entered_at", r["entered_at"])
				}
			}
		}
	}
}

// auditErrors runs the extract audit and returns its error-severity flags'
// codes, failing on a manifest disagreement or a row count that differs
// from the generator's.
func auditErrors(t *testing.T, dir string, sum sampleexport.Summary) map[string]int {
	t.Helper()
	ctx := context.Background()
	b, err := pp.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	res, err := extract.Run(ctx, b, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int{}
	for _, f := range res.Report.Flags {
		switch f.Code {
		case "checksum_mismatch", "row_count_mismatch", "bad_manifest", "no_manifest", "not_in_manifest":
			t.Errorf("%s: %s", dir, f)
		}
		if f.Severity == pp.SeverityError {
			codes[f.Code]++
		}
	}
	for table, n := range sum.Rows {
		if got := res.Report.Tables[table].Read; got != n {
			t.Errorf("%s: read %d rows; the generator wrote %d", table, got, n)
		}
	}
	if want := sum.Delta.ExportedAt.Format(time.RFC3339); !sum.Delta.ExportedAt.IsZero() && res.Report.Export.ExportedAt != want {
		t.Errorf("exported_at = %q, want %q", res.Report.Export.ExportedAt, want)
	}
	return codes
}

func TestNewerExport(t *testing.T) {
	tests := []struct {
		name string
		opt  sampleexport.Options
	}{
		{"clean csv", sampleexport.Options{Matters: 30, Seed: 1}},
		{"messy csv", sampleexport.Options{Matters: 30, Seed: 2, Messy: true}},
		{"ndjson", sampleexport.Options{Matters: 30, Seed: 3, Format: sampleexport.FormatNDJSON}},
		{"messy xlsx", sampleexport.Options{Matters: 30, Seed: 4, Messy: true, Format: sampleexport.FormatXLSX}},
		{"messy mixed 120", sampleexport.Options{Matters: 120, Seed: 5, Messy: true, Format: sampleexport.FormatMixed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dirs := []string{}
			sums := []sampleexport.Summary{}
			for n := 0; n <= 2; n++ {
				opt := tt.opt
				opt.Newer = n
				dir, sum := mustWrite(t, opt)
				dirs, sums = append(dirs, dir), append(sums, sum)
			}
			baseErrors := auditErrors(t, dirs[0], sums[0])
			if !tt.opt.Messy && len(baseErrors) > 0 {
				t.Errorf("the original export audits with errors: %v", baseErrors)
			}
			if sums[0].Delta.Changes() != 0 {
				t.Errorf("Newer 0: Delta = %+v, want empty", sums[0].Delta)
			}
			for n := 1; n <= 2; n++ {
				d := sums[n].Delta
				if !d.Since.Equal(sampleexport.DefaultNow.AddDate(0, 0, n-1)) || !d.ExportedAt.Equal(sampleexport.DefaultNow.AddDate(0, 0, n)) {
					t.Errorf("Newer %d: Since %s, ExportedAt %s", n, d.Since, d.ExportedAt)
				}
				t.Run("newer "+strconv.Itoa(n), func(t *testing.T) {
					checkDelta(t, dirs[n-1], dirs[n], d)
				})
				for code, k := range auditErrors(t, dirs[n], sums[n]) {
					if baseErrors[code] != k {
						t.Errorf("Newer %d: %d × error %s; the original export has %d", n, k, code, baseErrors[code])
					}
				}
				for code, k := range sums[0].Planted {
					if sums[n].Planted[code] != k {
						t.Errorf("Newer %d: Planted[%s] = %d, the original export %d", n, code, sums[n].Planted[code], k)
					}
				}
				if n == 2 {
					// Export 2 is export 1 evolved again: nothing changes twice.
					d1 := sums[1].Delta
					for _, pair := range [][2][]string{{d.ChangedMatters, d1.ChangedMatters}, {d.ChangedClients, d1.ChangedClients},
						{d.NewMatters, d1.NewMatters}, {d.RemovedMatters, d1.RemovedMatters}, {d.ChangedDocuments, d1.ChangedDocuments}} {
						for _, id := range pair[0] {
							if slices.Contains(pair[1], id) {
								t.Errorf("%s is in the deltas of both export 1 and export 2", id)
							}
						}
					}
				}
			}
		})
	}
}

func TestNewerIsDeterministic(t *testing.T) {
	opt := sampleexport.Options{Matters: 30, Seed: 7, Messy: true, Newer: 1}
	dir1, sum1 := mustWrite(t, opt)
	dir2, sum2 := mustWrite(t, opt)
	got, want := fileHashes(t, dir1), fileHashes(t, dir2)
	if len(got) != len(want) {
		t.Fatalf("got %d files, want %d", len(got), len(want))
	}
	for name, h := range want {
		if got[name] != h {
			t.Errorf("%s differs between two runs", name)
		}
	}
	if !slices.Equal(sum1.Delta.ChangedMatters, sum2.Delta.ChangedMatters) || !slices.Equal(sum1.Delta.NewActivities, sum2.Delta.NewActivities) {
		t.Errorf("Delta differs between two runs")
	}
	if gotFiles := slices.Sorted(mapKeys(got)); !slices.Equal(gotFiles, sum1.Files) {
		t.Errorf("Summary.Files = %d names, files on disk = %d", len(sum1.Files), len(gotFiles))
	}
	m := readManifest(t, dir1)
	if m.ExportID != "2026-11-21-full" || m.ExportedAt != "2026-11-21T17:00:00Z" {
		t.Errorf("manifest export_id %q, exported_at %q; want the day after the original", m.ExportID, m.ExportedAt)
	}

	zpath := filepath.Join(t.TempDir(), "newer.zip")
	opt.LargeDocumentBytes = testLarge
	if _, err := sampleexport.WriteZip(zpath, opt); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(zpath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !f.Modified.Equal(sampleexport.DefaultNow.AddDate(0, 0, 1)) {
			t.Errorf("%s: modified %v, want the newer export's time", f.Name, f.Modified)
		}
	}
}

func TestNewerOptionsErrors(t *testing.T) {
	for _, n := range []int{-1, sampleexport.MaxNewer + 1} {
		if _, err := sampleexport.Write(t.TempDir(), sampleexport.Options{Matters: 10, Newer: n}); err == nil {
			t.Errorf("Newer %d: nil error", n)
		}
	}
}

// TestNewerSmallBundles checks that every kind of change happens from ten
// matters up, whatever the seed (an organisation's, when there is one).
func TestNewerSmallBundles(t *testing.T) {
	for seed := int64(1); seed <= 12; seed++ {
		for _, messy := range []bool{false, true} {
			_, sum := mustWrite(t, sampleexport.Options{Matters: 10, Seed: seed, Messy: messy, Newer: 1})
			d := sum.Delta
			for name, l := range map[string][]string{"ChangedMatters": d.ChangedMatters, "ChangedClients": d.ChangedClients,
				"ChangedReferrers": d.ChangedReferrers, "NewMatters": d.NewMatters, "RemovedMatters": d.RemovedMatters,
				"NewActivities": d.NewActivities, "ChangedActivities": d.ChangedActivities, "ChangedDocuments": d.ChangedDocuments} {
				if len(l) == 0 {
					t.Errorf("seed %d messy %v: no %s", seed, messy, name)
				}
			}
			// A small clean export may have no organisation to change.
			if len(d.ChangedOrganisations) == 0 && sum.Rows["organisations"] > len(d.NewOrganisations) {
				t.Errorf("seed %d messy %v: no ChangedOrganisations", seed, messy)
			}
		}
	}
}
