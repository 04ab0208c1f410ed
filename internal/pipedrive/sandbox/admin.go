package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The admin API: GET /_sandbox/meter, GET /_sandbox/snapshot,
// POST /_sandbox/reset, GET or POST /_sandbox/faults (a Faults object) and
// POST /_sandbox/compare (a snapshot; answers {"equal", "differences"}).
// It needs the token, costs nothing and is not rate limited. Its answers are
// plain JSON, not Pipedrive's envelope, so a snapshot can be posted back.
func (s *Sandbox) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if requestToken(r) != s.opt.Token {
		writeJSON(w, http.StatusUnauthorized, unauthorized())
		return
	}
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /_sandbox/meter":
		writeJSON(w, http.StatusOK, s.Meter())
	case "GET /_sandbox/snapshot":
		writeJSON(w, http.StatusOK, s.Snapshot())
	case "POST /_sandbox/reset":
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]any{"reset": true})
	case "GET /_sandbox/faults":
		s.mu.Lock()
		f := s.faults
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, f)
	case "POST /_sandbox/faults":
		var f Faults
		if err := decodeAdmin(r, &f); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody(err.Error(), "Send a Faults object."))
			return
		}
		if err := s.SetFaults(f); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody(err.Error(), "Send a Faults object."))
			return
		}
		writeJSON(w, http.StatusOK, f)
	case "POST /_sandbox/compare":
		var want State
		if err := decodeAdmin(r, &want); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody(err.Error(), "Send a snapshot from GET /_sandbox/snapshot."))
			return
		}
		want.fill()
		diffs := Compare(want, s.Snapshot())
		writeJSON(w, http.StatusOK, map[string]any{"equal": len(diffs) == 0, "differences": nonNil(diffs)})
	default:
		writeJSON(w, http.StatusNotFound, errorBody("Unknown sandbox admin call "+route, ""))
	}
}

func decodeAdmin(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("read the request body: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode the request body: %w", err)
	}
	return nil
}

// MarshalJSON writes Latency as a duration string ("150ms").
func (f Faults) MarshalJSON() ([]byte, error) {
	type plain Faults
	return json.Marshal(struct {
		plain
		Latency string `json:"latency,omitempty"`
	}{plain(f), durationString(f.Latency)})
}

// UnmarshalJSON reads Latency as a duration string ("150ms") or a number
// of nanoseconds; it returns an error for anything else.
func (f *Faults) UnmarshalJSON(b []byte) error {
	type plain Faults
	var aux struct {
		plain
		Latency json.RawMessage `json:"latency,omitempty"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*f = Faults(aux.plain)
	if len(aux.Latency) == 0 || string(aux.Latency) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(aux.Latency, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		f.Latency = d
		return nil
	}
	var n int64
	if err := json.Unmarshal(aux.Latency, &n); err != nil {
		return fmt.Errorf("latency must be a duration string or nanoseconds")
	}
	f.Latency = time.Duration(n)
	return nil
}

func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}
