package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// namedError is an error whose name is given explicitly (ErrorNamer).
type namedError string

func (e namedError) Error() string     { return "failure " + string(e) }
func (e namedError) ErrorName() string { return string(e) }

// failing returns a handler that fails with the given error names in turn,
// then succeeds with "ok"; it counts its calls.
func failing(names ...string) (Handler, *int) {
	var mu sync.Mutex
	calls := 0
	return func(context.Context, json.RawMessage) (json.RawMessage, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= len(names) {
			return nil, namedError(names[calls-1])
		}
		return json.RawMessage(`"ok"`), nil
	}, &calls
}

func seconds(fs ...float64) []time.Duration {
	out := make([]time.Duration, len(fs))
	for i, f := range fs {
		out[i] = time.Duration(f * float64(time.Second))
	}
	return out
}

func TestRetryBackoff(t *testing.T) {
	tests := []struct {
		name   string
		retry  string
		errors []string
		delays []time.Duration
		result string // "" when the execution fails
	}{
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html:
			// "makes 2 retry attempts after waiting for 3 and 4.5 seconds".
			name:   "documentation example",
			retry:  `{"ErrorEquals":["States.Timeout","Flaky"],"IntervalSeconds":3,"MaxAttempts":2,"BackoffRate":1.5}`,
			errors: []string{"Flaky", "Flaky"},
			delays: seconds(3, 4.5),
			result: `"ok"`,
		},
		{
			name:   "defaults: 1s, rate 2, 3 attempts",
			retry:  `{"ErrorEquals":["States.ALL"]}`,
			errors: []string{"E", "E", "E", "E"},
			delays: seconds(1, 2, 4),
		},
		{
			name:   "MaxDelaySeconds caps the backoff",
			retry:  `{"ErrorEquals":["E"],"IntervalSeconds":2,"MaxAttempts":5,"BackoffRate":3,"MaxDelaySeconds":10}`,
			errors: []string{"E", "E", "E", "E"},
			delays: seconds(2, 6, 10, 10),
			result: `"ok"`,
		},
		{
			name:   "JitterStrategy FULL takes a random fraction",
			retry:  `{"ErrorEquals":["E"],"IntervalSeconds":4,"MaxAttempts":3,"JitterStrategy":"FULL"}`,
			errors: []string{"E", "E"},
			delays: seconds(1, 2), // Random is 0.25: 4×0.25, 8×0.25
			result: `"ok"`,
		},
		{
			name:   "MaxAttempts 0 never retries",
			retry:  `{"ErrorEquals":["E"],"MaxAttempts":0},{"ErrorEquals":["States.ALL"]}`,
			errors: []string{"E"},
		},
		{
			name:   "the first matching retrier decides, even when exhausted",
			retry:  `{"ErrorEquals":["E"],"MaxAttempts":1},{"ErrorEquals":["States.ALL"],"MaxAttempts":5}`,
			errors: []string{"E", "E"},
			delays: seconds(1),
		},
		{
			name:   "an unmatched error is not retried",
			retry:  `{"ErrorEquals":["Other"]}`,
			errors: []string{"E"},
		},
		{
			name:   "States.TaskFailed matches a handler's error",
			retry:  `{"ErrorEquals":["States.TaskFailed"],"IntervalSeconds":1,"BackoffRate":1}`,
			errors: []string{"Anything", "Else"},
			delays: seconds(1, 1),
			result: `"ok"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, calls := failing(tc.errors...)
			opts, clock := withClock(Options{Handlers: map[string]Handler{"fn": h}, Random: func() float64 { return 0.25 }})
			m := mustParse(t, taskMachine(`"Retry":[`+tc.retry+`]`))
			out, err := m.Execute(context.Background(), nil, opts)
			if tc.result != "" {
				if err != nil {
					t.Fatal(err)
				}
				assertJSON(t, out, tc.result)
			} else {
				assertFailed(t, err, tc.errors[len(tc.errors)-1], "failure")
			}
			if got := clock.Sleeps(); !reflect.DeepEqual(got, tc.delays) && !(len(got) == 0 && len(tc.delays) == 0) {
				t.Errorf("delays = %v, want %v", got, tc.delays)
			}
			if want := len(tc.delays) + 1; *calls != want {
				t.Errorf("%d calls, want %d", *calls, want)
			}
		})
	}
}

// TestComplexRetryScenario is the "Complex retry scenarios" example of the
// Amazon States Language specification (https://states-language.net/spec.html#retrying-after-error):
// errors ErrorA, ErrorB, ErrorC, ErrorB wait 1, 2 and 5 seconds, and the
// fourth goes to the catcher because the first retrier, which counts its
// own attempts, has used its two. (The Step Functions developer guide once
// told this example with a fifth error and a 4-second wait, which
// contradicts MaxAttempts 2; the specification was corrected.)
func TestComplexRetryScenario(t *testing.T) {
	def := `{"StartAt":"X","States":{
	  "X": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:task:X", "Next": "Y",
	     "Retry": [
	       {"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 2},
	       {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5}],
	     "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}]},
	  "Y": {"Type": "Pass", "End": true},
	  "Z": {"Type": "Pass", "Result": "caught", "End": true}}}`
	// The example's Resource is an activity; the executor runs Lambda
	// functions only, so the test names one.
	def = strings.ReplaceAll(def, "arn:aws:states:us-east-1:123456789012:task:X", "X")
	h, calls := failing("ErrorA", "ErrorB", "ErrorC", "ErrorB")
	var events []Event
	opts, clock := withClock(Options{Handlers: map[string]Handler{"X": h}, OnTransition: func(e Event) { events = append(events, e) }})
	out, err := mustParse(t, def).Execute(context.Background(), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, out, `"caught"`)
	if want := seconds(1, 2, 5); !reflect.DeepEqual(clock.Sleeps(), want) {
		t.Errorf("delays = %v, want %v", clock.Sleeps(), want)
	}
	if *calls != 4 {
		t.Errorf("%d calls, want 4", *calls)
	}
	var retries []string
	for _, e := range events {
		if e.Kind == StateRetrying {
			retries = append(retries, fmt.Sprintf("%d:%s:%s", e.Attempt, e.Error, e.Delay))
		}
	}
	if want := []string{"1:ErrorA:1s", "2:ErrorB:2s", "3:ErrorC:5s"}; !reflect.DeepEqual(retries, want) {
		t.Errorf("retry events = %v, want %v", retries, want)
	}
}

// TestRetryCountersResetOnReentry: "once the interpreter transitions to
// another state in any way, all the Retrier parameters reset".
func TestRetryCountersResetOnReentry(t *testing.T) {
	def := `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"fn","Retry":[{"ErrorEquals":["E"],"MaxAttempts":1}],
		     "Catch":[{"ErrorEquals":["E"],"ResultPath":null,"Next":"Again?"}],"Next":"Done"},
		"Again?":{"Type":"Choice","Choices":[{"Variable":"$.loop","BooleanEquals":true,"Next":"T"}],"Default":"Done"},
		"Done":{"Type":"Succeed"}}}`
	h, calls := failing("E", "E", "E")
	opts, clock := withClock(Options{Handlers: map[string]Handler{"fn": h}})
	if _, err := mustParse(t, def).Execute(context.Background(), json.RawMessage(`{"loop":true}`), opts); err != nil {
		t.Fatal(err)
	}
	// First entry: E, retry after 1s, E, caught. Second entry: E, retry
	// after 1s again (the counter reset), then success.
	if want := seconds(1, 1); !reflect.DeepEqual(clock.Sleeps(), want) || *calls != 4 {
		t.Errorf("delays = %v after %d calls, want %v after 4", clock.Sleeps(), *calls, want)
	}
}

func TestCatch(t *testing.T) {
	tests := []struct {
		name, catch, input, want string
		err                      error
	}{
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html#input-output-resultpath-catch
			name:  "ResultPath keeps the input and adds the error",
			catch: `{"ErrorEquals":["States.ALL"],"Next":"Recovery","ResultPath":"$.error"}`,
			input: `{"foo":"bar"}`,
			err:   namedError("Error here"),
			want:  `{"foo":"bar","error":{"Error":"Error here","Cause":"failure Error here"}}`,
		},
		{
			name:  "no ResultPath: the error output replaces the input",
			catch: `{"ErrorEquals":["InputError"],"Next":"Recovery"}`,
			input: `{"foo":"bar"}`,
			err:   &InputError{Msg: "bad migration id"},
			want:  `{"Error":"InputError","Cause":"bad migration id"}`,
		},
		{
			name:  "ResultPath null keeps the input alone",
			catch: `{"ErrorEquals":["States.TaskFailed"],"Next":"Recovery","ResultPath":null}`,
			input: `{"foo":"bar"}`,
			err:   &InputError{Msg: "x"},
			want:  `{"foo":"bar"}`,
		},
		{
			name:  "catchers are scanned in order",
			catch: `{"ErrorEquals":["Nope"],"Next":"Recovery"},{"ErrorEquals":["InputError","BundleError"],"Next":"Other"},{"ErrorEquals":["States.ALL"],"Next":"Recovery"}`,
			input: `{}`,
			err:   &InputError{Msg: "x"},
			want:  `"other"`,
		},
		{
			name:  "the TaskFailedError type names the error",
			catch: `{"ErrorEquals":["Custom.Name"],"Next":"Recovery","ResultPath":"$.e"}`,
			input: `{}`,
			err:   fmt.Errorf("wrapped: %w", &TaskFailedError{Name: "Custom.Name", Cause: "why"}),
			want:  `{"e":{"Error":"Custom.Name","Cause":"why"}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			states := `"Recovery":{"Type":"Pass","End":true}`
			if strings.Contains(tc.catch, `"Other"`) {
				states += `,"Other":{"Type":"Pass","Result":"other","End":true}`
			}
			def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"fn","Catch":[` + tc.catch + `],"End":true},` + states + `}}`
			h := func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, tc.err }
			assertJSON(t, mustRun(t, def, tc.input, Options{Handlers: map[string]Handler{"fn": h}}), tc.want)
		})
	}
}

// TestTerminalErrors: States.ALL catches neither States.Runtime nor
// States.DataLimitExceeded, and neither is retried.
func TestTerminalErrors(t *testing.T) {
	big := `"` + strings.Repeat("x", MaxPayloadBytes) + `"`
	tests := []struct {
		name, fields, result, errName string
	}{
		{"States.Runtime", `"ResultSelector":{"x.$":"$.missing"}`, `{}`, ErrRuntime},
		{"States.DataLimitExceeded", ``, big, ErrDataLimitExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			def := taskMachine(tc.fields + sep(tc.fields) + `"Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"T"}]`)
			calls := 0
			h := func(context.Context, json.RawMessage) (json.RawMessage, error) {
				calls++
				return json.RawMessage(tc.result), nil
			}
			_, err := run(t, def, `{}`, Options{Handlers: map[string]Handler{"fn": h}})
			assertFailed(t, err, tc.errName, "")
			if calls != 1 {
				t.Errorf("%d calls, want 1 (no retry)", calls)
			}
		})
	}
}

func sep(fields string) string {
	if fields == "" {
		return ""
	}
	return ","
}

func TestTimeoutIsNotTaskFailed(t *testing.T) {
	// States.TaskFailed matches every error but States.Timeout.
	se := &stateError{name: ErrTimeout}
	if se.matchesAny([]string{ErrTaskFailed}) {
		t.Error("States.TaskFailed matched States.Timeout")
	}
	if !se.matchesAny([]string{ErrAll}) || !se.matchesAny([]string{ErrTimeout}) {
		t.Error("States.ALL or States.Timeout did not match States.Timeout")
	}
	for _, name := range []string{ErrRuntime, ErrDataLimitExceeded, ErrNoChoiceMatched} {
		if (&stateError{name: name}).matchesAny([]string{ErrAll, ErrTaskFailed, name}) {
			t.Errorf("%s was matched", name)
		}
	}
}
