package asl

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Retry and Catch, as https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
// describes them: the first retrier whose ErrorEquals matches the error
// decides whether the state runs again; each retrier counts its own
// attempts across this entry into the state; once the matching retrier is
// exhausted (or none matches) the first matching catcher decides where
// the execution goes.

func (ex *execution) withRetry(ctx context.Context, r *stateRun, raw any) (any, string, error) {
	st := r.st
	attempts := make([]int, len(st.retry))
	for {
		out, err := ex.attempt(ctx, r, raw)
		if err == nil {
			return out, st.next, nil
		}
		se, ok := err.(*stateError)
		if !ok { // stopped by ctx
			return nil, "", err
		}
		if i := matchRetrier(st.retry, se); i >= 0 && attempts[i] < st.retry[i].maxAttempts {
			delay := st.retry[i].delay(attempts[i], ex.random)
			attempts[i]++
			r.retries++
			ex.emit(Event{Kind: StateRetrying, State: st.name, Type: st.typ, Scope: r.scope, Attempt: r.retries, Delay: delay, Error: se.name})
			if err := ex.opts.Sleep(ctx, delay); err != nil {
				return nil, "", err
			}
			continue
		}
		for _, c := range st.catch {
			if !se.matchesAny(c.errorEquals) {
				continue
			}
			errOut := newObject(2)
			errOut.set("Error", se.name)
			if se.cause != "" {
				errOut.set("Cause", se.cause)
			}
			out, err := applyResultPath(c.resultPath, raw, errOut)
			if err != nil {
				return nil, "", r.failf("the catcher's ResultPath %q cannot be applied to the state's input: %v", c.resultPath.p, err)
			}
			ex.emit(Event{Kind: StateCaught, State: st.name, Type: st.typ, Scope: r.scope, Error: se.name, Next: c.next, Duration: ex.now().Sub(r.entered)})
			return out, c.next, nil
		}
		return nil, "", se
	}
}

func (ex *execution) attempt(ctx context.Context, r *stateRun, raw any) (any, error) {
	switch r.st.typ {
	case "Map":
		return ex.attemptMap(ctx, r, raw)
	case "Parallel":
		return ex.attemptParallel(ctx, r, raw)
	}
	return ex.attemptTask(ctx, r, raw)
}

func matchRetrier(retriers []*retrier, se *stateError) int {
	for i, r := range retriers {
		if se.matchesAny(r.errorEquals) {
			return i
		}
	}
	return -1
}

// maxBackoff keeps a long backoff from overflowing time.Duration.
const maxBackoff = float64(maxDelayLimit)

// delay is the wait before a retry, given how many retries this retrier
// has already made: IntervalSeconds × BackoffRate^made, capped at
// MaxDelaySeconds, then with JitterStrategy FULL a random fraction of that.
func (r *retrier) delay(made int, random func() float64) time.Duration {
	d := r.interval * math.Pow(r.backoffRate, float64(made))
	if r.maxDelay > 0 && d > r.maxDelay {
		d = r.maxDelay
	}
	if math.IsInf(d, 0) || d > maxBackoff {
		d = maxBackoff
	}
	if r.jitterFull {
		d *= random()
	}
	return time.Duration(math.Round(d * float64(time.Second)))
}

// errorEquals reads a retrier's or catcher's ErrorEquals; last says
// whether it is the last of its array, where States.ALL may stand.
func (p *stateParser) errorEquals(field string, v any, last bool) ([]string, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, p.errorf(field, "must be a non-empty array of error names")
	}
	names := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok || s == "" {
			return nil, p.errorf(field, "must be a non-empty array of error names")
		}
		names[i] = s
		if s == ErrAll && (len(arr) != 1 || !last) {
			return nil, p.errorf(field, "has %s, which must appear alone and in the last element", ErrAll)
		}
	}
	return names, nil
}

// retriers reads Retry, filling in the defaults: IntervalSeconds 1,
// MaxAttempts 3, BackoffRate 2.0, no MaxDelaySeconds, no jitter.
func (p *stateParser) retriers() ([]*retrier, error) {
	v, ok := p.get("Retry")
	if !ok {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, p.errorf("Retry", "must be an array of retriers")
	}
	var out []*retrier
	for i, e := range arr {
		field := fmt.Sprintf("Retry[%d]", i)
		obj, ok := e.(*object)
		if !ok {
			return nil, p.errorf(field, "must be an object")
		}
		if err := checkFields(obj, p.name, field+".", []string{"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"}, "a retrier"); err != nil {
			return nil, err
		}
		r := &retrier{interval: 1, maxAttempts: 3, backoffRate: 2}
		ee, _ := obj.get("ErrorEquals")
		var err error
		if r.errorEquals, err = p.errorEquals(field+".ErrorEquals", ee, i == len(arr)-1); err != nil {
			return nil, err
		}
		if v, ok := obj.get("IntervalSeconds"); ok {
			n, ok := intIn(v, 1, maxRetrySeconds)
			if !ok {
				return nil, p.errorf(field+".IntervalSeconds", "must be an integer from 1 to %d", maxRetrySeconds)
			}
			r.interval = float64(n)
		}
		if v, ok := obj.get("MaxAttempts"); ok {
			n, ok := intIn(v, 0, maxRetrySeconds)
			if !ok {
				return nil, p.errorf(field+".MaxAttempts", "must be an integer from 0 to %d", maxRetrySeconds)
			}
			r.maxAttempts = int(n)
		}
		if v, ok := obj.get("BackoffRate"); ok {
			f, ok := asFloat(v)
			if !ok || f < 1 || math.IsInf(f, 0) {
				return nil, p.errorf(field+".BackoffRate", "must be a number of at least 1.0")
			}
			r.backoffRate = f
		}
		if v, ok := obj.get("MaxDelaySeconds"); ok {
			n, ok := intIn(v, 1, maxDelayLimit)
			if !ok {
				return nil, p.errorf(field+".MaxDelaySeconds", "must be an integer from 1 to %d", maxDelayLimit)
			}
			r.maxDelay = float64(n)
		}
		if v, ok := obj.get("JitterStrategy"); ok {
			switch v {
			case "FULL":
				r.jitterFull = true
			case "NONE":
			default:
				return nil, p.errorf(field+".JitterStrategy", `must be "FULL" or "NONE"`)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// catchers reads Catch.
func (p *stateParser) catchers() ([]*catcher, error) {
	v, ok := p.get("Catch")
	if !ok {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, p.errorf("Catch", "must be an array of catchers")
	}
	var out []*catcher
	for i, e := range arr {
		field := fmt.Sprintf("Catch[%d]", i)
		obj, ok := e.(*object)
		if !ok {
			return nil, p.errorf(field, "must be an object")
		}
		if err := checkFields(obj, p.name, field+".", []string{"ErrorEquals", "Next", "ResultPath", "Comment"}, "a catcher"); err != nil {
			return nil, err
		}
		c := &catcher{}
		ee, _ := obj.get("ErrorEquals")
		var err error
		if c.errorEquals, err = p.errorEquals(field+".ErrorEquals", ee, i == len(arr)-1); err != nil {
			return nil, err
		}
		next, _ := obj.get("Next")
		if c.next, ok = next.(string); !ok || c.next == "" {
			return nil, p.errorf(field+".Next", "is required and must be a state name")
		}
		sub := &stateParser{name: p.name, obj: obj}
		if c.resultPath, err = sub.optPath("ResultPath", false); err != nil {
			var de *DefinitionError
			if errors.As(err, &de) {
				de.Field = field + "." + de.Field
			}
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
