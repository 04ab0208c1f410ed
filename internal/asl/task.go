package asl

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Task states: a Lambda function named by Resource, or the lambda:invoke
// integration (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html),
// optionally with the callback pattern (.waitForTaskToken).

// attemptTask runs one attempt of a Task state, from InputPath to
// OutputPath.
func (ex *execution) attemptTask(ctx context.Context, r *stateRun, raw any) (any, error) {
	t := r.st.task
	var token string
	if t.kind == resourceInvokeWait {
		token = newTaskToken()
	}
	cobj := ex.contextObject(r, token, nil)
	selected, eff, err := ex.effectiveInput(r, raw, ex.env(raw, cobj))
	if err != nil {
		return nil, err
	}
	timeout := t.timeout
	if t.timeoutPath != nil {
		v, ok := t.timeoutPath.get(selected)
		n, isInt := asInteger(v)
		if !ok || !isInt || n < 1 || n > maxTimeoutSeconds {
			return nil, r.failf("TimeoutSecondsPath %q must name a positive integer of seconds", t.timeoutPath.src)
		}
		timeout = time.Duration(n) * time.Second
	}
	result, err := ex.invoke(ctx, r, eff, token, timeout)
	if err != nil {
		return nil, err
	}
	return ex.finish(r, raw, result, cobj)
}

// invoke runs the task's work within its TimeoutSeconds. The handler is
// given a context with that deadline; the executor waits for it to return
// rather than abandon it, then reports States.Timeout if the deadline
// passed, whatever the handler returned.
func (ex *execution) invoke(ctx context.Context, r *stateRun, eff any, token string, timeout time.Duration) (any, error) {
	tctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		tctx, cancel = ex.opts.withTimeout(ctx, timeout)
		defer cancel()
	}
	result, err := ex.invokeResource(tctx, r, eff, token)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if errors.Is(tctx.Err(), context.DeadlineExceeded) {
		return nil, &stateError{name: ErrTimeout, cause: fmt.Sprintf("state %q: the task ran longer than its timeout of %s", r.st.name, timeout)}
	}
	return result, err
}

func (ex *execution) invokeResource(ctx context.Context, r *stateRun, eff any, token string) (any, error) {
	t := r.st.task
	if t.kind == resourceFunction {
		return ex.callHandler(ctx, r, t.resource, eff)
	}
	params, _ := eff.(*object) // Parse made Parameters an object
	fnV, _ := params.get("FunctionName")
	fn, ok := fnV.(string)
	if !ok || fn == "" {
		return nil, r.failf("Parameters.FunctionName must be a function name or ARN, not %s", typeName(fnV))
	}
	payload, ok := params.get("Payload")
	if !ok {
		payload = newObject(0)
	}
	out, err := ex.callHandler(ctx, r, fn, payload)
	if err != nil {
		return nil, err
	}
	if t.kind == resourceInvokeWait {
		return ex.waitForToken(ctx, r, token, payload)
	}
	return invokeResponse(params, out), nil
}

// invokeResponse wraps a function's output as the lambda:invoke
// integration does.
func invokeResponse(params *object, payload any) *object {
	version := "$LATEST"
	if q, ok := params.get("Qualifier"); ok {
		if s, ok := q.(string); ok && s != "" {
			version = s
		}
	}
	httpMeta := newObject(1)
	httpMeta.set("HttpStatusCode", json.Number("200"))
	respMeta := newObject(1)
	respMeta.set("RequestId", newUUID())
	out := newObject(5)
	out.set("ExecutedVersion", version)
	out.set("Payload", payload)
	out.set("SdkHttpMetadata", httpMeta)
	out.set("SdkResponseMetadata", respMeta)
	out.set("StatusCode", json.Number("200"))
	return out
}

// waitForToken hands the token to the caller's hook, which stands for
// SendTaskSuccess and SendTaskFailure.
func (ex *execution) waitForToken(ctx context.Context, r *stateRun, token string, payload any) (any, error) {
	ex.emit(Event{Kind: TaskTokenWaiting, State: r.st.name, Type: r.st.typ, Scope: r.scope})
	out, err := ex.opts.WaitForTaskToken(ctx, token, r.st.name, encodeJSON(payload))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, nameError(err)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, nil
	}
	if len(out) > MaxPayloadBytes {
		return nil, &stateError{name: ErrDataLimitExceeded, cause: fmt.Sprintf("state %q: the task token's output is %d bytes, more than the %d-byte limit", r.st.name, len(out), MaxPayloadBytes)}
	}
	v, err := decodeJSON(out)
	if err != nil {
		return nil, r.failf("the WaitForTaskToken hook returned output that is not JSON: %v", err)
	}
	return v, nil
}

// callHandler invokes the function's handler with the payload.
func (ex *execution) callHandler(ctx context.Context, r *stateRun, fn string, payload any) (any, error) {
	h := ex.handler(fn)
	if h == nil {
		return nil, &stateError{name: "Lambda.ResourceNotFoundException", cause: fmt.Sprintf("state %q: no handler is registered for function %q", r.st.name, fn)}
	}
	out, err := callSafely(ctx, h, encodeJSON(payload))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if se, ok := err.(*stateError); ok { // a panic
			return nil, se
		}
		return nil, nameError(err)
	}
	if len(out) > MaxPayloadBytes {
		return nil, &stateError{name: ErrDataLimitExceeded, cause: fmt.Sprintf("state %q: function %q returned %d bytes, more than the %d-byte limit", r.st.name, fn, len(out), MaxPayloadBytes)}
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, nil
	}
	v, err := decodeJSON(out)
	if err != nil {
		return nil, r.failf("function %q returned output that is not JSON: %v", fn, err)
	}
	return v, nil
}

