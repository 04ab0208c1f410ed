package contract

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Quirk is one deviation from Pipedrive's published documents that the
// project tolerates, because real Pipedrive traffic deviates that way.
type Quirk struct {
	// Operation the quirk applies to: "*" for every operation, "* /v1/*" for
	// every v1 operation, or one operation as "GET /v1/users".
	Operation string
	// Where in the exchange the deviation is tolerated.
	Where string
	// Reason says why the deviation is tolerated.
	Reason string

	kind  quirkKind
	match func(x *exchange) bool
}

type quirkKind int

const (
	quirkUndeclaredErrorStatus quirkKind = iota + 1
	quirkHTMLBlockPage
	quirkV1DateTime
	quirkNullNextCursor
)

// exchange is what a quirk's match sees of a response.
type exchange struct {
	api       string // "v1" or "v2"
	operation string // "GET /v1/users/me"
	status    int
	mediaType string // lowercased, without parameters
	declared  bool   // the operation declares this status (or a range or default covering it)
}

// Quirks is the one allow-list of spec deviations the project tolerates, each
// with its reason. Nothing else in the package loosens the documents.
var Quirks = []Quirk{
	{
		Operation: "*",
		Where:     "response: undeclared 4xx/5xx status",
		Reason: "Pipedrive answers 400, 401, 402, 403, 404, 405, 410, 422, 429 and 5xx from any operation with its error " +
			`envelope {"success": false, "error": "...", "error_info": "...", "data": null}, but most operations declare ` +
			"only some of these and none declares 429. An undeclared 4xx/5xx passes when its body is that envelope " +
			"(application/json), checked against the envelope schema in this package.",
		kind:  quirkUndeclaredErrorStatus,
		match: func(x *exchange) bool { return !x.declared && x.status >= 400 && x.status <= 599 },
	},
	{
		Operation: "*",
		Where:     "response: 403 with Content-Type text/html",
		Reason: "Pipedrive's edge answers a blocked request (bot or abuse protection) with an HTML page and status 403, " +
			"before the API sees it; no operation declares it. The body is not checked.",
		kind:  quirkHTMLBlockPage,
		match: func(x *exchange) bool { return x.status == 403 && x.mediaType == "text/html" },
	},
	{
		Operation: "* /v1/*",
		Where:     `request and response bodies and parameters: strings with format "date-time"`,
		Reason: `v1 writes timestamps as "2019-02-04 13:58:03" (UTC, a space, no zone) where its schemas say ` +
			"format: date-time (RFC 3339); its own examples and real v1 responses use that form. v1 accepts both " +
			"forms; v2 gets RFC 3339 only.",
		kind:  quirkV1DateTime,
		match: func(x *exchange) bool { return x.api == "v1" },
	},
	{
		Operation: "*",
		Where:     "response body: additional_data.next_cursor",
		Reason: "Cursor-paginated list responses (v2, and v1's cursor endpoints) declare next_cursor as type string, but the same documents say \"The value of the " +
			"next_cursor field will be null if you have reached the end of the dataset\". The validator treats it as " +
			"nullable wherever additional_data declares it.",
		kind:  quirkNullNextCursor,
		match: func(x *exchange) bool { return true },
	},
}

// quirkFor returns the first quirk of kind matching x.
func quirkFor(kind quirkKind, x *exchange) (Quirk, bool) {
	for _, q := range Quirks {
		if q.kind == kind && q.match(x) {
			return q, true
		}
	}
	return Quirk{}, false
}

var (
	rfc3339 = regexp.MustCompile(openapi3.FormatOfStringDateTime)
	v1Stamp = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$`)
	// v1DateTime is the date-time format of the v1 document (quirkV1DateTime).
	v1DateTime = openapi3.NewCallbackValidator(checkV1DateTime)
)

func checkV1DateTime(s string) error {
	switch {
	case rfc3339.MatchString(s):
		if _, err := time.Parse(time.DateOnly, s[:len(time.DateOnly)]); err != nil {
			return fmt.Errorf("not a valid date-time: %w", err)
		}
		return nil
	case v1Stamp.MatchString(s):
		if _, err := time.Parse(time.DateTime, s); err != nil {
			return fmt.Errorf("not a valid date-time: %w", err)
		}
		return nil
	}
	return fmt.Errorf(`not a date-time: want RFC 3339 or "YYYY-MM-DD HH:MM:SS"`)
}

// errorEnvelope is the body of Pipedrive's error responses (v1 and v2), as
// the quirk for undeclared error statuses checks it.
const errorEnvelope = `{
  "type": "object",
  "required": ["success", "error"],
  "properties": {
    "success": {"type": "boolean", "enum": [false]},
    "error": {"type": "string"},
    "error_info": {"type": "string"},
    "code": {"type": "string"},
    "data": {"nullable": true, "enum": [null]},
    "additional_data": {"nullable": true}
  }
}`

func errorEnvelopeSchema() (*openapi3.Schema, error) {
	var s openapi3.Schema
	if err := json.Unmarshal([]byte(errorEnvelope), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// mediaTypeOf is the lowercased media type of a Content-Type, without parameters.
func mediaTypeOf(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// allowNullNextCursor makes every additional_data.next_cursor in the
// responses of doc nullable (quirkNullNextCursor) and returns how many
// schemas it changed.
func allowNullNextCursor(doc *openapi3.T) int {
	seen := map[*openapi3.Schema]bool{}
	changed := 0
	var walk func(s *openapi3.SchemaRef, depth int)
	walk = func(s *openapi3.SchemaRef, depth int) {
		if s == nil || s.Value == nil || seen[s.Value] || depth > 8 {
			return
		}
		seen[s.Value] = true
		v := s.Value
		if ad := v.Properties["additional_data"]; ad != nil {
			for _, part := range append(openapi3.SchemaRefs{ad}, subschemas(ad)...) {
				if part.Value == nil {
					continue
				}
				if nc := part.Value.Properties["next_cursor"]; nc != nil && nc.Value != nil && !nc.Value.Nullable {
					nc.Value.Nullable = true
					changed++
				}
			}
		}
		for _, sub := range subschemas(s) {
			walk(sub, depth+1)
		}
		for _, prop := range v.Properties {
			walk(prop, depth+1)
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Responses == nil {
				continue
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value == nil {
					continue
				}
				for _, mt := range resp.Value.Content {
					walk(mt.Schema, 0)
				}
			}
		}
	}
	return changed
}

func subschemas(s *openapi3.SchemaRef) openapi3.SchemaRefs {
	if s == nil || s.Value == nil {
		return nil
	}
	var out openapi3.SchemaRefs
	out = append(out, s.Value.AllOf...)
	out = append(out, s.Value.OneOf...)
	out = append(out, s.Value.AnyOf...)
	return out
}
