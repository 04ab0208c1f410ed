package pipedrive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/pipedrive/cost"
)

// maxResponseBytes bounds a response body read into memory (a page of 500
// deals with custom fields is a few megabytes).
const maxResponseBytes = 64 << 20

// longThrottleWait is the longest wait a 429 may ask for before it is taken
// to mean the daily budget, not the burst window, is gone.
const longThrottleWait = time.Minute

// errNotReplayable is returned by a body maker asked for a second attempt
// whose body cannot be produced again.
var errNotReplayable = errors.New("request body cannot be sent again")

// call is one API operation to perform.
type call struct {
	method string
	// path has its version prefix and concrete ids: "/api/v2/persons/42".
	path  string
	query url.Values
	// body, if set, is marshalled as the JSON request body.
	body any
	// stream, if set, makes the request body for attempt n (0-based);
	// it returns errNotReplayable when it cannot make another.
	// length is the body's exact length, or -1 if unknown.
	stream func(attempt int) (body io.Reader, contentType string, length int64, err error)
	lane   lane
}

// do performs cl, throttled and retried, and decodes a successful
// response's JSON body into out (if not nil).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	op, ok := cost.Lookup(cl.method, cl.path)
	if !ok {
		return fmt.Errorf("pipedrive: %s %s is not a published Pipedrive operation", cl.method, templateOf(cl.path))
	}
	endpoint := op.Endpoint()
	var payload []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return fmt.Errorf("pipedrive: %s: encode request body: %w", endpoint, err)
		}
		payload = b
	}
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + cl.path
	u.RawQuery = cl.query.Encode()
	target := u.String()

	var lastErr error
	maybeApplied := false // an earlier attempt was sent but its answer lost
	for attempt := 0; ; attempt++ {
		if err := c.checkExhausted(endpoint); err != nil {
			return err
		}
		if err := c.throttle(ctx, cl.lane); err != nil {
			return fmt.Errorf("pipedrive: %s: waiting for the rate limiter: %w", endpoint, err)
		}
		var body io.Reader
		contentType := ""
		length := int64(-1)
		switch {
		case cl.stream != nil:
			b, ct, n, err := cl.stream(attempt)
			if errors.Is(err, errNotReplayable) && lastErr != nil {
				return lastErr
			}
			if err != nil {
				return fmt.Errorf("pipedrive: %s: request body: %w", endpoint, err)
			}
			body, contentType, length = b, ct, n
		case payload != nil:
			body, contentType, length = bytes.NewReader(payload), "application/json", int64(len(payload))
		}
		var sent atomic.Bool
		if body != nil {
			body = &readSignal{r: body, read: &sent}
		}
		trace := &httptrace.ClientTrace{
			WroteHeaders: func() { sent.Store(true) },
			WroteRequest: func(httptrace.WroteRequestInfo) { sent.Store(true) },
		}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), cl.method, target, body)
		if err != nil {
			if rc, ok := body.(io.Closer); ok {
				rc.Close()
			}
			return fmt.Errorf("pipedrive: %s: build request: %w", endpoint, unwrapURL(err))
		}
		if length >= 0 {
			req.ContentLength = length
		}
		if payload != nil && cl.stream == nil {
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
		}
		req.Header.Set("x-api-token", c.creds.token)
		req.Header.Set("Accept", "application/json")
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}

		start := c.now()
		resp, err := c.http.Do(req)
		var respBody []byte
		if err == nil {
			respBody, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
			resp.Body.Close()
			if err != nil {
				// The status arrived but the body did not: the server acted.
				sent.Store(true)
				resp = nil
			}
		}
		elapsed := c.now().Sub(start)

		if err != nil {
			err = unwrapURL(err)
			c.logAttempt(ctx, cl.method, endpoint, attempt, 0, elapsed, 0, err)
			if cl.method == http.MethodPost && sent.Load() {
				return &OutcomeUnknownError{Endpoint: endpoint, Err: err}
			}
			if ctx.Err() != nil {
				return &TransportError{Endpoint: endpoint, Err: ctx.Err()}
			}
			if sent.Load() {
				maybeApplied = true
			}
			lastErr = &TransportError{Endpoint: endpoint, Err: err}
			retry, perr := c.CheckRetry(ctx, nil, err)
			if perr != nil {
				return &TransportError{Endpoint: endpoint, Err: perr}
			}
			if !retry || attempt >= c.maxRetries {
				return lastErr
			}
			if err := c.sleep(ctx, c.Backoff(attempt, nil)); err != nil {
				return lastErr
			}
			c.meter.retried()
			continue
		}

		status := resp.StatusCode
		resp.Body = io.NopCloser(bytes.NewReader(respBody))
		c.observe(cl.lane, resp.Header)
		tokens := c.meter.record(endpoint, op.Cost, status, isHTML(resp.Header, respBody))
		c.logAttempt(ctx, cl.method, endpoint, attempt, status, elapsed, tokens, nil)

		if status >= 200 && status < 300 {
			c.resetLongThrottle()
			return decodeSuccess(endpoint, status, respBody, out)
		}
		if status == http.StatusNotFound && cl.method == http.MethodDelete && maybeApplied {
			// An earlier attempt was sent and lost; it did the deleting.
			return nil
		}

		lastErr = classify(endpoint, resp, respBody)
		if status == http.StatusTooManyRequests {
			if exhausted := c.budgetCheck(endpoint, resp.Header); exhausted != nil {
				return exhausted
			}
		} else {
			c.resetLongThrottle()
		}
		retry, perr := c.CheckRetry(ctx, resp, nil)
		if perr != nil {
			return fmt.Errorf("pipedrive: %s: retry policy: %w", endpoint, perr)
		}
		if !retry || attempt >= c.maxRetries {
			return lastErr
		}
		if err := c.sleep(ctx, c.Backoff(attempt, resp)); err != nil {
			return lastErr
		}
		c.meter.retried()
	}
}

