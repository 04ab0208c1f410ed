package pipedrive

import (
	"maps"
	"net/http"
	"sync"
)

// Meter counts a client's API token spend by endpoint ("POST
// /api/v2/persons"), at each operation's x-token-cost from Pipedrive's
// OpenAPI documents (package cost).
//
// An attempt is charged when the API itself answered it: every 2xx and
// every 4xx except 401 (no valid token, so no company to charge), 429 (the
// limiter refused it) and a 403 HTML page (the block in front of the API).
// A 5xx, and an attempt with no response at all (refused or dropped
// connection, timeout), is not charged. This is the sandbox's rule too, so
// the two meters agree exactly, with one exception the client cannot see:
// a write the server applied and charged whose response was then lost.
type Meter struct {
	mu        sync.Mutex
	tokens    map[string]int
	total     int
	charged   int
	responses int
	throttled int
	retries   int
}

// retried counts one attempt made again after a failure.
func (m *Meter) retried() {
	m.mu.Lock()
	m.retries++
	m.mu.Unlock()
}

// Retries returns how many attempts were made again after a 429, a 5xx, a
// timeout or a dropped connection.
func (m *Meter) Retries() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.retries
}

// Charged reports whether Pipedrive charges tokens for an attempt answered
// with status (html: the body was an HTML page).
func Charged(status int, html bool) bool {
	switch {
	case status >= 500, status == http.StatusTooManyRequests, status == http.StatusUnauthorized:
		return false
	case status == http.StatusForbidden && html:
		return false
	}
	return status >= 200
}

// record counts one answered attempt and returns the tokens charged.
func (m *Meter) record(endpoint string, cost, status int, html bool) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.responses++
	if status == http.StatusTooManyRequests {
		m.throttled++
	}
	if !Charged(status, html) {
		return 0
	}
	if m.tokens == nil {
		m.tokens = map[string]int{}
	}
	m.tokens[endpoint] += cost
	m.total += cost
	m.charged++
	return cost
}

// Tokens returns a copy of the tokens charged, by endpoint.
func (m *Meter) Tokens() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.tokens))
	maps.Copy(out, m.tokens)
	return out
}

// Total returns all tokens charged.
func (m *Meter) Total() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total
}

// Requests returns the number of charged attempts.
func (m *Meter) Requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.charged
}

// Responses returns the number of attempts that got any HTTP response,
// charged or not.
func (m *Meter) Responses() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.responses
}

// Throttled returns the number of attempts answered with 429.
func (m *Meter) Throttled() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.throttled
}
