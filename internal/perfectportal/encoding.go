package perfectportal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Encoding names the text encoding of a bundle file.
type Encoding string

// The encodings a bundle file may be in.
const (
	EncodingUTF8        Encoding = "utf-8"
	EncodingWindows1252 Encoding = "windows-1252"
)

// ParseEncoding reads an encoding name as a manifest may spell it, in any
// case: utf-8 or utf8; windows-1252 or cp1252; latin1, latin-1 or
// iso-8859-1, which are read as Windows-1252 (its superset, and what
// "Latin-1" files from Windows really hold). Otherwise it returns a
// *ValueError of kind "encoding", wrapping ErrEmpty when s is empty.
func ParseEncoding(s string) (Encoding, error) {
	s = strings.TrimSpace(s)
	const hint = "use utf-8 or windows-1252"
	if s == "" {
		return "", emptyValueError(kindEncoding, hint)
	}
	key := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(s))
	switch key {
	case "utf8":
		return EncodingUTF8, nil
	case "windows1252", "cp1252", "latin1", "iso88591":
		return EncodingWindows1252, nil
	}
	return "", badValue(kindEncoding, s, "is not a supported text encoding; "+hint)
}

// FileFacts are what Sniff learns from a file's bytes.
type FileFacts struct {
	// SHA256 is the hex SHA-256 of the bytes, as a manifest gives it.
	SHA256 string
	// Size is the number of bytes.
	Size int64
	// BOM reports whether the bytes start with the UTF-8 byte-order mark.
	BOM bool
	// ValidUTF8 reports whether all the bytes are valid UTF-8.
	ValidUTF8 bool
}

const (
	sniffBufferSize = 64 << 10
	utf8BOM         = "\xef\xbb\xbf"
)

// Sniff reads r to the end in one pass and reports its checksum, size,
// whether it starts with a UTF-8 byte-order mark and whether it is valid
// UTF-8. A character split between two reads is checked whole. If reading
// fails it returns the error, wrapped, and no facts.
func Sniff(r io.Reader) (FileFacts, error) {
	h := sha256.New()
	// buf holds up to utf8.UTFMax-1 bytes of a character begun in the
	// previous read, then the new bytes.
	buf := make([]byte, utf8.UTFMax-1+sniffBufferSize)
	var (
		size   int64
		head   [len(utf8BOM)]byte
		nhead  int
		carry  int
		valid  = true
		readEr error
	)
	for readEr == nil {
		var n int
		n, readEr = r.Read(buf[carry:])
		if n == 0 {
			continue
		}
		chunk := buf[carry : carry+n]
		h.Write(chunk)
		size += int64(n)
		if nhead < len(head) {
			nhead += copy(head[nhead:], chunk)
		}
		if !valid {
			continue
		}
		data := buf[:carry+n]
		cut := incompleteTail(data)
		if !utf8.Valid(data[:cut]) {
			valid = false
			carry = 0
			continue
		}
		carry = copy(buf, data[cut:])
	}
	if readEr != io.EOF {
		return FileFacts{}, fmt.Errorf("sniff file: read: %w", readEr)
	}
	if valid && carry > 0 {
		// The file ends inside a character.
		valid = false
	}
	return FileFacts{
		SHA256:    hex.EncodeToString(h.Sum(nil)),
		Size:      size,
		BOM:       nhead == len(head) && string(head[:]) == utf8BOM,
		ValidUTF8: valid,
	}, nil
}

// incompleteTail returns where a multi-byte character that data ends in
// the middle of begins, or len(data) if data does not end mid-character.
func incompleteTail(data []byte) int {
	// A character is at most utf8.UTFMax bytes, so an unfinished one starts
	// within the last UTFMax-1 bytes.
	for i := len(data) - 1; i >= 0 && i >= len(data)-(utf8.UTFMax-1); i-- {
		if utf8.RuneStart(data[i]) {
			if !utf8.FullRune(data[i:]) {
				return i
			}
			break
		}
	}
	return len(data)
}

// NewTextReader returns a reader of r's text as UTF-8. For EncodingUTF8 it
// drops a leading byte-order mark and passes the rest through unchanged;
// for EncodingWindows1252 it decodes every byte with
// charmap.Windows1252 and drops nothing. For any other Encoding, every Read
// returns an error naming it.
func NewTextReader(r io.Reader, enc Encoding) io.Reader {
	switch enc {
	case EncodingUTF8:
		return &bomStripper{r: r}
	case EncodingWindows1252:
		return charmap.Windows1252.NewDecoder().Reader(r)
	}
	return errorReader{err: fmt.Errorf("read text: %w", &ValueError{Kind: kindEncoding,
		Reason: quoteClipped(string(enc)) + " is not a supported text encoding; use utf-8 or windows-1252"})}
}

// bomStripper drops a UTF-8 byte-order mark from the start of r.
type bomStripper struct {
	r       io.Reader
	started bool
	pending []byte // bytes read while looking for the mark, not yet returned
	err     error  // an error met while looking, returned after pending
	head    [len(utf8BOM)]byte
}

func (b *bomStripper) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		n, err := io.ReadFull(b.r, b.head[:])
		b.pending = b.head[:n]
		if n == len(utf8BOM) && string(b.head[:]) == utf8BOM {
			b.pending = nil
		}
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			b.err = io.EOF
		case err != nil:
			b.err = err
		}
	}
	if len(b.pending) > 0 {
		n := copy(p, b.pending)
		b.pending = b.pending[n:]
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	return b.r.Read(p)
}

type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) { return 0, e.err }
