package contract

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// Transport wraps base (http.DefaultTransport when nil) for a client under
// test: every request and response through it is validated and each violation
// is reported with tb.Errorf, never tb.Fatal, so it is safe from any
// goroutine. Traffic passes on unchanged: request and response bodies reach
// their readers byte for byte. Requests whose path starts "/_sandbox/" (the
// sandbox's admin API) pass through unvalidated.
//
// A request body is read before it is sent: up to 4 MiB in memory, a larger
// one (a multipart file upload) in a temporary file removed when the
// transport closes the body. Of a multipart body the form structure and every
// field part are validated, and only the first 64 KiB of each file part. Of a
// response body at most 8 MiB is validated; beyond that only status and
// Content-Type are.
func (v *Validator) Transport(tb testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{v: v, tb: tb, base: base}
}

type transport struct {
	v    *Validator
	tb   testing.TB
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if isSandboxAdmin(req.URL.Path) {
		return t.base.RoundTrip(req)
	}
	var reqErr error
	if req.Body != nil && req.Body != http.NoBody {
		s, err := spool(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqErr = t.v.validateSpooled(req, s)
		out := req.Clone(req.Context())
		out.Body = s.readCloser()
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(s.reader()), nil }
		req = out
	} else {
		reqErr = t.v.ValidateRequest(req, nil)
	}
	if reqErr != nil {
		t.tb.Errorf("contract: %v", reqErr)
	}

	resp, err := t.base.RoundTrip(req)
	if err != nil || unrouted(reqErr) {
		return resp, err // an unrouted request was reported: there is no operation to check the response against
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, responseLimit+1))
	complete := rerr == nil && len(body) <= responseLimit
	if complete {
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	} else {
		resp.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(body), resp.Body), Closer: resp.Body}
		if rerr != nil {
			// The reader will see the same error; the validator has nothing to check.
			return resp, nil
		}
	}
	if err := t.v.validateResponse(req, resp.StatusCode, resp.Header, body, complete); err != nil {
		t.tb.Errorf("contract: %v", err)
	}
	return resp, nil
}

type replayBody struct {
	io.Reader
	io.Closer
}
