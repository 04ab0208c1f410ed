package perfectportal

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
)

// writeBundle writes files (path -> content) into a new directory.
func writeBundle(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func mustOpen(t testing.TB, loc string) *Bundle {
	t.Helper()
	b, err := Open(context.Background(), loc)
	if err != nil {
		t.Fatalf("Open(%s): %v", loc, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// scanAll reads a table and returns its rows as canonical maps plus lines.
type scanned struct {
	line    int
	problem string
	blank   bool
	values  map[string]string
}

func scanAll(t testing.TB, b *Bundle, table string, aliases map[string]string) (TableFile, []Flag, ScanResult, []scanned) {
	t.Helper()
	ctx := context.Background()
	tf, flags, ok, err := b.Locate(ctx, table)
	if err != nil || !ok {
		t.Fatalf("Locate(%s) = ok %v, err %v", table, ok, err)
	}
	var rows []scanned
	spec, _ := Spec(table)
	res, err := b.Scan(ctx, tf, aliases, func(r *Row) error {
		v := map[string]string{}
		for _, c := range spec.Columns {
			if s := r.Get(c); s != "" {
				v[c] = s
			}
		}
		for k, s := range r.Custom() {
			v[CustomColumnPrefix+k] = s
		}
		rows = append(rows, scanned{line: r.Line, problem: r.Problem, blank: r.Blank, values: v})
		return nil
	})
	if err != nil {
		t.Fatalf("Scan(%s): %v", table, err)
	}
	return tf, flags, res, rows
}

func hasCode(flags []Flag, code string) bool {
	for _, f := range flags {
		if f.Code == code {
			return true
		}
	}
	return false
}

func TestScanCSV(t *testing.T) {
	csvText := "\ufeffCase ID,Matter Ref, Description ,Matter-Type,custom.Lender Ref,Shoe Size\r\n" +
		"M1,CONV/1,\"Purchase of 1 High St,\r\nLeeds\",purchase,LR-9,10\r\n" +
		"M2,CONV/2,\"Sale, \"\"quoted\"\"\",sale,,11\r\n" +
		",,,,,\r\n" +
		"M3,CONV/3,too,many,fields,here,extra\r\n"
	dir := writeBundle(t, map[string]string{"matters.csv": csvText})
	b := mustOpen(t, dir)
	aliases := map[string]string{"case_id": "matter_id", "matter_ref": "matter_number"}
	tf, flags, res, rows := scanAll(t, b, TableMatters, aliases)

	if tf.Format != FormatCSV || tf.Encoding != EncodingUTF8 {
		t.Errorf("format, encoding = %s, %s; want csv, utf-8", tf.Format, tf.Encoding)
	}
	if len(flags) != 0 {
		t.Errorf("Locate flags = %v; want none", flags)
	}
	if !hasCode(res.Flags, "unknown_column") {
		t.Errorf("header flags %v lack unknown_column for Shoe Size", res.Flags)
	}
	if res.Rows != 4 || len(rows) != 4 {
		t.Fatalf("rows = %d (%d delivered); want 4", res.Rows, len(rows))
	}
	tests := []struct {
		name    string
		got     scanned
		line    int
		want    map[string]string
		problem bool
		blank   bool
	}{
		{"multi-line quoted field keeps its line break (as LF) and starts at line 2", rows[0], 2,
			map[string]string{"matter_id": "M1", "matter_number": "CONV/1", "description": "Purchase of 1 High St,\nLeeds", "matter_type": "purchase", "custom.Lender Ref": "LR-9"}, false, false},
		{"escaped quotes, line after a two-line record", rows[1], 4,
			map[string]string{"matter_id": "M2", "matter_number": "CONV/2", "description": `Sale, "quoted"`, "matter_type": "sale"}, false, false},
		{"a row of empty fields is blank", rows[2], 5, map[string]string{}, false, true},
		{"too many fields is a problem", rows[3], 6, nil, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.line != tc.line {
				t.Errorf("line = %d; want %d", tc.got.line, tc.line)
			}
			if (tc.got.problem != "") != tc.problem {
				t.Errorf("problem = %q; want problem %v", tc.got.problem, tc.problem)
			}
			if tc.got.blank != tc.blank {
				t.Errorf("blank = %v; want %v", tc.got.blank, tc.blank)
			}
			if tc.want != nil {
				for k, v := range tc.want {
					if tc.got.values[k] != v {
						t.Errorf("%s = %q; want %q", k, tc.got.values[k], v)
					}
				}
				if len(tc.got.values) != len(tc.want) {
					t.Errorf("values = %v; want %v", tc.got.values, tc.want)
				}
			}
		})
	}
}

func TestScanEncodings(t *testing.T) {
	// "Café £5" in Windows-1252.
	cp := "client_id,first_name,notes\nC1,Caf\xe9 \xa35,x\n"
	utf := "client_id,first_name\nC1,Café £5\n"
	tests := []struct {
		name     string
		files    map[string]string
		wantEnc  Encoding
		wantFlag string
	}{
		{"undeclared Windows-1252 is detected and flagged", map[string]string{"clients.csv": cp, "matters.csv": "matter_id\n"}, EncodingWindows1252, "undeclared_encoding"},
		{"declared per file", map[string]string{"clients.csv": cp, "matters.csv": "matter_id\n",
			"manifest.json": `{"format":"perfectportal-export","version":1,"files":{"clients.csv":{"sha256":"` + sum(cp) + `","rows":1,"encoding":"windows-1252"}}}`}, EncodingWindows1252, ""},
		{"declared for the bundle", map[string]string{"clients.csv": cp, "matters.csv": "matter_id\n",
			"manifest.json": `{"format":"perfectportal-export","version":1,"encoding":"cp1252","files":{"clients.csv":{"sha256":"` + sum(cp) + `","rows":1}}}`}, EncodingWindows1252, ""},
		{"UTF-8 without BOM", map[string]string{"clients.csv": utf, "matters.csv": "matter_id\n"}, EncodingUTF8, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustOpen(t, writeBundle(t, tc.files))
			tf, flags, _, rows := scanAll(t, b, TableClients, nil)
			if tf.Encoding != tc.wantEnc {
				t.Errorf("encoding = %s; want %s", tf.Encoding, tc.wantEnc)
			}
			if got := hasCode(flags, "undeclared_encoding"); got != (tc.wantFlag != "") {
				t.Errorf("flags = %v; want undeclared_encoding %v", flags, tc.wantFlag != "")
			}
			if got := rows[0].values["first_name"]; got != "Café £5" {
				t.Errorf("first_name = %q; want %q", got, "Café £5")
			}
		})
	}
}

func TestManifestChecks(t *testing.T) {
	body := "matter_id,description\nM1,a\nM2,b\n"
	tests := []struct {
		name          string
		manifest      string
		wantUntrusted bool
		wantFlag      string
		wantRows      *int
	}{
		{"agreeing manifest", `{"format":"perfectportal-export","version":1,"files":{"matters.csv":{"sha256":"` + sum(body) + `","rows":2}}}`, false, "", ptr(2)},
		{"checksum disagrees", `{"format":"perfectportal-export","version":1,"files":{"matters.csv":{"sha256":"` + sum("other") + `","rows":2}}}`, true, "checksum_mismatch", ptr(2)},
		{"file not listed", `{"format":"perfectportal-export","version":1,"files":{}}`, false, "not_in_manifest", nil},
		{"names matched without case", `{"format":"perfectportal-export","version":1,"files":{"MATTERS.CSV":{"sha256":"` + strings.ToUpper(sum(body)) + `","rows":5}}}`, false, "", ptr(5)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustOpen(t, writeBundle(t, map[string]string{"matters.csv": body, "manifest.json": tc.manifest}))
			tf, flags, ok, err := b.Locate(context.Background(), TableMatters)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			if tf.Untrusted != tc.wantUntrusted {
				t.Errorf("untrusted = %v; want %v", tf.Untrusted, tc.wantUntrusted)
			}
			if tc.wantFlag != "" && !hasCode(flags, tc.wantFlag) {
				t.Errorf("flags %v lack %s", flags, tc.wantFlag)
			}
			if tc.wantFlag == "" && len(flags) > 0 {
				t.Errorf("flags = %v; want none", flags)
			}
			if (tf.ManifestRows == nil) != (tc.wantRows == nil) || tf.ManifestRows != nil && *tf.ManifestRows != *tc.wantRows {
				t.Errorf("manifest rows = %v; want %v", tf.ManifestRows, tc.wantRows)
			}
		})
	}
}

func ptr(n int) *int { return &n }

func TestParseManifestErrors(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"not JSON", `{"format":`, "not valid JSON"},
		{"other format", `{"format":"leap-export"}`, "not a Perfect Portal export"},
		{"future version", `{"format":"perfectportal-export","version":2}`, "version 2"},
		{"unknown encoding", `{"encoding":"ebcdic"}`, "encoding"},
		{"negative rows", `{"files":{"a.csv":{"rows":-1}}}`, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseManifest(%s) error = %v; want one mentioning %q", tc.json, err, tc.want)
			}
		})
	}
}

