package perfectportal

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/conveyor-migrate/conveyor/internal/blob"
)

// ErrNotABundle is returned (wrapped) when a location holds nothing that
// looks like an export bundle: no matters table and no manifest.
var ErrNotABundle = errors.New("not a Perfect Portal export bundle")

// Limits a zipped bundle must respect; a zip beyond them is refused rather
// than unpacked (zip bombs).
const (
	// MaxZipUncompressed is the most a zipped bundle may declare in all.
	MaxZipUncompressed = 64 << 30
	// MaxZipRatio is the highest compression ratio accepted for an entry
	// larger than zipRatioFloor once unpacked.
	MaxZipRatio   = 1000
	zipRatioFloor = 100 << 20
)

// Bundle is an opened export bundle. Its files are read on demand, as
// streams, every time a table is iterated.
type Bundle struct {
	// Location is where the bundle was opened from, for messages.
	Location string
	// Manifest is the decoded manifest.json, nil when the bundle has none
	// or it could not be read (see ManifestErr).
	Manifest *Manifest
	// ManifestErr says why manifest.json could not be used, if it could not.
	ManifestErr error

	src   source
	root  string         // folder inside src holding the bundle, "" or "dir/"
	files fileIndex      // by lower-cased path relative to root
	wb    *excelize.File // the workbook, opened once when the bundle has one
	facts map[string]FileFacts
}

// file is one regular file of a bundle.
type file struct {
	Name string // path relative to the bundle root, as spelt in the bundle
	Size int64
}

// source is where a bundle's bytes come from: a directory, a zip, a blob
// store. list calls add with every regular file.
type source interface {
	list(ctx context.Context, add func(name string, size int64) error) error
	open(ctx context.Context, name string) (io.ReadCloser, error)
	close() error
}

// Open opens a bundle at a local path: a directory or a .zip file. It
// returns an error wrapping ErrNotABundle when the location holds no
// matters table, and other errors when it cannot be read at all.
func Open(ctx context.Context, location string) (*Bundle, error) {
	st, err := os.Stat(location)
	if err != nil {
		return nil, fmt.Errorf("open export %s: %w", location, err)
	}
	var src source
	if st.IsDir() {
		src = dirSource{dir: location}
	} else {
		zs, err := openZip(location)
		if err != nil {
			return nil, err
		}
		src = zs
	}
	return newBundle(ctx, location, src)
}

