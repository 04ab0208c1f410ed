package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// InputError stands for the step errors handlers return, such as
// *migrate.InputError.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// valueError is an error used as a value, not a pointer.
type valueError struct{}

func (valueError) Error() string { return "value error" }

// TestErrorNaming checks that a handler's error is named as aws-lambda-go
// names a Go Lambda function's error.
func TestErrorNaming(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantName  string
		wantCause string
	}{
		{"pointer to a custom type", &InputError{Msg: "migration_id is bad"}, "InputError", "migration_id is bad"},
		{"custom value type", valueError{}, "valueError", "value error"},
		{"errors.New", errors.New("plain"), "errorString", "plain"},
		// aws-lambda-go names the value returned, not what it wraps: wrap a
		// typed error and Step Functions sees "wrapError".
		{"wrapped with %w", fmt.Errorf("extract: %w", &InputError{Msg: "bad"}), "wrapError", "extract: bad"},
		{"ErrorNamer", namedError("Lambda.TooManyRequestsException"), "Lambda.TooManyRequestsException", "failure Lambda.TooManyRequestsException"},
		{"TaskFailedError, even wrapped", fmt.Errorf("ctx: %w", &TaskFailedError{Name: "Explicit", Cause: "c"}), "Explicit", "c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, tc.err }
			_, err := run(t, taskMachine(""), `{}`, Options{Handlers: map[string]Handler{"fn": h}})
			ef := assertFailed(t, err, tc.wantName, "")
			if ef.Cause != tc.wantCause {
				t.Errorf("cause = %q, want %q", ef.Cause, tc.wantCause)
			}
		})
	}
}

func TestHandlerPanic(t *testing.T) {
	h := func(context.Context, json.RawMessage) (json.RawMessage, error) { panic("boom") }
	_, err := run(t, taskMachine(""), `{}`, Options{Handlers: map[string]Handler{"fn": h}})
	assertFailed(t, err, "string", "boom")
}

// TestLambdaInvoke checks the optimized lambda:invoke integration: the
// handler named by FunctionName gets Payload, and its output comes back
// wrapped as the integration wraps it.
func TestLambdaInvoke(t *testing.T) {
	def := `{"StartAt":"Extract","States":{"Extract":{
		"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"FunctionName":"arn:aws:lambda:eu-west-2:123456789012:function:extract","Payload":{"id.$":"$.id"}},
		"End":true}}}`
	var got string
	h := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		got = string(in)
		return json.RawMessage(`{"trusted":true}`), nil
	}
	out := mustRun(t, def, `{"id":"m1","other":1}`, Options{Handlers: map[string]Handler{"extract": h}})
	if got != `{"id":"m1"}` {
		t.Errorf("handler got %s", got)
	}
	var resp struct {
		ExecutedVersion string
		Payload         map[string]any
		StatusCode      int
		SdkHttpMetadata struct{ HttpStatusCode int }
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.ExecutedVersion != "$LATEST" || resp.StatusCode != 200 || resp.SdkHttpMetadata.HttpStatusCode != 200 || resp.Payload["trusted"] != true {
		t.Errorf("output %s", out)
	}
}

func TestLambdaInvokeDetails(t *testing.T) {
	invoke := func(params string) string {
		return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
			"Parameters":` + params + `,"ResultSelector":{"p.$":"$.Payload","v.$":"$.ExecutedVersion"},"End":true}}}`
	}
	handlers := map[string]Handler{"fn": echo, "arn:aws:lambda:eu-west-2:1:function:exact": returns(`"exact"`)}
	tests := []struct{ name, params, input, want string }{
		{"no Payload sends {}", `{"FunctionName":"fn"}`, `{"a":1}`, `{"p":{},"v":"$LATEST"}`},
		{"Payload.$ $ sends the input", `{"FunctionName":"fn","Payload.$":"$"}`, `{"a":1}`, `{"p":{"a":1},"v":"$LATEST"}`},
		{"FunctionName.$ from the input", `{"FunctionName.$":"$.fn","Payload":{"x":1}}`, `{"fn":"fn"}`, `{"p":{"x":1},"v":"$LATEST"}`},
		{"a qualified ARN finds the function by name", `{"FunctionName":"arn:aws:lambda:eu-west-2:1:function:fn:prod","Qualifier":"prod","Payload":1}`, `{}`, `{"p":1,"v":"prod"}`},
		{"an exact registration wins", `{"FunctionName":"arn:aws:lambda:eu-west-2:1:function:exact"}`, `{}`, `{"p":"exact","v":"$LATEST"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertJSON(t, mustRun(t, invoke(tc.params), tc.input, Options{Handlers: handlers}), tc.want)
		})
	}
	t.Run("a FunctionName.$ without a handler", func(t *testing.T) {
		_, err := run(t, invoke(`{"FunctionName.$":"$.fn"}`), `{"fn":"nope"}`, Options{Handlers: handlers})
		assertFailed(t, err, "Lambda.ResourceNotFoundException", `no handler is registered for function "nope"`)
	})
}

