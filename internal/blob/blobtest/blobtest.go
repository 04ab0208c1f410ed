// Package blobtest holds what every blob.Store implementation is tested
// with: the conformance suite that defines the Store contract in code, a
// benchmark, and an in-process S3 server for tests of code that needs one.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob"
)

// RunConformanceTests checks that stores made by newStore keep the contract
// documented on blob.Store, each check in its own subtest. newStore is
// called once per subtest and must return an empty store; it should
// register its own clean-up with t.Cleanup.
func RunConformanceTests(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"Empty", testEmpty},
		{"Large", testLarge},
		{"Open", testOpen},
		{"OpenSeesOneVersion", testOpenSeesOneVersion},
		{"Stat", testStat},
		{"NotFound", testNotFound},
		{"List", testList},
		{"ListManyKeys", testListManyKeys},
		{"ListInvalidPrefix", testListInvalidPrefix},
		{"NestedKeys", testNestedKeys},
		{"Delete", testDelete},
		{"InvalidKeys", testInvalidKeys},
		{"Prefixed", testPrefixed},
		{"ConcurrentPuts", testConcurrentPuts},
		{"ReadersNeverSeePartialPut", testReadersNeverSeePartialPut},
		{"FailedPutKeepsPrevious", testFailedPutKeepsPrevious},
		{"CancelledContext", testCancelledContext},
		{"CancelDuringPut", testCancelDuringPut},
		{"CancelDuringRead", testCancelDuringRead},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// readerOnly hides everything but Read (Seek, WriterTo, Len...), so that
// stores are tested with a stream of unknown length, as Conveyor gives them.
type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

// choppyReader returns short reads of varying sizes, as network streams do.
type choppyReader struct {
	r io.Reader
	i int
}

var choppySizes = []int{1, 7, 4096, 65536, 100003, 3}

func (c *choppyReader) Read(p []byte) (int, error) {
	n := choppySizes[c.i%len(choppySizes)]
	c.i++
	if len(p) > n {
		p = p[:n]
	}
	return c.r.Read(p)
}

// pseudoRandom returns n deterministic, incompressible bytes for seed.
func pseudoRandom(seed byte, n int64) io.Reader {
	var s [32]byte
	s[0] = seed
	return io.LimitReader(rand.NewChaCha8(s), n)
}

func sum(t *testing.T, r io.Reader) ([sha256.Size]byte, int64) {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("hash: %v", err)
	}
	return [sha256.Size]byte(h.Sum(nil)), n
}

func put(t *testing.T, s blob.Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, readerOnly{bytes.NewReader(data)}); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func get(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	got, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return got
}

func list(t *testing.T, s blob.Store, prefix string) []blob.Info {
	t.Helper()
	infos, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return infos
}

func keys(infos []blob.Info) []string {
	ks := []string{}
	for _, i := range infos {
		ks = append(ks, i.Key)
	}
	return ks
}

func wantNotFound(t *testing.T, s blob.Store, key string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Get(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get(%q) error = %v, want ErrNotFound", key, err)
	}
	if rc, err := s.Open(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		if err == nil {
			rc.Close()
		}
		t.Errorf("Open(%q) error = %v, want ErrNotFound", key, err)
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(%q) error = %v, want ErrNotFound", key, err)
	}
}

func testRoundTrip(t *testing.T, s blob.Store) {
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	tests := []struct {
		name string
		key  string
		data []byte
	}{
		{"simple", "deals.ndjson", []byte(`{"id":1}` + "\n")},
		{"nested", "runs/42/deals/0001.ndjson", []byte("chunk")},
		{"every byte value", "bin/all-bytes", allBytes},
		{"unicode key", "clients/Zoë Brontë/naïve ✓.txt", []byte("unicode")},
		{"spaces and punctuation", "a b/c+d=e&f(g)!@$%,;'~.txt", []byte("punct")},
		{"dot files", ".hidden/.x..y", []byte("dots")},
		{"key longer than a typical name", strings.Repeat("d/", 50) + strings.Repeat("n", 200), []byte("long")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := bytes.Clone(tc.data)
			put(t, s, tc.key, in)
			clear(in) // the store must have kept its own copy
			got := get(t, s, tc.key)
			if !bytes.Equal(got, tc.data) {
				t.Fatalf("Get(%q) = %q, want %q", tc.key, got, tc.data)
			}
			clear(got) // and must hand out copies
			if got := get(t, s, tc.key); !bytes.Equal(got, tc.data) {
				t.Errorf("Get(%q) after changing an earlier result = %q, want %q", tc.key, got, tc.data)
			}
		})
	}
}

