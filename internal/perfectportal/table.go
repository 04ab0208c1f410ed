package perfectportal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// WorkbookName is the one workbook a bundle may hold, a sheet per table.
const WorkbookName = "export.xlsx"

// Format is how a table's rows are written.
type Format string

// The formats a table may come in.
const (
	FormatCSV    Format = "csv"
	FormatNDJSON Format = "ndjson"
	FormatXLSX   Format = "xlsx"
)

// TableFile says where a table's rows come from and what was found when its
// file was checked against the manifest.
type TableFile struct {
	Table string `json:"table"`
	// File is the file's path in the bundle; for a workbook sheet,
	// "export.xlsx#<sheet>".
	File     string   `json:"file"`
	Format   Format   `json:"format"`
	Encoding Encoding `json:"encoding,omitempty"`
	SHA256   string   `json:"sha256,omitempty"`
	Size     int64    `json:"size"`
	// ManifestRows is the row count the manifest gives, if it gives one.
	ManifestRows *int `json:"manifest_rows,omitempty"`
	// Untrusted is set when the file disagrees with the manifest: its rows
	// are counted but none of them may be used.
	Untrusted bool `json:"untrusted,omitempty"`

	path  string // file path inside the bundle
	sheet string // sheet name for a workbook
}

// Locate finds the file that holds a table and checks it: its checksum
// against the manifest and its text encoding. It returns ok=false when the
// bundle has no such table (no rows of that kind). The flags say what was
// odd; an error-severity flag marks the file untrusted. The error is for a
// file that cannot be read at all.
func (b *Bundle) Locate(ctx context.Context, table string) (tf TableFile, flags []Flag, ok bool, err error) {
	var candidates []TableFile
	for _, ext := range []string{".csv", ".ndjson", ".jsonl"} {
		if f, found := b.files.get(table + ext); found {
			format := FormatCSV
			if ext != ".csv" {
				format = FormatNDJSON
			}
			candidates = append(candidates, TableFile{Table: table, File: f.Name, Format: format, Size: f.Size, path: f.Name})
		}
	}
	if b.has(WorkbookName) {
		wb, err := b.workbook(ctx)
		if err != nil {
			return tf, nil, false, err
		}
		for _, sh := range wb.GetSheetList() {
			if strings.EqualFold(strings.TrimSpace(sh), table) {
				f, _ := b.files.get(WorkbookName)
				candidates = append(candidates, TableFile{Table: table, File: f.Name + "#" + sh, Format: FormatXLSX, Size: f.Size, path: f.Name, sheet: sh})
				break
			}
		}
	}
	if len(candidates) == 0 {
		return tf, nil, false, nil
	}
	tf = candidates[0]
	if len(candidates) > 1 {
		names := make([]string, len(candidates))
		for i, c := range candidates {
			names[i] = c.File
		}
		flags = append(flags, Flag{Severity: SeverityError, Code: "table_in_several_files", Table: table, File: tf.File,
			Message: fmt.Sprintf("the table is in %s; using %s and ignoring the rest: keep one and re-export", strings.Join(names, ", "), tf.File)})
	}

	facts, err := b.sniff(ctx, tf.path)
	if err != nil {
		return tf, flags, true, fmt.Errorf("read %s: %w", tf.path, err)
	}
	tf.SHA256 = facts.SHA256
	mf, inManifest := b.Manifest.file(tf.path)
	if tf.Format == FormatXLSX {
		if sheetEntry, ok := b.Manifest.file(tf.File); ok && sheetEntry.Rows != nil {
			tf.ManifestRows = sheetEntry.Rows
		}
	} else if inManifest {
		tf.ManifestRows = mf.Rows
	}
	switch {
	case b.Manifest == nil:
	case !inManifest:
		flags = append(flags, Flag{Severity: SeverityWarning, Code: "not_in_manifest", Table: table, File: tf.File,
			Message: "the file is not listed in manifest.json, so its checksum and row count cannot be checked"})
	case mf.SHA256 != "" && !strings.EqualFold(mf.SHA256, facts.SHA256):
		tf.Untrusted = true
		flags = append(flags, Flag{Severity: SeverityError, Code: "checksum_mismatch", Table: table, File: tf.File,
			Message: fmt.Sprintf("sha256 is %s but manifest.json says %s: the file changed or is incomplete since export; none of its rows will be used until it is re-exported or the manifest corrected", facts.SHA256, strings.ToLower(mf.SHA256))})
	}

	if tf.Format != FormatXLSX {
		declared := Encoding("")
		if mf.Encoding != "" {
			declared, _ = ParseEncoding(mf.Encoding)
		} else if b.Manifest != nil && b.Manifest.Encoding != "" {
			declared, _ = ParseEncoding(b.Manifest.Encoding)
		}
		switch {
		case declared == EncodingWindows1252:
			tf.Encoding = EncodingWindows1252
		case facts.ValidUTF8:
			tf.Encoding = EncodingUTF8
		default:
			tf.Encoding = EncodingWindows1252
			flags = append(flags, Flag{Severity: SeverityWarning, Code: "undeclared_encoding", Table: table, File: tf.File,
				Message: "the file is not valid UTF-8 and its encoding is not declared; read as Windows-1252: check £ signs and accented letters, or declare \"encoding\" for it in manifest.json"})
		}
	}
	return tf, flags, true, nil
}

