package contract

import (
	"bytes"
	"net/http"
	"testing"
)

// Middleware wraps next (a server under test, such as the sandbox): every
// request it receives and every response it writes is validated, and each
// violation is reported with tb.Errorf. The handler sees the request body byte
// for byte, and the response streams to the client as next writes it (Flush
// is passed on); the wrapper only keeps a copy, with the limits Transport
// documents. Requests whose path starts "/_sandbox/" pass through unvalidated.
//
// A request that breaks the contract is still passed to next, so a test that
// sends a bad request on purpose sees the server's answer, and a reported
// violation.
func (v *Validator) Middleware(tb testing.TB, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isSandboxAdmin(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		in := r
		var reqErr error
		if r.Body != nil && r.Body != http.NoBody {
			s, err := spool(r.Body)
			if err != nil {
				tb.Errorf("contract: %s %s: %v", r.Method, r.URL.Path, err)
				http.Error(w, "contract middleware: "+err.Error(), http.StatusInternalServerError)
				return
			}
			defer s.remove()
			in = r.WithContext(r.Context())
			in.Body = s.readCloser()
			reqErr = v.validateSpooled(r, s)
		} else {
			reqErr = v.ValidateRequest(r, nil)
		}
		if reqErr != nil {
			tb.Errorf("contract: %v", reqErr)
		}

		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, in)
		if unrouted(reqErr) {
			return // already reported: there is no operation to check the response against
		}
		status, header := rec.result()
		if err := v.validateResponse(r, status, header, rec.body.Bytes(), !rec.overflow); err != nil {
			tb.Errorf("contract: %v", err)
		}
	})
}

// recorder passes a response through to the client while keeping its status,
// its header as sent and up to responseLimit bytes of its body.
type recorder struct {
	http.ResponseWriter
	status   int
	header   http.Header
	body     bytes.Buffer
	overflow bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.status = code
		r.header = r.ResponseWriter.Header().Clone()
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if !r.overflow {
		if r.body.Len()+len(p) > responseLimit {
			r.overflow = true
		} else {
			r.body.Write(p)
		}
	}
	return r.ResponseWriter.Write(p)
}

// Flush passes on to the client's writer, so streaming still streams.
func (r *recorder) Flush() {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// result is the status and header the client received. net/http sniffs a
// Content-Type when the handler sets none; so does result, as the client
// would see it.
func (r *recorder) result() (int, http.Header) {
	status, header := r.status, r.header
	if status == 0 {
		status, header = http.StatusOK, r.ResponseWriter.Header().Clone()
	}
	if header.Get("Content-Type") == "" && r.body.Len() > 0 {
		header.Set("Content-Type", http.DetectContentType(r.body.Bytes()))
	}
	return status, header
}