// DefaultRetryPolicy retries transport failures (refused or dropped
// connections, timeouts) and 429, 500, 502, 503 and 504 responses, but not
// once ctx is done.
func DefaultRetryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, nil
	}
	if err != nil {
		return true, nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	}
	return false, nil
}

// DefaultBackoff waits as long as a 429 or 503 asks (Retry-After, in
// seconds or as an HTTP date, else for a 429 x-ratelimit-reset), and
// otherwise FullJitter between the client's RetryWaitMin and RetryWaitMax.
func (c *Client) DefaultBackoff(attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := retryAfter(resp.Header, c.now()); ok && d > 0 {
			return d
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			if d, ok := resetDelay(resp.Header, c.now()); ok && d > 0 {
				return d
			}
		}
	}
	return FullJitter(c.RetryWaitMin, c.RetryWaitMax, attempt)
}

// FullJitter is exponential backoff with full jitter: a uniformly random
// wait between 0 and min(maxWait, base·2^attempt).
func FullJitter(base, maxWait time.Duration, attempt int) time.Duration {
	ceiling := maxWait
	if attempt < 40 {
		if d := base << attempt; d > 0 && d < maxWait {
			ceiling = d
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// checkExhausted fails fast while a spent daily budget is known not to be
// back: Pipedrive would answer 429, and a client that keeps asking gets
// blocked.
func (c *Client) checkExhausted(endpoint string) error {
	c.mu.Lock()
	until := c.exhaustedUntil
	c.mu.Unlock()
	if !until.IsZero() && c.now().Before(until) {
		return &BudgetExhaustedError{Endpoint: endpoint, ResumeAt: until}
	}
	return nil
}

// budgetCheck decides whether a 429 means the daily budget is gone. It
// does when x-daily-ratelimit-token-remaining says 0 (Pipedrive sends it
// with token-based limits, though not always), when the 429 asks for a
// wait longer than longThrottleWait, or when two 429s in a row ask for a
// wait beyond the 2 s burst window. ResumeAt is the wait asked for, or
// failing that the next UTC midnight, when Pipedrive resets budgets.
func (c *Client) budgetCheck(endpoint string, h http.Header) error {
	now := c.now()
	wait, hasWait := retryAfter(h, now)
	if !hasWait {
		wait, hasWait = resetDelay(h, now)
	}
	long := hasWait && wait > BurstWindow
	daily, hasDaily := headerInt(h, headerDailyRemaining)

	c.mu.Lock()
	defer c.mu.Unlock()
	if long {
		c.longThrottled++
	} else {
		c.longThrottled = 0
	}
	if !(hasDaily && daily <= 0) && !(long && (wait > longThrottleWait || c.longThrottled >= 2)) {
		return nil
	}
	resume := nextUTCMidnight(now)
	if long {
		resume = now.Add(wait)
	}
	c.exhaustedUntil = resume
	c.longThrottled = 0
	return &BudgetExhaustedError{Endpoint: endpoint, ResumeAt: resume}
}

func (c *Client) resetLongThrottle() {
	c.mu.Lock()
	c.longThrottled = 0
	c.mu.Unlock()
}

func nextUTCMidnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// errorBody is Pipedrive's error shape.
type errorBody struct {
	Success   *bool  `json:"success"`
	Error     string `json:"error"`
	ErrorInfo string `json:"error_info"`
}

func (e errorBody) message() string {
	msg := strings.TrimSpace(e.Error)
	if info := strings.TrimSpace(e.ErrorInfo); info != "" && info != msg {
		if msg == "" {
			msg = info
		} else {
			msg += " (" + info + ")"
		}
	}
	return scrub(msg)
}

// classify turns an unsuccessful response into its error type.
func classify(endpoint string, resp *http.Response, body []byte) error {
	status := resp.StatusCode
	var eb errorBody
	jsonErr := json.Unmarshal(body, &eb)
	msg := eb.message()
	switch {
	case status == http.StatusForbidden && (jsonErr != nil || isHTML(resp.Header, body)):
		return &BlockedError{Endpoint: endpoint}
	case status == http.StatusUnauthorized:
		return &UnauthorizedError{Endpoint: endpoint, Message: msg}
	case status == http.StatusNotFound:
		return &NotFoundError{Endpoint: endpoint, Message: msg}
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return &ValidationError{Endpoint: endpoint, Status: status, Message: msg}
	}
	return &APIError{Endpoint: endpoint, Status: status, Message: msg}
}

func isHTML(h http.Header, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil && mt == "text/html" {
		return true
	}
	return bytes.HasPrefix(bytes.TrimSpace(body), []byte("<"))
}

// decodeSuccess decodes a 2xx body into out, treating success:false as a
// failure.
func decodeSuccess(endpoint string, status int, body []byte, out any) error {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		return fmt.Errorf("pipedrive: %s: decode %d response: %w", endpoint, status, err)
	}
	if eb.Success != nil && !*eb.Success {
		return &APIError{Endpoint: endpoint, Status: status, Message: eb.message()}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("pipedrive: %s: decode %d response: %w", endpoint, status, err)
	}
	return nil
}

func (c *Client) logAttempt(ctx context.Context, method, endpoint string, attempt, status int, d time.Duration, tokens int, err error) {
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("endpoint", endpoint),
		slog.Int("attempt", attempt),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int("tokens", tokens),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "pipedrive request", attrs...)
}

// unwrapURL drops *url.Error's wrapping, whose message carries the URL
// (and with it query values such as a searched e-mail address).
func unwrapURL(err error) error {
	var ue *url.Error
	for errors.As(err, &ue) {
		err = ue.Err
	}
	return err
}

// templateOf replaces numeric path segments with {id}, for messages about
// paths cost.Lookup does not know.
func templateOf(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if s != "" && strings.Trim(s, "0123456789") == "" {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

// readSignal marks a request as sent once its body is first read.
type readSignal struct {
	r    io.Reader
	read *atomic.Bool
}

// Read marks the request sent and reads.
func (s *readSignal) Read(p []byte) (int, error) {
	s.read.Store(true)
	return s.r.Read(p)
}

// Close closes the body if it can be, so that a streaming body's writer
// stops when the transport gives up on it.
func (s *readSignal) Close() error {
	if c, ok := s.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