func testOverwrite(t *testing.T, s blob.Store) {
	put(t, s, "k", []byte("first version, longer"))
	put(t, s, "k", []byte("second"))
	if got, want := string(get(t, s, "k")), "second"; got != want {
		t.Errorf("Get after overwrite = %q, want %q", got, want)
	}
	info, err := s.Stat(context.Background(), "k")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if got, want := info.Size, int64(len("second")); got != want {
		t.Errorf("Stat size = %d, want %d", got, want)
	}
	if got, want := keys(list(t, s, "")), []string{"k"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	put(t, s, "empty", nil)
	if got := get(t, s, "empty"); len(got) != 0 {
		t.Errorf("Get = %q, want empty", got)
	}
	info, err := s.Stat(context.Background(), "empty")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Size != 0 {
		t.Errorf("Stat size = %d, want 0", info.Size)
	}
	infos := list(t, s, "")
	if len(infos) != 1 || infos[0].Key != "empty" || infos[0].Size != 0 {
		t.Errorf("List = %+v, want one empty object", infos)
	}
}

// testLarge puts objects around and beyond s3blob's 8 MiB part size, so that
// S3 runs single and multipart uploads, with a short last part or none.
func testLarge(t *testing.T, s blob.Store) {
	const mib = 1 << 20
	tests := []struct {
		name string
		size int64
	}{
		{"exactly one part", 8 * mib},
		{"one byte over a part", 8*mib + 1},
		{"20 MiB and a bit", 20*mib + 123},
	}
	ctx := context.Background()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seed := byte(i + 1)
			want, _ := sum(t, pseudoRandom(seed, tc.size))
			key := fmt.Sprintf("large/%d.bin", tc.size)
			if err := s.Put(ctx, key, &choppyReader{r: pseudoRandom(seed, tc.size)}); err != nil {
				t.Fatalf("Put: %v", err)
			}

			got, n := sum(t, bytes.NewReader(get(t, s, key)))
			if got != want || n != tc.size {
				t.Errorf("Get: %d bytes, sha256 %x; want %d bytes, %x", n, got, tc.size, want)
			}

			rc, err := s.Open(ctx, key)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			got, n = sum(t, rc)
			if err := rc.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if got != want || n != tc.size {
				t.Errorf("Open: %d bytes, sha256 %x; want %d bytes, %x", n, got, tc.size, want)
			}

			info, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			if info.Size != tc.size {
				t.Errorf("Stat size = %d, want %d", info.Size, tc.size)
			}
		})
	}
}

func testOpen(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data, _ := io.ReadAll(pseudoRandom(9, 300_000))
	put(t, s, "stream", data)

	r1, err := s.Open(ctx, "stream")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	r2, err := s.Open(ctx, "stream")
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	// Interleave small reads of both readers: they must be independent.
	var got1, got2 bytes.Buffer
	buf := make([]byte, 1000)
	for done1, done2 := false, false; !done1 || !done2; {
		if !done1 {
			done1 = readSome(t, r1, buf, &got1)
		}
		if !done2 {
			done2 = readSome(t, r2, buf, &got2)
		}
	}
	for i, r := range []io.ReadCloser{r1, r2} {
		if err := r.Close(); err != nil {
			t.Errorf("Close reader %d: %v", i+1, err)
		}
	}
	if !bytes.Equal(got1.Bytes(), data) || !bytes.Equal(got2.Bytes(), data) {
		t.Errorf("Open read %d and %d bytes, want both %d bytes of the object", got1.Len(), got2.Len(), len(data))
	}
}

// readSome reads once from r into dst and reports whether r is finished.
func readSome(t *testing.T, r io.Reader, buf []byte, dst *bytes.Buffer) bool {
	t.Helper()
	n, err := r.Read(buf)
	dst.Write(buf[:n])
	if err == io.EOF {
		return true
	}
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return false
}

