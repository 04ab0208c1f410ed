package sampleexport

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/xuri/excelize/v2"
)

// workbookName is the one workbook of an xlsx bundle.
const workbookName = "export.xlsx"

// workbook is export.xlsx with one streamed sheet per table.
type workbook struct {
	path   string
	f      *excelize.File
	sheets []*tableWriter
}

// newWorkbook creates the workbook with a sheet, its header written, for
// each table. Its zip entries are sorted and stamped with mod when saved, so
// that the same rows give the same bytes.
func newWorkbook(dir string, tables []string, messy bool, mod time.Time) (*workbook, error) {
	f := excelize.NewFile()
	f.SetZipWriter(func(w io.Writer) excelize.ZipWriter { return newSortedZip(w, mod) })
	wb := &workbook{path: filepath.Join(dir, workbookName), f: f}
	for i, table := range tables {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", table); err != nil {
				return nil, fmt.Errorf("name sheet %s: %w", table, err)
			}
		} else if _, err := f.NewSheet(table); err != nil {
			return nil, fmt.Errorf("add sheet %s: %w", table, err)
		}
		sw, err := f.NewStreamWriter(table)
		if err != nil {
			return nil, fmt.Errorf("stream sheet %s: %w", table, err)
		}
		t := &tableWriter{table: table, cols: Columns(table), format: asXLSX, sw: sw,
			name: workbookName + "#" + table}
		t.kinds = make([]valueKind, len(t.cols))
		for i, c := range t.cols {
			t.kinds[i] = columnKind(c)
		}
		header := Headers(table, messy)
		cells := make([]any, len(header))
		for i, h := range header {
			cells[i] = h
		}
		if err := sw.SetRow("A1", cells); err != nil {
			return nil, fmt.Errorf("write sheet %s header: %w", table, err)
		}
		wb.sheets = append(wb.sheets, t)
	}
	return wb, nil
}

// close saves the workbook and returns the manifest entries: the file's
// checksum under its name and each sheet's rows under "export.xlsx#NAME".
func (wb *workbook) close() (map[string]manifestFile, error) {
	defer wb.f.Close()
	entries := make(map[string]manifestFile, len(wb.sheets)+1)
	for _, t := range wb.sheets {
		if err := t.sw.Flush(); err != nil {
			return nil, fmt.Errorf("flush sheet %s: %w", t.table, err)
		}
		rows := t.rows
		entries[t.name] = manifestFile{Rows: &rows}
	}
	out, err := createHashed(wb.path)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", workbookName, err)
	}
	if _, err := wb.f.WriteTo(out); err != nil {
		out.close()
		return nil, fmt.Errorf("write %s: %w", workbookName, err)
	}
	sum, err := out.close()
	if err != nil {
		return nil, fmt.Errorf("close %s: %w", workbookName, err)
	}
	entries[workbookName] = manifestFile{SHA256: sum}
	return entries, nil
}
