package sampleexport_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

func TestWriteIsDeterministic(t *testing.T) {
	tests := []struct {
		name string
		opt  sampleexport.Options
	}{
		{"csv", sampleexport.Options{Matters: 40, Seed: 7}},
		{"ndjson", sampleexport.Options{Matters: 40, Seed: 7, Format: sampleexport.FormatNDJSON}},
		{"xlsx", sampleexport.Options{Matters: 40, Seed: 7, Format: sampleexport.FormatXLSX}},
		{"mixed", sampleexport.Options{Matters: 40, Seed: 7, Format: sampleexport.FormatMixed}},
		{"messy csv", sampleexport.Options{Matters: 40, Seed: 7, Messy: true}},
		{"messy xlsx", sampleexport.Options{Matters: 40, Seed: 7, Messy: true, Format: sampleexport.FormatXLSX}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir1, sum1 := mustWrite(t, tt.opt)
			dir2, sum2 := mustWrite(t, tt.opt)
			got, want := fileHashes(t, dir1), fileHashes(t, dir2)
			if len(got) != len(want) {
				t.Fatalf("got %d files, want %d", len(got), len(want))
			}
			for name, h := range want {
				if got[name] != h {
					t.Errorf("%s differs between two runs", name)
				}
			}
			if !slices.Equal(sum1.Files, sum2.Files) {
				t.Errorf("Summary.Files differ")
			}
			if gotFiles := slices.Sorted(mapKeys(got)); !slices.Equal(gotFiles, sum1.Files) {
				t.Errorf("Summary.Files = %d names, files on disk = %d", len(sum1.Files), len(gotFiles))
			}
			other := tt.opt
			other.Seed++
			dir3, _ := mustWrite(t, other)
			if fileHashes(t, dir3)["manifest.json"] == want["manifest.json"] {
				t.Errorf("seed %d and %d wrote the same bundle", tt.opt.Seed, other.Seed)
			}
		})
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestWriteZipIsDeterministic(t *testing.T) {
	opt := sampleexport.Options{Matters: 25, Seed: 3, Messy: true, LargeDocumentBytes: testLarge}
	dir := t.TempDir()
	var sums []string
	for _, name := range []string{"a.zip", "b.zip"} {
		if _, err := sampleexport.WriteZip(filepath.Join(dir, name), opt); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sha256Hex(b))
	}
	if sums[0] != sums[1] {
		t.Fatalf("two zips differ: %s and %s", sums[0], sums[1])
	}
	opt.Seed++
	if _, err := sampleexport.WriteZip(filepath.Join(dir, "c.zip"), opt); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "c.zip"))
	if sha256Hex(b) == sums[0] {
		t.Errorf("a different seed wrote the same zip")
	}
}