func testOpenSeesOneVersion(t *testing.T, s blob.Store) {
	ctx := context.Background()
	old := bytes.Repeat([]byte("o"), 1<<20)
	newer := bytes.Repeat([]byte("n"), 1<<20)
	put(t, s, "k", old)
	rc, err := s.Open(ctx, "k")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	first := make([]byte, 10)
	if _, err := io.ReadFull(rc, first); err != nil {
		t.Fatalf("Read: %v", err)
	}
	put(t, s, "k", newer)
	rest, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	got := append(first, rest...)
	if !bytes.Equal(got, old) && !bytes.Equal(got, newer) {
		t.Errorf("reader open across a Put read %d bytes mixing versions, want one whole version", len(got))
	}
}

func testStat(t *testing.T, s blob.Store) {
	ctx := context.Background()
	before := time.Now()
	put(t, s, "dir/obj", []byte("12345"))
	info, err := s.Stat(ctx, "dir/obj")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Key != "dir/obj" || info.Size != 5 {
		t.Errorf("Stat = %+v, want key %q, size 5", info, "dir/obj")
	}
	// Loose bounds: backends record time at their own resolution and clock.
	if info.ModTime.Before(before.Add(-time.Hour)) || info.ModTime.After(time.Now().Add(time.Hour)) {
		t.Errorf("Stat ModTime = %v, want about %v", info.ModTime, before)
	}
	infos := list(t, s, "dir/")
	if len(infos) != 1 {
		t.Fatalf("List = %+v, want one object", infos)
	}
	if l := infos[0]; l.Key != info.Key || l.Size != info.Size || l.ETag != info.ETag || !l.ModTime.Equal(info.ModTime) {
		t.Errorf("List says %+v, Stat says %+v; want them to agree", l, info)
	}
}

func testNotFound(t *testing.T, s blob.Store) {
	put(t, s, "dir/x", []byte("x"))
	tests := []struct {
		name string
		key  string
	}{
		{"never stored", "missing"},
		{"missing in a used directory", "dir/missing"},
		{"prefix of a stored key", "dir"},
		{"below a stored key", "dir/x/y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantNotFound(t, s, tc.key)
		})
	}
}

func testList(t *testing.T, s blob.Store) {
	// Byte order is '-' < '.' < '/' < letters, which a directory walk does
	// not follow: "a.b" sorts before "a/b/c".
	stored := []string{"b/x", "a/bc", "a/b/d/e", "ab", "a.b", "a/b/c", "a-b/y"}
	for _, k := range stored {
		put(t, s, k, []byte(k))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a-b/y", "a.b", "a/b/c", "a/b/d/e", "a/bc", "ab", "b/x"}},
		{"a", []string{"a-b/y", "a.b", "a/b/c", "a/b/d/e", "a/bc", "ab"}},
		{"a/", []string{"a/b/c", "a/b/d/e", "a/bc"}},
		{"a/b", []string{"a/b/c", "a/b/d/e", "a/bc"}},
		{"a/b/", []string{"a/b/c", "a/b/d/e"}},
		{"a/bc", []string{"a/bc"}},
		{"a/b/d", []string{"a/b/d/e"}},
		{"a/b/d/e", []string{"a/b/d/e"}},
		{"a.", []string{"a.b"}},
		{"b/", []string{"b/x"}},
		{"a/b/c/", []string{}},
		{"a/b/c/d/", []string{}},
		{"zzz", []string{}},
		{"zzz/", []string{}},
		{".", []string{}},
		{"a/..", []string{}},
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.prefix), func(t *testing.T) {
			infos := list(t, s, tc.prefix)
			if got := keys(infos); !slices.Equal(got, tc.want) {
				t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
			for _, info := range infos {
				if info.Size != int64(len(info.Key)) {
					t.Errorf("List(%q): %s has size %d, want %d", tc.prefix, info.Key, info.Size, len(info.Key))
				}
			}
		})
	}
}

// testListManyKeys lists more keys than fit in one page of a small page size.
func testListManyKeys(t *testing.T, s blob.Store) {
	var want []string
	for i := range 130 {
		k := fmt.Sprintf("many/%03d", i)
		want = append(want, k)
		put(t, s, k, []byte{byte(i)})
	}
	put(t, s, "manz", []byte("after"))
	put(t, s, "man", []byte("before"))
	if got := keys(list(t, s, "many/")); !slices.Equal(got, want) {
		t.Errorf("List(many/) returned %d keys, want %d: %q", len(got), len(want), got)
	}
	want = append(append([]string{"man"}, want...), "manz")
	if got := keys(list(t, s, "")); !slices.Equal(got, want) {
		t.Errorf("List() returned %d keys, want %d: %q", len(got), len(want), got)
	}
}

