package contract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"
)

// Limits on what Transport and Middleware hold to validate a body. Bodies are
// always passed on whole and byte for byte; the limits only bound memory.
const (
	// memLimit is the most of a request body held in memory; a larger body
	// (a multipart file upload) is spooled to a temporary file, removed when
	// the body is closed.
	memLimit = 4 << 20
	// filePartLimit is how much of each multipart file part is validated:
	// the schema says only "string, format: binary", so the structure of the
	// form, its field parts and the presence of the file are what is checked.
	filePartLimit = 64 << 10
	// fieldPartLimit is the largest non-file multipart part validated.
	fieldPartLimit = 1 << 20
	// responseLimit is the most of a response body validated; a larger body
	// (a file download) has its status and Content-Type checked only.
	responseLimit = 8 << 20
)

// spooled is a body read once and replayable: in memory up to memLimit,
// otherwise in a temporary file.
type spooled struct {
	mem  []byte
	file *os.File
	size int64
}

// spool reads r to EOF.
func spool(r io.Reader) (*spooled, error) {
	buf, err := io.ReadAll(io.LimitReader(r, memLimit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(buf) <= memLimit {
		return &spooled{mem: buf, size: int64(len(buf))}, nil
	}
	f, err := os.CreateTemp("", "contract-body-*")
	if err != nil {
		return nil, fmt.Errorf("spool body: %w", err)
	}
	n, err := io.Copy(f, io.MultiReader(bytes.NewReader(buf), r))
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("spool body: %w", err)
	}
	return &spooled{file: f, size: n}, nil
}

func (s *spooled) reader() io.Reader {
	if s.file != nil {
		return io.NewSectionReader(s.file, 0, s.size)
	}
	return bytes.NewReader(s.mem)
}

// readCloser returns a fresh body over the spooled bytes; closing it removes
// the temporary file, if any.
func (s *spooled) readCloser() io.ReadCloser {
	return &spooledBody{Reader: s.reader(), s: s}
}

func (s *spooled) remove() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}

type spooledBody struct {
	io.Reader
	s *spooled
}

func (b *spooledBody) Close() error {
	b.s.remove()
	return nil
}

// forValidation returns the bytes to validate for a body of contentType: the
// body itself when it is in memory; for multipart/form-data a copy of the
// form, with the same boundary, holding every part but only the first
// filePartLimit bytes of each file part. It returns an error when the body
// cannot be validated (too large, or a malformed form).
func (s *spooled) forValidation(contentType string) ([]byte, error) {
	mt, params, _ := mime.ParseMediaType(contentType)
	if mt != "multipart/form-data" {
		if s.file != nil {
			return nil, fmt.Errorf("body of %d bytes is larger than the %d bytes validated (only multipart uploads may be larger)", s.size, memLimit)
		}
		return s.mem, nil
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, errors.New("multipart body: no boundary in Content-Type")
	}
	mr := multipart.NewReader(s.reader(), boundary)
	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	if err := mw.SetBoundary(boundary); err != nil {
		return nil, fmt.Errorf("multipart body: %w", err)
	}
	for {
		// NextRawPart: the validator must see the parts' bytes as sent.
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("multipart body: %w", err)
		}
		limit := int64(fieldPartLimit)
		if part.FileName() != "" {
			limit = filePartLimit
		}
		w, err := mw.CreatePart(textproto.MIMEHeader(part.Header))
		if err != nil {
			return nil, fmt.Errorf("multipart body: %w", err)
		}
		n, err := io.Copy(w, io.LimitReader(part, limit))
		if err != nil {
			return nil, fmt.Errorf("multipart body: part %q: %w", part.FormName(), err)
		}
		if n == limit {
			rest, err := io.Copy(io.Discard, part)
			if err != nil {
				return nil, fmt.Errorf("multipart body: part %q: %w", part.FormName(), err)
			}
			if rest > 0 && part.FileName() == "" {
				return nil, fmt.Errorf("multipart body: field part %q is larger than %d bytes", part.FormName(), fieldPartLimit)
			}
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("multipart body: %w", err)
	}
	return out.Bytes(), nil
}

// isSandboxAdmin reports whether path belongs to the sandbox's admin API,
// which is not Pipedrive's and is never validated.
func isSandboxAdmin(path string) bool { return strings.HasPrefix(path, "/_sandbox/") }

// validateSpooled validates r with its spooled body s (see forValidation).
func (v *Validator) validateSpooled(r *http.Request, s *spooled) error {
	body, err := s.forValidation(r.Header.Get("Content-Type"))
	if err != nil {
		return secretsOf(r).newError(r.Method+" "+r.URL.Path, Request, ErrViolation, err.Error())
	}
	return v.ValidateRequest(r, body)
}

// unrouted reports whether err says the request matched no current operation.
func unrouted(err error) bool {
	return errors.Is(err, ErrUnknownOperation) || errors.Is(err, ErrDeprecatedV1)
}