func TestScanNDJSON(t *testing.T) {
	nd := `{"Activity ID":"A1","matter_id":"M1","type":"call","occurred_at":"2026-03-01T09:30:00Z","duration_minutes":12,"done":true,"colour":"red"}` + "\n" +
		"\n" +
		`{"activity_id":"A2","matter_id":"M1","type":"note","body":null,"occurred_at":"01/07/2026 09:30","tags":["a","b"]}` + "\n" +
		`not json` + "\n" +
		`{"activity_id":"A4","matter_id":"M1","type":"note","occurred_at":"x","meta":{"k":1}}`
	b := mustOpen(t, writeBundle(t, map[string]string{"activities.ndjson": nd, "matters.csv": "matter_id\nM1\n"}))
	tf, _, res, rows := scanAll(t, b, TableActivities, map[string]string{})
	if tf.Format != FormatNDJSON {
		t.Fatalf("format = %s", tf.Format)
	}
	if len(rows) != 4 || res.Rows != 4 {
		t.Fatalf("rows = %d; want 4 (the blank line is not a record)", len(rows))
	}
	if got, want := rows[0].values["duration_minutes"], "12"; got != want {
		t.Errorf("number = %q; want %q", got, want)
	}
	if got, want := rows[0].values["done"], "true"; got != want {
		t.Errorf("bool = %q; want %q", got, want)
	}
	if got, want := rows[0].values["activity_id"], "A1"; got != want {
		t.Errorf("key normalised: activity_id = %q; want %q", got, want)
	}
	if rows[1].line != 3 || rows[2].line != 4 || rows[3].line != 5 {
		t.Errorf("lines = %d, %d, %d; want 3, 4, 5", rows[1].line, rows[2].line, rows[3].line)
	}
	if rows[2].problem == "" || rows[3].problem == "" {
		t.Errorf("problems = %q, %q; want both (not JSON, nested object)", rows[2].problem, rows[3].problem)
	}
	if !hasCode(res.Flags, "unknown_column") {
		t.Errorf("flags %v lack unknown_column for colour/tags", res.Flags)
	}
}

