package sandbox

import (
	"maps"
	"net/http"

	"github.com/conveyor-migrate/conveyor/internal/pipedrive/cost"
)

// Meter counts what a sandbox was asked and what it charged.
type Meter struct {
	// Requests is every request to the API (not the admin API).
	Requests int `json:"requests"`
	// Tokens is the total token cost charged (see the package comment).
	Tokens int `json:"tokens"`
	// TokensByEndpoint splits Tokens by cost.Op.Endpoint().
	TokensByEndpoint map[string]int `json:"tokens_by_endpoint"`
	// Responses counts answers by HTTP status.
	Responses map[int]int `json:"responses"`
	// Throttled counts 429s, real and injected.
	Throttled int `json:"throttled"`
	// Blocked counts 403 HTML answers.
	Blocked int `json:"blocked"`
	// TimedOut and Dropped count injected hangs and closed connections
	// (including the FailAfterWrites drop).
	TimedOut int `json:"timed_out"`
	Dropped  int `json:"dropped"`
}

func newMeter() Meter {
	return Meter{TokensByEndpoint: map[string]int{}, Responses: map[int]int{}}
}

func (m *Meter) clone() Meter {
	c := *m
	c.TokensByEndpoint = maps.Clone(m.TokensByEndpoint)
	c.Responses = maps.Clone(m.Responses)
	return c
}

func (m *Meter) count(status int) { m.Responses[status]++ }

// charge counts an answered request's cost: every status the API handler
// gave below 500.
func (m *Meter) charge(op cost.Op, status int) {
	if status >= http.StatusInternalServerError {
		return
	}
	m.Tokens += op.Cost
	m.TokensByEndpoint[op.Endpoint()] += op.Cost
}
