package asl

import (
	"context"
	"fmt"
	"time"
)

// The states that do no work of their own: Pass, Choice, Wait, Succeed and
// Fail. Task is in task.go, Map and Parallel in map.go.

func (ex *execution) runPass(r *stateRun, raw any) (any, error) {
	cobj := ex.contextObject(r, "", nil)
	e := ex.env(raw, cobj)
	_, result, err := ex.effectiveInput(r, raw, e)
	if err != nil {
		return nil, err
	}
	if r.st.pass.hasResult {
		result = r.st.pass.result
	}
	return ex.finish(r, raw, result, cobj)
}

// passThrough is Succeed: InputPath, then OutputPath.
func (ex *execution) passThrough(r *stateRun, raw any) (any, error) {
	e := ex.env(raw, ex.contextObject(r, "", nil))
	v, err := r.selectPath("InputPath", r.st.inputPath, raw, e)
	if err != nil {
		return nil, err
	}
	return r.selectPath("OutputPath", r.st.outputPath, v, e)
}

func (ex *execution) runChoice(r *stateRun, raw any) (any, string, error) {
	cobj := ex.contextObject(r, "", nil)
	in, err := r.selectPath("InputPath", r.st.inputPath, raw, ex.env(raw, cobj))
	if err != nil {
		return nil, "", err
	}
	e := ex.env(in, cobj)
	next := r.st.choice.deflt
	for i, rule := range r.st.choice.rules {
		ok, err := rule.matches(e)
		if err != nil {
			return nil, "", r.failf("Choices[%d]: %v", i, err)
		}
		if ok {
			next = rule.next
			break
		}
	}
	if next == "" {
		// The ASL specification's name; Step Functions itself reports
		// States.Runtime, and like it no Catch or Retry handles this error.
		return nil, "", &stateError{name: ErrNoChoiceMatched, cause: fmt.Sprintf("state %q: no choice rule matched and there is no Default", r.st.name)}
	}
	out, err := r.selectPath("OutputPath", r.st.outputPath, in, e)
	return out, next, err
}

func (ex *execution) runWait(ctx context.Context, r *stateRun, raw any) (any, error) {
	cobj := ex.contextObject(r, "", nil)
	in, err := r.selectPath("InputPath", r.st.inputPath, raw, ex.env(raw, cobj))
	if err != nil {
		return nil, err
	}
	e := ex.env(in, cobj)
	w := r.st.wait
	var d time.Duration
	switch {
	case w.secondsPath != nil:
		v, ok := get(w.secondsPath, e)
		n, isInt := asInteger(v)
		if !ok || !isInt || n < 0 || n > maxWaitSeconds {
			return nil, r.failf("SecondsPath %q must name a non-negative integer of seconds", w.secondsPath.src)
		}
		d = time.Duration(n) * time.Second
	case w.timestampPath != nil:
		v, ok := get(w.timestampPath, e)
		s, _ := v.(string)
		t, isTime := parseTimestamp(s)
		if !ok || !isTime {
			return nil, r.failf("TimestampPath %q must name a timestamp such as 2016-03-14T01:59:00Z", w.timestampPath.src)
		}
		d = t.Sub(ex.now())
	case w.timestamp != nil:
		d = w.timestamp.Sub(ex.now())
	default:
		d = time.Duration(w.seconds) * time.Second
	}
	if d > 0 {
		if err := ex.opts.Sleep(ctx, d); err != nil {
			return nil, err
		}
	}
	return r.selectPath("OutputPath", r.st.outputPath, in, e)
}

// runFail reports the Fail state's error; ErrorPath and CausePath are read
// from the state's input.
func (ex *execution) runFail(r *stateRun, raw any) error {
	f := r.st.fail
	e := ex.env(raw, ex.contextObject(r, "", nil))
	se := &stateError{name: f.errName, cause: f.cause}
	for _, x := range []struct {
		field string
		expr  expr
		dst   *string
	}{{"ErrorPath", f.errorPath, &se.name}, {"CausePath", f.causePath, &se.cause}} {
		if x.expr == nil {
			continue
		}
		v, err := x.expr.eval(e)
		if err != nil {
			return r.failf("%s: %v", x.field, err)
		}
		s, ok := v.(string)
		if !ok {
			return r.failf("%s must produce a string, not a %s", x.field, typeName(v))
		}
		*x.dst = s
	}
	return se
}

// wait reads a Wait state's one way of saying how long.
func (p *stateParser) wait(s *state) error {
	w := &waitSpec{}
	count := 0
	if v, ok := p.get("Seconds"); ok {
		count++
		n, ok := intIn(v, 0, maxWaitSeconds)
		if !ok {
			return p.errorf("Seconds", "must be an integer from 0 to %d", maxWaitSeconds)
		}
		w.seconds = n
	}
	if v, ok := p.get("Timestamp"); ok {
		count++
		s, _ := v.(string)
		t, ok := parseTimestamp(s)
		if !ok {
			return p.errorf("Timestamp", "must be a timestamp such as 2016-03-14T01:59:00Z")
		}
		w.timestamp = &t
	}
	var err error
	if w.secondsPath, err = p.path("SecondsPath", true); err != nil {
		return err
	}
	if w.timestampPath, err = p.path("TimestampPath", true); err != nil {
		return err
	}
	if w.secondsPath != nil {
		count++
	}
	if w.timestampPath != nil {
		count++
	}
	if count != 1 {
		return p.errorf("", "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath or TimestampPath")
	}
	s.wait = w
	return nil
}

// fail reads a Fail state's Error, Cause, ErrorPath and CausePath.
func (p *stateParser) fail(s *state) error {
	f := &failSpec{}
	var err error
	if f.errName, _, err = p.str("Error"); err != nil {
		return err
	}
	if f.cause, _, err = p.str("Cause"); err != nil {
		return err
	}
	for _, x := range []struct {
		field, other string
		dst          *expr
	}{{"ErrorPath", "Error", &f.errorPath}, {"CausePath", "Cause", &f.causePath}} {
		src, ok, err := p.str(x.field)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if _, both := p.get(x.other); both {
			return p.errorf(x.field, "cannot be used with %s", x.other)
		}
		if *x.dst, err = parseExpr(src); err != nil {
			return p.errorf(x.field, "is invalid: %v", err)
		}
	}
	s.fail = f
	return nil
}
