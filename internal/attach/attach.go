// Package attach prepares a document for upload under Pipedrive's file
// size limit: a file within the limit goes as it is; one over it is
// compressed into a zip; one still over it is split into ordered parts
// ("name.part1of3", …) of at most the limit each, which concatenated in
// order give back the original bytes.
package attach

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"
)

// How a document was prepared.
const (
	AsIs       = "as_is"
	Compressed = "compressed"
	Split      = "split"
)

// Piece is one file to upload.
type Piece struct {
	// Name is the file name to upload under.
	Name string
	Size int64
	// Part and Parts number a split file's pieces from 1; both are 1 otherwise.
	Part, Parts int
	open        func() (io.ReadCloser, error)
}

// Open returns the piece's bytes; each call starts from the beginning.
func (p Piece) Open() (io.ReadCloser, error) { return p.open() }

// Prepared is a document made ready for upload.
type Prepared struct {
	// How is AsIs, Compressed or Split.
	How    string
	Pieces []Piece
	dir    string
}

// Close removes the temporary files the preparation made.
func (p *Prepared) Close() error {
	if p.dir == "" {
		return nil
	}
	return os.RemoveAll(p.dir)
}

// ErrLimit is returned for a limit that is not positive.
var ErrLimit = errors.New("attach: the size limit must be positive")

// Prepare makes the document called name, of size bytes read by open,
// ready for a limit of limit bytes per file. Within the limit nothing is
// copied and the piece reads from open. Over it, the document is read once
// into tmpDir ("" for the system's) while it is compressed; the caller
// must Close the result to remove those files. The zip keeps the original
// name and modification time inside it.
func Prepare(ctx context.Context, name string, size int64, modTime time.Time, open func() (io.ReadCloser, error), limit int64, tmpDir string) (*Prepared, error) {
	if limit <= 0 {
		return nil, ErrLimit
	}
	base := path.Base(name)
	if size <= limit {
		return &Prepared{How: AsIs, Pieces: []Piece{{Name: base, Size: size, Part: 1, Parts: 1, open: open}}}, nil
	}
	dir, err := os.MkdirTemp(tmpDir, "conveyor-attach-*")
	if err != nil {
		return nil, fmt.Errorf("attach %s: %w", base, err)
	}
	p := &Prepared{dir: dir}
	if err := p.compress(ctx, base, modTime, open); err != nil {
		p.Close()
		return nil, fmt.Errorf("attach %s: %w", base, err)
	}
	zipped, err := os.Stat(p.path("zip"))
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("attach %s: %w", base, err)
	}
	if zipped.Size() <= limit {
		p.How = Compressed
		p.Pieces = []Piece{{Name: base + ".zip", Size: zipped.Size(), Part: 1, Parts: 1, open: p.opener("zip", 0, zipped.Size())}}
		return p, nil
	}
	orig, err := os.Stat(p.path("orig"))
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("attach %s: %w", base, err)
	}
	n := int((orig.Size() + limit - 1) / limit)
	p.How = Split
	for i := 0; i < n; i++ {
		off := int64(i) * limit
		sz := min(limit, orig.Size()-off)
		p.Pieces = append(p.Pieces, Piece{Name: fmt.Sprintf("%s.part%dof%d", base, i+1, n), Size: sz, Part: i + 1, Parts: n, open: p.opener("orig", off, sz)})
	}
	return p, nil
}

func (p *Prepared) path(name string) string { return p.dir + string(os.PathSeparator) + name }

// compress reads the document once, keeping a copy of the original bytes
// (for splitting) while writing the zip.
func (p *Prepared) compress(ctx context.Context, base string, modTime time.Time, open func() (io.ReadCloser, error)) error {
	src, err := open()
	if err != nil {
		return err
	}
	defer src.Close()
	orig, err := os.OpenFile(p.path("orig"), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer orig.Close()
	zf, err := os.OpenFile(p.path("zip"), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer zf.Close()
	zw := zip.NewWriter(zf)
	hdr := &zip.FileHeader{Name: base, Method: zip.Deflate, Modified: modTime}
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.MultiWriter(w, orig), ctxReader{ctx, src}); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := zf.Sync(); err != nil {
		return err
	}
	return orig.Sync()
}

func (p *Prepared) opener(file string, off, n int64) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		f, err := os.Open(p.path(file))
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.NewSectionReader(f, off, n), f}, nil
	}
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