// TestMissingHandlerRefusesToStart: a function the definition names
// literally must have a handler before anything runs.
func TestMissingHandlerRefusesToStart(t *testing.T) {
	called := false
	def := `{"StartAt":"A","States":{
		"A":{"Type":"Task","Resource":"a","Next":"B"},
		"B":{"Type":"Map","ItemProcessor":{"StartAt":"C","States":{"C":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"missing"},"End":true}}},"End":true}}}`
	h := func(context.Context, json.RawMessage) (json.RawMessage, error) { called = true; return nil, nil }
	_, err := run(t, def, `{}`, Options{Handlers: map[string]Handler{"a": h}})
	if err == nil || !strings.Contains(err.Error(), `state "C": no handler is registered for function "missing"`) {
		t.Errorf("err = %v", err)
	}
	if called {
		t.Error("a handler ran")
	}
}

func TestWaitForTaskToken(t *testing.T) {
	def := `{"StartAt":"Approve","States":{
		"Approve":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
			"Parameters":{"FunctionName":"notify","Payload":{"plan.$":"$.plan","token.$":"$$.Task.Token"}},
			"ResultPath":"$.approval",
			"Catch":[{"ErrorEquals":["Rejected"],"ResultPath":"$.error","Next":"Rejected"}],
			"Next":"Done"},
		"Done":{"Type":"Succeed"},
		"Rejected":{"Type":"Fail","ErrorPath":"$.error.Error","CausePath":"$.error.Cause"}}}`
	var sentToken string
	notify := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		var p struct{ Plan, Token string }
		if err := json.Unmarshal(in, &p); err != nil {
			return nil, err
		}
		sentToken = p.Token
		return json.RawMessage(`"ignored"`), nil
	}
	handlers := map[string]Handler{"notify": notify}

	t.Run("approved", func(t *testing.T) {
		hook := func(_ context.Context, token, state string, input json.RawMessage) (json.RawMessage, error) {
			if token == "" || token != sentToken {
				t.Errorf("hook token %q, function got %q", token, sentToken)
			}
			if state != "Approve" {
				t.Errorf("state = %q", state)
			}
			assertJSON(t, input, `{"plan":"p1","token":"`+token+`"}`)
			return json.RawMessage(`{"approved_by":"reviewer"}`), nil
		}
		out := mustRun(t, def, `{"plan":"p1"}`, Options{Handlers: handlers, WaitForTaskToken: hook})
		assertJSON(t, out, `{"plan":"p1","approval":{"approved_by":"reviewer"}}`)
	})
	t.Run("failed like SendTaskFailure", func(t *testing.T) {
		hook := func(context.Context, string, string, json.RawMessage) (json.RawMessage, error) {
			return nil, &TaskFailedError{Name: "Rejected", Cause: "the plan writes too much"}
		}
		_, err := run(t, def, `{"plan":"p1"}`, Options{Handlers: handlers, WaitForTaskToken: hook})
		ef := assertFailed(t, err, "Rejected", "the plan writes too much")
		if ef.State != "Rejected" {
			t.Errorf("failed in %q", ef.State)
		}
	})
	t.Run("no hook refuses to start", func(t *testing.T) {
		_, err := run(t, def, `{}`, Options{Handlers: handlers})
		if err == nil || !strings.Contains(err.Error(), "WaitForTaskToken is nil") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("the hook's wait ends with the context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		hook := func(ctx context.Context, _, _ string, _ json.RawMessage) (json.RawMessage, error) {
			cancel()
			<-ctx.Done()
			return nil, ctx.Err()
		}
		opts, _ := withClock(Options{Handlers: handlers, WaitForTaskToken: hook})
		_, err := mustParse(t, def).Execute(ctx, json.RawMessage(`{"plan":"p1"}`), opts)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		var ef *ExecutionFailedError
		if errors.As(err, &ef) {
			t.Errorf("a stopped execution reported as failed: %v", err)
		}
	})
}

// shrinkTimeouts makes TimeoutSeconds milliseconds, so timeouts can be
// tested quickly.
func shrinkTimeouts(opts Options) Options {
	opts.withTimeout = func(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
		return context.WithTimeout(ctx, d/1000)
	}
	return opts
}