func TestScanXLSX(t *testing.T) {
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "Matters")
	f.SetSheetRow("Matters", "A1", &[]any{"Matter ID", "Created At", "Legal Fee", "Expected Completion Date"})
	f.SetSheetRow("Matters", "A2", &[]any{"M1", time.Date(2026, 7, 1, 9, 30, 0, 0, time.UTC), 1234.5, time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)})
	f.SetSheetRow("Matters", "A4", &[]any{"M2", "01/03/2026 09:30", "£1,000.00", "24/12/2026"})
	f.NewSheet("key_stages")
	f.SetSheetRow("key_stages", "A1", &[]any{"matter_id", "stage", "entered_at"})
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	b := mustOpen(t, writeBundle(t, map[string]string{WorkbookName: buf.String()}))
	tf, _, res, rows := scanAll(t, b, TableMatters, nil)
	if tf.Format != FormatXLSX || tf.File != "export.xlsx#Matters" {
		t.Fatalf("table file = %s %s", tf.Format, tf.File)
	}
	if res.Rows != 2 {
		t.Fatalf("rows = %d; want 2 (the empty row 3 is layout)", res.Rows)
	}
	if rows[0].line != 2 || rows[1].line != 4 {
		t.Errorf("lines = %d, %d; want the sheet's row numbers 2, 4", rows[0].line, rows[1].line)
	}
	// Excel keeps a date as a serial number; the record decoder reads it
	// as London local time.
	var got []Matter
	b.Scan(context.Background(), tf, nil, func(r *Row) error {
		m, issues := DecodeMatter(r)
		if len(issues) > 0 {
			t.Errorf("line %d issues: %v", r.Line, issues)
		}
		got = append(got, m)
		return nil
	})
	if want := time.Date(2026, 7, 1, 8, 30, 0, 0, time.UTC); got[0].CreatedAt == nil || !got[0].CreatedAt.Equal(want) {
		t.Errorf("serial created_at = %v; want %v (09:30 BST)", got[0].CreatedAt, want)
	}
	if got[0].LegalFee == nil || *got[0].LegalFee != 123450 {
		t.Errorf("legal fee = %v; want 1234.50", got[0].LegalFee)
	}
	if got[0].ExpectedCompletion == nil || got[0].ExpectedCompletion.String() != "2026-12-24" {
		t.Errorf("serial date = %v; want 2026-12-24", got[0].ExpectedCompletion)
	}
	if want := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC); got[1].CreatedAt == nil || !got[1].CreatedAt.Equal(want) {
		t.Errorf("text created_at = %v; want %v", got[1].CreatedAt, want)
	}
	if _, _, ok, _ := b.Locate(context.Background(), TableKeyStages); !ok {
		t.Errorf("key_stages sheet (lower case) not found")
	}
	if _, _, ok, _ := b.Locate(context.Background(), TableActivities); ok {
		t.Errorf("activities found in a workbook without that sheet")
	}
}