func testListInvalidPrefix(t *testing.T, s blob.Store) {
	for _, prefix := range []string{"/a", "../a", "./a", "a//b", "a/../b", "a/./", `a\b`, "a\x00"} {
		t.Run(strconv.Quote(prefix), func(t *testing.T) {
			if _, err := s.List(context.Background(), prefix); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("List(%q) error = %v, want ErrInvalidKey", prefix, err)
			}
		})
	}
}

func testNestedKeys(t *testing.T, s blob.Store) {
	deep := "n/1/2/3/4/5/6/7/leaf.json"
	for _, k := range []string{deep, "n/1/x", "n/y"} {
		put(t, s, k, []byte(k))
	}
	if got := string(get(t, s, deep)); got != deep {
		t.Errorf("Get(%q) = %q", deep, got)
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"n/", []string{deep, "n/1/x", "n/y"}},
		{"n/1/2/", []string{deep}},
		{"n/1/2/3/4/5/6/7/", []string{deep}},
		{"n/1/2/3/4/5/6/7/l", []string{deep}},
	}
	for _, tc := range tests {
		if got := keys(list(t, s, tc.prefix)); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	put(t, s, "d/1", []byte("1"))
	put(t, s, "d/2", []byte("2"))
	if err := s.Delete(ctx, "d/1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotFound(t, s, "d/1")
	if got, want := keys(list(t, s, "")), []string{"d/2"}; !slices.Equal(got, want) {
		t.Errorf("List after Delete = %q, want %q", got, want)
	}
	tests := []struct {
		name string
		key  string
	}{
		{"again", "d/1"},
		{"never stored", "never/stored"},
		{"prefix of a stored key", "d"},
	}
	for _, tc := range tests {
		if err := s.Delete(ctx, tc.key); err != nil {
			t.Errorf("Delete(%q) (%s) = %v, want nil", tc.key, tc.name, err)
		}
	}
	if got := string(get(t, s, "d/2")); got != "2" {
		t.Errorf("Get(d/2) after deleting its prefix = %q, want %q", got, "2")
	}
	put(t, s, "d/1", []byte("back"))
	if got := string(get(t, s, "d/1")); got != "back" {
		t.Errorf("Get after re-Put = %q, want %q", got, "back")
	}
}

// invalidKeys are refused by every method of every store.
var invalidKeys = []string{
	"", "/abs", "../x", "a/../b", "a/..", "..", ".", "./a", "a/./b", "a//b", "a/",
	`a\b`, `..\x`, "nul\x00byte", "new\nline", "bad\xffutf8", strings.Repeat("k", blob.MaxKeyLen+1),
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, key := range invalidKeys {
		name := strconv.Quote(key)
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, blob.ErrInvalidKey) {
					t.Errorf("%s(%q) error = %v, want ErrInvalidKey", op, key, err)
					return
				}
				if !strings.Contains(err.Error(), strconv.Quote(key)) {
					t.Errorf("%s error %q does not name the key %q", op, err, key)
				}
			}
			_, err := s.Get(ctx, key)
			check("Get", err)
			rc, err := s.Open(ctx, key)
			if err == nil {
				rc.Close()
			}
			check("Open", err)
			check("Put", s.Put(ctx, key, strings.NewReader("data")))
			_, err = s.Stat(ctx, key)
			check("Stat", err)
			check("Delete", s.Delete(ctx, key))
		})
	}
	if got := keys(list(t, s, "")); len(got) != 0 {
		t.Errorf("after Puts of invalid keys, List() = %q, want nothing", got)
	}
}