// sniff reads a file once for its checksum and encoding facts; a workbook
// holding many tables is read once, not once per table.
func (b *Bundle) sniff(ctx context.Context, name string) (FileFacts, error) {
	if f, ok := b.facts[name]; ok {
		return f, nil
	}
	rc, err := b.OpenFile(ctx, name)
	if err != nil {
		return FileFacts{}, err
	}
	defer rc.Close()
	f, err := Sniff(rc)
	if err != nil {
		return f, err
	}
	if b.facts == nil {
		b.facts = map[string]FileFacts{}
	}
	b.facts[name] = f
	return f, nil
}

func (b *Bundle) workbook(ctx context.Context) (*excelize.File, error) {
	if b.wb != nil {
		return b.wb, nil
	}
	rc, err := b.OpenFile(ctx, WorkbookName)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	wb, err := excelize.OpenReader(rc)
	if err != nil {
		return nil, fmt.Errorf("open %s: not a readable workbook (%v); save it again as .xlsx or export CSV files", WorkbookName, err)
	}
	b.wb = wb
	return wb, nil
}

// Header maps a file's columns to the canonical columns of its table.
type Header struct {
	// Columns holds, per position, the canonical column ("" for one that
	// is not used).
	Columns []string
	// Raw holds the headers as written.
	Raw   []string
	index map[string]int
	// Custom lists the custom.<Name> columns' names, as written.
	Custom []string
	sorted []string
}

func newHeader() *Header { return &Header{index: map[string]int{}} }

// add maps one more column; it returns the canonical name ("" when unknown
// or a repeat) and whether the column repeats one already seen.
func (h *Header) add(raw string, spec TableSpec, aliases map[string]string) (canon string, repeat bool) {
	canon = resolveColumn(raw, spec, aliases)
	if canon != "" {
		if _, dup := h.index[canon]; dup {
			repeat, canon = true, ""
		} else {
			h.index[canon] = len(h.Columns)
			if strings.HasPrefix(canon, CustomColumnPrefix) {
				h.Custom = append(h.Custom, canon[len(CustomColumnPrefix):])
			}
		}
	}
	h.Columns = append(h.Columns, canon)
	h.Raw = append(h.Raw, raw)
	return canon, repeat
}

// resolveColumn returns the canonical column a heading means, or "".
func resolveColumn(raw string, spec TableSpec, aliases map[string]string) string {
	n := NormalizeHeader(raw)
	if c, ok := aliases[n]; ok {
		n = c
	}
	switch {
	case spec.HasColumn(n):
		return n
	case spec.Name == TableMatters && strings.HasPrefix(n, CustomColumnPrefix) && len(n) > len(CustomColumnPrefix):
		return n
	}
	return ""
}

// Has reports whether the file has the canonical column.
func (h *Header) Has(col string) bool { _, ok := h.index[col]; return ok }

// Row is one record of a table, valid only during the callback that
// receives it: its values are reused for the next row.
type Row struct {
	Table  string
	File   string
	Format Format
	// Line is the 1-based line where the record starts, the header being line 1.
	Line int
	// Problem is set when the record itself is malformed (wrong number of
	// fields, not a JSON object); its values cannot be trusted.
	Problem string
	// Blank is set when every value of the record is empty.
	Blank  bool
	values []string
	h      *Header
}

