// Package sandbox is a Pipedrive-compatible HTTP server that Conveyor owns,
// so that no test and no rehearsal ever reaches Pipedrive. It serves the
// operations Conveyor uses, with the shapes of Pipedrive's published OpenAPI
// documents (../shared/pipedrive) and Pipedrive's documented semantics:
// per-company random 40-hex custom field keys, token costs from the
// documents' x-token-cost, a daily token budget, a rolling 2-second burst
// window with 429s, a 403 HTML block for clients that ignore 429s, cursor
// and offset pagination, soft deletes and the error envelope. It can inject
// faults (429, 5xx, latency, timeouts, dropped connections, a write applied
// but its response lost) from a PRNG seeded by Options.Seed.
//
// # Token meter
//
// The daily budget and Meter count, for every request, the x-token-cost of
// its operation (cost.Lookup) exactly when the sandbox's API handler
// answered it: every 2xx, and every 4xx the handler gave (400 validation,
// 403 custom field cap, 404 unknown or deleted id, 413 file too large).
// A published operation the sandbox does not implement answers 404 and is
// charged too, as Pipedrive would charge it. These cost nothing: 401 (no
// valid token, so no company to charge), 404 for a path that is not an
// operation Pipedrive publishes (it has no cost), 429 (burst, search or daily
// limit), the 403 HTML block, and every injected fault that does not apply
// the request (Rate429, Rate5xx, TimeoutRate, DropRate). This is the
// client's rule (pipedrive.Charged): every 2xx and 4xx but 401, 429 and 403
// HTML, so the two meters agree except for a write whose answer was lost. The write
// that FailAfterWrites applies and then drops is charged: the company paid
// for it even though the client never saw the answer. The admin API under
// /_sandbox/ costs nothing and is not rate limited.
//
// # Limits
//
// A request is refused with 429 when its cost would take the day's spend
// over the budget (30,000 × plan multiplier × seats, reset at midnight UTC
// of the sandbox clock), or when its token already made the plan's burst
// number of requests in the last 2 seconds (search operations have their own
// window of 10). A refused request takes no burst slot. More than
// PenaltyRequests 429s to one token inside PenaltyWindow earn that token a
// 403 with an HTML body for BlockDuration.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/pipedrive/cost"
)

// DefaultToken is the API token a sandbox accepts unless Options.Token says otherwise.
const DefaultToken = "sandbox-token"

// Options configures a Sandbox. The zero value is a one-seat growth company
// on the real clock with the default token.
type Options struct {
	// Plan is lite, growth, premium or ultimate; default growth.
	Plan string
	// Seats multiplies the daily token budget; default 1.
	Seats int
	// DailyBudget, when positive, replaces the plan's daily token budget
	// (30,000 × the plan's multiplier × seats), so that a test can reach it
	// in a few hundred requests.
	DailyBudget int
	// Seed makes custom field keys and fault decisions reproducible.
	Seed int64
	// Token is the API token the sandbox accepts; default DefaultToken.
	Token string
	// Now is the sandbox clock; default time.Now. Tests and the
	// accelerated reference run inject one.
	Now func() time.Time
	// FileSizeLimit is the largest file POST /v1/files accepts; default 25 MB.
	FileSizeLimit int64
	// Faults are injected from the start; SetFaults changes them.
	Faults Faults
	// PenaltyRequests is how many 429s one token may receive inside
	// PenaltyWindow before it is blocked with a 403 HTML page; default 50.
	PenaltyRequests int
	// PenaltyWindow is the rolling window PenaltyRequests is counted in;
	// default 10 s of the sandbox clock.
	PenaltyWindow time.Duration
	// BlockDuration is how long a blocked token gets 403 HTML; default 60 s.
	BlockDuration time.Duration
}

// Faults are injected failures. The shares are of API requests that passed
// the rate limits; they are drawn in that order from one PRNG seeded by
// Options.Seed, so a sequential client sees the same faults on every run.
type Faults struct {
	// Rate429, Rate500, Rate502 and Rate503 are shares of requests answered
	// with that status (429 with the error envelope and a Retry-After; 5xx
	// with the envelope) without applying them.
	Rate429 float64 `json:"rate_429,omitempty"`
	Rate500 float64 `json:"rate_500,omitempty"`
	Rate502 float64 `json:"rate_502,omitempty"`
	Rate503 float64 `json:"rate_503,omitempty"`
	// Latency is added to every API response.
	Latency time.Duration `json:"latency,omitempty"`
	// TimeoutRate is the share of requests that hang, unapplied, until the
	// client gives up (its request context ends).
	TimeoutRate float64 `json:"timeout_rate,omitempty"`
	// DropRate is the share of requests whose connection is closed without
	// a response, unapplied.
	DropRate float64 `json:"drop_rate,omitempty"`
	// FailAfterWrites, when positive, lets that many writes (POST, PATCH,
	// PUT, DELETE answered 2xx) succeed; the next write is applied and then
	// its connection is dropped, so the client cannot know the outcome. It
	// fires once per SetFaults (or New).
	FailAfterWrites int `json:"fail_after_writes,omitempty"`
}

