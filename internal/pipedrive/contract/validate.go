package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// tokenHeader carries Pipedrive's API token (security scheme api_key).
const tokenHeader = "x-api-token"

// authenticate accepts the api_key scheme when the x-api-token header is
// present; Conveyor uses no other scheme (no OAuth, no basic auth).
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	if s != nil && s.Type == "apiKey" && s.In == "header" && strings.EqualFold(s.Name, tokenHeader) {
		if strings.TrimSpace(in.RequestValidationInput.Request.Header.Get(tokenHeader)) != "" {
			return nil
		}
		return ErrUnauthenticated
	}
	return fmt.Errorf("scheme %q is not used by Conveyor", in.SecuritySchemeName)
}

// routed is a request matched to one operation.
type routed struct {
	api    *api
	route  *routers.Route
	params map[string]string
	op     string        // "PATCH /api/v2/deals/{id}"
	req    *http.Request // a shallow copy with the prefix removed from the path
}

// find matches r to a published operation, or returns an *Error wrapping
// ErrUnknownOperation or ErrDeprecatedV1.
func (v *Validator) find(r *http.Request, dir Direction, sec redactor) (*routed, error) {
	sent := r.Method + " " + r.URL.Path
	a, rest, ok := v.apiFor(r.URL.Path)
	if !ok {
		return nil, sec.newError(sent, dir, ErrUnknownOperation, ErrUnknownOperation.Error()+": path is under neither /api/v2 nor /v1")
	}
	u := *r.URL
	u.Path, u.RawPath = rest, ""
	rr := new(http.Request)
	*rr = *r
	rr.URL = &u
	route, params, err := a.router.FindRoute(rr)
	if err != nil {
		if a.name == "v1" {
			if dep, ok := v.deprecated.match(r.Method, rest); ok {
				return nil, sec.newError(dep.method+" "+dep.template, dir, ErrDeprecatedV1, dep.reason())
			}
		}
		reason := ErrUnknownOperation.Error()
		if others := otherMethods(a, rr); len(others) > 0 {
			reason += fmt.Sprintf(": the path exists but not with method %s (only %s)", r.Method, strings.Join(others, ", "))
		}
		return nil, sec.newError(sent, dir, ErrUnknownOperation, reason)
	}
	if a.name == "v1" {
		if dep, ok := v.deprecated.routed(route.Method, route.Path); ok {
			return nil, sec.newError(dep.method+" "+dep.template, dir, ErrDeprecatedV1, dep.reason())
		}
	}
	return &routed{api: a, route: route, params: params, op: route.Method + " " + a.prefix + route.Path, req: rr}, nil
}

// otherMethods lists the methods with which the path of rr is an operation.
func otherMethods(a *api, rr *http.Request) []string {
	var found []string
	probe := new(http.Request)
	*probe = *rr
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		if m == rr.Method {
			continue
		}
		probe.Method = m
		if _, _, err := a.router.FindRoute(probe); err == nil {
			found = append(found, m)
		}
	}
	return found
}

// ValidateRequest checks that r, whose body is body (r.Body is not read), is a
// published operation with valid path and query parameters, an x-api-token
// header, and a body matching the operation's request body schema (JSON or
// multipart/form-data). It returns nil or an *Error: errors.Is matches
// ErrUnknownOperation, ErrDeprecatedV1 (a v1 call with a v2 replacement),
// ErrUnauthenticated or ErrViolation. Query parameters the operation does not
// declare are violations too: Pipedrive ignores them silently, which hides
// client bugs.
func (v *Validator) ValidateRequest(r *http.Request, body []byte) error {
	sec := secretsOf(r)
	rt, err := v.find(r, Request, sec)
	if err != nil {
		return err
	}
	if len(body) > 0 {
		rt.req.Body = io.NopCloser(bytes.NewReader(body))
	} else {
		rt.req.Body = http.NoBody
	}
	rt.req.ContentLength = int64(len(body))
	rt.req.GetBody = nil
	input := &openapi3filter.RequestValidationInput{
		Request:     rt.req,
		PathParams:  rt.params,
		QueryParams: rt.req.URL.Query(),
		Route:       rt.route,
		Options:     rt.api.opts,
	}
	if err := openapi3filter.ValidateRequest(r.Context(), input); err != nil {
		var se *openapi3filter.SecurityRequirementsError
		if errors.As(err, &se) {
			return sec.newError(rt.op, Request, ErrUnauthenticated, "authentication: no x-api-token header (the only scheme Conveyor uses)")
		}
		return sec.newError(rt.op, Request, ErrViolation, reasonOf(err))
	}
	if reason := undeclaredQuery(rt.route, input.QueryParams); reason != "" {
		return sec.newError(rt.op, Request, ErrViolation, reason)
	}
	return nil
}

