package asl

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestWait checks each way of saying how long to wait, through the fake
// clock. https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html
func TestWait(t *testing.T) {
	// The fake clock starts at 2026-03-14T01:59:00Z.
	tests := []struct {
		name, fields, input string
		want                []time.Duration
	}{
		{"Seconds", `"Seconds":10`, `{}`, seconds(10)},
		{"Seconds 0 does not wait", `"Seconds":0`, `{}`, nil},
		{"SecondsPath", `"SecondsPath":"$.expirydate"`, `{"expirydate":42}`, seconds(42)},
		{"Timestamp", `"Timestamp":"2026-03-14T02:00:30Z"`, `{}`, seconds(90)},
		{"Timestamp with an offset", `"Timestamp":"2026-03-14T03:00:30+01:00"`, `{}`, seconds(90)},
		{"a Timestamp in the past does not wait", `"Timestamp":"2016-03-14T01:59:00Z"`, `{}`, nil},
		{"TimestampPath", `"TimestampPath":"$.expirydate"`, `{"expirydate":"2026-03-14T01:59:01.5Z"}`, seconds(1.5)},
		{"SecondsPath after InputPath", `"InputPath":"$.w","SecondsPath":"$.s"`, `{"w":{"s":3}}`, seconds(3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			def := `{"StartAt":"W","States":{"W":{"Type":"Wait",` + tc.fields + `,"Next":"Done"},"Done":{"Type":"Succeed"}}}`
			opts, clock := withClock(Options{})
			out, err := mustParse(t, def).Execute(context.Background(), json.RawMessage(tc.input), opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := clock.Sleeps(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("slept %v, want %v", got, tc.want)
			}
			if !strings.Contains(tc.fields, "InputPath") {
				assertJSON(t, out, tc.input) // a Wait passes its input on
			}
		})
	}
	for _, bad := range []struct{ fields, input string }{
		{`"SecondsPath":"$.s"`, `{"s":"ten"}`},
		{`"SecondsPath":"$.s"`, `{"s":-1}`},
		{`"SecondsPath":"$.s"`, `{}`},
		{`"TimestampPath":"$.t"`, `{"t":"yesterday"}`},
	} {
		def := `{"StartAt":"W","States":{"W":{"Type":"Wait",` + bad.fields + `,"End":true}}}`
		_, err := run(t, def, bad.input, Options{})
		assertFailed(t, err, ErrRuntime, "must name")
	}
}

func TestWaitStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := mustParse(t, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100000,"End":true}}}`)
	start := time.Now()
	_, err := m.Execute(ctx, nil, Options{}) // the real clock
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %s", err, time.Since(start))
	}
}

// TestFail covers Error and Cause, and ErrorPath and CausePath with a path
// and an intrinsic function.
// https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
func TestFail(t *testing.T) {
	tests := []struct{ fields, input, name, cause string }{
		{`"Error":"ErrorA","Cause":"Kaiju attack"`, `{}`, "ErrorA", "Kaiju attack"},
		{`"ErrorPath":"$.Error","CausePath":"$.Cause"`, `{"Error":"ErrorB","Cause":"from the input"}`, "ErrorB", "from the input"},
		{`"Error":"Bad","CausePath":"States.Format('this is the error: {}, and this is the cause: {}', $.Error, $.Cause)"`,
			`{"Error":"E","Cause":"C"}`, "Bad", "this is the error: E, and this is the cause: C"},
		{`"Comment":"no error given"`, `{}`, "", ""},
	}
	for _, tc := range tests {
		def := `{"StartAt":"F","States":{"F":{"Type":"Fail",` + tc.fields + `}}}`
		_, err := run(t, def, tc.input, Options{})
		ef := assertFailed(t, err, tc.name, tc.cause)
		if ef.Cause != tc.cause || ef.State != "F" {
			t.Errorf("%s: got %+v", tc.fields, ef)
		}
	}
	_, err := run(t, `{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e"}}}`, `{"e":1}`, Options{})
	assertFailed(t, err, ErrRuntime, "ErrorPath must produce a string")
}

func TestSucceedInsideABranchEndsTheBranch(t *testing.T) {
	def := `{"StartAt":"M","States":{
		"M":{"Type":"Map","ItemProcessor":{"StartAt":"S","States":{"S":{"Type":"Succeed","OutputPath":"$.v"}}},"Next":"After"},
		"After":{"Type":"Pass","Result":"after","ResultPath":"$[0]","End":true}}}`
	assertJSON(t, mustRun(t, def, `[{"v":1},{"v":2}]`, Options{}), `["after",2]`)
}

