// Package fileblob is a blob.Store in a local directory: Conveyor's default
// when it runs on one machine, and the place an export bundle is read from
// when it was unpacked to disk.
//
// Key "a/b/c" is the file dir/a/b/c. Objects hold clients' personal and
// financial data, so files are created 0600 and directories 0700. Put writes
// a temporary file beside its target and renames it into place, so readers
// see the old file or the new one, never a partial one.
//
// A directory cannot hold both a file "a" and a directory "a", so unlike
// S3 the store cannot hold both key "a" and key "a/b": the second Put fails.
// Conveyor's key layout never needs both. Keys with a segment starting
// ".fileblob-tmp-" are reserved for Put's temporary files and refused with
// blob.ErrInvalidKey.
package fileblob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/internal/ctxio"
)

// tempPrefix starts the name of every temporary file that Put writes. List
// skips such files, and keys with a segment starting with it are refused.
const tempPrefix = ".fileblob-tmp-"

const (
	fileMode = 0o600
	dirMode  = 0o700
)

// walkDir is filepath.WalkDir; tests replace it to see which directories
// List visits.
var walkDir = filepath.WalkDir

// Store is a blob.Store in a local directory.
type Store struct {
	dir string // absolute and clean
}

var _ blob.Store = (*Store)(nil)

// New returns a Store keeping its objects under dir, creating dir (mode
// 0700, with any missing parents) if it does not exist; an existing
// directory keeps its mode. It returns an error
// if dir is empty, cannot be created, or is not a directory.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("fileblob: new: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fileblob: new %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return nil, fmt.Errorf("fileblob: new %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("fileblob: new %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("fileblob: new %s: not a directory", dir)
	}
	return &Store{dir: abs}, nil
}

// Dir returns the absolute path of the store's directory.
func (s *Store) Dir() string { return s.dir }

// path returns the file that holds key, after checking the key. ValidKey
// already rules out "..", absolute paths and backslashes; the final check
// is a second line of defence against a key ever leaving s.dir.
func (s *Store) path(key string) (string, error) {
	if err := blob.ValidKey(key); err != nil {
		return "", err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(seg, tempPrefix) {
			return "", fmt.Errorf("%w %q: segments starting %q are reserved", blob.ErrInvalidKey, key, tempPrefix)
		}
	}
	p := filepath.Join(s.dir, filepath.FromSlash(key))
	if !strings.HasPrefix(p, s.dir+string(filepath.Separator)) {
		return "", fmt.Errorf("%w %q: resolves outside the store", blob.ErrInvalidKey, key)
	}
	return p, nil
}

// prepare checks the key and the context, returning the key's file.
func (s *Store) prepare(ctx context.Context, op, key string) (string, error) {
	p, err := s.path(key)
	if err != nil {
		return "", fmt.Errorf("fileblob: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("fileblob: %s %s: %w", op, key, err)
	}
	return p, nil
}

// isNotExist reports whether err means that there is no file at a path:
// either nothing is there, or a parent is a file, not a directory.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Get returns the content of the object at key. It returns an error wrapping
// blob.ErrNotFound if there is no such object, blob.ErrInvalidKey if the key
// is invalid, ctx.Err() if ctx is done, or the file system's error.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	f, fi, err := s.open(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	buf.Grow(int(fi.Size()) + 1) // +1: reaching EOF must not grow the buffer
	if _, err := buf.ReadFrom(ctxio.Reader(ctx, f)); err != nil {
		return nil, fmt.Errorf("fileblob: get %s: %w", key, err)
	}
	return buf.Bytes(), nil
}

// Open returns a reader of the object at key; reads fail once ctx is done.
// Because Put replaces files by renaming, the reader keeps seeing the version
// it opened. It returns the same errors as Get.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	f, _, err := s.open(ctx, "open", key)
	if err != nil {
		return nil, err
	}
	return ctxio.ReadCloser(ctx, f), nil
}

