package perfectportal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

func TestParseEncoding(t *testing.T) {
	tests := []struct {
		in   string
		want Encoding
	}{
		{"utf-8", EncodingUTF8},
		{"utf8", EncodingUTF8},
		{"UTF-8", EncodingUTF8},
		{" Utf8 ", EncodingUTF8},
		{"windows-1252", EncodingWindows1252},
		{"Windows-1252", EncodingWindows1252},
		{"cp1252", EncodingWindows1252},
		{"CP-1252", EncodingWindows1252},
		{"latin1", EncodingWindows1252},
		{"Latin-1", EncodingWindows1252},
		{"iso-8859-1", EncodingWindows1252},
		{"ISO_8859-1", EncodingWindows1252},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseEncoding(tt.in)
			if err != nil {
				t.Fatalf("ParseEncoding(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseEncoding(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}

	errTests := []struct {
		name  string
		in    string
		want  string
		empty bool
	}{
		{"empty", "", "empty", true},
		{"utf-16", "utf-16", `encoding: "utf-16" is not a supported text encoding; use utf-8 or windows-1252`, false},
		{"latin9", "iso-8859-15", "not a supported text encoding", false},
		{"ascii", "ascii", "not a supported text encoding", false},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEncoding(tt.in)
			checkValueError(t, err, "encoding", tt.want, tt.empty)
		})
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// splitAt returns n bytes of ASCII padding followed by tail, so that tail
// starts n bytes in.
func splitAt(n int, tail string) []byte {
	return append(bytes.Repeat([]byte("a"), n), tail...)
}

func TestSniff(t *testing.T) {
	const boundary = sniffBufferSize
	tests := []struct {
		name      string
		in        []byte
		wantBOM   bool
		wantValid bool
	}{
		{"empty", nil, false, true},
		{"ascii", []byte("matter_id,matter_number\r\nM1,2026/001\r\n"), false, true},
		{"bom", []byte("\xef\xbb\xbfmatter_id\n"), true, true},
		{"bom only", []byte(utf8BOM), true, true},
		{"part of a bom", []byte("\xef\xbb"), false, false},
		{"bom later in the file", []byte("a\xef\xbb\xbf"), false, true},
		{"utf-8 multibyte", []byte("£1,234 café — naïve 😀"), false, true},
		{"2-byte char split at the buffer boundary", splitAt(boundary-1, "é"), false, true},
		{"3-byte char split after one byte", splitAt(boundary-1, "€"), false, true},
		{"3-byte char split after two bytes", splitAt(boundary-2, "€"), false, true},
		{"4-byte char split after three bytes", splitAt(boundary-3, "😀"), false, true},
		{"4-byte char split at the second boundary", splitAt(2*boundary-2, "😀x"), false, true},
		{"char ending exactly at the boundary", splitAt(boundary-2, "é"), false, true},
		{"windows-1252 pound and e-acute", []byte("\xa31,234 caf\xe9"), false, false},
		{"windows-1252 byte after the boundary", splitAt(boundary+10, "caf\xe9"), false, false},
		{"lone continuation byte at the boundary", splitAt(boundary, "\xa9"), false, false},
		{"truncated at end of file", []byte("caf\xc3"), false, false},
		{"truncated 4-byte at the boundary and end of file", splitAt(boundary-2, "\xf0\x9f"), false, false},
		{"lead byte then ascii across the boundary", splitAt(boundary-1, "\xc3a"), false, false},
		{"surrogate encoded", []byte("\xed\xa0\x80"), false, false},
		{"overlong encoding", []byte("\xc0\xaf"), false, false},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte at a time", iotest.OneByteReader},
		{"half reads", iotest.HalfReader},
		{"data with EOF", iotest.DataErrReader},
	}
	for _, tt := range tests {
		want := FileFacts{SHA256: sha256Hex(tt.in), Size: int64(len(tt.in)), BOM: tt.wantBOM, ValidUTF8: tt.wantValid}
		if got := utf8.Valid(tt.in); got != tt.wantValid {
			t.Fatalf("%s: test data: utf8.Valid = %v, want %v", tt.name, got, tt.wantValid)
		}
		for _, rd := range readers {
			if rd.name == "one byte at a time" && len(tt.in) > 4*boundary {
				continue
			}
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				got, err := Sniff(rd.wrap(bytes.NewReader(tt.in)))
				if err != nil {
					t.Fatalf("Sniff: %v", err)
				}
				if got != want {
					t.Errorf("Sniff = %+v, want %+v", got, want)
				}
			})
		}
	}
}

// TestSniffMatchesStdlib compares Sniff with utf8.Valid and sha256.Sum256 on
// random mixtures of ASCII, multi-byte characters and stray bytes, read in
// random chunk sizes, so that characters fall across read boundaries in
// every way.
func TestSniffMatchesStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "\n", ",", "é", "£", "€", "😀", "\xa3", "\xe9", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\x80"}
	for i := range 300 {
		var b bytes.Buffer
		n := rng.IntN(3 * sniffBufferSize / 2)
		valid := rng.IntN(2) == 0
		for b.Len() < n {
			p := pieces[rng.IntN(len(pieces))]
			if valid && !utf8.ValidString(p) {
				continue
			}
			b.WriteString(p)
		}
		data := b.Bytes()
		want := FileFacts{SHA256: sha256Hex(data), Size: int64(len(data)), BOM: false, ValidUTF8: utf8.Valid(data)}
		got, err := Sniff(&chunkReader{data: data, rng: rng})
		if err != nil {
			t.Fatalf("case %d: Sniff: %v", i, err)
		}
		if got != want {
			t.Fatalf("case %d (%d bytes): Sniff = %+v, want %+v", i, len(data), got, want)
		}
	}
}