// TestDataLimit: a state's input or output over 256 KiB fails the
// execution with States.DataLimitExceeded.
func TestDataLimit(t *testing.T) {
	big := strings.Repeat("x", MaxPayloadBytes)
	bigJSON := `"` + big + `"`
	tests := []struct {
		name, def, input string
		h                Handler
	}{
		{"a task's result", taskMachine(""), `{}`, returns(bigJSON)},
		{"a state's output", passMachine(`"Parameters":{"a.$":"$.s","b.$":"$.s"}`), `{"s":"` + strings.Repeat("y", MaxPayloadBytes/2) + `"}`, nil},
		{"the input after Parameters", taskMachine(`"Parameters":{"a.$":"$.s","b.$":"$.s"}`), `{"s":"` + strings.Repeat("y", MaxPayloadBytes/2) + `"}`, echo},
		{"the output of a token callback",
			`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"fn","Payload":{"t.$":"$$.Task.Token"}},"End":true}}}`,
			`{}`, echo},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Handlers: map[string]Handler{"fn": tc.h}}
			if tc.h == nil {
				opts.Handlers = nil
			}
			opts.WaitForTaskToken = func(context.Context, string, string, json.RawMessage) (json.RawMessage, error) {
				return json.RawMessage(bigJSON), nil
			}
			_, err := run(t, tc.def, tc.input, opts)
			assertFailed(t, err, ErrDataLimitExceeded, "262144-byte limit")
		})
	}
	t.Run("the execution's input", func(t *testing.T) {
		_, err := run(t, passMachine(`"Comment":"c"`), bigJSON, Options{})
		if err == nil || !strings.Contains(err.Error(), "execution input") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("just under the limit is fine", func(t *testing.T) {
		s := `"` + strings.Repeat("x", MaxPayloadBytes-2) + `"`
		out := mustRun(t, taskMachine(""), `{}`, Options{Handlers: map[string]Handler{"fn": returns(s)}})
		if len(out) != MaxPayloadBytes {
			t.Errorf("output is %d bytes", len(out))
		}
	})
}

// TestEvents checks what OnTransition hears: state names, kinds and
// durations on the execution's clock, and never a payload or a cause.
func TestEvents(t *testing.T) {
	def := `{"StartAt":"Work","States":{
		"Work":{"Type":"Task","Resource":"fn","Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":3}],"Next":"Each"},
		"Each":{"Type":"Map","MaxConcurrency":1,"ItemProcessor":{"StartAt":"Pause","States":{"Pause":{"Type":"Wait","Seconds":2,"End":true}}},"Next":"Done"},
		"Done":{"Type":"Succeed"}}}`
	h, _ := failing("Flaky")
	var events []Event
	opts, _ := withClock(Options{Handlers: map[string]Handler{"fn": func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		if _, err := h(ctx, in); err != nil {
			return nil, err
		}
		return json.RawMessage(`["secret-a","secret-b"]`), nil
	}}, OnTransition: func(e Event) { events = append(events, e) }})
	if _, err := mustParse(t, def).Execute(context.Background(), json.RawMessage(`{"client":"secret"}`), opts); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		s := string(e.Kind)
		if e.State != "" {
			s += " " + e.Scope + ":" + e.State
		}
		if e.Duration != 0 {
			s += " " + e.Duration.String()
		}
		if e.Error != "" {
			s += " " + e.Error
		}
		got = append(got, s)
		if strings.Contains(strings.ToLower(e.State+e.Error+e.Next+e.Scope), "secret") {
			t.Errorf("event %+v carries data", e)
		}
	}
	want := []string{
		"ExecutionStarted",
		"StateEntered :Work",
		"StateRetrying :Work Flaky",
		"StateExited :Work 3s",
		"StateEntered :Each",
		"StateEntered Each[0]:Pause",
		"StateExited Each[0]:Pause 2s",
		"StateEntered Each[1]:Pause",
		"StateExited Each[1]:Pause 2s",
		"StateExited :Each 4s",
		"StateEntered :Done",
		"StateExited :Done",
		"ExecutionSucceeded 7s",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	t.Run("a failure", func(t *testing.T) {
		events = nil
		opts.Handlers = map[string]Handler{"fn": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, &InputError{Msg: "secret cause"}
		}}
		_, err := mustParse(t, def).Execute(context.Background(), nil, opts)
		assertFailed(t, err, "InputError", "secret cause")
		last := events[len(events)-2:]
		if last[0].Kind != StateFailed || last[0].State != "Work" || last[0].Error != "InputError" ||
			last[1].Kind != ExecutionFailed || last[1].Error != "InputError" {
			t.Errorf("last events %+v", last)
		}
	})
}