// open opens the regular file that holds key.
func (s *Store) open(ctx context.Context, op, key string) (*os.File, fs.FileInfo, error) {
	p, err := s.prepare(ctx, op, key)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(p)
	if isNotExist(err) {
		return nil, nil, fmt.Errorf("fileblob: %s %s: %w", op, key, blob.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("fileblob: %s %s: %w", op, key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("fileblob: %s %s: %w", op, key, err)
	}
	if !fi.Mode().IsRegular() {
		// A directory "a" exists because key "a/b" does; "a" is no object.
		f.Close()
		return nil, nil, fmt.Errorf("fileblob: %s %s: %w", op, key, blob.ErrNotFound)
	}
	return f, fi, nil
}

// Put writes everything read from r to a temporary file in the key's
// directory, syncs it and renames it over the key's file, creating missing
// directories. On any failure it removes the temporary file, leaves the
// previous object as it was, and returns an error wrapping the cause: r's
// error, ctx.Err(), blob.ErrInvalidKey, or the file system's error.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (err error) {
	p, err := s.prepare(ctx, "put", key)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("fileblob: put %s: %w", key, err)
		}
	}()
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, ctxio.Reader(ctx, r)); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Without the sync a crash soon after the rename can leave an empty or
	// partial file under the key, breaking Put's promise.
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Stat returns the object's metadata. Its ETag is made from the file's
// modification time and size, so it changes when Put replaces the file. It
// returns the same errors as Get.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	p, err := s.prepare(ctx, "stat", key)
	if err != nil {
		return blob.Info{}, err
	}
	fi, err := os.Stat(p)
	if isNotExist(err) || err == nil && !fi.Mode().IsRegular() {
		return blob.Info{}, fmt.Errorf("fileblob: stat %s: %w", key, blob.ErrNotFound)
	}
	if err != nil {
		return blob.Info{}, fmt.Errorf("fileblob: stat %s: %w", key, err)
	}
	return info(key, fi), nil
}

// List returns the objects whose keys start with prefix, sorted by key. It
// walks only the directory that the prefix names up to its last "/", and
// skips Put's temporary files and anything that is not a regular file or
// whose name is not a valid key. It returns an error wrapping
// blob.ErrInvalidKey for an invalid prefix, ctx.Err() if ctx is done, or the
// file system's error.
func (s *Store) List(ctx context.Context, prefix string) ([]blob.Info, error) {
	if err := blob.ValidPrefix(prefix); err != nil {
		return nil, fmt.Errorf("fileblob: list: %w", err)
	}
	// Only keys under the prefix's directory part can match: walk from there.
	var base string
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		base = prefix[:i]
	}
	root := filepath.Join(s.dir, filepath.FromSlash(base))
	var infos []blob.Info
	err := walkDir(root, func(path string, d fs.DirEntry, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if err != nil {
			if path == root && isNotExist(err) {
				return fs.SkipAll // nothing under the prefix
			}
			if isNotExist(err) {
				return nil // removed while we walked
			}
			return err
		}
		if strings.HasPrefix(d.Name(), tempPrefix) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(s.dir, path)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if path == root {
				return nil
			}
			// Descend only if keys in this directory can match the prefix.
			dirKey := key + "/"
			if !strings.HasPrefix(dirKey, prefix) && !strings.HasPrefix(prefix, dirKey) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) || blob.ValidKey(key) != nil {
			return nil
		}
		fi, err := d.Info()
		if isNotExist(err) {
			return nil // deleted while we walked
		}
		if err != nil {
			return err
		}
		infos = append(infos, info(key, fi))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fileblob: list %s: %w", prefix, err)
	}
	// WalkDir's order is not key order: it visits "a/b" before "a.b".
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	return infos, nil
}

// Delete removes the object at key. A missing key, or one that names a
// directory rather than an object, is not an error. It returns an error
// wrapping blob.ErrInvalidKey if the key is invalid, ctx.Err() if ctx is
// done, or the file system's error. Directories left empty are kept.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.prepare(ctx, "delete", key)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if isNotExist(err) || err == nil && fi.IsDir() {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fileblob: delete %s: %w", key, err)
	}
	if err := os.Remove(p); err != nil && !isNotExist(err) {
		return fmt.Errorf("fileblob: delete %s: %w", key, err)
	}
	return nil
}

func info(key string, fi fs.FileInfo) blob.Info {
	mod := fi.ModTime()
	etag := strconv.FormatInt(mod.UnixNano(), 16) + "-" + strconv.FormatInt(fi.Size(), 16)
	return blob.Info{Key: key, Size: fi.Size(), ModTime: mod, ETag: etag}
}
