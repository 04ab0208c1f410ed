package sampleexport_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

// testLarge keeps large documents small enough for fast tests.
const testLarge = 64 << 10

// mustWrite writes a bundle into a new temporary directory.
func mustWrite(tb testing.TB, opt sampleexport.Options) (string, sampleexport.Summary) {
	tb.Helper()
	if opt.LargeDocumentBytes == 0 {
		opt.LargeDocumentBytes = testLarge
	}
	dir := tb.TempDir()
	sum, err := sampleexport.Write(dir, opt)
	if err != nil {
		tb.Fatalf("Write(%+v): %v", opt, err)
	}
	return dir, sum
}

// fileHashes returns the SHA-256 of every file under dir by relative path.
func fileHashes(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	hashes := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		hashes[filepath.ToSlash(rel)] = sha256Hex(b)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return hashes
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type manifestFile struct {
	SHA256   string `json:"sha256"`
	Rows     *int   `json:"rows"`
	Encoding string `json:"encoding"`
}

type manifest struct {
	Format     string                  `json:"format"`
	Version    int                     `json:"version"`
	ExportID   string                  `json:"export_id"`
	ExportedAt string                  `json:"exported_at"`
	Firm       string                  `json:"firm"`
	Encoding   string                  `json:"encoding"`
	Files      map[string]manifestFile `json:"files"`
}

func readManifest(tb testing.TB, dir string) manifest {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("manifest.json: %v", err)
	}
	return m
}

// decodeText turns a table file into UTF-8 the way the format says a
// reader must: a BOM is dropped, and bytes that are not UTF-8 are
// Windows-1252.
func decodeText(tb testing.TB, b []byte) string {
	tb.Helper()
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	if utf8.Valid(b) {
		return string(b)
	}
	s, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		tb.Fatal(err)
	}
	return string(s)
}

// readCSV returns a CSV table's header and records.
func readCSV(tb testing.TB, dir, name string) ([]string, [][]string) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		tb.Fatal(err)
	}
	r := csv.NewReader(strings.NewReader(decodeText(tb, b)))
	recs, err := r.ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	if len(recs) == 0 {
		tb.Fatalf("%s: no header", name)
	}
	return recs[0], recs[1:]
}

// column returns the values of the column with header h.
func column(tb testing.TB, header []string, recs [][]string, h string) []string {
	tb.Helper()
	i := -1
	for j, c := range header {
		if c == h {
			i = j
		}
	}
	if i < 0 {
		tb.Fatalf("no column %q in %q", h, header)
	}
	out := make([]string, len(recs))
	for j, r := range recs {
		out[j] = r[i]
	}
	return out
}

// readNDJSON returns each line's keys, in order, and values.
func readNDJSON(tb testing.TB, path string) ([][]string, []map[string]any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var keys [][]string
	var objs []map[string]any
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			break
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			tb.Fatalf("%s line %d: not an object: %s", path, i+1, line)
		}
		var ks []string
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				tb.Fatalf("%s line %d: %v", path, i+1, err)
			}
			ks = append(ks, k.(string))
			var v any
			if err := dec.Decode(&v); err != nil {
				tb.Fatalf("%s line %d: %v", path, i+1, err)
			}
		}
		var obj map[string]any
		if err := json.Unmarshal(line, &obj); err != nil {
			tb.Fatalf("%s line %d: %v", path, i+1, err)
		}
		keys = append(keys, ks)
		objs = append(objs, obj)
	}
	return keys, objs
}