type plan struct {
	multiplier, burst, fieldCap int
}

var plans = map[string]plan{
	"lite":     {1, 20, 30},
	"growth":   {2, 40, 100},
	"premium":  {5, 100, 300},
	"ultimate": {7, 120, 500},
}

const (
	tokensPerSeat = 30000
	burstWindow   = 2 * time.Second
	searchBurst   = 10
)

// Sandbox is one Pipedrive company with one API token. It is safe for
// concurrent use.
type Sandbox struct {
	opt  Options
	plan plan
	now  func() time.Time

	mu      sync.Mutex
	st      *State
	lim     limiter
	meter   Meter
	faults  Faults
	rng     *rand.Rand
	writes  int
	dropped bool // FailAfterWrites has fired
}

// New makes a sandbox company, seeded as a new Pipedrive company is: one
// admin user, the default pipeline and its stages, the default activity
// types. It returns an error for an unknown plan or a negative option.
func New(opt Options) (*Sandbox, error) {
	if opt.Plan == "" {
		opt.Plan = "growth"
	}
	opt.Plan = strings.ToLower(opt.Plan)
	p, ok := plans[opt.Plan]
	if !ok {
		return nil, fmt.Errorf("sandbox: unknown plan %q (want lite, growth, premium or ultimate)", opt.Plan)
	}
	if opt.Seats < 0 || opt.FileSizeLimit < 0 || opt.PenaltyRequests < 0 || opt.PenaltyWindow < 0 || opt.BlockDuration < 0 {
		return nil, errors.New("sandbox: seats, file size limit and penalty settings must not be negative")
	}
	if opt.Seats == 0 {
		opt.Seats = 1
	}
	if opt.Token == "" {
		opt.Token = DefaultToken
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.FileSizeLimit == 0 {
		opt.FileSizeLimit = 25 << 20
	}
	if opt.PenaltyRequests == 0 {
		opt.PenaltyRequests = 50
	}
	if opt.PenaltyWindow == 0 {
		opt.PenaltyWindow = 10 * time.Second
	}
	if opt.BlockDuration == 0 {
		opt.BlockDuration = time.Minute
	}
	if err := checkFaults(opt.Faults); err != nil {
		return nil, err
	}
	s := &Sandbox{opt: opt, plan: p, now: func() time.Time { return opt.Now().UTC() }}
	s.resetLocked()
	return s, nil
}

func checkFaults(f Faults) error {
	shares := []float64{f.Rate429, f.Rate500, f.Rate502, f.Rate503, f.TimeoutRate, f.DropRate}
	sum := 0.0
	for _, v := range shares {
		if v < 0 || v > 1 {
			return fmt.Errorf("sandbox: fault share %v is not within [0, 1]", v)
		}
		sum += v
	}
	if sum > 1 {
		return fmt.Errorf("sandbox: fault shares add up to %v, more than 1", sum)
	}
	if f.Latency < 0 || f.FailAfterWrites < 0 {
		return errors.New("sandbox: fault latency and FailAfterWrites must not be negative")
	}
	return nil
}

// resetLocked makes the company new again: seeded entities, no spend, a
// fresh meter and PRNG, the options' faults.
func (s *Sandbox) resetLocked() {
	s.st = newState(s.now(), s.opt.Seed)
	s.lim = limiter{}
	s.meter = newMeter()
	s.faults = s.opt.Faults
	s.rng = rand.New(rand.NewPCG(uint64(s.opt.Seed), 0x5a6d_626f_7853_4221))
	s.writes, s.dropped = 0, false
}

// Reset makes the company new again, as New made it.
func (s *Sandbox) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

// SetFaults replaces the injected faults and re-arms FailAfterWrites. It
// ignores a value New would refuse, and says so.
func (s *Sandbox) SetFaults(f Faults) error {
	if err := checkFaults(f); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.writes, s.dropped = 0, false
	return nil
}

// Meter returns a copy of the request and token counters.
func (s *Sandbox) Meter() Meter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meter.clone()
}

// Snapshot returns a deep copy of every entity, for comparison.
func (s *Sandbox) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.clone()
}

// SetDailyBudget replaces the daily token budget from now on, as a company
// changing plan or seats would; zero or less goes back to the plan's. What
// was spent today still counts.
func (s *Sandbox) SetDailyBudget(tokens int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opt.DailyBudget = max(tokens, 0)
}

// DailyBudget is the company's token budget per day.
func (s *Sandbox) DailyBudget() int {
	if s.opt.DailyBudget > 0 {
		return s.opt.DailyBudget
	}
	return tokensPerSeat * s.plan.multiplier * s.opt.Seats
}

// ServeHTTP serves Pipedrive's API under /api/v2/ and /v1/, and the admin
// API under /_sandbox/.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sandbox/") {
		s.serveAdmin(w, r)
		return
	}
	s.serveAPI(w, r)
}

