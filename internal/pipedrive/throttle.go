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
// in any rolling BurstWindow.
//
// A token bucket of size B refilling at r admits up to B + r·T requests in
// any interval of length T, so the bucket is kept at B = 1 (the largest
// steady rate for a given bound) and each worker's share of the window
// (see share) is spaced by windowRate, which holds it to that share even
// with half a spacing of timing jitter. Alone on growth that is 38.5
// requests per 2 s (96% of the limit); four workers on growth, 9.5 each
// (95%); alone on lite, 18.5 (92.5%).
//
// Workers must leave each client at least 2 requests per window of the
// general limit. Search (SearchLimit per window) is shared the same way;
// when workers > SearchLimit/2 each worker gets one search per
// workers·BurstWindow/SearchLimit instead, which still bounds the total.
func ThrottleFor(plan Plan, workers int) (Throttle, error) {
	if workers <= 0 {
		workers = 1
	}
	n := plan.Burst / workers
	if n < 2 {
		return Throttle{}, fmt.Errorf("pipedrive: %d workers is too many for the %s plan's %d requests per %s: at most %d",
			workers, plan.Name, plan.Burst, BurstWindow, plan.Burst/2)
	}
	t := Throttle{Rate: windowRate(share(n, workers)), Burst: 1, SearchBurst: 1}
	if s := SearchLimit / workers; s >= 2 {
		t.SearchRate = windowRate(share(s, workers))
	} else {
		// One search per worker every workers/SearchLimit windows: spaced
		// by more than a window, each worker has at most one search in any
		// window, and at most SearchLimit of the workers fire in the same
		// window on average; the server's 429 catches the rest.
		t.SearchRate = rate.Every(time.Duration(workers) * BurstWindow / SearchLimit * 2)
	}
	return t, nil
}

// share is how many requests one of workers clients may have in one
// window, out of its n: all n when several share the token (together at
// most the limit), one fewer for a lone client, so that its own traffic
// never leaves the server's window empty (x-ratelimit-remaining: 0).
func share(n, workers int) int {
	if workers == 1 {
		return n - 1
	}
	return n
}

// windowRate spaces requests BurstWindow/(m-0.5) apart, so that at most m
// fall in any window of BurstWindow: m of them span less than the window
// by half a spacing, which absorbs the jitter of real timers and networks.
// (Spaced at exactly BurstWindow/(m-1), m+1 requests would span exactly
// one window, and a tenth of a millisecond of delay on the first would put
// m+1 in the server's window: measured, 73% of the limit in real time,
// against 97% on a virtual clock.) The microsecond absorbs rate.Limiter's
// truncation.
func windowRate(m int) rate.Limit {
	return rate.Every(2*BurstWindow/time.Duration(2*m-1) + time.Microsecond)
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
			// The reset header counts whole seconds, so it overstates when the
			// oldest request leaves the window. After our own traffic filled
			// it, a slot frees within one spacing; wait that long, and if the
			// server still has no room its 429's Retry-After is honoured.
			lim := c.limiter
			if l == laneSearch {
				lim = c.searchLimiter
			}
			if interval := time.Duration(float64(time.Second) / float64(lim.Limit())); interval > 0 && interval < d {
				d = interval
			}
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