func TestWriteZipMatchesWrite(t *testing.T) {
	opt := sampleexport.Options{Matters: 30, Seed: 5, Format: sampleexport.FormatXLSX, LargeDocumentBytes: testLarge}
	dir, sum := mustWrite(t, opt)
	want := fileHashes(t, dir)
	zpath := filepath.Join(t.TempDir(), "bundle.zip")
	zsum, err := sampleexport.WriteZip(zpath, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(zsum.Files, sum.Files) {
		t.Errorf("WriteZip Files differ from Write's")
	}
	zr, err := zip.OpenReader(zpath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(sampleexport.DefaultNow) {
			t.Errorf("%s: modified %v, want %v", f.Name, f.Modified, sampleexport.DefaultNow)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256Hex(b); got != want[f.Name] {
			t.Errorf("%s: zip content differs from Write's", f.Name)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("zip entries not sorted")
	}
	if !slices.Equal(names, sum.Files) {
		t.Errorf("zip entries = %d names, want the %d files of the bundle", len(names), len(sum.Files))
	}
	if !slices.Contains(names, "manifest.json") {
		t.Errorf("no manifest.json at the zip's root")
	}
}

func TestManifestMatchesFiles(t *testing.T) {
	tests := []struct {
		name string
		opt  sampleexport.Options
	}{
		{"csv", sampleexport.Options{Matters: 60, Seed: 1}},
		{"ndjson", sampleexport.Options{Matters: 60, Seed: 1, Format: sampleexport.FormatNDJSON}},
		{"xlsx", sampleexport.Options{Matters: 60, Seed: 1, Format: sampleexport.FormatXLSX}},
		{"mixed", sampleexport.Options{Matters: 60, Seed: 1, Format: sampleexport.FormatMixed}},
		{"messy csv", sampleexport.Options{Matters: 60, Seed: 1, Messy: true}},
		{"messy ndjson", sampleexport.Options{Matters: 60, Seed: 1, Messy: true, Format: sampleexport.FormatNDJSON}},
		{"messy xlsx", sampleexport.Options{Matters: 60, Seed: 1, Messy: true, Format: sampleexport.FormatXLSX}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, sum := mustWrite(t, tt.opt)
			m := readManifest(t, dir)
			if m.Format != "perfectportal-export" || m.Version != 1 || m.ExportID != "2026-11-20-full" ||
				m.ExportedAt != "2026-11-20T17:00:00Z" || m.Firm != "Example Conveyancing LLP" || m.Encoding != "utf-8" {
				t.Errorf("manifest header = %+v", m)
			}
			seen := map[string]bool{}
			for name, mf := range m.Files {
				file, sheet, isSheet := strings.Cut(name, "#")
				if isSheet {
					if mf.SHA256 != "" || mf.Rows == nil {
						t.Errorf("%s: want rows and no sha256, got %+v", name, mf)
						continue
					}
					f, err := excelize.OpenFile(filepath.Join(dir, file))
					if err != nil {
						t.Fatal(err)
					}
					rows, err := f.GetRows(sheet)
					f.Close()
					if err != nil {
						t.Fatal(err)
					}
					if got := len(rows) - 1; got != *mf.Rows {
						t.Errorf("%s: %d rows in the sheet, manifest says %d", name, got, *mf.Rows)
					}
					checkRows(t, sum, sheet, *mf.Rows)
					seen[sheet] = true
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				if got := sha256Hex(b); got != mf.SHA256 {
					t.Errorf("%s: sha256 %s, manifest says %s", name, got, mf.SHA256)
				}
				if file == "export.xlsx" {
					if mf.Rows != nil {
						t.Errorf("export.xlsx: manifest has rows")
					}
					continue
				}
				table, ext, _ := strings.Cut(file, ".")
				var got int
				switch ext {
				case "csv":
					_, recs := readCSV(t, dir, file)
					got = len(recs)
				case "ndjson":
					_, objs := readNDJSON(t, filepath.Join(dir, file))
					got = len(objs)
				}
				if mf.Rows == nil || got != *mf.Rows {
					t.Errorf("%s: %d rows in the file, manifest says %v", name, got, mf.Rows)
					continue
				}
				checkRows(t, sum, table, got)
				seen[table] = true
			}
			for _, spec := range perfectportal.Schema {
				if !seen[spec.Name] {
					t.Errorf("table %s missing from the manifest", spec.Name)
				}
			}
		})
	}
}

func checkRows(t *testing.T, sum sampleexport.Summary, table string, rows int) {
	t.Helper()
	if sum.Rows[table] != rows {
		t.Errorf("Summary.Rows[%s] = %d, the file has %d", table, sum.Rows[table], rows)
	}
}

func TestTablesParse(t *testing.T) {
	dir, sum := mustWrite(t, sampleexport.Options{Matters: 80, Seed: 2})
	ndir, _ := mustWrite(t, sampleexport.Options{Matters: 80, Seed: 2, Format: sampleexport.FormatNDJSON})
	for _, spec := range perfectportal.Schema {
		t.Run(spec.Name, func(t *testing.T) {
			want := sampleexport.Columns(spec.Name)
			header, recs := readCSV(t, dir, spec.Name+".csv")
			if !slices.Equal(header, want) {
				t.Errorf("header = %q, want %q", header, want)
			}
			if len(recs) == 0 {
				t.Errorf("no rows")
			}
			if len(recs) != sum.Rows[spec.Name] {
				t.Errorf("%d rows, Summary says %d", len(recs), sum.Rows[spec.Name])
			}
			keys, objs := readNDJSON(t, filepath.Join(ndir, spec.Name+".ndjson"))
			if len(objs) != len(recs) {
				t.Errorf("ndjson has %d rows, csv %d", len(objs), len(recs))
			}
			for i, k := range keys {
				if !slices.Equal(k, want) {
					t.Fatalf("ndjson line %d keys = %q, want %q", i+1, k, want)
				}
			}
		})
	}
	// The same rows whatever the format: the NDJSON ids are the CSV ids.
	header, recs := readCSV(t, dir, "activities.csv")
	_, objs := readNDJSON(t, filepath.Join(ndir, "activities.ndjson"))
	for i, id := range column(t, header, recs, "activity_id") {
		if objs[i]["activity_id"] != id {
			t.Fatalf("ndjson row %d activity_id = %v, csv %s", i+1, objs[i]["activity_id"], id)
		}
	}
}

func TestCleanValues(t *testing.T) {
	dir, _ := mustWrite(t, sampleexport.Options{Matters: 200, Seed: 4})
	rfc := func(s string) bool {
		_, err := time.Parse(time.RFC3339, s)
		return err == nil && strings.HasSuffix(s, "Z")
	}
	date := func(s string) bool { _, err := time.Parse("2006-01-02", s); return err == nil }
	money := regexp.MustCompile(`^\d+\.\d\d$`).MatchString
	boolean := func(s string) bool { return s == "true" || s == "false" }
	tests := []struct {
		table, col string
		ok         func(string) bool
	}{
		{"matters", "created_at", rfc},
		{"matters", "updated_at", rfc},
		{"matters", "expected_completion_date", date},
		{"matters", "purchase_price", money},
		{"matters", "legal_fee", money},
		{"matters", "currency", func(s string) bool { return s == "GBP" }},
		{"matters", "status", func(s string) bool { return slices.Contains([]string{"open", "completed", "aborted", "on hold"}, s) }},
		{"matters", "key_stage", func(s string) bool {
			return slices.Contains([]string{"Instructed", "Searches", "Compliance", "Completion"}, s)
		}},
		{"matters", "custom.Tenure", func(s string) bool { return s == "Freehold" || s == "Leasehold" }},
		{"matters", "matter_number", regexp.MustCompile(`^CONV/20\d\d/\d{5}$`).MatchString},
		{"matters", "description", func(s string) bool { return s != "" }},
		{"key_stages", "entered_at", rfc},
		{"activities", "occurred_at", rfc},
		{"activities", "done", boolean},
		{"activities", "type", func(s string) bool {
			return slices.Contains([]string{"call", "email", "meeting", "sms", "task", "note"}, s)
		}},
		{"matter_clients", "is_lead", boolean},
		{"fee_earners", "active", boolean},
		{"templates", "active", boolean},
		{"documents", "uploaded_at", rfc},
		{"clients", "email", func(s string) bool { return s != "" }},
	}
	for _, tt := range tests {
		t.Run(tt.table+"."+tt.col, func(t *testing.T) {
			header, recs := readCSV(t, dir, tt.table+".csv")
			for i, v := range column(t, header, recs, tt.col) {
				if !tt.ok(v) {
					t.Fatalf("row %d: %s = %q", i+1, tt.col, v)
				}
			}
		})
	}
	t.Run("times before export", func(t *testing.T) {
		for _, tc := range [][2]string{{"matters", "created_at"}, {"matters", "updated_at"}, {"key_stages", "entered_at"},
			{"activities", "occurred_at"}, {"clients", "updated_at"}, {"documents", "uploaded_at"}} {
			header, recs := readCSV(t, dir, tc[0]+".csv")
			for _, v := range column(t, header, recs, tc[1]) {
				if ts, _ := time.Parse(time.RFC3339, v); !ts.Before(sampleexport.DefaultNow) {
					t.Fatalf("%s.%s = %s, not before the export", tc[0], tc[1], v)
				}
			}
		}
	})
	t.Run("key stages in order", func(t *testing.T) {
		header, recs := readCSV(t, dir, "key_stages.csv")
		ids, at := column(t, header, recs, "matter_id"), column(t, header, recs, "entered_at")
		mh, mrecs := readCSV(t, dir, "matters.csv")
		created := map[string]string{}
		mids, mcreated := column(t, mh, mrecs, "matter_id"), column(t, mh, mrecs, "created_at")
		for i, id := range mids {
			created[id] = mcreated[i]
		}
		for i := range ids {
			if at[i] < created[ids[i]] {
				t.Fatalf("%s entered a stage at %s, before it was created at %s", ids[i], at[i], created[ids[i]])
			}
			if i > 0 && ids[i] == ids[i-1] && at[i] < at[i-1] {
				t.Fatalf("%s: stages out of order at row %d", ids[i], i+1)
			}
		}
	})
	t.Run("documents match files", func(t *testing.T) {
		header, recs := readCSV(t, dir, "documents.csv")
		paths, sums := column(t, header, recs, "path"), column(t, header, recs, "sha256")
		for i, p := range paths {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
			if err != nil {
				t.Fatal(err)
			}
			if sha256Hex(b) != sums[i] {
				t.Fatalf("%s: sha256 does not match", p)
			}
		}
	})
}

var (
	postcodeRE = regexp.MustCompile(`^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}$`)
	// Ofcom's drama ranges, as 11 digits.
	dramaRE      = regexp.MustCompile(`^(07700900\d{3}|020794600\d{2}|020794609\d{2}|0113496\d{4}|0161496\d{4}|02079460\d{3})$`)
	exampleEmail = regexp.MustCompile(`^[a-z0-9._'-]+@example\.(com|co\.uk|org)$`)
)

// normalisePhone keeps the digits and turns +44 into 0.
func normalisePhone(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "44") {
		d = "0" + d[2:]
	}
	return d
}

func TestRealism(t *testing.T) {
	for _, messy := range []bool{false, true} {
		dir, _ := mustWrite(t, sampleexport.Options{Matters: 300, Seed: 9, Messy: messy})
		name := map[bool]string{false: "clean", true: "messy"}[messy]
		t.Run(name, func(t *testing.T) {
			header, recs := readCSV(t, dir, "clients.csv")
			pc := map[bool]string{false: "postcode", true: "Post Code"}[messy]
			for _, v := range column(t, header, recs, pc) {
				if !postcodeRE.MatchString(v) {
					t.Errorf("client postcode %q", v)
				}
			}
			mh, mrecs := readCSV(t, dir, "matters.csv")
			ppc := map[bool]string{false: "property_postcode", true: "Property Postcode"}[messy]
			for _, v := range column(t, mh, mrecs, ppc) {
				if !postcodeRE.MatchString(v) {
					t.Errorf("property postcode %q", v)
				}
			}
			em := map[bool]string{false: "email", true: "Email Address"}[messy]
			mob := map[bool]string{false: "mobile", true: "Mobile-Phone"}[messy]
			phoneCol := map[bool]string{false: "phone", true: "Phone"}[messy]
			phones := append(column(t, header, recs, phoneCol), column(t, header, recs, mob)...)
			rh, rrecs := readCSV(t, dir, "referrers.csv")
			phones = append(phones, column(t, rh, rrecs, "phone")...)
			for _, p := range phones {
				if p == "" || (messy && p == "0123") {
					continue
				}
				if n := normalisePhone(p); len(n) != 11 || !dramaRE.MatchString(n) {
					t.Errorf("phone %q (%s) is not in a drama range", p, n)
				}
			}
			emails := append(column(t, header, recs, em), column(t, rh, rrecs, "email")...)
			for _, e := range emails {
				e = strings.ToLower(strings.TrimSpace(e))
				if messy && (e == "" || !strings.Contains(e, ".") || strings.Contains(e, "@@") || strings.HasSuffix(e, "@example")) {
					continue
				}
				if !exampleEmail.MatchString(e) {
					t.Errorf("email %q is not at an example domain", e)
				}
			}
			fh, frecs := readCSV(t, dir, "fee_earners.csv")
			active := column(t, fh, frecs, "active")
			inactive := 0
			for i, e := range column(t, fh, frecs, "email") {
				if !strings.HasSuffix(e, "@example-law.co.uk") {
					t.Errorf("fee earner email %q", e)
				}
				if slices.Contains([]string{"false", "no", "N", "0", "No"}, active[i]) {
					inactive++
				}
			}
			if n := len(frecs); n < 6 || n > 10 || inactive != 1 {
				t.Errorf("%d fee earners, %d inactive; want 6–10 with one inactive", n, inactive)
			}
		})
	}
}

func TestMessyPlantsEveryProblem(t *testing.T) {
	codes := []string{"duplicate_identical", "duplicate_conflict", "shared_email", "orphan_activity",
		"orphan_matter_client", "orphan_key_stage", "missing_title", "missing_email", "invalid_email",
		"invalid_phone", "unknown_activity_type", "unknown_fee_earner", "document_missing", "document_checksum",
		"undeclared_cp1252", "declared_cp1252", "bom", "crlf", "ambiguous_hour", "stage_synonym"}
	for _, matters := range []int{10, 1000} {
		t.Run(strconv.Itoa(matters)+" matters", func(t *testing.T) {
			dir, sum := mustWrite(t, sampleexport.Options{Matters: matters, Seed: 11, Messy: true})
			for _, c := range codes {
				want := 1
				if c == "invalid_email" {
					want = 2
				}
				if matters >= 1000 && c != "undeclared_cp1252" && c != "declared_cp1252" && c != "bom" && c != "crlf" && c != "ambiguous_hour" {
					want = max(want, matters/400)
				}
				if got := sum.Planted[c]; got < want {
					t.Errorf("Planted[%s] = %d, want at least %d", c, got, want)
				}
			}
			checkMessyFiles(t, dir, sum)
		})
	}
}

func checkMessyFiles(t *testing.T, dir string, sum sampleexport.Summary) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b := read("clients.csv"); !bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		t.Errorf("clients.csv has no BOM")
	}
	if b := read("matters.csv"); bytes.Count(b, []byte("\r\n")) < sum.Rows["matters"]+1 {
		t.Errorf("matters.csv lines do not end in CRLF")
	}
	acts := read("activities.csv")
	if !bytes.Contains(acts, []byte{0xA3}) || bytes.Contains(acts, []byte("£")) {
		t.Errorf("activities.csv: want £ as the Windows-1252 byte 0xA3")
	}
	orgs := read("organisations.csv")
	if !bytes.Contains(orgs, []byte("Caf\xe9 Royal Ltd")) {
		t.Errorf("organisations.csv: no Windows-1252 \"Café Royal Ltd\"")
	}
	m := readManifest(t, dir)
	if got := m.Files["activities.csv"].Encoding; got != "windows-1252" {
		t.Errorf("manifest: activities.csv encoding %q, want windows-1252", got)
	}
	if got := m.Files["organisations.csv"].Encoding; got != "" {
		t.Errorf("manifest: organisations.csv encoding %q, want it undeclared", got)
	}

	mh, matters := readCSV(t, dir, "matters.csv")
	for _, h := range []string{"Case ID", "Matter Ref", "Matter Description", "Fee Earner", "Current Stage", "Created At"} {
		if !slices.Contains(mh, h) {
			t.Errorf("matters.csv: no %q header in %q", h, mh)
		}
	}
	ch, clients := readCSV(t, dir, "clients.csv")
	for _, h := range []string{" Forename", "Surname", "Email Address", "Post Code", "Mobile-Phone"} {
		if !slices.Contains(ch, h) {
			t.Errorf("clients.csv: no %q header", h)
		}
	}
	ah, acts2 := readCSV(t, dir, "activities.csv")
	if !slices.Contains(ah, "Activity Type") {
		t.Errorf("activities.csv: no \"Activity Type\" header")
	}

	// An identical duplicate matter row.
	rows := map[string]int{}
	for _, r := range matters {
		rows[strings.Join(r, "\x00")]++
	}
	if !hasValue(rows, 2) {
		t.Errorf("no identical duplicate matter row")
	}
	matterIDs := map[string]bool{}
	for _, id := range column(t, mh, matters, "Case ID") {
		matterIDs[id] = true
	}
	// UK local times, one in the repeated autumn hour.
	for _, v := range column(t, mh, matters, "Created At") {
		if _, err := time.Parse("02/01/2006 15:04", v); err != nil {
			t.Fatalf("matters Created At %q: %v", v, err)
		}
	}
	occurred := column(t, ah, acts2, "Occurred At")
	if !slices.ContainsFunc(occurred, func(s string) bool { return strings.HasSuffix(s, " 01:30") && strings.HasPrefix(s, "25/10/2026") }) {
		t.Errorf("no activity in the repeated hour of 25/10/2026")
	}
	if !slices.ContainsFunc(column(t, mh, matters, "Purchase Price"), func(s string) bool { return strings.HasPrefix(s, "£") && strings.Contains(s, ",") }) {
		t.Errorf("no purchase price like £1,234.50")
	}
	if !slices.Contains(column(t, mh, matters, "Matter Description"), "") {
		t.Errorf("no matter with an empty description")
	}

	// A conflicting duplicate client, and two ids sharing an email.
	ids, phones, emails := column(t, ch, clients, "Client ID"), column(t, ch, clients, "Phone"), column(t, ch, clients, "Email Address")
	firstPhone, conflict := map[string]string{}, false
	clientIDs := map[string]bool{}
	byEmail := map[string]map[string]bool{}
	for i, id := range ids {
		if p, ok := firstPhone[id]; ok && p != phones[i] {
			conflict = true
		}
		firstPhone[id] = phones[i]
		clientIDs[id] = true
		e := strings.ToLower(strings.TrimSpace(emails[i]))
		if byEmail[e] == nil {
			byEmail[e] = map[string]bool{}
		}
		byEmail[e][id] = true
	}
	if !conflict {
		t.Errorf("no conflicting duplicate client")
	}
	shared := false
	for e, ids := range byEmail {
		if e != "" && len(ids) > 1 {
			shared = true
		}
	}
	if !shared {
		t.Errorf("no two clients sharing an email")
	}
	if !slices.Contains(phones, "0123") {
		t.Errorf("no invalid phone")
	}

	// Orphans.
	if !slices.ContainsFunc(column(t, ah, acts2, "Matter ID"), func(id string) bool { return !matterIDs[id] }) {
		t.Errorf("no orphan activity")
	}
	if !slices.Contains(column(t, ah, acts2, "Activity Type"), "letter") {
		t.Errorf("no activity of unknown type")
	}
	mch, mcs := readCSV(t, dir, "matter_clients.csv")
	if !slices.ContainsFunc(column(t, mch, mcs, "client_id"), func(id string) bool { return !clientIDs[id] }) {
		t.Errorf("no orphan matter_clients row")
	}
	kh, ks := readCSV(t, dir, "key_stages.csv")
	if !slices.ContainsFunc(column(t, kh, ks, "matter_id"), func(id string) bool { return !matterIDs[id] }) {
		t.Errorf("no orphan key_stages row")
	}
	fh, fes := readCSV(t, dir, "fee_earners.csv")
	feIDs := column(t, fh, fes, "fee_earner_id")
	if !slices.ContainsFunc(column(t, mh, matters, "Fee Earner"), func(id string) bool { return !slices.Contains(feIDs, id) }) {
		t.Errorf("no matter with an unknown fee earner")
	}

	// A missing document and a corrupt one.
	dh, docs := readCSV(t, dir, "documents.csv")
	paths, sums := column(t, dh, docs, "path"), column(t, dh, docs, "sha256")
	missing, mismatched := 0, 0
	for i, p := range paths {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		switch {
		case os.IsNotExist(err):
			missing++
		case err != nil:
			t.Fatal(err)
		case sha256Hex(b) != sums[i]:
			mismatched++
		}
	}
	if missing != sum.Planted["document_missing"] || mismatched != sum.Planted["document_checksum"] {
		t.Errorf("%d missing and %d mismatched documents, Planted says %d and %d",
			missing, mismatched, sum.Planted["document_missing"], sum.Planted["document_checksum"])
	}
	if got, want := sum.Documents, len(docs)-missing; got != want {
		t.Errorf("Summary.Documents = %d, want %d", got, want)
	}
}