func TestTableInSeveralFiles(t *testing.T) {
	b := mustOpen(t, writeBundle(t, map[string]string{"matters.csv": "matter_id\nM1\n", "matters.ndjson": `{"matter_id":"M1"}`}))
	tf, flags, _, _ := b.Locate(context.Background(), TableMatters)
	if tf.Format != FormatCSV || !hasCode(flags, "table_in_several_files") {
		t.Errorf("got %s with flags %v; want csv and table_in_several_files", tf.Format, flags)
	}
}

func zipBundle(t testing.TB, entries map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "export.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, content := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func TestOpenZip(t *testing.T) {
	t.Run("bundle zipped with its folder", func(t *testing.T) {
		b := mustOpen(t, zipBundle(t, map[string]string{"export-2026/matters.csv": "matter_id\nM1\n", "export-2026/documents/M1/a.pdf": "%PDF"}))
		_, _, res, _ := scanAll(t, b, TableMatters, nil)
		if res.Rows != 1 {
			t.Errorf("rows = %d; want 1", res.Rows)
		}
		if size, ok := b.Stat("documents/M1/a.pdf"); !ok || size != 4 {
			t.Errorf("Stat(document) = %d, %v; want 4, true", size, ok)
		}
	})
	for _, bad := range []string{"../evil.csv", "/etc/passwd", "a/../../evil"} {
		t.Run("refuses "+bad, func(t *testing.T) {
			_, err := Open(context.Background(), zipBundle(t, map[string]string{"matters.csv": "matter_id\n", bad: "x"}))
			if err == nil || !strings.Contains(err.Error(), "refused") {
				t.Errorf("Open = %v; want a refusal naming the entry", err)
			}
		})
	}
	t.Run("not a zip", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "x.zip")
		os.WriteFile(p, []byte("nope"), 0o644)
		if _, err := Open(context.Background(), p); err == nil || !strings.Contains(err.Error(), "not a readable zip") {
			t.Errorf("Open = %v", err)
		}
	})
}

func TestOpenNotABundle(t *testing.T) {
	_, err := Open(context.Background(), writeBundle(t, map[string]string{"readme.txt": "hi"}))
	if !errors.Is(err, ErrNotABundle) {
		t.Errorf("Open = %v; want ErrNotABundle", err)
	}
	_, err = Open(context.Background(), filepath.Join(t.TempDir(), "missing"))
	if err == nil {
		t.Errorf("Open(missing) = nil error")
	}
}

func TestOpenStore(t *testing.T) {
	ctx := context.Background()
	store := memblob.New()
	store.Put(ctx, "exports/m1/e1/matters.csv", strings.NewReader("matter_id\nM1\nM2\n"))
	store.Put(ctx, "exports/m1/e1/manifest.json", strings.NewReader(`{"format":"perfectportal-export","version":1,"export_id":"e1"}`))
	store.Put(ctx, "exports/m1/e2/matters.csv", strings.NewReader("matter_id\nX\n"))
	b, err := OpenStore(ctx, store, "exports/m1/e1")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Manifest == nil || b.Manifest.ExportID != "e1" {
		t.Errorf("manifest = %+v", b.Manifest)
	}
	_, _, res, _ := scanAll(t, b, TableMatters, nil)
	if res.Rows != 2 {
		t.Errorf("rows = %d; want 2 (not the sibling export's)", res.Rows)
	}

	// A zip in the store.
	zp := zipBundle(t, map[string]string{"matters.csv": "matter_id\nZ1\n"})
	data, _ := os.ReadFile(zp)
	store.Put(ctx, "exports/m1/e3.zip", bytes.NewReader(data))
	bz, err := OpenStore(ctx, store, "exports/m1/e3.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer bz.Close()
	_, _, res, _ = scanAll(t, bz, TableMatters, nil)
	if res.Rows != 1 {
		t.Errorf("zip rows = %d; want 1", res.Rows)
	}
}

func TestCleanPath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"documents/M1/a.pdf", "documents/M1/a.pdf", true},
		{`documents\M1\a.pdf`, "documents/M1/a.pdf", true},
		{"./documents/a.pdf", "documents/a.pdf", true},
		{"../a.pdf", "", false},
		{"documents/../../a.pdf", "", false},
		{"/etc/passwd", "", false},
		{`C:\x.pdf`, "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		got, err := CleanPath(tc.in)
		if (err == nil) != tc.ok || got != tc.want && tc.ok {
			t.Errorf("CleanPath(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestFlagJSONShape(t *testing.T) {
	data, _ := json.Marshal(Flag{Severity: SeverityWarning, Code: "x", Table: "clients", Line: 3, SourceID: "C1", Message: "m"})
	var m map[string]any
	json.Unmarshal(data, &m)
	for _, k := range []string{"severity", "code", "table", "line", "source_id", "message"} {
		if _, ok := m[k]; !ok {
			t.Errorf("flag JSON %s lacks %q", data, k)
		}
	}
}