func testPrefixed(t *testing.T, s blob.Store) {
	ctx := context.Background()
	p := blob.Prefixed(s, "tenant/run")
	put(t, p, "x/y", []byte("1"))
	put(t, p, "w", []byte("4"))
	put(t, s, "tenant/runner/z", []byte("2"))
	put(t, s, "tenant/other", []byte("3"))

	if got := string(get(t, s, "tenant/run/x/y")); got != "1" {
		t.Errorf("inner Get(tenant/run/x/y) = %q, want %q", got, "1")
	}
	if got, want := keys(list(t, p, "")), []string{"w", "x/y"}; !slices.Equal(got, want) {
		t.Errorf("prefixed List() = %q, want %q", got, want)
	}
	if got, want := keys(list(t, p, "x")), []string{"x/y"}; !slices.Equal(got, want) {
		t.Errorf("prefixed List(x) = %q, want %q", got, want)
	}
	info, err := p.Stat(ctx, "x/y")
	if err != nil || info.Key != "x/y" || info.Size != 1 {
		t.Errorf("prefixed Stat(x/y) = %+v, %v; want key x/y, size 1", info, err)
	}

	same := []struct {
		name string
		s    blob.Store
	}{
		{"trailing slash", blob.Prefixed(s, "tenant/run/")},
		{"nested", blob.Prefixed(blob.Prefixed(s, "tenant"), "run")},
	}
	for _, tc := range same {
		if got, err := tc.s.Get(ctx, "w"); err != nil || string(got) != "4" {
			t.Errorf("%s: Get(w) = %q, %v; want %q", tc.name, got, err, "4")
		}
	}
	if got := string(get(t, blob.Prefixed(s, ""), "tenant/other")); got != "3" {
		t.Errorf("empty prefix: Get(tenant/other) = %q, want %q", got, "3")
	}

	wantNotFound(t, p, "missing")
	if _, err := p.Get(ctx, "../runner/z"); !errors.Is(err, blob.ErrInvalidKey) {
		t.Errorf("prefixed Get(../runner/z) error = %v, want ErrInvalidKey", err)
	}
	if _, err := p.List(ctx, "../"); !errors.Is(err, blob.ErrInvalidKey) {
		t.Errorf("prefixed List(../) error = %v, want ErrInvalidKey", err)
	}
	if err := p.Delete(ctx, "w"); err != nil {
		t.Fatalf("prefixed Delete(w): %v", err)
	}
	wantNotFound(t, s, "tenant/run/w")

	for _, prefix := range []string{"../escape", "/abs", "a//b", "/"} {
		bad := blob.Prefixed(s, prefix)
		errs := map[string]error{}
		_, errs["Get"] = bad.Get(ctx, "k")
		_, errs["Open"] = bad.Open(ctx, "k")
		errs["Put"] = bad.Put(ctx, "k", strings.NewReader("x"))
		_, errs["Stat"] = bad.Stat(ctx, "k")
		_, errs["List"] = bad.List(ctx, "")
		errs["Delete"] = bad.Delete(ctx, "k")
		for op, err := range errs {
			if !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Prefixed(%q).%s error = %v, want ErrInvalidKey", prefix, op, err)
			}
		}
	}
}

func testConcurrentPuts(t *testing.T, s blob.Store) {
	const n = 16
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Put(ctx, fmt.Sprintf("c/%02d", i), readerOnly{pseudoRandom(byte(100+i), 100_000)})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
	}
	for i := range n {
		want, _ := sum(t, pseudoRandom(byte(100+i), 100_000))
		if got, _ := sum(t, bytes.NewReader(get(t, s, fmt.Sprintf("c/%02d", i)))); got != want {
			t.Errorf("c/%02d has the wrong content", i)
		}
	}
	if got := len(list(t, s, "c/")); got != n {
		t.Errorf("List(c/) has %d objects, want %d", got, n)
	}
}

