package sampleexport

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// manifestName is the bundle's manifest.
const manifestName = "manifest.json"

// manifest is manifest.json as docs/export-format.md shows it.
type manifest struct {
	Format     string                  `json:"format"`
	Version    int                     `json:"version"`
	ExportID   string                  `json:"export_id"`
	ExportedAt string                  `json:"exported_at"`
	Firm       string                  `json:"firm"`
	Encoding   string                  `json:"encoding"`
	Files      map[string]manifestFile `json:"files"`
}

// manifestFile is one entry of manifest.files. A workbook has a checksum
// and no rows; each of its sheets has rows and no checksum.
type manifestFile struct {
	SHA256   string `json:"sha256,omitempty"`
	Rows     *int   `json:"rows,omitempty"`
	Encoding string `json:"encoding,omitempty"`
}

// bundle is a bundle being written: the open table writers, and what has
// been written so far.
type bundle struct {
	dir    string
	opt    Options
	tables map[string]*tableWriter
	order  []*tableWriter // file tables in schema order
	wb     *workbook
	sum    Summary
	// orgsCP1252 says organisations.csv is in undeclared Windows-1252.
	orgsCP1252 bool
	// edit, when set, sees every row before it is written and returns the
	// row to write (a new slice when it changes one) or false to drop it: a
	// newer export's changes (see newer.go).
	edit func(table string, vals []string) ([]string, bool)
	// dropDoc, when set, says a document file is not to be written.
	dropDoc func(rel string) bool
}

// tableFormat says how a table is written for the options.
func tableFormat(table string, opt Options) fileFormat {
	if table == perfectportal.TableActivities && opt.Messy {
		return asCSV // a messy extract's activities come from a legacy CSV export
	}
	switch opt.Format {
	case FormatNDJSON:
		return asNDJSON
	case FormatXLSX:
		return asXLSX
	case FormatMixed:
		if table == perfectportal.TableActivities {
			return asNDJSON
		}
	}
	return asCSV
}

// quirksFor gives a messy CSV file its byte-level habits.
func quirksFor(table string, opt Options) csvQuirks {
	if !opt.Messy {
		return csvQuirks{}
	}
	switch table {
	case perfectportal.TableClients:
		return csvQuirks{bom: true}
	case perfectportal.TableMatters:
		return csvQuirks{crlf: true}
	case perfectportal.TableActivities:
		return csvQuirks{cp1252: true, declared: true}
	case perfectportal.TableOrganisations:
		return csvQuirks{cp1252: true}
	}
	return csvQuirks{}
}

func openBundle(dir string, opt Options) (*bundle, error) {
	b := &bundle{dir: dir, opt: opt, tables: make(map[string]*tableWriter),
		sum: Summary{Rows: make(map[string]int), Planted: make(map[string]int)}}
	var sheets []string
	for _, spec := range perfectportal.Schema {
		f := tableFormat(spec.Name, opt)
		if f == asXLSX {
			sheets = append(sheets, spec.Name)
			continue
		}
		q := quirksFor(spec.Name, opt)
		t, err := newFileTable(dir, spec.Name, f, q, opt.Messy)
		if err != nil {
			b.abort()
			return nil, err
		}
		b.tables[spec.Name] = t
		b.order = append(b.order, t)
		if f != asCSV {
			continue
		}
		switch {
		case q.bom:
			b.sum.Planted["bom"]++
		case q.crlf:
			b.sum.Planted["crlf"]++
		case q.cp1252 && q.declared:
			b.sum.Planted["declared_cp1252"]++
		case q.cp1252:
			b.orgsCP1252 = true
		}
	}
	if len(sheets) > 0 {
		wb, err := newWorkbook(dir, sheets, opt.Messy, opt.Now)
		if err != nil {
			b.abort()
			return nil, err
		}
		b.wb = wb
		for _, t := range wb.sheets {
			b.tables[t.table] = t
		}
	}
	return b, nil
}

// abort closes what is open after a failure; the files stay incomplete.
func (b *bundle) abort() {
	for _, t := range b.order {
		if t.out != nil {
			t.out.close()
		}
	}
	if b.wb != nil {
		b.wb.f.Close()
	}
}

// row writes one row of a table; vals are in Columns order.
func (b *bundle) row(table string, vals []string) error {
	if b.edit != nil {
		var keep bool
		if vals, keep = b.edit(table, vals); !keep {
			return nil
		}
	}
	t := b.tables[table]
	if err := t.write(vals); err != nil {
		return fmt.Errorf("write %s row %d: %w", t.name, t.rows, err)
	}
	return nil
}

// document writes one document file at rel (slash-separated, under the
// bundle root) and returns its SHA-256.
func (b *bundle) document(rel string, content []byte) (string, error) {
	if b.dropDoc != nil && b.dropDoc(rel) {
		return "", nil
	}
	p := filepath.Join(b.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("create directory for %s: %w", rel, err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", rel, err)
	}
	b.addDocument(rel, int64(len(content)))
	s := sha256.Sum256(content)
	return hex.EncodeToString(s[:]), nil
}

// streamDocument writes a document whose content fill writes, without
// holding it in memory, and returns its size and SHA-256.
func (b *bundle) streamDocument(rel string, fill func(io.Writer) error) (int64, string, error) {
	if b.dropDoc != nil && b.dropDoc(rel) {
		return 0, "", nil
	}
	hf, err := createHashed(filepath.Join(b.dir, filepath.FromSlash(rel)))
	if err != nil {
		return 0, "", fmt.Errorf("create %s: %w", rel, err)
	}
	ferr := fill(hf)
	sum, err := hf.close()
	if ferr != nil {
		err = ferr
	}
	if err != nil {
		return 0, "", fmt.Errorf("write %s: %w", rel, err)
	}
	b.addDocument(rel, hf.n)
	return hf.n, sum, nil
}

func (b *bundle) addDocument(rel string, size int64) {
	b.sum.Documents++
	b.sum.DocumentBytes += size
	b.sum.Files = append(b.sum.Files, rel)
}

// close finishes every table and writes manifest.json.
func (b *bundle) close() (Summary, error) {
	m := manifest{
		Format: "perfectportal-export", Version: 1,
		ExportID:   b.opt.Now.Format("2006-01-02") + "-full",
		ExportedAt: b.opt.Now.Format("2006-01-02T15:04:05Z07:00"),
		Firm:       firmName, Encoding: "utf-8",
		Files: make(map[string]manifestFile),
	}
	for _, t := range b.order {
		mf, err := t.close()
		if err != nil {
			return b.sum, err
		}
		m.Files[t.name] = mf
		b.sum.Files = append(b.sum.Files, t.name)
	}
	if b.wb != nil {
		entries, err := b.wb.close()
		if err != nil {
			return b.sum, err
		}
		for k, v := range entries {
			m.Files[k] = v
		}
		b.sum.Files = append(b.sum.Files, workbookName)
	}
	for name, t := range b.tables {
		b.sum.Rows[name] = t.rows
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return b.sum, fmt.Errorf("encode manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, manifestName), append(data, '\n'), 0o644); err != nil {
		return b.sum, fmt.Errorf("write %s: %w", manifestName, err)
	}
	b.sum.Files = append(b.sum.Files, manifestName)
	slices.Sort(b.sum.Files)
	return b.sum, nil
}

// documentPath is where a matter's document lives, relative to the root.
func documentPath(matterID, fileName string) string {
	return path.Join("documents", matterID, fileName)
}