func hasValue(m map[string]int, v int) bool {
	for _, n := range m {
		if n == v {
			return true
		}
	}
	return false
}

func TestLargeDocuments(t *testing.T) {
	dir, sum := mustWrite(t, sampleexport.Options{Matters: 20, Seed: 6, LargeDocumentBytes: testLarge})
	header, docs := readCSV(t, dir, "documents.csv")
	sizes, paths := column(t, header, docs, "size_bytes"), column(t, header, docs, "path")
	var large []string
	for i, s := range sizes {
		if s == strconv.Itoa(testLarge) {
			large = append(large, paths[i])
		}
	}
	if len(large) != 2 {
		t.Fatalf("%d large documents, want 2", len(large))
	}
	var ratios []float64
	for _, p := range large {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != testLarge {
			t.Errorf("%s is %d bytes, want %d", p, len(b), testLarge)
		}
		var buf bytes.Buffer
		fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
		fw.Write(b)
		fw.Close()
		ratios = append(ratios, float64(buf.Len())/float64(len(b)))
	}
	if ratios[0] > 0.3 || ratios[1] < 0.95 {
		t.Errorf("compression ratios %v, want one compressible and one not", ratios)
	}
	if sum.DocumentBytes < 2*testLarge {
		t.Errorf("DocumentBytes = %d", sum.DocumentBytes)
	}

	_, small := mustWrite(t, sampleexport.Options{Matters: 10, Seed: 6})
	if small.DocumentBytes >= testLarge {
		t.Errorf("10 matters wrote %d document bytes; want no large document by default", small.DocumentBytes)
	}
	_, none := mustWrite(t, sampleexport.Options{Matters: 20, Seed: 6, LargeDocuments: -1})
	if none.DocumentBytes >= testLarge {
		t.Errorf("LargeDocuments -1 wrote %d document bytes", none.DocumentBytes)
	}
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		opt  sampleexport.Options
	}{
		{"unknown format", sampleexport.Options{Format: "parquet"}},
		{"negative matters", sampleexport.Options{Matters: -1}},
		{"negative size", sampleexport.Options{LargeDocumentBytes: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sampleexport.Write(t.TempDir(), tt.opt); err == nil {
				t.Errorf("Write(%+v) = nil error", tt.opt)
			}
		})
	}
}

func TestRowsPerMatter(t *testing.T) {
	_, sum := mustWrite(t, sampleexport.Options{Matters: 500, Seed: 8})
	total := 0
	for _, n := range sum.Rows {
		total += n
	}
	perMatter := float64(total) / 500
	if perMatter < 17 || perMatter > 23 {
		t.Errorf("%.1f rows per matter, want about 20", perMatter)
	}
	if sum.Rows["clients"] >= sum.Rows["matter_clients"] {
		t.Errorf("%d clients for %d matter_clients: want some clients on several matters", sum.Rows["clients"], sum.Rows["matter_clients"])
	}
}

func BenchmarkWrite(b *testing.B) {
	opt := sampleexport.Options{Matters: 1000, Seed: 1, LargeDocumentBytes: testLarge}
	rows := 0
	for b.Loop() {
		sum, err := sampleexport.Write(b.TempDir(), opt)
		if err != nil {
			b.Fatal(err)
		}
		rows = 0
		for _, n := range sum.Rows {
			rows += n
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