// testReadersNeverSeePartialPut reads a key while other goroutines keep
// replacing it: every read must return one whole version.
func testReadersNeverSeePartialPut(t *testing.T, s blob.Store) {
	const size = 512 << 10
	versions := [][]byte{bytes.Repeat([]byte("a"), size), bytes.Repeat([]byte("b"), size)}
	put(t, s, "k", versions[0])

	ctx := context.Background()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range 10 {
				if err := s.Put(ctx, "k", &choppyReader{r: bytes.NewReader(versions[(w+i)%2])}); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				got, err := s.Get(ctx, "k")
				if err != nil {
					t.Errorf("Get during Puts: %v", err)
					return
				}
				if !bytes.Equal(got, versions[0]) && !bytes.Equal(got, versions[1]) {
					t.Errorf("Get during Puts returned %d bytes that are neither version", len(got))
					return
				}
				select {
				case <-done:
					return
				default:
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
}

var errBoom = errors.New("boom: source failed")

// failingReader returns n bytes of data, then fails.
func failingReader(seed byte, n int64) io.Reader {
	return io.MultiReader(pseudoRandom(seed, n), errReader{errBoom})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func testFailedPutKeepsPrevious(t *testing.T, s blob.Store) {
	tests := []struct {
		name    string
		failsAt int64
	}{
		{"fails at the start", 0},
		{"fails early", 1000},
		// Beyond s3blob's first part: the multipart upload must be aborted.
		{"fails after 9 MiB", 9 << 20},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			put(t, s, "existing", []byte("previous"))
			err := s.Put(ctx, "existing", failingReader(1, tc.failsAt))
			if !errors.Is(err, errBoom) {
				t.Errorf("Put(existing) error = %v, want the reader's error", err)
			}
			if got := string(get(t, s, "existing")); got != "previous" {
				t.Errorf("after a failed Put, Get = %q, want %q", got, "previous")
			}

			err = s.Put(ctx, "new", failingReader(1, tc.failsAt))
			if !errors.Is(err, errBoom) {
				t.Errorf("Put(new) error = %v, want the reader's error", err)
			}
			wantNotFound(t, s, "new")
			if got, want := keys(list(t, s, "")), []string{"existing"}; !slices.Equal(got, want) {
				t.Errorf("after failed Puts, List() = %q, want %q", got, want)
			}
		})
	}
}

func testCancelledContext(t *testing.T, s blob.Store) {
	put(t, s, "k", []byte("kept"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	errs := map[string]error{}
	_, errs["Get"] = s.Get(ctx, "k")
	rc, err := s.Open(ctx, "k")
	if err == nil {
		// Some backends only notice at the first read.
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	errs["Open"] = err
	errs["Put"] = s.Put(ctx, "k", strings.NewReader("replaced"))
	_, errs["Stat"] = s.Stat(ctx, "k")
	_, errs["List"] = s.List(ctx, "")
	errs["Delete"] = s.Delete(ctx, "k")
	for op, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error = %v, want context.Canceled", op, err)
		}
	}
	if got := string(get(t, s, "k")); got != "kept" {
		t.Errorf("after cancelled calls, Get = %q, want %q", got, "kept")
	}
}

// cancellingReader cancels its context once it has returned after bytes,
// and keeps supplying data.
type cancellingReader struct {
	r      io.Reader
	after  int64
	read   int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read >= c.after {
		c.cancel()
	}
	return n, err
}

func testCancelDuringPut(t *testing.T, s blob.Store) {
	tests := []struct {
		name        string
		cancelAfter int64
	}{
		{"within the first part", 100_000},
		{"after the first part", 9 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			put(t, s, "k", []byte("previous"))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := &cancellingReader{r: pseudoRandom(2, 20<<20), after: tc.cancelAfter, cancel: cancel}
			if err := s.Put(ctx, "k", r); !errors.Is(err, context.Canceled) {
				t.Errorf("Put cancelled midway: error = %v, want context.Canceled", err)
			}
			if got := string(get(t, s, "k")); got != "previous" {
				t.Errorf("after a cancelled Put, Get = %.20q, want %q", got, "previous")
			}
		})
	}
}

func testCancelDuringRead(t *testing.T, s blob.Store) {
	data, _ := io.ReadAll(pseudoRandom(3, 4<<20))
	put(t, s, "k", data)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rc, err := s.Open(ctx, "k")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatalf("Read: %v", err)
	}
	cancel()
	n, err := io.Copy(io.Discard, rc)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("reading after cancel: read %d more bytes, error = %v; want context.Canceled", n, err)
	}
}

// RunPutGetBenchmark measures a Put then a Get of a size-byte object per
// iteration; b.SetBytes counts the object once.
func RunPutGetBenchmark(b *testing.B, s blob.Store, size int) {
	b.Helper()
	data, _ := io.ReadAll(pseudoRandom(7, int64(size)))
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprintf("bench/%d", i%16)
		if err := s.Put(ctx, key, readerOnly{bytes.NewReader(data)}); err != nil {
			b.Fatalf("Put: %v", err)
		}
		got, err := s.Get(ctx, key)
		if err != nil {
			b.Fatalf("Get: %v", err)
		}
		if len(got) != size {
			b.Fatalf("Get returned %d bytes, want %d", len(got), size)
		}
	}
}
