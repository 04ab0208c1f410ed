package asl

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is Options.Now and Options.Sleep without waiting: Sleep
// records the delay and moves the clock on.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 14, 1, 59, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// withClock fills in a fake clock where opts has none.
func withClock(opts Options) (Options, *fakeClock) {
	c := newFakeClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = c.Sleep
	}
	return opts, c
}

func mustParse(t testing.TB, def string) *Machine {
	t.Helper()
	m, err := Parse([]byte(def))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// run parses def and executes it on input with a fake clock.
func run(t testing.TB, def, input string, opts Options) (json.RawMessage, error) {
	t.Helper()
	opts, _ = withClock(opts)
	return mustParse(t, def).Execute(context.Background(), json.RawMessage(input), opts)
}

// mustRun is run for an execution that must succeed.
func mustRun(t testing.TB, def, input string, opts Options) json.RawMessage {
	t.Helper()
	out, err := run(t, def, input, opts)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	return out
}

// assertJSON compares JSON texts by value.
func assertJSON(t testing.TB, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("output %s is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s is not JSON: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", got, compact(want))
	}
}

func compact(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// assertFailed checks that err is an *ExecutionFailedError with the error
// name and, if cause is not empty, a cause containing it.
func assertFailed(t testing.TB, err error, name, cause string) *ExecutionFailedError {
	t.Helper()
	var ef *ExecutionFailedError
	if !errors.As(err, &ef) {
		t.Fatalf("err = %v, want *ExecutionFailedError %s", err, name)
	}
	if ef.Name != name {
		t.Errorf("error name = %q, want %q (cause %q)", ef.Name, name, ef.Cause)
	}
	if !strings.Contains(ef.Cause, cause) {
		t.Errorf("cause = %q, want it to contain %q", ef.Cause, cause)
	}
	return ef
}

// echo returns its input.
func echo(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }

// returns answers every call with out.
func returns(out string) Handler {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(out), nil }
}

// passMachine wraps Pass state fields in a one-state machine.
func passMachine(fields string) string {
	return `{"StartAt":"P","States":{"P":{"Type":"Pass",` + fields + `,"End":true}}}`
}

// taskMachine wraps Task state fields in a one-state machine whose
// resource is function "fn".
func taskMachine(fields string) string {
	if fields != "" {
		fields += ","
	}
	return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:eu-west-2:123456789012:function:fn",` + fields + `"End":true}}}`
}