// callSafely calls a handler, turning a panic into the error a Lambda
// function's runtime reports for one: named after the panic value's type.
func callSafely(ctx context.Context, h Handler, in json.RawMessage) (out json.RawMessage, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &stateError{name: goTypeName(p), cause: fmt.Sprint(p)}
		}
	}()
	return h(ctx, in)
}

// handler finds a function's handler: by the name or ARN as given, then,
// for a Lambda function ARN, by the ARN without its qualifier and by the
// function's bare name.
func (ex *execution) handler(fn string) Handler {
	if h, ok := ex.opts.Handlers[fn]; ok {
		return h
	}
	// arn:partition:lambda:region:account:function:name[:qualifier]
	parts := strings.Split(fn, ":")
	if len(parts) < 7 || len(parts) > 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" {
		return nil
	}
	if h, ok := ex.opts.Handlers[strings.Join(parts[:7], ":")]; ok {
		return h
	}
	return ex.opts.Handlers[parts[6]]
}

// newTaskToken returns an opaque, unguessable task token.
func newTaskToken() string {
	var b [48]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// task reads a Task state's own fields.
func (p *stateParser) task(s *state) error {
	res, ok, err := p.str("Resource")
	if err != nil {
		return err
	}
	if !ok || res == "" {
		return p.errorf("Resource", "is required")
	}
	t := &taskSpec{resource: res}
	if t.kind, err = resourceKindOf(res); err != nil {
		return p.errorf("Resource", "is %v", err)
	}
	if t.kind != resourceFunction {
		if s.parameters == nil {
			return p.errorf("Parameters", "is required with %s: it gives FunctionName and Payload", res)
		}
		if err := p.invokeParameters(s.parameters, t.kind); err != nil {
			return err
		}
	}
	if v, ok := p.get("TimeoutSeconds"); ok {
		n, ok := intIn(v, 1, maxTimeoutSeconds)
		if !ok {
			return p.errorf("TimeoutSeconds", "must be an integer from 1 to %d", maxTimeoutSeconds)
		}
		t.timeout = time.Duration(n) * time.Second
	}
	if t.timeoutPath, err = p.path("TimeoutSecondsPath", false); err != nil {
		return err
	}
	if t.timeout > 0 && t.timeoutPath != nil {
		return p.errorf("TimeoutSecondsPath", "cannot be used with TimeoutSeconds")
	}
	// HeartbeatSeconds is checked and otherwise ignored: handlers have no
	// way to send a heartbeat, and TimeoutSeconds bounds the whole task.
	if v, ok := p.get("HeartbeatSeconds"); ok {
		n, ok := intIn(v, 1, maxTimeoutSeconds)
		if !ok {
			return p.errorf("HeartbeatSeconds", "must be an integer from 1 to %d", maxTimeoutSeconds)
		}
		if t.timeout > 0 && time.Duration(n)*time.Second >= t.timeout {
			return p.errorf("HeartbeatSeconds", "must be smaller than TimeoutSeconds")
		}
	}
	if _, err := p.path("HeartbeatSecondsPath", false); err != nil {
		return err
	}
	if _, both := p.get("HeartbeatSeconds"); both {
		if _, ok := p.get("HeartbeatSecondsPath"); ok {
			return p.errorf("HeartbeatSecondsPath", "cannot be used with HeartbeatSeconds")
		}
	}
	s.task = t
	return nil
}

// resourceKindOf sorts a Task's Resource: the Lambda integrations, other
// Step Functions integrations and activities (refused), or a function.
func resourceKindOf(res string) (resourceKind, error) {
	parts := strings.SplitN(res, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[2] != "states" {
		return resourceFunction, nil
	}
	if parts[3] == "" && parts[4] == "" {
		switch parts[5] {
		case "lambda:invoke":
			return resourceInvoke, nil
		case "lambda:invoke.waitForTaskToken":
			return resourceInvokeWait, nil
		}
	}
	return 0, fmt.Errorf("%q, which %v: only arn:aws:states:::lambda:invoke, arn:aws:states:::lambda:invoke.waitForTaskToken and Lambda functions are", res, errUnsupported)
}

// invokeParameters checks the Parameters of a lambda:invoke task: the
// fields of Lambda's Invoke API that the executor understands.
func (p *stateParser) invokeParameters(t *template, kind resourceKind) error {
	obj, ok := t.root.(tobject)
	if !ok {
		return p.errorf("Parameters", "must be an object with FunctionName and Payload")
	}
	hasName := false
	for _, f := range obj {
		switch f.key {
		case "FunctionName":
			hasName = true
			if v, _, static := t.staticField("FunctionName"); static {
				if s, ok := v.(string); !ok || s == "" {
					return p.errorf("Parameters.FunctionName", "must be a function name or ARN")
				}
			}
		case "Payload", "Qualifier", "ClientContext", "LogType":
		case "InvocationType":
			if v, _, static := t.staticField("InvocationType"); !static || v != "RequestResponse" {
				return p.errorf("Parameters.InvocationType", `%v: only "RequestResponse" is`, errUnsupported)
			}
		default:
			return p.errorf("Parameters."+f.src, "is not a parameter of lambda:invoke that the embedded executor supports (FunctionName, Payload, Qualifier, InvocationType)")
		}
	}
	if !hasName {
		return p.errorf("Parameters.FunctionName", "is required")
	}
	if kind == resourceInvokeWait && !t.references("$$.Task.Token") {
		return p.errorf("Parameters", "must pass $$.Task.Token to the function with lambda:invoke.waitForTaskToken")
	}
	return nil
}
