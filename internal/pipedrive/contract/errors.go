package contract

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// Sentinel errors, for errors.Is on an *Error.
var (
	// ErrUnknownOperation: the method and path are not an operation of either
	// published document.
	ErrUnknownOperation = errors.New("not a published Pipedrive operation")
	// ErrDeprecatedV1: a v1 call Pipedrive has retired (or deprecated) in
	// favour of a v2 endpoint.
	ErrDeprecatedV1 = errors.New("deprecated Pipedrive v1 endpoint")
	// ErrUnauthenticated: the request carries no x-api-token header.
	ErrUnauthenticated = errors.New("no x-api-token header")
	// ErrViolation: any other breach of the contract: a parameter, a body, a
	// status code or a content type.
	ErrViolation = errors.New("violates Pipedrive's contract")
)

// Direction says which half of an exchange broke the contract.
type Direction string

// The two directions.
const (
	Request  Direction = "request"
	Response Direction = "response"
)

// Error is a contract violation. Its message names the operation, the
// direction and the problem:
//
//	POST /api/v2/persons request: body: property "name" is missing
//
// It never contains the value of the x-api-token header (or an api_token query
// parameter): that is redacted. errors.Is matches it against ErrUnknownOperation,
// ErrDeprecatedV1, ErrUnauthenticated or ErrViolation; the kin-openapi error it
// came from is kept only as the redacted Reason, so no secret can leak through
// Unwrap.
type Error struct {
	// Operation is "METHOD /prefix/template", as "PATCH /api/v2/deals/{id}",
	// or "METHOD /path" as sent when it matched no operation.
	Operation string
	Direction Direction
	// Reason is kin-openapi's reason (or the validator's own), redacted.
	Reason string
	kind   error
}

// Error returns "OPERATION DIRECTION: REASON".
func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Operation, e.Direction, e.Reason)
}

// Unwrap returns the sentinel classifying the violation.
func (e *Error) Unwrap() error { return e.kind }

// redactor removes secrets found in a request from error text.
type redactor []string

func secretsOf(r *http.Request) redactor {
	var s redactor
	for _, t := range r.Header.Values(tokenHeader) {
		if t = strings.TrimSpace(t); t != "" {
			s = append(s, t)
		}
	}
	if r.URL != nil {
		for _, t := range r.URL.Query()["api_token"] {
			if t != "" {
				s = append(s, t)
			}
		}
	}
	return s
}

func (s redactor) redact(text string) string {
	for _, secret := range s {
		text = strings.ReplaceAll(text, secret, "[REDACTED]")
	}
	return text
}

func (s redactor) newError(op string, dir Direction, kind error, reason string) *Error {
	return &Error{Operation: op, Direction: dir, Reason: s.redact(reason), kind: kind}
}

// reasonOf turns a kin-openapi error into a short reason, without the schema
// and value dumps its Error methods add.
func reasonOf(err error) string {
	var req *openapi3filter.RequestError
	if errors.As(err, &req) {
		inner := req.Reason
		if req.Err != nil {
			inner = reasonOf(req.Err)
			// "doesn't match schema <title>" only introduces the schema error.
			if req.Reason != "" && !strings.HasPrefix(req.Reason, "doesn't match schema") && !strings.Contains(inner, req.Reason) {
				inner = req.Reason + ": " + inner
			}
		}
		switch {
		case req.Parameter != nil:
			return fmt.Sprintf("parameter %q in %s: %s", req.Parameter.Name, req.Parameter.In, inner)
		case req.RequestBody != nil:
			return "body: " + inner
		}
		return inner
	}
	var resp *openapi3filter.ResponseError
	if errors.As(err, &resp) {
		if resp.Err != nil {
			inner := reasonOf(resp.Err)
			if strings.HasPrefix(resp.Reason, "response body doesn't match schema") {
				return "body: " + inner
			}
			if resp.Reason != "" {
				return resp.Reason + ": " + inner
			}
			return inner
		}
		return resp.Reason
	}
	var me openapi3.MultiError
	if errors.As(err, &me) && len(me) > 0 {
		parts := make([]string, len(me))
		for i, e := range me {
			parts[i] = reasonOf(e)
		}
		return strings.Join(parts, "; ")
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return schemaReason(se)
	}
	var pe *openapi3filter.ParseError
	if errors.As(err, &pe) {
		return pe.Error()
	}
	return err.Error()
}

// schemaReason is a schema error as "at /emails/0/value: value must be a string".
func schemaReason(se *openapi3.SchemaError) string {
	reason := se.Reason
	if se.Origin != nil {
		reason = reasonOf(se.Origin)
	}
	if reason == "" {
		reason = fmt.Sprintf("doesn't match schema %q", se.SchemaField)
	}
	p := se.JSONPointer()
	if len(p) > 0 && se.SchemaField == "required" {
		p = p[:len(p)-1] // the missing property is named in the reason
	}
	if len(p) > 0 && se.Origin == nil {
		return "at /" + strings.Join(p, "/") + ": " + reason
	}
	return reason
}