// OpenStore opens a bundle held in a blob store under prefix (a folder of
// files), or the zip at key prefix when it ends in ".zip". A zip is copied
// to a temporary file first, since a zip is read from its end.
func OpenStore(ctx context.Context, store blob.Store, prefix string) (*Bundle, error) {
	location := "blob:" + prefix
	if strings.HasSuffix(strings.ToLower(prefix), ".zip") {
		tmp, err := os.CreateTemp("", "conveyor-export-*.zip")
		if err != nil {
			return nil, fmt.Errorf("open export %s: %w", location, err)
		}
		name := tmp.Name()
		rc, err := store.Open(ctx, prefix)
		if err == nil {
			_, err = io.Copy(tmp, rc)
			rc.Close()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(name)
			return nil, fmt.Errorf("open export %s: %w", location, err)
		}
		zs, err := openZip(name)
		if err != nil {
			os.Remove(name)
			return nil, err
		}
		zs.remove = name
		return newBundle(ctx, location, zs)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return newBundle(ctx, location, storeSource{store: store, prefix: prefix})
}

func newBundle(ctx context.Context, location string, src source) (*Bundle, error) {
	b := &Bundle{Location: location, src: src}
	if err := src.list(ctx, b.files.add); err != nil {
		src.close()
		return nil, fmt.Errorf("open export %s: %w", location, err)
	}
	b.root = findRoot(&b.files)
	b.files.build(b.root)
	if !b.hasAnyTable() && !b.has(ManifestName) {
		src.close()
		return nil, fmt.Errorf("open export %s: %w: no %s and no matters table (matters.csv, matters.ndjson or a matters sheet in export.xlsx)", location, ErrNotABundle, ManifestName)
	}
	if b.has(ManifestName) {
		data, err := b.readAll(ctx, ManifestName)
		if err == nil {
			b.Manifest, err = ParseManifest(data)
		}
		b.ManifestErr = err
	}
	return b, nil
}

// findRoot returns the folder that holds the bundle: the top, or the one
// top-level folder when the bundle was zipped together with its folder.
func findRoot(files *fileIndex) string {
	tops := map[string]bool{}
	for i := range files.ents {
		name := files.name(i)
		if isBundleMarker(strings.ToLower(name)) {
			return ""
		}
		if i := strings.IndexByte(name, '/'); i > 0 {
			tops[name[:i+1]] = true
		} else {
			return ""
		}
	}
	if len(tops) != 1 {
		return ""
	}
	for top := range tops {
		return top
	}
	return ""
}

func isBundleMarker(lowerName string) bool {
	switch lowerName {
	case ManifestName, "export.xlsx", "matters.csv", "matters.ndjson":
		return true
	}
	return false
}

func (b *Bundle) hasAnyTable() bool {
	return b.has("matters.csv") || b.has("matters.ndjson") || b.has("matters.jsonl") || b.has(WorkbookName)
}

func (b *Bundle) has(name string) bool {
	_, ok := b.files.get(name)
	return ok
}

// Stat returns the size of a file of the bundle, by its path relative to the
// bundle root, matched without regard to case; false if there is none.
func (b *Bundle) Stat(name string) (size int64, ok bool) {
	f, ok := b.files.get(name)
	return f.Size, ok
}

// OpenFile opens a file of the bundle by its path relative to the bundle
// root (a document, say). It returns an error wrapping fs.ErrNotExist when
// the bundle has no such file.
func (b *Bundle) OpenFile(ctx context.Context, name string) (io.ReadCloser, error) {
	f, ok := b.files.get(name)
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	return b.src.open(ctx, b.root+f.Name)
}

// Files lists the bundle's files, relative to its root, sorted.
func (b *Bundle) Files() []string {
	return b.files.names()
}

// EachFile calls fn with the name of every file of the bundle, relative to
// its root, in no particular order, without listing them all at once (a
// bundle can hold hundreds of thousands of documents).
func (b *Bundle) EachFile(fn func(name string)) {
	b.files.each(fn)
}

func (b *Bundle) readAll(ctx context.Context, name string) ([]byte, error) {
	rc, err := b.OpenFile(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Close releases the bundle's resources (an open zip or workbook, a
// temporary copy).
func (b *Bundle) Close() error {
	if b.wb != nil {
		b.wb.Close()
	}
	return b.src.close()
}

// CleanPath checks a path taken from the bundle (documents.path) and returns
// it with forward slashes; it refuses absolute paths and paths that climb
// out of the bundle.
func CleanPath(p string) (string, error) {
	p = strings.ReplaceAll(strings.TrimSpace(p), `\`, "/")
	if p == "" {
		return "", errors.New("path is empty")
	}
	if strings.HasPrefix(p, "/") || (len(p) > 1 && p[1] == ':') {
		return "", errors.New("path is absolute; give it relative to the bundle root")
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", errors.New("path leaves the bundle")
	}
	return c, nil
}

// dirSource reads a bundle from a local directory.
type dirSource struct{ dir string }

func (d dirSource) list(ctx context.Context, add func(string, int64) error) error {
	return filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(d.dir, p)
		if err != nil {
			return err
		}
		return add(filepath.ToSlash(rel), info.Size())
	})
}

func (d dirSource) open(_ context.Context, name string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(d.dir, filepath.FromSlash(name)))
}

func (d dirSource) close() error { return nil }

// zipSource reads a bundle from a zip file.
type zipSource struct {
	zr      *zip.ReadCloser
	entries map[string]*zip.File
	remove  string // a temporary copy to delete on close
}

func openZip(name string) (*zipSource, error) {
	zr, err := zip.OpenReader(name)
	if err != nil {
		return nil, fmt.Errorf("open export %s: not a readable zip (%v)", name, err)
	}
	zs := &zipSource{zr: zr, entries: map[string]*zip.File{}}
	var total uint64
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		clean, err := CleanPath(f.Name)
		if err != nil {
			zr.Close()
			return nil, fmt.Errorf("open export %s: zip entry %q refused: %v; re-create the zip from the bundle folder", name, f.Name, err)
		}
		total += f.UncompressedSize64
		if total > MaxZipUncompressed {
			zr.Close()
			return nil, fmt.Errorf("open export %s: refused: the zip declares more than %d GiB unpacked; unpack it yourself and give the folder", name, MaxZipUncompressed>>30)
		}
		if f.UncompressedSize64 > zipRatioFloor && f.CompressedSize64 > 0 && f.UncompressedSize64/f.CompressedSize64 > MaxZipRatio {
			zr.Close()
			return nil, fmt.Errorf("open export %s: zip entry %q refused: it unpacks %d times larger than it is stored (a zip bomb?)", name, f.Name, f.UncompressedSize64/f.CompressedSize64)
		}
		zs.entries[clean] = f
	}
	return zs, nil
}

func (z *zipSource) list(_ context.Context, add func(string, int64) error) error {
	for name, f := range z.entries {
		if err := add(name, int64(f.UncompressedSize64)); err != nil {
			return err
		}
	}
	return nil
}

func (z *zipSource) open(_ context.Context, name string) (io.ReadCloser, error) {
	f, ok := z.entries[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	// archive/zip fails the read if an entry unpacks to more than it declared.
	return f.Open()
}

func (z *zipSource) close() error {
	err := z.zr.Close()
	if z.remove != "" {
		os.Remove(z.remove)
	}
	return err
}

// storeSource reads a bundle from a prefix of a blob store.
type storeSource struct {
	store  blob.Store
	prefix string
}

func (s storeSource) list(ctx context.Context, add func(string, int64) error) error {
	infos, err := s.store.List(ctx, s.prefix)
	if err != nil {
		return err
	}
	for _, in := range infos {
		name := strings.TrimPrefix(in.Key, s.prefix)
		if name == "" || strings.HasSuffix(name, "/") {
			continue
		}
		if err := add(name, in.Size); err != nil {
			return err
		}
	}
	return nil
}

func (s storeSource) open(ctx context.Context, name string) (io.ReadCloser, error) {
	return s.store.Open(ctx, s.prefix+name)
}

func (s storeSource) close() error { return nil }
