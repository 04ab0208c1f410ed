package fileblob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/blobtest"
)

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.RunConformanceTests(t, func(t *testing.T) blob.Store { return newStore(t) })
}

func TestKeysCannotEscapeDir(t *testing.T) {
	parent := t.TempDir()
	s, err := New(filepath.Join(parent, "store"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	secret := filepath.Join(parent, "secret")
	if err := os.WriteFile(secret, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []string{
		"../secret",
		"a/../../secret",
		"./../secret",
		`..\secret`,
		"/" + filepath.ToSlash(secret),
		".fileblob-tmp-x", // reserved for Put's temporary files
		"a/.fileblob-tmp-x/b",
	}
	for _, key := range tests {
		t.Run(key, func(t *testing.T) {
			if _, err := s.Get(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Get(%q) error = %v, want ErrInvalidKey", key, err)
			}
			if err := s.Put(ctx, key, strings.NewReader("overwritten")); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Put(%q) error = %v, want ErrInvalidKey", key, err)
			}
			if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Delete(%q) error = %v, want ErrInvalidKey", key, err)
			}
		})
	}
	if got, err := os.ReadFile(secret); err != nil || string(got) != "outside" {
		t.Errorf("file outside the store = %q, %v; want it untouched", got, err)
	}
	if _, err := s.List(ctx, "../"); !errors.Is(err, blob.ErrInvalidKey) {
		t.Errorf("List(../) error = %v, want ErrInvalidKey", err)
	}
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	root := filepath.Join(t.TempDir(), "new", "store")
	s, err := New(root)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := context.Background()
	// A file someone else left readable must become private when replaced.
	if err := os.WriteFile(filepath.Join(root, "old"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a/b/c.ndjson", "old"} {
		if err := s.Put(ctx, key, strings.NewReader("private")); err != nil {
			t.Fatalf("Put(%q): %v", key, err)
		}
	}
	tests := []struct {
		path string
		want fs.FileMode
	}{
		{root, 0o700},
		{filepath.Join(root, "a"), 0o700},
		{filepath.Join(root, "a", "b"), 0o700},
		{filepath.Join(root, "a", "b", "c.ndjson"), 0o600},
		{filepath.Join(root, "old"), 0o600},
	}
	for _, tc := range tests {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("%s has mode %v, want %v", tc.path, got, tc.want)
		}
	}
}

// tempFiles returns the temporary files Put left anywhere in s.
func tempFiles(t *testing.T, s *Store) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(s.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), tempPrefix) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestPutLeavesNoTempFiles(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	errSource := errors.New("source failed")
	tests := []struct {
		name    string
		r       io.Reader
		wantErr error
	}{
		{"success", strings.NewReader("ok"), nil},
		{"reader fails", io.MultiReader(strings.NewReader("part"), errReader{errSource}), errSource},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Put(ctx, "d/k", tc.r); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Put error = %v, want %v", err, tc.wantErr)
			}
			if got := tempFiles(t, s); len(got) != 0 {
				t.Errorf("temporary files left: %q", got)
			}
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestListSkipsTempFiles(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.Put(ctx, "d/k", strings.NewReader("ok")); err != nil {
		t.Fatal(err)
	}
	// As if a Put were under way, or had been killed mid-write.
	if err := os.WriteFile(filepath.Join(s.Dir(), "d", tempPrefix+"123"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	infos, err := s.List(ctx, "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(infos) != 1 || infos[0].Key != "d/k" {
		t.Errorf("List = %+v, want only d/k", infos)
	}
}

// TestListWalksOnlyPrefixDir checks that a deep prefix does not cost a walk
// of the whole store: List reads only the directory the prefix names up to
// its last "/", and only the subdirectories that could hold matches.
func TestListWalksOnlyPrefixDir(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, k := range []string{
		"runs/41/deals/0001", "runs/42/deals/0001", "runs/42/deals/0002",
		"runs/42/persons/0001", "runs/42/dealsx/0001", "other/deep/tree/x",
	} {
		if err := s.Put(ctx, k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
	var visited []string
	walkDir = func(root string, fn fs.WalkDirFunc) error {
		return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			rel, _ := filepath.Rel(s.Dir(), path)
			visited = append(visited, filepath.ToSlash(rel))
			return fn(path, d, err)
		})
	}
	t.Cleanup(func() { walkDir = filepath.WalkDir })

	tests := []struct {
		prefix      string
		want        []string
		mustNotWalk []string
	}{
		{
			prefix:      "runs/42/deals/",
			want:        []string{"runs/42/deals/0001", "runs/42/deals/0002"},
			mustNotWalk: []string{"runs/41", "runs/42/persons", "runs/42/dealsx", "other"},
		},
		{
			prefix:      "runs/42/deals",
			want:        []string{"runs/42/deals/0001", "runs/42/deals/0002", "runs/42/dealsx/0001"},
			mustNotWalk: []string{"runs/41", "runs/42/persons/", "other"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.prefix, func(t *testing.T) {
			visited = nil
			infos, err := s.List(ctx, tc.prefix)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			var got []string
			for _, i := range infos {
				got = append(got, i.Key)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
			for _, v := range visited {
				for _, bad := range tc.mustNotWalk {
					if strings.HasPrefix(v, bad) {
						t.Errorf("List(%q) visited %s", tc.prefix, v)
					}
				}
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"", file, filepath.Join(file, "sub")} {
		if _, err := New(dir); err == nil {
			t.Errorf("New(%q) = nil error, want an error", dir)
		}
	}
}

// TestKeyAndDirectoryClash pins down the one way fileblob differs from S3:
// "a" and "a/b" cannot both be objects. The second Put must fail cleanly.
func TestKeyAndDirectoryClash(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.Put(ctx, "a/b", strings.NewReader("1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "a", strings.NewReader("2")); err == nil {
		t.Errorf("Put(a) over directory a succeeded, want an error")
	}
	if got, err := s.Get(ctx, "a/b"); err != nil || !bytes.Equal(got, []byte("1")) {
		t.Errorf("Get(a/b) = %q, %v; want %q", got, err, "1")
	}
	if got := tempFiles(t, s); len(got) != 0 {
		t.Errorf("temporary files left: %q", got)
	}
}

func BenchmarkPutGet(b *testing.B) {
	blobtest.RunPutGetBenchmark(b, newStore(b), 1<<20)
}
