package pipedrive

import (
	"fmt"
	"net/http"
	"regexp"
	"time"
)

// The error types below name the endpoint ("POST /api/v2/persons"), never
// the token, query values or request bodies. Pipedrive's own message is
// kept (with anything shaped like an e-mail address masked) because it is
// what says which field was wrong. Their names are stable: Step Functions'
// Retry and Catch match on them.

// BudgetExhaustedError is the company's daily token budget running out:
// Pipedrive answers 429 to everything until ResumeAt. The client returns it
// without sending anything until then.
type BudgetExhaustedError struct {
	Endpoint string
	// ResumeAt is when the budget is expected back.
	ResumeAt time.Time
}

// Error names the endpoint and when the budget is expected back.
func (e *BudgetExhaustedError) Error() string {
	return fmt.Sprintf("pipedrive: %s: daily API token budget exhausted until %s",
		e.Endpoint, e.ResumeAt.UTC().Format(time.RFC3339))
}

// BlockedError is a 403 answered with an HTML page instead of JSON: what
// Pipedrive does to a client that kept sending after 429s.
type BlockedError struct {
	Endpoint string
}

// Error names the endpoint.
func (e *BlockedError) Error() string {
	return fmt.Sprintf("pipedrive: %s: blocked (403 with an HTML page); stop and wait before retrying", e.Endpoint)
}

// UnauthorizedError is a 401: the API token is wrong or revoked.
type UnauthorizedError struct {
	Endpoint string
	Message  string
}

// Error names the endpoint and Pipedrive's message.
func (e *UnauthorizedError) Error() string {
	return fmt.Sprintf("pipedrive: %s: unauthorized (401): %s", e.Endpoint, e.Message)
}

// ValidationError is a 400 or 422: Pipedrive refused the request's content.
type ValidationError struct {
	Endpoint string
	Status   int
	// Message is Pipedrive's error and error_info.
	Message string
}

// Error names the endpoint, the status and Pipedrive's message.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("pipedrive: %s: invalid request (%d): %s", e.Endpoint, e.Status, e.Message)
}

// NotFoundError is a 404: the object does not exist or was deleted.
type NotFoundError struct {
	Endpoint string
	Message  string
}

// Error names the endpoint and Pipedrive's message.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("pipedrive: %s: not found (404): %s", e.Endpoint, e.Message)
}

// OutcomeUnknownError is a POST that was sent, or may have been, but whose
// response never arrived (dropped connection, timeout, cancellation). The
// object may or may not exist; it was not retried, so the caller must look
// for it (by its Perfect Portal id) before trying again.
type OutcomeUnknownError struct {
	Endpoint string
	// Err is the transport error, with no URL in it.
	Err error
}

// Error names the endpoint and the transport error.
func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("pipedrive: %s: outcome unknown, the request may have been applied: %v", e.Endpoint, e.Err)
}

// Unwrap returns the transport error.
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// APIError is any other unsuccessful response, including a 429 or 5xx
// that outlived the retries.
type APIError struct {
	Endpoint string
	Status   int
	Message  string
}

// Error names the endpoint, the status and Pipedrive's message.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("pipedrive: %s: %d: %s", e.Endpoint, e.Status, msg)
}

// TransportError is a request that got no response, after any retries.
type TransportError struct {
	Endpoint string
	// Err is the cause, with no URL in it.
	Err error
}

// Error names the endpoint and the cause.
func (e *TransportError) Error() string {
	return fmt.Sprintf("pipedrive: %s: %v", e.Endpoint, e.Err)
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

var emailLike = regexp.MustCompile(`[^\s"'<>(),;:]+@[^\s"'<>(),;:]+`)

// scrub masks e-mail addresses in a server message and bounds its length.
func scrub(s string) string {
	s = emailLike.ReplaceAllString(s, "[email]")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
