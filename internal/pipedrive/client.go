// Package pipedrive is Conveyor's client for Pipedrive's REST API: typed
// calls for the v2 endpoints (deals, persons, organizations, activities,
// pipelines, stages, fields) and the few v1 ones that have no v2
// replacement (notes, files, deal participants, users, activity types).
//
// Every request is throttled to the company's plan (a request-rate limiter
// per API token, a separate one for search, and the server's own
// x-ratelimit-* headers), retried with jittered backoff where that is safe,
// and metered in Pipedrive's API tokens (see Meter). Failures come back as
// named error types (BudgetExhaustedError, BlockedError, ...) so that a
// caller, or Step Functions, can tell them apart by type. The API token
// never appears in an error, a log line or a printed Config or Client.
package pipedrive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Config configures a Client. Only BaseURL, Token and Plan are required.
type Config struct {
	// BaseURL is the company's API host, "https://<company>.pipedrive.com",
	// or a sandbox's URL; /api/v2 and /v1 are appended to it.
	BaseURL string
	// Token is the API token, sent as the x-api-token header. It is never
	// printed, logged or marshalled.
	Token string `json:"-"`
	// Plan is the subscription plan: lite, growth, premium or ultimate.
	Plan string
	// Seats is the number of paid seats; with Plan it sizes the daily
	// token budget (DailyBudget). Zero means one.
	Seats int
	// HTTPClient sends the requests; nil means a client with a 60 s timeout.
	HTTPClient *http.Client
	// Now tells the time; nil means time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx is done; nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives one debug line per attempt; nil discards them.
	Logger *slog.Logger
	// MaxRetries is how many times a failed attempt may be retried; zero
	// means DefaultMaxRetries, a negative value means none.
	MaxRetries int
	// Workers is how many clients share the company's API token and
	// budget at once (e.g. a Step Functions Map's concurrency); each
	// client's rate is the plan's limit divided among them. Zero means one.
	Workers int
}

// DefaultMaxRetries is the number of retries when Config.MaxRetries is zero.
const DefaultMaxRetries = 6

// String describes c with its token redacted.
func (c Config) String() string {
	return fmt.Sprintf("pipedrive.Config{BaseURL:%q Token:%s Plan:%q Seats:%d Workers:%d MaxRetries:%d}",
		c.BaseURL, redactedToken(c.Token), c.Plan, c.Seats, c.Workers, c.MaxRetries)
}

// GoString is String, so that %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// Format prints String for every verb, so no verb prints the token.
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue is String, for slog.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

func redactedToken(t string) string {
	if t == "" {
		return `""`
	}
	return "[REDACTED]"
}

// CheckRetry decides whether to retry after an attempt: resp is nil when
// err is not (the request failed in transport); resp's body has already
// been read and is replayable. Returning an error stops with that error.
// Whatever it says, a POST that may have reached the server is never
// retried (see OutcomeUnknownError).
type CheckRetry func(ctx context.Context, resp *http.Response, err error) (bool, error)

// Backoff gives the wait before retry number attempt (0 for the first
// retry), given the failed attempt's response (nil after a transport error).
type Backoff func(attempt int, resp *http.Response) time.Duration

// Client calls Pipedrive. It is safe for concurrent use; its exported
// fields must be set before the first call.
type Client struct {
	// CheckRetry is the retry policy; New sets DefaultRetryPolicy.
	CheckRetry CheckRetry
	// Backoff is the wait between attempts; New sets the client's
	// DefaultBackoff (Retry-After, x-ratelimit-reset, else full jitter
	// between 0 and min(RetryWaitMax, RetryWaitMin·2^attempt)).
	Backoff Backoff
	// RetryWaitMin and RetryWaitMax bound the jittered backoff.
	RetryWaitMin, RetryWaitMax time.Duration

	base *url.URL
	// creds is behind a pointer so that printing a Client value by
	// reflection shows an address, not the token.
	creds      *credentials
	plan       Plan
	seats      int
	workers    int
	http       *http.Client
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error
	log        *slog.Logger
	maxRetries int

	limiter       *rate.Limiter
	searchLimiter *rate.Limiter
	meter         *Meter

	mu             sync.Mutex
	pauseUntil     [2]time.Time // by lane: general, search
	exhaustedUntil time.Time
	longThrottled  int // consecutive 429s whose wait was beyond the burst window
	quota          Quota
}