// Get returns the value of a canonical column, trimmed; "" when the file has
// no such column.
func (r *Row) Get(col string) string {
	i, ok := r.h.index[col]
	if !ok || i >= len(r.values) {
		return ""
	}
	return strings.TrimSpace(r.values[i])
}

// Custom returns the row's custom.<Name> values by name, omitting empty ones.
func (r *Row) Custom() map[string]string {
	if len(r.h.Custom) == 0 {
		return nil
	}
	var out map[string]string
	for _, name := range r.h.Custom {
		if v := r.Get(CustomColumnPrefix + name); v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[name] = v
		}
	}
	return out
}

// Hash fingerprints the row's canonical values, so that identical
// duplicates can be told from conflicting ones whatever the column order.
func (r *Row) Hash() uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	mix := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
	}
	for _, col := range r.h.sortedColumns() {
		mix(col)
		h ^= 0x1e
		h *= prime
		mix(r.Get(col))
		h ^= 0x1f
		h *= prime
	}
	return h
}

// sortedColumns lists the header's canonical columns in name order, worked
// out once per header.
func (h *Header) sortedColumns() []string {
	if len(h.sorted) != len(h.index) {
		h.sorted = h.sorted[:0]
		for c := range h.index {
			h.sorted = append(h.sorted, c)
		}
		sort.Strings(h.sorted)
	}
	return h.sorted
}

// ScanResult sums up one pass over a table.
type ScanResult struct {
	Header *Header
	// Rows counts the records read (blank lines between records are not
	// records; a record of empty fields is).
	Rows int
	// Flags are findings about the file's header.
	Flags []Flag
}

// ErrStop may be returned by a Scan callback to end the scan early without error.
var ErrStop = errors.New("stop scan")

// Scan streams the rows of a located table to fn, in file order. aliases
// maps normalised header spellings to canonical columns (see
// mapping.Config.HeaderAliases). It returns an error when the file cannot be
// read on; rows before that point have been delivered.
func (b *Bundle) Scan(ctx context.Context, tf TableFile, aliases map[string]string, fn func(*Row) error) (ScanResult, error) {
	spec, ok := Spec(tf.Table)
	if !ok {
		return ScanResult{}, fmt.Errorf("scan %s: unknown table %q", tf.File, tf.Table)
	}
	var res ScanResult
	var err error
	switch tf.Format {
	case FormatCSV:
		res, err = b.scanCSV(ctx, tf, spec, aliases, fn)
	case FormatNDJSON:
		res, err = b.scanNDJSON(ctx, tf, spec, aliases, fn)
	case FormatXLSX:
		res, err = b.scanXLSX(ctx, tf, spec, aliases, fn)
	default:
		return res, fmt.Errorf("scan %s: unknown format %q", tf.File, tf.Format)
	}
	if errors.Is(err, ErrStop) {
		err = nil
	}
	return res, err
}

// readHeader maps a header row to canonical columns and reports what was
// odd about it.
func readHeader(tf TableFile, spec TableSpec, aliases map[string]string, raw []string) (*Header, []Flag) {
	h := newHeader()
	var repeats, unknown []string
	for _, r := range raw {
		canon, repeat := h.add(r, spec, aliases)
		switch {
		case repeat:
			repeats = append(repeats, strings.TrimSpace(r))
		case canon == "" && strings.TrimSpace(r) != "":
			unknown = append(unknown, strings.TrimSpace(r))
		}
	}
	return h, headerFlags(tf, spec, h, repeats, unknown)
}

