// Package sampleexport writes deterministic, realistic Perfect Portal export
// bundles (format 1, see docs/export-format.md) for demos, tests and
// benchmarks: the table files as CSV, NDJSON or one export.xlsx, the
// documents they point at, and manifest.json.
//
// The same Options always give byte-identical output. Rows are generated
// matter by matter and streamed to the files, so a bundle of 50,000 matters
// (about a million rows) is written without holding its rows in memory.
//
// In messy mode the bundle also carries what real extracts contain (aliased
// headers, a byte-order mark, CRLF, Windows-1252, UK local times, money with
// £ and thousands separators, duplicates, orphans, invalid values, a missing
// and a corrupt document), always with a correct manifest. Summary.Planted
// counts each planted problem so that a reader's tests can check it finds
// them all.
//
// With Options.Newer the bundle is a later export of the same firm, for a
// delta migration: a few records changed, new or removed, which
// Summary.Delta lists by id (see newer.go).
package sampleexport

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Formats a bundle's tables can be written in.
const (
	// FormatCSV writes every table as NAME.csv.
	FormatCSV = "csv"
	// FormatNDJSON writes every table as NAME.ndjson, one JSON object a line.
	FormatNDJSON = "ndjson"
	// FormatXLSX writes every table as a sheet of one export.xlsx.
	FormatXLSX = "xlsx"
	// FormatMixed writes activities as NDJSON and every other table as CSV.
	FormatMixed = "mixed"
)

// DefaultMatters is the number of matters when Options.Matters is 0.
const DefaultMatters = 50

// DefaultLargeDocumentBytes is the size of a large document when
// Options.LargeDocumentBytes is 0: 26 MiB, just over Pipedrive's 25 MB limit.
const DefaultLargeDocumentBytes = 26 << 20

// DefaultNow is the export time when Options.Now is zero.
var DefaultNow = time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC)

// Options say what bundle to write. The zero value is a clean CSV bundle of
// DefaultMatters matters.
type Options struct {
	// Matters is the number of matters; 0 means DefaultMatters.
	Matters int
	// Seed seeds the generator: the same Seed and Options give
	// byte-identical output.
	Seed int64
	// Messy adds what real extracts contain; see the package comment.
	Messy bool
	// Format is FormatCSV (the default when empty), FormatNDJSON, FormatXLSX
	// or FormatMixed. In messy mode activities are always written as CSV.
	Format string
	// LargeDocuments is how many documents are larger than Pipedrive's file
	// limit: 0 means 2 when Matters >= 20 and none otherwise; a negative
	// number means none. They alternate between compressible text and
	// incompressible pseudo-random bytes.
	LargeDocuments int
	// LargeDocumentBytes is the size of each large document; 0 means
	// DefaultLargeDocumentBytes.
	LargeDocumentBytes int64
	// Now is the export time; every generated timestamp is before it (an
	// open matter's expected completion date may be later, as in life). The
	// zero value means DefaultNow. With Newer set it is the original
	// export's time, and this bundle's is Newer days later.
	Now time.Time
	// Newer, when N >= 1, writes the N-th later export of the same firm:
	// the bundle the same other options give, exported N days after Now
	// (manifest exported_at, export_id and zip times say so), in which a few
	// percent of the records changed since export N-1, some matters are new
	// and some are gone. Summary.Delta lists them; every other record is
	// the same, value for value, as in export N-1. Export N is export N-1
	// evolved once more, so a test can migrate 0, then 1, then 2. 0 (the
	// default) is the original export; at most MaxNewer.
	Newer int
	// ActivitiesPerMatter and NotesPerMatter, when either is positive, give
	// every matter exactly that many activities (calls, emails, tasks, texts
	// and meetings) and that many notes (activities of type note), in place
	// of the usual two per key stage and up to two more, about one in six of
	// them notes: a bundle of a reference size, e.g. for a benchmark. Both 0
	// (the default) keep the usual volumes and output.
	ActivitiesPerMatter int
	NotesPerMatter      int
	// DocumentsPerMatter, when positive, gives every matter exactly that
	// many documents (besides any large one), in place of the usual zero to
	// three; at most MaxDocumentsPerMatter. 0 (the default) keeps the usual.
	DocumentsPerMatter int
}

