package pipedrive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Time is a timestamp as Pipedrive writes it: RFC 3339 in v2
// ("2021-01-01T00:00:00Z"), "2006-01-02 15:04:05" UTC in v1. It reads
// both, and an empty string or null as the zero Time; it writes RFC 3339
// in UTC to the second, as v2 expects.
type Time struct{ time.Time }

// At returns a *Time for an optional input field.
func At(t time.Time) *Time { return &Time{t} }

// v1Layout is v1's timestamp format, always UTC.
const v1Layout = "2006-01-02 15:04:05"

// UnmarshalJSON reads an RFC 3339 or v1 timestamp.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("pipedrive: timestamp %s: %w", b, err)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, v1Layout, "2006-01-02T15:04:05", time.DateOnly} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v
			return nil
		}
	}
	return fmt.Errorf("pipedrive: timestamp %q: not RFC 3339 or %q", s, v1Layout)
}

// MarshalJSON writes RFC 3339 in UTC to the second, or null for the zero Time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Truncate(time.Second).Format(time.RFC3339))
}

// v1Time formats t as v1 expects in request bodies.
func v1Time(t time.Time) string { return t.UTC().Format(v1Layout) }
