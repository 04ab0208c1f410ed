package pipedrive

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// BurstWindow is the length of Pipedrive's rolling rate-limit window.
const BurstWindow = 2 * time.Second

// SearchLimit is the number of search requests Pipedrive allows per token
// per BurstWindow, on every plan.
const SearchLimit = 10

// Plan is a Pipedrive subscription plan's rate limits.
type Plan struct {
	Name string
	// Multiplier scales the daily token budget (30,000 × Multiplier × seats).
	Multiplier int
	// Burst is the number of requests allowed per API token per BurstWindow.
	Burst int
}

// Plans are Pipedrive's plans by lower-case name.
var Plans = map[string]Plan{
	"lite":     {Name: "lite", Multiplier: 1, Burst: 20},
	"growth":   {Name: "growth", Multiplier: 2, Burst: 40},
	"premium":  {Name: "premium", Multiplier: 5, Burst: 100},
	"ultimate": {Name: "ultimate", Multiplier: 7, Burst: 120},
}

// Throttle is the token-bucket setting of one client's limiters.
type Throttle struct {
	Rate        rate.Limit
	Burst       int
	SearchRate  rate.Limit
	SearchBurst int
}

// ThrottleFor sizes the limiters of one of workers clients sharing plan's
// API token so that, together, they never send more than the plan's limit
// in any rolling BurstWindow, and leave the server's count one short of it.
//
// A token bucket of size B refilling at r admits up to B + r·T requests in
// any interval of length T, so the bucket is kept at B = 1 (the largest
// steady rate for a given bound) and requests are spaced a hair more than
// BurstWindow/(n-1) apart, where n = floor(limit/workers): any window of
// BurstWindow, closed or half-open, then holds at most n-1 of one worker's
// requests. The server therefore always reports at least one request
// remaining (x-ratelimit-remaining never reaches 0 from our own traffic,
// which would cost a pause rounded up to whole seconds), and a request
// delayed by network jitter still fits. For lite alone that is 19 requests
// per 2 s (95% of the limit); growth 39 (97.5%), premium 99, ultimate 119.
//
// Workers must leave each client at least 2 requests per window of the
// general limit. Search (SearchLimit per window) is shared the same way;
// when workers > SearchLimit/2 each worker gets one search per
// 2·workers·BurstWindow/SearchLimit instead, which bounds the total on
// average; the server's 429 (retried) catches an unlucky alignment.
func ThrottleFor(plan Plan, workers int) (Throttle, error) {
	if workers <= 0 {
		workers = 1
	}
	n := plan.Burst / workers
	if n < 2 {
		return Throttle{}, fmt.Errorf("pipedrive: %d workers is too many for the %s plan's %d requests per %s: at most %d",
			workers, plan.Name, plan.Burst, BurstWindow, plan.Burst/2)
	}
	t := Throttle{Rate: windowRate(n), Burst: 1, SearchBurst: 1}
	if s := SearchLimit / workers; s >= 2 {
		t.SearchRate = windowRate(s)
	} else {
		// One search per worker every workers/SearchLimit windows: spaced
		// by more than a window, each worker has at most one search in any
		// window, and at most SearchLimit of the workers fire in the same
		// window on average; the server's 429 catches the rest.
		t.SearchRate = rate.Every(time.Duration(workers) * BurstWindow / SearchLimit * 2)
	}
	return t, nil
}

// windowRate spaces requests just over BurstWindow/(n-1) apart, so that n
// of them never fit in one window: the microsecond absorbs the nanosecond
// truncation in rate.Limiter's arithmetic.
func windowRate(n int) rate.Limit {
	return rate.Every(BurstWindow/time.Duration(n-1) + time.Microsecond)
}

type lane int

const (
	laneGeneral lane = iota
	laneSearch
)

// throttle waits until the request may be sent: past any pause the server
// asked for, then through the limiters (search takes a search slot and a
// general one, since the server counts it in both windows).
func (c *Client) throttle(ctx context.Context, l lane) error {
	c.mu.Lock()
	until := c.pauseUntil[laneGeneral]
	if l == laneSearch && c.pauseUntil[laneSearch].After(until) {
		until = c.pauseUntil[laneSearch]
	}
	c.mu.Unlock()
	if d := until.Sub(c.now()); d > 0 {
		if err := c.sleep(ctx, d); err != nil {
			return err
		}
	}
	if l == laneSearch {
		if err := c.wait(ctx, c.searchLimiter); err != nil {
			return err
		}
	}
	return c.wait(ctx, c.limiter)
}

// wait takes one slot of lim on the client's clock, sleeping with the
// client's Sleep so that tests need no real time.
func (c *Client) wait(ctx context.Context, lim *rate.Limiter) error {
	now := c.now()
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return fmt.Errorf("pipedrive: limiter refused a request")
	}
	if d := r.DelayFrom(now); d > 0 {
		if err := c.sleep(ctx, d); err != nil {
			r.CancelAt(c.now())
			return err
		}
	}
	return nil
}

// Headers Pipedrive sends with every response.
const (
	headerLimit          = "x-ratelimit-limit"
	headerRemaining      = "x-ratelimit-remaining"
	headerReset          = "x-ratelimit-reset"
	headerDailyLimit     = "x-daily-ratelimit-token-limit"
	headerDailyRemaining = "x-daily-ratelimit-token-remaining"
)

// observe adapts to the rate-limit headers of a response: when the window
// has no requests left, nothing more is sent on that lane until it resets.
func (c *Client) observe(l lane, h http.Header) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if rem, ok := headerInt(h, headerRemaining); ok && rem <= 0 {
		if d, ok := resetDelay(h, now); ok {
			if until := now.Add(d); until.After(c.pauseUntil[l]) {
				c.pauseUntil[l] = until
			}
		}
	}
	lim, okL := headerInt(h, headerDailyLimit)
	rem, okR := headerInt(h, headerDailyRemaining)
	if okL || okR {
		if okL {
			c.quota.Limit = lim
		}
		if okR {
			c.quota.Remaining = rem
		}
		c.quota.Known = true
		c.quota.Seen = now
	}
}

func headerInt(h http.Header, name string) (int, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return int(f), true
}

// resetDelay reads x-ratelimit-reset: seconds until the window resets
// (Pipedrive's documented meaning, e.g. "2"); a value that can only be a
// Unix time is read as one.
func resetDelay(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get(headerReset))
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	if f > 1e9 {
		d := time.Unix(int64(f), 0).Sub(now)
		return max(d, 0), true
	}
	return time.Duration(f * float64(time.Second)), true
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && !math.IsInf(s, 0) {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
