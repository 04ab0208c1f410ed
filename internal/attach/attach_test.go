package attach

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func opener(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

func readAll(t *testing.T, p Piece) []byte {
	t.Helper()
	rc, err := p.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func random(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestPrepare(t *testing.T) {
	text := []byte(strings.Repeat("Completion statement, page after page. ", 2000)) // ~78 KB, compresses well
	noise := random(50_000)                                                         // does not compress
	modTime := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name      string
		data      []byte
		limit     int64
		how       string
		wantNames []string
	}{
		{"within the limit", text, int64(len(text)), AsIs, []string{"contract.pdf"}},
		{"compresses under the limit", text, 20_000, Compressed, []string{"contract.pdf.zip"}},
		{"split when compressing is not enough", noise, 20_000, Split, []string{"contract.pdf.part1of3", "contract.pdf.part2of3", "contract.pdf.part3of3"}},
		{"split exactly at the limit", noise[:40_000], 20_000, Split, []string{"contract.pdf.part1of2", "contract.pdf.part2of2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Prepare(context.Background(), "documents/M1/contract.pdf", int64(len(tc.data)), modTime, opener(tc.data), tc.limit, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if p.How != tc.how {
				t.Errorf("How = %s; want %s", p.How, tc.how)
			}
			var names []string
			var joined []byte
			for i, piece := range p.Pieces {
				names = append(names, piece.Name)
				b := readAll(t, piece)
				if int64(len(b)) != piece.Size || piece.Size > tc.limit {
					t.Errorf("piece %s: %d bytes, Size %d, limit %d", piece.Name, len(b), piece.Size, tc.limit)
				}
				if piece.Part != i+1 || piece.Parts != len(p.Pieces) {
					t.Errorf("piece %s numbered %d of %d", piece.Name, piece.Part, piece.Parts)
				}
				if !bytes.Equal(b, readAll(t, piece)) {
					t.Errorf("piece %s reads differently the second time", piece.Name)
				}
				joined = append(joined, b...)
			}
			if strings.Join(names, ",") != strings.Join(tc.wantNames, ",") {
				t.Errorf("names %v; want %v", names, tc.wantNames)
			}
			switch p.How {
			case AsIs, Split:
				if !bytes.Equal(joined, tc.data) {
					t.Errorf("the pieces joined in order are not the original bytes")
				}
			case Compressed:
				zr, err := zip.NewReader(bytes.NewReader(joined), int64(len(joined)))
				if err != nil {
					t.Fatal(err)
				}
				if len(zr.File) != 1 || zr.File[0].Name != "contract.pdf" || !zr.File[0].Modified.Equal(modTime) {
					t.Fatalf("zip holds %v", zr.File)
				}
				rc, _ := zr.File[0].Open()
				got, _ := io.ReadAll(rc)
				if !bytes.Equal(got, tc.data) {
					t.Errorf("unzipped bytes differ from the original")
				}
			}
		})
	}
}

func TestPrepareErrors(t *testing.T) {
	if _, err := Prepare(context.Background(), "a", 1, time.Time{}, opener([]byte("a")), 0, ""); err != ErrLimit {
		t.Errorf("limit 0: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Prepare(ctx, "a", 10, time.Time{}, opener(random(10)), 5, t.TempDir()); err == nil {
		t.Errorf("cancelled context: no error")
	}
	failing := func() (io.ReadCloser, error) { return nil, io.ErrUnexpectedEOF }
	if _, err := Prepare(context.Background(), "a", 10, time.Time{}, failing, 5, t.TempDir()); err == nil || !strings.Contains(err.Error(), "attach a") {
		t.Errorf("failing source: %v", err)
	}
}

func TestCloseRemovesTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	p, err := Prepare(context.Background(), "x.bin", 50_000, time.Time{}, opener(random(50_000)), 20_000, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Pieces[0].Open(); err == nil {
		t.Errorf("a piece still opens after Close")
	}
}

func BenchmarkPrepareSplit(b *testing.B) {
	data := random(8 << 20)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		p, err := Prepare(context.Background(), "scan.tif", int64(len(data)), time.Time{}, opener(data), 3<<20, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}
