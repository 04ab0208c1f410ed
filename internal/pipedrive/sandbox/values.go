package sandbox

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ptype is a body property's type. v2 is strict: numbers are never taken
// from strings and booleans are true/false.
type ptype int

const (
	pString ptype = iota
	pInt
	pNumber
	pBool
	pDate     // YYYY-MM-DD
	pClock    // HH:MM or HH:MM:SS
	pDateTime // RFC 3339 or "YYYY-MM-DD HH:MM:SS"
	pIntList
	pObject
	pContacts // [{value, primary, label}]
	pArray    // of objects
	pRef      // the id of a live entity of kind ref
)

// prop describes one documented body property.
type prop struct {
	t        ptype
	ref      string   // pRef: the kind
	enum     []string // pString: the allowed values
	required bool     // on create
	nullable bool
	max      int // pString: the longest value
}

// asInt reads a whole number from a decoded JSON value. A number written
// as a float ("2.0", "1e3") counts if it is whole and within int64's range.
func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			f, err := n.Float64()
			if err != nil {
				return 0, false
			}
			return floatInt(f)
		}
		return int(i), true
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return floatInt(n)
	}
	return 0, false
}

// floatInt converts a whole float64 within int64's range; converting one
// beyond it gives an arbitrary number (math.MinInt64 on amd64).
func floatInt(f float64) (int, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int(f), true
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

var (
	clockRE = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$`)
	emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// parseDateTime reads an RFC 3339 or v1 time, as UTC. A time whose UTC
// year is not four digits ("0000-01-01T00:00:00+01:00" is in year -1) is
// refused: it would not read back from its RFC 3339 form, nor encode as JSON.
func parseDateTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.Parse(v1Time, s)
	}
	if err != nil {
		return time.Time{}, false
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// checkBody validates a JSON body against the documented properties and
// returns the values normalised: whole numbers as int64, numbers as
// float64, contacts with a primary; nil means "clear". Unknown properties
// are refused, so that a client sending what Pipedrive ignores learns it.
func checkBody(st *State, body map[string]any, props map[string]prop, create bool) (map[string]any, *reply) {
	out := map[string]any{}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range body {
			if !yield(k) {
				return
			}
		}
	}) {
		if k == "custom_fields" {
			continue
		}
		p, known := props[k]
		if !known {
			return nil, badRequest("Unknown parameter: %s", k)
		}
		v := body[k]
		if v == nil {
			if !p.nullable && (p.required || p.t == pBool || p.t == pContacts) {
				return nil, badRequest("Parameter %s must not be null", k)
			}
			out[k] = nil
			continue
		}
		nv, msg := checkValue(st, v, p)
		if msg != "" {
			return nil, badRequest("Parameter %s %s", k, msg)
		}
		out[k] = nv
	}
	if create {
		for k, p := range props {
			if p.required && out[k] == nil {
				return nil, badRequest("Parameter %s is required", k)
			}
		}
	}
	return out, nil
}

func checkValue(st *State, v any, p prop) (any, string) {
	switch p.t {
	case pString:
		s, ok := v.(string)
		if !ok {
			return nil, "must be a string"
		}
		if p.required && strings.TrimSpace(s) == "" {
			return nil, "must not be empty"
		}
		if p.max > 0 && len([]rune(s)) > p.max {
			return nil, fmt.Sprintf("must be at most %d characters", p.max)
		}
		if len(p.enum) > 0 && !slices.Contains(p.enum, s) {
			return nil, "must be one of " + strings.Join(p.enum, ", ")
		}
		return s, ""
	case pInt:
		n, ok := asInt(v)
		if !ok {
			return nil, "must be an integer"
		}
		return int64(n), ""
	case pNumber:
		f, ok := asFloat(v)
		if !ok {
			return nil, "must be a number"
		}
		return f, ""
	case pBool:
		b, ok := v.(bool)
		if !ok {
			return nil, "must be true or false"
		}
		return b, ""
	case pDate:
		s, ok := v.(string)
		if !ok || !isDate(s) {
			return nil, "must be a date as YYYY-MM-DD"
		}
		return s, ""
	case pClock:
		s, ok := v.(string)
		if !ok || !clockRE.MatchString(s) {
			return nil, "must be a time as HH:MM"
		}
		return s, ""
	case pDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, "must be a date and time"
		}
		t, ok := parseDateTime(s)
		if !ok {
			return nil, "must be an RFC 3339 date and time"
		}
		return t.Format(v2Time), ""
	case pIntList:
		arr, ok := v.([]any)
		if !ok {
			return nil, "must be an array of integers"
		}
		out := make([]any, 0, len(arr))
		for _, x := range arr {
			n, ok := asInt(x)
			if !ok {
				return nil, "must be an array of integers"
			}
			out = append(out, int64(n))
		}
		return out, ""
	case pObject:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "must be an object"
		}
		n, ok := normalise(m)
		if !ok {
			return nil, outOfRange
		}
		return n, ""
	case pArray:
		arr, ok := v.([]any)
		if !ok {
			return nil, "must be an array"
		}
		for _, x := range arr {
			if _, ok := x.(map[string]any); !ok {
				return nil, "must be an array of objects"
			}
		}
		n, ok := normalise(arr)
		if !ok {
			return nil, outOfRange
		}
		return n, ""
	case pContacts:
		return checkContacts(v)
	case pRef:
		n, ok := asInt(v)
		if !ok {
			return nil, "must be an integer id"
		}
		if st.live(p.ref, n) == nil {
			return nil, fmt.Sprintf("refers to %s %d, which does not exist", singular[p.ref], n)
		}
		return int64(n), ""
	}
	return nil, "has an unsupported type"
}

var singular = map[string]string{
	kPersons: "person", kOrgs: "organization", kDeals: "deal", kActivities: "activity", kPipelines: "pipeline",
	kStages: "stage", kNotes: "note", kFiles: "file", kParticipants: "participant", kUsers: "user",
	kActivityTypes: "activity type",
}

func checkContacts(v any) (any, string) {
	arr, ok := v.([]any)
	if !ok {
		return nil, "must be an array of {value, primary, label}"
	}
	out := make([]any, 0, len(arr))
	primary := false
	for _, x := range arr {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, "must be an array of {value, primary, label}"
		}
		c := map[string]any{"label": "work", "primary": false}
		for k, v := range m {
			switch k {
			case "value":
				s, ok := v.(string)
				if !ok || strings.TrimSpace(s) == "" {
					return nil, "items need a non-empty string value"
				}
				c["value"] = s
			case "primary":
				b, ok := v.(bool)
				if !ok {
					return nil, "items' primary must be true or false"
				}
				if b && primary {
					b = false // only one primary
				}
				primary = primary || b
				c["primary"] = b
			case "label":
				s, ok := v.(string)
				if !ok {
					return nil, "items' label must be a string"
				}
				c["label"] = s
			default:
				return nil, "items have an unknown property " + k
			}
		}
		if c["value"] == nil {
			return nil, "items need a value"
		}
		out = append(out, c)
	}
	if !primary && len(out) > 0 {
		out[0].(map[string]any)["primary"] = true
	}
	return out, ""
}

// normalise turns json.Numbers into int64 or float64, recursively. It
// returns false for a number beyond float64's range ("1e400"), which would
// be stored as ±Inf and could then never be encoded again.
func normalise(v any) (any, bool) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, true
		}
		f, err := x.Float64()
		return f, err == nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			n, ok := normalise(v)
			if !ok {
				return nil, false
			}
			out[k] = n
		}
		return out, true
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			n, ok := normalise(v)
			if !ok {
				return nil, false
			}
			out[i] = n
		}
		return out, true
	}
	return v, true
}

// outOfRange is checkValue's message for a value normalise refuses.
const outOfRange = "has a number out of range"

// apply merges checked values into attrs; nil clears.
func apply(attrs, vals map[string]any) {
	for k, v := range vals {
		if v == nil {
			delete(attrs, k)
		} else {
			attrs[k] = v
		}
	}
}

func attrInt(e *Entity, k string) (int, bool) {
	if e == nil {
		return 0, false
	}
	return asInt(e.Attrs[k])
}

func attrString(e *Entity, k string) string {
	if e == nil {
		return ""
	}
	s, _ := e.Attrs[k].(string)
	return s
}