// undeclaredQuery names the query parameters the operation does not declare.
func undeclaredQuery(route *routers.Route, query url.Values) string {
	if len(query) == 0 {
		return ""
	}
	declared := map[string]bool{}
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	var extra []string
	for name := range query {
		base, _, _ := strings.Cut(name, "[") // deepObject: filter[x]
		if !declared[name] && !declared[base] {
			extra = append(extra, name)
		}
	}
	if len(extra) == 0 {
		return ""
	}
	sort.Strings(extra)
	if slices.Contains(extra, "api_token") {
		return "query: api_token is not declared: send the token in the x-api-token header, never in the URL" +
			" (undeclared: " + strings.Join(extra, ", ") + ")"
	}
	return fmt.Sprintf("query: parameter(s) %s not declared by the operation", strings.Join(extra, ", "))
}

// ValidateResponse checks a response to r (whose body was reqBody) against
// the operation: the status must be declared by it (or be an undeclared
// 4xx/5xx carrying Pipedrive's error envelope, or a 403 HTML block page: see
// Quirks), the Content-Type must be one the status declares, and the body must
// match its schema. It returns nil or an *Error as ValidateRequest does.
func (v *Validator) ValidateResponse(r *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	return v.validateResponse(r, status, header, body, true)
}

// validateResponse checks the response; when complete is false body is only a
// prefix of what was sent, and the body is not checked.
func (v *Validator) validateResponse(r *http.Request, status int, header http.Header, body []byte, complete bool) error {
	sec := secretsOf(r)
	rt, err := v.find(r, Response, sec)
	if err != nil {
		return err
	}
	responses := rt.route.Operation.Responses
	x := &exchange{
		api:       rt.api.name,
		operation: rt.op,
		status:    status,
		mediaType: mediaTypeOf(header.Get("Content-Type")),
		declared:  responses.Status(status) != nil || responses.Default() != nil,
	}
	if _, ok := quirkFor(quirkHTMLBlockPage, x); ok {
		return nil
	}
	if !x.declared {
		if _, ok := quirkFor(quirkUndeclaredErrorStatus, x); ok {
			if reason := v.checkEnvelope(x, body, complete); reason != "" {
				return sec.newError(rt.op, Response, ErrViolation, fmt.Sprintf("status %d is not declared and is not Pipedrive's error envelope: %s", status, reason))
			}
			return nil
		}
		return sec.newError(rt.op, Response, ErrViolation, fmt.Sprintf("status %d is not declared (declared: %s)", status, declaredStatuses(responses)))
	}
	opts := rt.api.opts
	if !complete {
		o := *opts
		o.ExcludeResponseBody = true
		opts = &o
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    rt.req,
			PathParams: rt.params,
			Route:      rt.route,
			Options:    opts,
		},
		Status:  status,
		Header:  header,
		Options: opts,
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(r.Context(), input); err != nil {
		return sec.newError(rt.op, Response, ErrViolation, reasonOf(err))
	}
	return nil
}

// checkEnvelope returns why body is not Pipedrive's error envelope, or "".
func (v *Validator) checkEnvelope(x *exchange, body []byte, complete bool) string {
	if x.mediaType != "application/json" {
		return fmt.Sprintf("Content-Type %q, want application/json", x.mediaType)
	}
	if !complete {
		return ""
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return "body is not JSON: " + err.Error()
	}
	if err := v.envelope.VisitJSON(value); err != nil {
		return "body: " + reasonOf(err)
	}
	return ""
}

func declaredStatuses(responses *openapi3.Responses) string {
	var codes []string
	for code := range responses.Map() {
		codes = append(codes, code)
	}
	sort.Slice(codes, func(i, j int) bool {
		a, errA := strconv.Atoi(codes[i])
		b, errB := strconv.Atoi(codes[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return codes[i] < codes[j]
	})
	return strings.Join(codes, ", ")
}