func TestTaskTimeout(t *testing.T) {
	slow := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done() // the handler sees the deadline
		return json.RawMessage(`"late"`), nil
	}
	def := taskMachine(`"TimeoutSeconds":5,"Retry":[{"ErrorEquals":["States.TaskFailed"]}],"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"Late"}]`)
	def = strings.Replace(def, `"End":true}}`, `"End":true},"Late":{"Type":"Pass","Result":"timed out","End":true}}`, 1)
	out, err := run(t, def, `{}`, shrinkTimeouts(Options{Handlers: map[string]Handler{"fn": slow}}))
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, out, `"timed out"`) // States.TaskFailed did not retry it

	t.Run("TimeoutSecondsPath", func(t *testing.T) {
		def := taskMachine(`"TimeoutSecondsPath":"$.timeout"`)
		_, err := run(t, def, `{"timeout":2}`, shrinkTimeouts(Options{Handlers: map[string]Handler{"fn": slow}}))
		assertFailed(t, err, ErrTimeout, "timeout of 2s")
		_, err = run(t, def, `{"timeout":"soon"}`, Options{Handlers: map[string]Handler{"fn": slow}})
		assertFailed(t, err, ErrRuntime, "TimeoutSecondsPath")
	})
	t.Run("execution TimeoutSeconds", func(t *testing.T) {
		def := `{"TimeoutSeconds":3,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"fn","End":true}}}`
		_, err := run(t, def, `{}`, shrinkTimeouts(Options{Handlers: map[string]Handler{"fn": slow}}))
		assertFailed(t, err, ErrTimeout, "TimeoutSeconds")
	})
}

// TestMigrationShapedMachine runs a machine shaped like
// statemachine/migrate.asl.json: lambda:invoke with ResultSelector,
// a Catch for the step's own errors, a Choice on the result.
func TestMigrationShapedMachine(t *testing.T) {
	def := `{"StartAt":"Extract","States":{
	  "Extract":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
	    "Parameters":{"FunctionName":"${ExtractFunctionArn}","Payload":{"migration_id.$":"$.migration_id","export.$":"$.export"}},
	    "ResultSelector":{"trusted.$":"$.Payload.trusted","errors.$":"$.Payload.errors"},
	    "ResultPath":"$.extract",
	    "Retry":[{"ErrorEquals":["Lambda.ServiceException","Lambda.TooManyRequestsException"],"IntervalSeconds":2,"MaxAttempts":3,"BackoffRate":2,"JitterStrategy":"FULL"}],
	    "Catch":[{"ErrorEquals":["InputError","BundleError"],"ResultPath":"$.error","Next":"ExportRejected"}],
	    "Next":"Trusted?"},
	  "Trusted?":{"Type":"Choice","Choices":[{"Variable":"$.extract.trusted","BooleanEquals":false,"Next":"ReviewRequired"}],"Default":"Extracted"},
	  "ReviewRequired":{"Type":"Fail","Error":"ReviewRequired","Cause":"The audit found error-severity flags."},
	  "ExportRejected":{"Type":"Fail","Error":"ExportRejected","Cause":"The export could not be read."},
	  "Extracted":{"Type":"Succeed"}}}`
	m := mustParse(t, def)
	subs := map[string]string{"ExtractFunctionArn": "arn:aws:lambda:eu-west-2:123456789012:function:conveyor-extract"}
	exec := func(h Handler) (json.RawMessage, error) {
		opts, _ := withClock(Options{Substitutions: subs, Handlers: map[string]Handler{"conveyor-extract": h}})
		return m.Execute(context.Background(), json.RawMessage(`{"migration_id":"m1","export":"exports/a/"}`), opts)
	}
	out, err := exec(returns(`{"trusted":true,"errors":0,"manifest":"k"}`))
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, out, `{"migration_id":"m1","export":"exports/a/","extract":{"trusted":true,"errors":0}}`)

	_, err = exec(returns(`{"trusted":false,"errors":3}`))
	assertFailed(t, err, "ReviewRequired", "error-severity")

	_, err = exec(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, &InputError{Msg: "bad id"}
	})
	assertFailed(t, err, "ExportRejected", "")

	// Lambda's transient errors are retried, then the step succeeds.
	h, calls := failing("Lambda.TooManyRequestsException")
	if _, err := exec(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		out, err := h(ctx, in)
		if err == nil {
			out = json.RawMessage(`{"trusted":true,"errors":0}`)
		}
		return out, err
	}); err != nil || *calls != 2 {
		t.Errorf("err = %v after %d calls", err, *calls)
	}
}