// headerFlags reports unknown, repeated and missing columns.
func headerFlags(tf TableFile, spec TableSpec, h *Header, repeats, unknown []string) []Flag {
	var flags []Flag
	for _, r := range repeats {
		flags = append(flags, Flag{Severity: SeverityWarning, Code: "repeated_column", Table: tf.Table, File: tf.File, Line: 1,
			Message: fmt.Sprintf("column %q repeats another that means the same; only the first is read", r)})
	}
	if len(unknown) > 0 {
		flags = append(flags, Flag{Severity: SeverityInfo, Code: "unknown_column", Table: tf.Table, File: tf.File, Line: 1,
			Message: fmt.Sprintf("columns not in format 1 are ignored: %s (add an alias under headers.%s in the mapping configuration if one means a known column)", quoteList(unknown), tf.Table)})
	}
	var missingReq, missing []string
	for _, c := range spec.Columns {
		if h.Has(c) {
			continue
		}
		if contains(spec.Required, c) {
			missingReq = append(missingReq, c)
		} else {
			missing = append(missing, c)
		}
	}
	if len(missingReq) > 0 {
		flags = append(flags, Flag{Severity: SeverityError, Code: "missing_required_column", Table: tf.Table, File: tf.File, Line: 1,
			Message: fmt.Sprintf("required columns are missing: %s; every row is quarantined. Add the column or an alias for its heading in the mapping configuration", quoteList(missingReq))})
	}
	if len(missing) > 0 {
		flags = append(flags, Flag{Severity: SeverityInfo, Code: "missing_column", Table: tf.Table, File: tf.File, Line: 1,
			Message: fmt.Sprintf("columns absent, read as empty: %s", quoteList(missing))})
	}
	return flags
}

// MissingRequired lists the required columns a header lacks.
func (h *Header) MissingRequired(table string) []string {
	spec, _ := Spec(table)
	var out []string
	for _, c := range spec.Required {
		if !h.Has(c) {
			out = append(out, c)
		}
	}
	return out
}

func (b *Bundle) scanCSV(ctx context.Context, tf TableFile, spec TableSpec, aliases map[string]string, fn func(*Row) error) (ScanResult, error) {
	var res ScanResult
	rc, err := b.OpenFile(ctx, tf.path)
	if err != nil {
		return res, fmt.Errorf("read %s: %w", tf.File, err)
	}
	defer rc.Close()
	cr := csv.NewReader(bufio.NewReaderSize(NewTextReader(rc, tf.Encoding), 256<<10))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	rec, err := cr.Read()
	if err == io.EOF {
		res.Header = newHeader()
		res.Flags = append(res.Flags, Flag{Severity: SeverityWarning, Code: "empty_file", Table: tf.Table, File: tf.File,
			Message: "the file is empty: no header and no rows"})
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("%s line 1: the header cannot be read as CSV: %w", tf.File, err)
	}
	h, flags := readHeader(tf, spec, aliases, rec)
	res.Header, res.Flags = h, flags
	row := &Row{Table: tf.Table, File: tf.File, Format: FormatCSV, h: h}
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return res, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return res, fmt.Errorf("%s line %d: the file cannot be read on as CSV (%v): rows from here on are not read; fix the quoting and re-export", tf.File, pe.StartLine, pe.Err)
			}
			return res, fmt.Errorf("read %s: %w", tf.File, err)
		}
		res.Rows++
		row.Line, row.values, row.Problem, row.Blank = line, rec, "", allBlank(rec)
		if len(rec) != len(h.Columns) && !row.Blank {
			row.Problem = fmt.Sprintf("the record has %d fields but the header has %d: a stray comma or an unquoted line break?", len(rec), len(h.Columns))
		}
		if err := fn(row); err != nil {
			return res, err
		}
	}
}

