package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/pipedrive/cost"
)

// Rate limit headers. The first three are Pipedrive's documented burst
// headers (developers.pipedrive.com, "Rate limiting"); the daily token pair
// is what Pipedrive's API sends for the token budget (observed on the live
// API, not in the documentation), so a client reads the same names here.
const (
	HeaderLimit          = "x-ratelimit-limit"
	HeaderRemaining      = "x-ratelimit-remaining"
	HeaderReset          = "x-ratelimit-reset"
	HeaderDailyLimit     = "x-daily-ratelimit-token-limit"
	HeaderDailyRemaining = "x-daily-ratelimit-token-remaining"
)

// limiter holds the burst windows, the day's spend and the penalty state.
// It is guarded by Sandbox.mu.
type limiter struct {
	windows map[string][]time.Time // key: window name + token → admitted request times
	day     string                 // the UTC date the spend is for
	spent   int
	strikes map[string][]time.Time // token → times of its 429s
	until   map[string]time.Time   // token → end of its 403 block
}

type rateHeaders struct {
	limit, remaining, reset int
	tokenLimit, tokensLeft  int
	retryAfter              int // seconds; 0 means none
}

func (h rateHeaders) write(hd http.Header) {
	hd.Set(HeaderLimit, strconv.Itoa(h.limit))
	hd.Set(HeaderRemaining, strconv.Itoa(h.remaining))
	hd.Set(HeaderReset, strconv.Itoa(h.reset))
	hd.Set(HeaderDailyLimit, strconv.Itoa(h.tokenLimit))
	hd.Set(HeaderDailyRemaining, strconv.Itoa(max(h.tokensLeft, 0)))
	if h.retryAfter > 0 {
		hd.Set("Retry-After", strconv.Itoa(h.retryAfter))
	}
}

// isSearch tells the operations that have Pipedrive's search window.
func isSearch(op cost.Op) bool {
	return strings.HasSuffix(op.Path, "/search") || strings.Contains(op.Path, "/itemSearch")
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

func (l *limiter) blocked(tok string, now time.Time) bool {
	end, ok := l.until[tok]
	if !ok {
		return false
	}
	if now.Before(end) {
		return true
	}
	delete(l.until, tok)
	delete(l.strikes, tok)
	return false
}

// admit decides whether a request may go on. On success it takes a burst
// slot and reserves the operation's cost from the day's budget; otherwise
// it returns the 429 message and counts a strike against the token.
func (l *limiter) admit(tok string, op cost.Op, now time.Time, p plan, budget int, opt Options) (rateHeaders, string) {
	if l.windows == nil {
		l.windows = map[string][]time.Time{}
		l.strikes = map[string][]time.Time{}
		l.until = map[string]time.Time{}
	}
	if d := now.Format(time.DateOnly); d != l.day {
		l.day, l.spent = d, 0
	}
	name, limit := "api:", p.burst
	if isSearch(op) {
		name, limit = "search:", searchBurst
	}
	key := name + tok
	win := l.windows[key]
	cut := 0
	for cut < len(win) && !win[cut].After(now.Add(-burstWindow)) {
		cut++
	}
	win = win[cut:]
	h := rateHeaders{limit: limit, tokenLimit: budget}

	refusal := ""
	switch {
	case l.spent+op.Cost > budget:
		refusal = "Daily API token budget exceeded"
		midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
		h.retryAfter = max(ceilSeconds(midnight.Sub(now)), 1)
	case len(win) >= limit:
		refusal = "Request over limit"
		h.retryAfter = max(ceilSeconds(win[0].Add(burstWindow).Sub(now)), 1)
	}
	if refusal != "" {
		l.windows[key] = win
		h.remaining = max(limit-len(win), 0)
		if len(win) > 0 {
			h.reset = ceilSeconds(win[0].Add(burstWindow).Sub(now))
		}
		h.tokensLeft = budget - l.spent
		l.strike(tok, now, opt)
		return h, refusal
	}
	win = append(win, now)
	l.windows[key] = win
	l.spent += op.Cost
	h.remaining = limit - len(win)
	h.reset = ceilSeconds(win[0].Add(burstWindow).Sub(now))
	h.tokensLeft = budget - l.spent
	return h, ""
}

// refund gives back the reservation of a request that was not answered by
// the API (an injected fault).
func (l *limiter) refund(c int) { l.spent = max(l.spent-c, 0) }

func (l *limiter) strike(tok string, now time.Time, opt Options) {
	s := l.strikes[tok]
	cut := 0
	for cut < len(s) && !s[cut].After(now.Add(-opt.PenaltyWindow)) {
		cut++
	}
	s = append(s[cut:], now)
	l.strikes[tok] = s
	if len(s) > opt.PenaltyRequests {
		l.until[tok] = now.Add(opt.BlockDuration)
	}
}
