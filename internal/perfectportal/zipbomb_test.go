package perfectportal

import (
	"archive/zip"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rawZip writes a zip whose central directory declares each entry's
// unpacked size as given, whatever its stored bytes: how a zip bomb looks
// before anything is inflated.
func rawZip(t *testing.T, entries map[string]uint64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "export.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create("matters.csv")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("matter_id\nM1\n"))
	for name, size := range entries {
		stored := []byte{0x03, 0x00} // a deflate stream; never inflated
		w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CompressedSize64: uint64(len(stored)), UncompressedSize64: size})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(stored)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// TestZipBombsAreRefused: a zipped export whose entry unpacks more than
// MaxZipRatio times its stored size, or whose entries declare more than
// MaxZipUncompressed in all, is refused before anything is unpacked, with
// an error naming the zip, the entry and what to do.
func TestZipBombsAreRefused(t *testing.T) {
	cases := []struct {
		name    string
		entries map[string]uint64
		want    []string
	}{
		{"an entry that unpacks a billion times larger", map[string]uint64{"documents/M1/bomb.pdf": 2 << 30},
			[]string{"export.zip", `"documents/M1/bomb.pdf"`, "refused", "zip bomb"}},
		{"entries declaring more than the limit in all", manySmall(700, 99<<20),
			[]string{"export.zip", "refused", "unpack it yourself and give the folder"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Open(context.Background(), rawZip(t, c.entries))
			if err == nil {
				b.Close()
				t.Fatal("Open accepted it")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open = %v; want it to say %q", err, w)
				}
			}
		})
	}
	// A large entry that compresses well but within the ratio is accepted.
	b, err := Open(context.Background(), rawZip(t, map[string]uint64{"documents/M1/big.pdf": 1 << 20}))
	if err != nil {
		t.Fatalf("a 1 MiB entry: %v", err)
	}
	b.Close()
}

// manySmall declares n entries of size each, each under the ratio check's
// floor: together over MaxZipUncompressed when n·size is.
func manySmall(n int, size uint64) map[string]uint64 {
	m := map[string]uint64{}
	for i := range n {
		m["documents/part-"+strconv.Itoa(i)+".bin"] = size
	}
	return m
}