// New checks cfg and returns a Client. It fails when the base URL is not
// an absolute http or https URL, the token is empty, the plan is unknown,
// or Workers is more than the plan's burst limit allows (see Throttle).
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("pipedrive: base URL %q: want an absolute http or https URL", cfg.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("pipedrive: base URL %q: want no query, fragment or user info", cfg.BaseURL)
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("pipedrive: empty API token")
	}
	plan, ok := Plans[strings.ToLower(strings.TrimSpace(cfg.Plan))]
	if !ok {
		return nil, fmt.Errorf("pipedrive: unknown plan %q: want lite, growth, premium or ultimate", cfg.Plan)
	}
	seats := cfg.Seats
	if seats < 0 {
		return nil, fmt.Errorf("pipedrive: negative seats %d", seats)
	}
	if seats == 0 {
		seats = 1
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = 1
	}
	th, err := ThrottleFor(plan, workers)
	if err != nil {
		return nil, err
	}
	c := &Client{
		RetryWaitMin: 500 * time.Millisecond,
		RetryWaitMax: 30 * time.Second,
		CheckRetry:   DefaultRetryPolicy,
		base:         u,
		creds:        &credentials{token: cfg.Token},
		plan:         plan,
		seats:        seats,
		workers:      workers,
		http:         cfg.HTTPClient,
		now:          cfg.Now,
		sleep:        cfg.Sleep,
		log:          cfg.Logger,
		maxRetries:   cfg.MaxRetries,
		meter:        &Meter{},
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 60 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = realSleep
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.maxRetries == 0 {
		c.maxRetries = DefaultMaxRetries
	} else if c.maxRetries < 0 {
		c.maxRetries = 0
	}
	c.Backoff = c.DefaultBackoff
	// The limiters start empty: a new client's first request waits one
	// spacing. The steps make a new client per invocation, one after
	// another on the same token; a client that started full would send its
	// first request right after the previous client's last one, and two
	// such changes in one window put the limit plus one there (measured:
	// 429s on lite and growth, docs/benchmarks.md).
	start := c.now()
	c.limiter = rate.NewLimiter(th.Rate, th.Burst)
	c.limiter.AllowN(start, th.Burst)
	c.searchLimiter = rate.NewLimiter(th.SearchRate, th.SearchBurst)
	c.searchLimiter.AllowN(start, th.SearchBurst)
	return c, nil
}

// String describes the client without its token.
func (c *Client) String() string {
	return fmt.Sprintf("pipedrive.Client{BaseURL:%q Token:[REDACTED] Plan:%q Seats:%d Workers:%d}",
		c.base.String(), c.plan.Name, c.seats, c.workers)
}

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue is String, for slog.
func (c *Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Meter returns the client's token meter.
func (c *Client) Meter() *Meter { return c.meter }

// Sleep waits for d on the client's clock (Config.Sleep), or until ctx is
// done, when it returns ctx's error.
func (c *Client) Sleep(ctx context.Context, d time.Duration) error { return c.sleep(ctx, d) }

// Plan returns the client's plan.
func (c *Client) Plan() Plan { return c.plan }

// DailyBudget is the company's daily token budget:
// 30,000 × the plan's multiplier × seats.
func (c *Client) DailyBudget() int { return 30000 * c.plan.Multiplier * c.seats }

// Quota is what the server last said about the daily token budget, from
// the x-daily-ratelimit-token-limit and -remaining headers. Pipedrive
// sometimes omits them, so Known is false until one has been seen.
type Quota struct {
	Known     bool
	Limit     int
	Remaining int
	// Seen is when the headers were read.
	Seen time.Time
}

// Quota returns the daily budget as last reported by the server.
func (c *Client) Quota() Quota {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.quota
}

type credentials struct{ token string }

// String redacts the token.
func (*credentials) String() string { return "[REDACTED]" }

func realSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
