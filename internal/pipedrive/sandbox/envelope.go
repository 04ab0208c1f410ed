package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/pipedrive/cost"
)

// Pipedrive's two time formats: RFC 3339 in v2, "2019-02-04 13:58:03" (UTC) in v1.
const (
	v2Time = time.RFC3339
	v1Time = "2006-01-02 15:04:05"
)

const errorInfo = "Please check developers.pipedrive.com for more information about Pipedrive API."

// reply is an API answer, written after the lock is released.
type reply struct {
	status int
	body   any
}

func (r *reply) write(w http.ResponseWriter) { writeJSON(w, r.status, r.body) }

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody("Internal error", "The sandbox could not encode its answer."))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// errorBody is Pipedrive's error envelope.
func errorBody(msg, info string) map[string]any {
	if info == "" {
		info = errorInfo
	}
	return map[string]any{"success": false, "error": msg, "error_info": info, "data": nil, "additional_data": nil}
}

func unauthorized() map[string]any {
	b := errorBody("unauthorized access", errorInfo)
	b["errorCode"] = http.StatusUnauthorized
	return b
}

func fail(status int, format string, args ...any) *reply {
	return &reply{status: status, body: errorBody(fmt.Sprintf(format, args...), "")}
}

func badRequest(format string, args ...any) *reply {
	return fail(http.StatusBadRequest, format, args...)
}

func notFound(what string) *reply { return fail(http.StatusNotFound, "%s not found", what) }

func ok(data any) *reply {
	return &reply{status: http.StatusOK, body: map[string]any{"success": true, "data": data}}
}

func okWith(data, additional any) *reply {
	return &reply{status: http.StatusOK, body: map[string]any{"success": true, "data": data, "additional_data": additional}}
}

// blockedPage is what a client that keeps sending after 429s gets instead
// of JSON, as Pipedrive's edge answers it.
const blockedPage = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Access denied | api.pipedrive.com used Cloudflare to restrict access</title></head>
<body>
<h1>Access denied</h1>
<p>Error 1015: You are being rate limited.</p>
<p>The owner of this website has banned you temporarily from accessing this website.</p>
</body>
</html>
`

func writeBlocked(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(http.StatusForbidden)
	io.WriteString(w, blockedPage)
}

// upload is a received file: only its size, digest and first bytes are kept.
type upload struct {
	name   string
	size   int64
	sha256 string
	head   []byte
	fields map[string]string
}

const (
	maxJSONBody = 1 << 20
	headBytes   = 64
)

// parseCall reads a request's query and body. A body that cannot be read
// as the operation needs gives the reply to send instead.
func parseCall(r *http.Request, op cost.Op, fileLimit int64) (*call, *reply) {
	c := &call{method: r.Method, op: op, query: r.URL.Query(), ctx: r.Context()}
	c.path = strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method == http.MethodGet || r.Method == http.MethodDelete {
		return c, nil
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		up, rep := readUpload(r, params["boundary"], fileLimit)
		if rep != nil {
			return nil, rep
		}
		c.file = up
		return c, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		return nil, badRequest("Could not read the request body")
	}
	if len(data) > maxJSONBody {
		return nil, fail(http.StatusRequestEntityTooLarge, "Request body too large")
	}
	c.body = map[string]any{}
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	if mt == "application/x-www-form-urlencoded" {
		return nil, badRequest("Use a JSON request body (Content-Type: application/json)")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var body any
	if err := dec.Decode(&body); err != nil {
		return nil, badRequest("Invalid JSON in the request body")
	}
	m, isObj := body.(map[string]any)
	if !isObj {
		return nil, badRequest("The request body must be a JSON object")
	}
	c.body = m
	return c, nil
}

// readUpload streams a multipart body, keeping the file's size, SHA-256 and
// first bytes, never the whole file.
func readUpload(r *http.Request, boundary string, limit int64) (*upload, *reply) {
	if boundary == "" {
		return nil, badRequest("Missing multipart boundary")
	}
	mr := multipart.NewReader(r.Body, boundary)
	up := &upload{fields: map[string]string{}}
	sawFile := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badRequest("Malformed multipart body")
		}
		if part.FormName() == "file" {
			sawFile = true
			up.name = part.FileName()
			h := sha256.New()
			head := &headWriter{max: headBytes}
			n, err := io.Copy(io.MultiWriter(h, head), io.LimitReader(part, limit+1))
			if err != nil {
				return nil, badRequest("Could not read the file")
			}
			if n > limit {
				return nil, fail(http.StatusRequestEntityTooLarge, "File is too large: the limit is %d bytes", limit)
			}
			up.size = n
			up.sha256 = hex.EncodeToString(h.Sum(nil))
			up.head = head.buf
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, 4096))
		if err != nil {
			return nil, badRequest("Malformed multipart body")
		}
		up.fields[part.FormName()] = string(v)
	}
	if !sawFile {
		return nil, badRequest("No file was uploaded: send it in the multipart part named \"file\"")
	}
	return up, nil
}

type headWriter struct {
	buf []byte
	max int
}

func (h *headWriter) Write(p []byte) (int, error) {
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