func allBlank(values []string) bool {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func (b *Bundle) scanNDJSON(ctx context.Context, tf TableFile, spec TableSpec, aliases map[string]string, fn func(*Row) error) (ScanResult, error) {
	var res ScanResult
	rc, err := b.OpenFile(ctx, tf.path)
	if err != nil {
		return res, fmt.Errorf("read %s: %w", tf.File, err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(NewTextReader(rc, tf.Encoding), 256<<10)
	h := newHeader()
	// Columns are known up front; keys outside them are added as met.
	for _, c := range spec.Columns {
		h.add(c, spec, nil)
	}
	keyCol := map[string]int{}      // a JSON key as written -> position, or -1
	keyOwner := map[string]string{} // canonical column -> the key that holds it
	unknown := map[string]bool{}
	var repeats []string
	row := &Row{Table: tf.Table, File: tf.File, Format: FormatNDJSON, h: h}
	var values []string
	line := 0
	for {
		raw, err := br.ReadBytes('\n')
		if len(raw) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			return res, fmt.Errorf("read %s: %w", tf.File, err)
		}
		line++
		if line&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		trimmed := bytes.TrimSpace(raw)
		if len(trimmed) == 0 {
			continue
		}
		res.Rows++
		values = values[:0]
		for range h.Columns {
			values = append(values, "")
		}
		row.Line, row.Problem, row.Blank = line, "", false
		obj, perr := decodeObject(trimmed)
		if perr != nil {
			row.Problem = perr.Error()
		} else {
			for k, v := range obj {
				pos, seen := keyCol[k]
				if !seen {
					pos = -1
					canon := resolveColumn(k, spec, aliases)
					switch {
					case canon == "":
						unknown[k] = true
					case keyOwner[canon] != "" && keyOwner[canon] != k:
						repeats = append(repeats, k)
					default:
						keyOwner[canon] = k
						if _, ok := h.index[canon]; !ok {
							h.add(canon, spec, nil)
						}
						pos = h.index[canon]
					}
					keyCol[k] = pos
				}
				if pos >= 0 {
					for len(values) <= pos {
						values = append(values, "")
					}
					values[pos] = v
				}
			}
			row.Blank = allBlank(values)
		}
		row.values = values
		if err := fn(row); err != nil {
			return res, err
		}
	}
	res.Header = h
	unk := make([]string, 0, len(unknown))
	for k := range unknown {
		unk = append(unk, k)
	}
	sort.Strings(unk)
	res.Flags = headerFlags(tf, spec, &Header{index: presentColumns(h, keyCol)}, repeats, unk)
	return res, nil
}

// presentColumns is the index of the canonical columns that some NDJSON
// object actually carried (the header lists them all up front).
func presentColumns(h *Header, keyCol map[string]int) map[string]int {
	out := map[string]int{}
	for _, pos := range keyCol {
		if pos >= 0 {
			out[h.Columns[pos]] = pos
		}
	}
	return out
}

// decodeObject reads one NDJSON line into string values: numbers as written,
// booleans as true/false, null as empty, lists joined with "; ".
func decodeObject(line []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("the line is not a JSON object (%v)", err)
	}
	if dec.More() {
		return nil, errors.New("the line holds more than one JSON value")
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		s, err := jsonScalar(v)
		if err != nil {
			return nil, fmt.Errorf("key %q: %v", k, err)
		}
		out[k] = s
	}
	return out, nil
}

func jsonScalar(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, err := jsonScalar(e)
			if err != nil {
				return "", err
			}
			if _, nested := e.([]any); nested {
				return "", errors.New("a list inside a list is not a cell value")
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "; "), nil
	default:
		return "", errors.New("an object is not a cell value; flatten it into columns")
	}
}

func (b *Bundle) scanXLSX(ctx context.Context, tf TableFile, spec TableSpec, aliases map[string]string, fn func(*Row) error) (ScanResult, error) {
	var res ScanResult
	wb, err := b.workbook(ctx)
	if err != nil {
		return res, err
	}
	rows, err := wb.Rows(tf.sheet)
	if err != nil {
		return res, fmt.Errorf("read %s: %w", tf.File, err)
	}
	defer rows.Close()
	var h *Header
	row := &Row{Table: tf.Table, File: tf.File, Format: FormatXLSX}
	for n := 1; rows.Next(); n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		cols, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return res, fmt.Errorf("%s row %d: %w", tf.File, n, err)
		}
		if h == nil {
			if allBlank(cols) {
				continue // leading empty rows before the header
			}
			h, res.Flags = readHeader(tf, spec, aliases, cols)
			res.Header, row.h = h, h
			continue
		}
		if allBlank(cols) {
			continue // a workbook's empty rows are layout, not records
		}
		res.Rows++
		row.Line, row.values, row.Problem, row.Blank = n, cols, "", false
		if len(cols) > len(h.Columns) && !allBlank(cols[len(h.Columns):]) {
			row.Problem = fmt.Sprintf("the row has values in %d columns but the header has %d", len(cols), len(h.Columns))
		}
		if err := fn(row); err != nil {
			return res, err
		}
	}
	if err := rows.Error(); err != nil {
		return res, fmt.Errorf("read %s: %w", tf.File, err)
	}
	if h == nil {
		res.Header = newHeader()
		res.Flags = append(res.Flags, Flag{Severity: SeverityWarning, Code: "empty_file", Table: tf.Table, File: tf.File,
			Message: "the sheet is empty: no header and no rows"})
	}
	return res, nil
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Header returns the header the row was read under.
func (r *Row) Header() *Header { return r.h }