// chunkReader returns data in reads of random length.
type chunkReader struct {
	data []byte
	rng  *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), 1+c.rng.IntN(9000))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestSniffReadError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := Sniff(io.MultiReader(strings.NewReader("matter_id\n"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Errorf("Sniff error = %v, want it to wrap %v", err, boom)
	}
}

func TestNewTextReader(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		enc  Encoding
		want string
	}{
		{"windows-1252", []byte("\xa31,234 caf\xe9"), EncodingWindows1252, "£1,234 café"},
		{"windows-1252 euro and smart quotes", []byte("\x80 \x93quoted\x94 \x96 dash"), EncodingWindows1252, "€ “quoted” – dash"},
		{"windows-1252 keeps a utf-8 bom's bytes", []byte("\xef\xbb\xbfa"), EncodingWindows1252, "ï»¿a"},
		{"utf-8 bom stripped", []byte("\xef\xbb\xbfmatter_id,£\n"), EncodingUTF8, "matter_id,£\n"},
		{"utf-8 without bom", []byte("matter_id,£\n"), EncodingUTF8, "matter_id,£\n"},
		{"utf-8 only a bom", []byte(utf8BOM), EncodingUTF8, ""},
		{"utf-8 shorter than a bom", []byte("ab"), EncodingUTF8, "ab"},
		{"utf-8 empty", nil, EncodingUTF8, ""},
		{"utf-8 second bom kept", []byte(utf8BOM + utf8BOM + "x"), EncodingUTF8, utf8BOM + "x"},
		{"utf-8 invalid bytes passed through", []byte("caf\xe9"), EncodingUTF8, "caf\xe9"},
	}
	for _, tt := range tests {
		for _, rd := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"one byte at a time", iotest.OneByteReader},
		} {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				got, err := io.ReadAll(NewTextReader(rd.wrap(bytes.NewReader(tt.in)), tt.enc))
				if err != nil {
					t.Fatalf("ReadAll: %v", err)
				}
				if string(got) != tt.want {
					t.Errorf("read %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestNewTextReaderErrors(t *testing.T) {
	t.Run("unsupported encoding", func(t *testing.T) {
		_, err := io.ReadAll(NewTextReader(strings.NewReader("x"), Encoding("utf-16")))
		var ve *ValueError
		if !errors.As(err, &ve) || ve.Kind != "encoding" {
			t.Errorf("err = %v, want an encoding *ValueError", err)
		}
	})
	t.Run("read error while looking for the bom", func(t *testing.T) {
		boom := errors.New("connection reset")
		r := NewTextReader(io.MultiReader(strings.NewReader("a"), iotest.ErrReader(boom)), EncodingUTF8)
		got, err := io.ReadAll(r)
		if string(got) != "a" || !errors.Is(err, boom) {
			t.Errorf("ReadAll = %q, %v, want %q, %v", got, err, "a", boom)
		}
	})
}
