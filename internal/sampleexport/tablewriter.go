package sampleexport

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// fileFormat is how one table is written.
type fileFormat uint8

const (
	asCSV fileFormat = iota
	asNDJSON
	asXLSX
)

// csvQuirks are the byte-level habits of one messy CSV file.
type csvQuirks struct {
	bom  bool // starts with a UTF-8 byte-order mark
	crlf bool // CRLF line endings
	// cp1252 writes the file in Windows-1252; declared says whether the
	// manifest says so.
	cp1252, declared bool
}

// hashedFile is a file being written whose SHA-256 is computed on the way.
type hashedFile struct {
	f  *os.File
	h  hash.Hash
	bw *bufio.Writer
	n  int64
}

func createHashed(path string) (*hashedFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	hf := &hashedFile{f: f, h: sha256.New()}
	hf.bw = bufio.NewWriterSize(io.MultiWriter(f, hf.h), 256<<10)
	return hf, nil
}

func (hf *hashedFile) Write(p []byte) (int, error) {
	n, err := hf.bw.Write(p)
	hf.n += int64(n)
	return n, err
}

// close flushes and closes the file and returns its SHA-256 in hex.
func (hf *hashedFile) close() (string, error) {
	err := hf.bw.Flush()
	if cerr := hf.f.Close(); err == nil {
		err = cerr
	}
	return hex.EncodeToString(hf.h.Sum(nil)), err
}

// tableWriter writes the rows of one table to its file or sheet.
type tableWriter struct {
	table   string
	cols    []string
	kinds   []valueKind
	format  fileFormat
	name    string // file name, or the sheet's manifest key "export.xlsx#NAME"
	rows    int
	quirks  csvQuirks
	out     *hashedFile
	enc     io.WriteCloser // Windows-1252 encoder in front of out, if any
	cw      *csv.Writer
	line    []byte
	sw      *excelize.StreamWriter
	cells   []any
	written bool // closed
}

func newFileTable(dir, table string, format fileFormat, q csvQuirks, messy bool) (*tableWriter, error) {
	t := &tableWriter{table: table, cols: Columns(table), format: format, quirks: q}
	t.kinds = make([]valueKind, len(t.cols))
	for i, c := range t.cols {
		t.kinds[i] = columnKind(c)
	}
	ext := ".csv"
	if format == asNDJSON {
		ext = ".ndjson"
	}
	t.name = table + ext
	out, err := createHashed(filepath.Join(dir, t.name))
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", t.name, err)
	}
	t.out = out
	header := Headers(table, messy)
	if format == asNDJSON {
		t.cols = header // the keys of every object
		return t, nil
	}
	var w io.Writer = out
	if q.bom {
		if _, err := out.Write([]byte("\uFEFF")); err != nil {
			return nil, err
		}
	}
	if q.cp1252 {
		t.enc = transform.NewWriter(out, charmap.Windows1252.NewEncoder())
		w = t.enc
	}
	t.cw = csv.NewWriter(w)
	t.cw.UseCRLF = q.crlf
	if err := t.cw.Write(header); err != nil {
		return nil, fmt.Errorf("write %s header: %w", t.name, err)
	}
	return t, nil
}

// write writes one row; vals are in Columns order.
func (t *tableWriter) write(vals []string) error {
	t.rows++
	switch t.format {
	case asCSV:
		return t.cw.Write(vals)
	case asNDJSON:
		t.line = appendJSONObject(t.line[:0], t.cols, t.kinds, vals)
		_, err := t.out.Write(t.line)
		return err
	default:
		t.cells = t.cells[:0]
		for i, v := range vals {
			t.cells = append(t.cells, cellValue(v, t.kinds[i]))
		}
		cell, err := excelize.CoordinatesToCellName(1, t.rows+1)
		if err != nil {
			return err
		}
		return t.sw.SetRow(cell, t.cells)
	}
}

// close finishes a CSV or NDJSON file and returns its manifest entry.
func (t *tableWriter) close() (manifestFile, error) {
	if t.cw != nil {
		t.cw.Flush()
		if err := t.cw.Error(); err != nil {
			return manifestFile{}, fmt.Errorf("write %s: %w", t.name, err)
		}
	}
	if t.enc != nil {
		if err := t.enc.Close(); err != nil {
			return manifestFile{}, fmt.Errorf("encode %s: %w", t.name, err)
		}
	}
	sum, err := t.out.close()
	if err != nil {
		return manifestFile{}, fmt.Errorf("close %s: %w", t.name, err)
	}
	rows := t.rows
	mf := manifestFile{SHA256: sum, Rows: &rows}
	if t.quirks.cp1252 && t.quirks.declared {
		mf.Encoding = "windows-1252"
	}
	return mf, nil
}

// isPlainNumber reports whether s is a JSON number as this package writes
// them: digits, optionally a sign and a decimal part.
func isPlainNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return s != "" && (len(s) == 1 || s[0] != '0' || s[1] == '.')
}

// appendJSONObject appends one NDJSON line. Booleans and numbers in their
// plain form become JSON booleans and numbers (an empty one null); any other
// spelling ("£1,234.50", "yes") stays a string, as a real extract would.
func appendJSONObject(b []byte, keys []string, kinds []valueKind, vals []string) []byte {
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		v := vals[i]
		switch kinds[i] {
		case kindBool:
			if v == "true" || v == "false" {
				b = append(b, v...)
				continue
			}
		case kindInt, kindMoney:
			if v == "" {
				b = append(b, "null"...)
				continue
			}
			if isPlainNumber(v) {
				b = append(b, v...)
				continue
			}
		}
		b = appendJSONString(b, v)
	}
	return append(b, '}', '\n')
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// cellValue types an xlsx cell the way a spreadsheet would hold it.
func cellValue(v string, k valueKind) any {
	if v == "" {
		return nil
	}
	switch k {
	case kindBool:
		if v == "true" || v == "false" {
			return v == "true"
		}
	case kindInt:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	case kindMoney:
		if isPlainNumber(v) {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f
			}
		}
	}
	return v
}