// MaxDocumentsPerMatter is the largest Options.DocumentsPerMatter: the
// number of kinds of document a matter without a lender can have.
const MaxDocumentsPerMatter = 7

// MaxNewer is the largest Options.Newer.
const MaxNewer = 5

// Summary says what a bundle holds.
type Summary struct {
	// Rows is the number of data rows written per table, including messy
	// duplicates and orphans.
	Rows map[string]int
	// Documents is the number of document files written.
	Documents int
	// DocumentBytes is their total size.
	DocumentBytes int64
	// Files lists every file of the bundle, relative to its root, sorted.
	Files []string
	// Planted counts each problem planted in messy mode by a short code
	// (duplicate_identical, orphan_activity, document_checksum…); it is
	// empty for a clean bundle.
	Planted map[string]int
	// Delta says what changed since the export before this one when
	// Options.Newer is set; it is empty otherwise.
	Delta DeltaSummary
}

// Write writes a bundle into dir, creating it if missing: the table files,
// documents/<matter_id>/<file> and manifest.json. It returns an error for
// invalid options or when a file cannot be written; dir may then hold part
// of a bundle.
func Write(dir string, opt Options) (Summary, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Summary{}, fmt.Errorf("create bundle directory %s: %w", dir, err)
	}
	return write(dir, opt)
}

// WriteZip writes the same bundle as Write into one zip file at path. The
// zip is deterministic: entries sorted by name, all stamped with the export
// time (Options.Now, plus Options.Newer days), stored under the bundle root
// with no directory prefix. It returns an error for invalid options or when
// the zip or its staging directory (under the system's temporary directory)
// cannot be written.
func WriteZip(path string, opt Options) (Summary, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	tmp, err := os.MkdirTemp("", "sampleexport-")
	if err != nil {
		return Summary{}, fmt.Errorf("create staging directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	sum, err := write(tmp, opt)
	if err != nil {
		return sum, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return sum, fmt.Errorf("create directory for %s: %w", path, err)
		}
	}
	if err := zipTree(path, tmp, sum.Files, opt.exportTime(opt.Newer)); err != nil {
		return sum, fmt.Errorf("write zip %s: %w", path, err)
	}
	return sum, nil
}

// withDefaults fills in the zero values and checks the rest.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Matters < 0:
		return o, errors.New("sampleexport: Matters must not be negative")
	case o.Matters == 0:
		o.Matters = DefaultMatters
	}
	switch o.Format {
	case "":
		o.Format = FormatCSV
	case FormatCSV, FormatNDJSON, FormatXLSX, FormatMixed:
	default:
		return o, fmt.Errorf("sampleexport: unknown format %q (want csv, ndjson, xlsx or mixed)", o.Format)
	}
	switch {
	case o.LargeDocuments < 0:
		o.LargeDocuments = 0
	case o.LargeDocuments == 0 && o.Matters >= 20:
		o.LargeDocuments = 2
	}
	if o.LargeDocuments > o.Matters {
		o.LargeDocuments = o.Matters
	}
	switch {
	case o.LargeDocumentBytes < 0:
		return o, errors.New("sampleexport: LargeDocumentBytes must not be negative")
	case o.LargeDocumentBytes == 0:
		o.LargeDocumentBytes = DefaultLargeDocumentBytes
	}
	switch {
	case o.Newer < 0:
		return o, errors.New("sampleexport: Newer must not be negative")
	case o.Newer > MaxNewer:
		return o, fmt.Errorf("sampleexport: Newer must be at most %d", MaxNewer)
	}
	switch {
	case o.ActivitiesPerMatter < 0 || o.NotesPerMatter < 0 || o.DocumentsPerMatter < 0:
		return o, errors.New("sampleexport: ActivitiesPerMatter, NotesPerMatter and DocumentsPerMatter must not be negative")
	case o.DocumentsPerMatter > MaxDocumentsPerMatter:
		return o, fmt.Errorf("sampleexport: DocumentsPerMatter must be at most %d", MaxDocumentsPerMatter)
	}
	if o.Now.IsZero() {
		o.Now = DefaultNow
	}
	o.Now = o.Now.UTC()
	return o, nil
}
