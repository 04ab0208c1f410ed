package sampleexport

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// sortedZip is an excelize.ZipWriter whose archive does not depend on the
// order excelize creates entries in (it ranges over a map): each entry is
// compressed as it is written and the archive is laid out sorted by name on
// Close, every entry stamped with the same time.
type sortedZip struct {
	w       io.Writer
	mod     time.Time
	entries []*sortedEntry
}

type sortedEntry struct {
	name string
	buf  bytes.Buffer
	fw   *flate.Writer
	crc  uint32
	size uint64
}

func newSortedZip(w io.Writer, mod time.Time) *sortedZip { return &sortedZip{w: w, mod: mod} }

func (e *sortedEntry) Write(p []byte) (int, error) {
	e.crc = crc32.Update(e.crc, crc32.IEEETable, p)
	e.size += uint64(len(p))
	return e.fw.Write(p)
}

// Create starts a new entry; the previous one is finished.
func (z *sortedZip) Create(name string) (io.Writer, error) {
	if err := z.finish(); err != nil {
		return nil, err
	}
	e := &sortedEntry{name: name}
	fw, err := flate.NewWriter(&e.buf, flate.DefaultCompression)
	if err != nil {
		return nil, err
	}
	e.fw = fw
	z.entries = append(z.entries, e)
	return e, nil
}

func (z *sortedZip) finish() error {
	if n := len(z.entries); n > 0 && z.entries[n-1].fw != nil {
		e := z.entries[n-1]
		err := e.fw.Close()
		e.fw = nil
		return err
	}
	return nil
}

// AddFS is not needed to save a workbook.
func (z *sortedZip) AddFS(fs.FS) error { return errors.New("sortedZip: AddFS not supported") }

// Close writes the archive.
func (z *sortedZip) Close() error {
	if err := z.finish(); err != nil {
		return err
	}
	slices.SortFunc(z.entries, func(a, b *sortedEntry) int { return strings.Compare(a.name, b.name) })
	zw := zip.NewWriter(z.w)
	for _, e := range z.entries {
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name: e.name, Method: zip.Deflate, Modified: z.mod,
			CRC32: e.crc, CompressedSize64: uint64(e.buf.Len()), UncompressedSize64: e.size,
		})
		if err != nil {
			return err
		}
		if _, err := w.Write(e.buf.Bytes()); err != nil {
			return err
		}
	}
	return zw.Close()
}

// zipTree writes the files of the bundle in dir, given relative and sorted,
// into a zip at path, each stamped with mod.
func zipTree(path, dir string, files []string, mod time.Time) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw := zip.NewWriter(f)
	for _, name := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mod})
		if err != nil {
			return err
		}
		src, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return err
		}
		_, err = io.Copy(w, src)
		src.Close()
		if err != nil {
			return err
		}
	}
	return zw.Close()
}