// requestToken is the token a request presents: the x-api-token header,
// or the api_token query parameter as Pipedrive also accepts.
func requestToken(r *http.Request) string {
	if t := r.Header.Get("x-api-token"); t != "" {
		return t
	}
	return r.URL.Query().Get("api_token")
}

type faultKind int

const (
	noFault faultKind = iota
	fault429
	fault500
	fault502
	fault503
	faultTimeout
	faultDrop
)

// drawFault decides one request's fault. Call with s.mu held.
func (s *Sandbox) drawFault() faultKind {
	f := s.faults
	shares := []float64{f.Rate429, f.Rate500, f.Rate502, f.Rate503, f.TimeoutRate, f.DropRate}
	on := false
	for _, v := range shares {
		on = on || v > 0
	}
	if !on {
		return noFault
	}
	x := s.rng.Float64()
	acc := 0.0
	for i, v := range shares {
		acc += v
		if x < acc {
			return faultKind(i + 1)
		}
	}
	return noFault
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func (s *Sandbox) serveAPI(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	tok := requestToken(r)

	s.mu.Lock()
	s.meter.Requests++
	if s.lim.blocked(tok, now) {
		s.meter.Blocked++
		s.meter.count(http.StatusForbidden)
		s.mu.Unlock()
		writeBlocked(w)
		return
	}
	if tok != s.opt.Token {
		s.meter.count(http.StatusUnauthorized)
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, unauthorized())
		return
	}
	// cost.Lookup cuts a path at '?', where a query would start; here the
	// path is decoded and has no query, so a '?' in it is an escaped
	// character (%3F) of a segment, which no published operation has.
	op, known := cost.Lookup(r.Method, r.URL.Path)
	if !known || strings.Contains(r.URL.Path, "?") {
		s.meter.count(http.StatusNotFound)
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, errorBody("Unknown method", r.Method+" "+r.URL.Path+" is not an operation Pipedrive publishes."))
		return
	}
	h := routes[op.Endpoint()]
	if h == nil {
		h = notServed
	}
	hdr, refusal := s.lim.admit(tok, op, now, s.plan, s.DailyBudget(), s.opt)
	if refusal != "" {
		s.meter.Throttled++
		s.meter.count(http.StatusTooManyRequests)
		s.mu.Unlock()
		hdr.write(w.Header())
		writeJSON(w, http.StatusTooManyRequests, errorBody(refusal, "Please check developers.pipedrive.com for more information about Pipedrive API."))
		return
	}
	fault := s.drawFault()
	latency := s.faults.Latency
	if fault != noFault {
		s.lim.refund(op.Cost)
		hdr.tokensLeft += op.Cost
	}
	s.mu.Unlock()

	hdr.write(w.Header())
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			panic(http.ErrAbortHandler)
		}
	}
	switch fault {
	case faultTimeout:
		s.record(func(m *Meter) { m.TimedOut++ })
		<-r.Context().Done()
		panic(http.ErrAbortHandler) // the client has gone: no answer at all

	case faultDrop:
		s.record(func(m *Meter) { m.Dropped++ })
		dropConnection(w)
		return
	case fault429:
		s.record(func(m *Meter) { m.Throttled++; m.count(http.StatusTooManyRequests) })
		w.Header().Set("Retry-After", "2")
		writeJSON(w, http.StatusTooManyRequests, errorBody("Request over limit", "Please check developers.pipedrive.com for more information about Pipedrive API."))
		return
	case fault500, fault502, fault503:
		code := map[faultKind]int{fault500: 500, fault502: 502, fault503: 503}[fault]
		s.record(func(m *Meter) { m.count(code) })
		writeJSON(w, code, errorBody(http.StatusText(code), "The sandbox injected this fault."))
		return
	}

	c, rep := parseCall(r, op, s.opt.FileSizeLimit)
	s.mu.Lock()
	if rep == nil {
		c.now = now
		rep = h(s, c)
	}
	s.meter.charge(op, rep.status)
	drop := false
	if isWrite(r.Method) && rep.status < 300 {
		s.writes++
		if s.faults.FailAfterWrites > 0 && !s.dropped && s.writes > s.faults.FailAfterWrites {
			s.dropped = true
			drop = true
			s.meter.Dropped++
		}
	}
	if !drop {
		s.meter.count(rep.status)
	}
	s.mu.Unlock()
	if drop {
		dropConnection(w)
		return
	}
	rep.write(w)
}

func (s *Sandbox) record(f func(*Meter)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.meter)
}

// dropConnection closes the client's connection without a response. Through
// wrappers that hide the connection, aborting the handler does the same.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// call is one parsed API request.
type call struct {
	method string
	path   []string // the path's segments
	op     cost.Op
	query  map[string][]string
	body   map[string]any
	file   *upload
	now    time.Time
	ctx    context.Context
}

// handler answers one operation. It runs with s.mu held.
type handler func(s *Sandbox, c *call) *reply

// notServed answers a published operation the sandbox does not implement.
func notServed(_ *Sandbox, c *call) *reply {
	return notFound("The sandbox does not serve " + c.op.Endpoint() + ";")
}
