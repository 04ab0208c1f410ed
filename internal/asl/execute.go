package asl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"
)

// Handler is a Lambda function's handler, in-process: it receives the
// JSON the function would receive and returns the JSON it would return.
// Its error is named as aws-lambda-go names a Go function's error (see
// ErrorNamer).
type Handler func(ctx context.Context, input json.RawMessage) (json.RawMessage, error)

// MaxPayloadBytes is the largest input or output a state may have, and the
// largest result a task may return, as in Step Functions (256 KiB of
// UTF-8). Anything larger fails the execution with States.DataLimitExceeded.
const MaxPayloadBytes = 256 * 1024

// MaxMapConcurrency is how many iterations of a Map state run at once when
// its MaxConcurrency is 0 (unbounded) or larger: the limit of an inline Map
// in Step Functions.
const MaxMapConcurrency = 40

// Options configure one execution.
type Options struct {
	// Name is the execution's name ($$.Execution.Name); a random UUID if
	// empty.
	Name string
	// StateMachineName is used in $$.StateMachine and $$.Execution.Id;
	// "StateMachine" if empty.
	StateMachineName string

	// Handlers maps the functions Task states name to their handlers: the
	// FunctionName of a lambda:invoke task, or the Resource of a task that
	// names a function directly, as the definition gives it (after
	// substitution). A Lambda function ARN also finds a handler registered
	// under the function's name. Execute refuses to start when a function
	// the definition names literally has no handler.
	Handlers map[string]Handler

	// Substitutions replace ${Name} placeholders in the definition before
	// it is parsed, as SAM's DefinitionSubstitutions do; see Substitute.
	Substitutions map[string]string

	// WaitForTaskToken is called for a lambda:invoke.waitForTaskToken task
	// once its function has returned: it stands for the caller of
	// SendTaskSuccess and SendTaskFailure. token is the task token
	// ($$.Task.Token), state the Task state's name and input the Payload
	// the function received. The returned JSON is the task's result; a
	// returned *TaskFailedError fails the task with its Name and Cause, as
	// SendTaskFailure does, and any other error fails it named as a
	// handler's error is. Execute refuses to start a definition with such a
	// task when this is nil.
	WaitForTaskToken func(ctx context.Context, token, state string, input json.RawMessage) (json.RawMessage, error)

	// OnTransition, if set, is told of every state entered and left, every
	// retry and catch. Calls are serialised, so it need not be safe for
	// concurrent use, but it should be quick.
	OnTransition func(Event)

	// Now and Sleep are the clock for Wait states, retry backoff, context
	// object timestamps and event durations; the real clock if nil. Sleep
	// must return ctx.Err() if ctx is done before d has passed.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Random returns a number in [0, 1) for JitterStrategy FULL and for
	// States.MathRandom without a seed; math/rand/v2's if nil. Calls are
	// serialised.
	Random func() float64

	// withTimeout bounds a task or the execution in real time; tests
	// replace it to shrink TimeoutSeconds.
	withTimeout func(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// execution is one run of a machine.
type execution struct {
	m     *Machine
	opts  Options
	name  string
	start time.Time

	execObj *object // $$.Execution
	smObj   *object // $$.StateMachine

	eventMu  sync.Mutex
	randomMu sync.Mutex
}

// Execute runs the machine on input (an empty input is {}) and returns the
// execution's output. An execution that fails — a Fail state, or an error
// no Catch handles — returns an *ExecutionFailedError. An execution stopped
// by ctx returns an error wrapping ctx.Err(). Other errors mean the
// execution could not start: a bad substitution, input that is not JSON, a
// function without a handler.
func (m *Machine) Execute(ctx context.Context, input json.RawMessage, opts Options) (json.RawMessage, error) {
	if len(opts.Substitutions) > 0 {
		src, err := Substitute(m.source, opts.Substitutions)
		if err != nil {
			return nil, err
		}
		if m, err = Parse(src); err != nil {
			return nil, err
		}
	}
	ex, err := newExecution(m, opts)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	if len(input) > MaxPayloadBytes {
		return nil, fmt.Errorf("asl: the execution input is %d bytes, more than the %d-byte limit", len(input), MaxPayloadBytes)
	}
	in, err := decodeJSON(input)
	if err != nil {
		return nil, fmt.Errorf("asl: the execution input is not JSON: %w", err)
	}
	ex.execObj.set("Input", in)

	runCtx := ctx
	if m.timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = ex.opts.withTimeout(ctx, m.timeout)
		defer cancel()
	}
	ex.emit(Event{Kind: ExecutionStarted})
	out, err := ex.runBranch(runCtx, m.root, in, "")
	if err == nil {
		ex.emit(Event{Kind: ExecutionSucceeded, Duration: ex.now().Sub(ex.start)})
		return encodeJSON(out), nil
	}
	failed := &ExecutionFailedError{}
	if se, ok := err.(*stateError); ok {
		failed.Name, failed.Cause, failed.State = se.name, se.cause, se.state
	} else if ctx.Err() == nil && errors.Is(runCtx.Err(), context.DeadlineExceeded) {
		failed.Name, failed.Cause = ErrTimeout, fmt.Sprintf("the execution ran longer than the definition's TimeoutSeconds (%s)", m.timeout)
	} else {
		ex.emit(Event{Kind: ExecutionFailed, Duration: ex.now().Sub(ex.start)})
		return nil, fmt.Errorf("asl: execution %q stopped: %w", ex.name, err)
	}
	ex.emit(Event{Kind: ExecutionFailed, Error: failed.Name, Duration: ex.now().Sub(ex.start)})
	return nil, failed
}

func newExecution(m *Machine, opts Options) (*execution, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = realSleep
	}
	if opts.Random == nil {
		opts.Random = mrand.Float64
	}
	if opts.withTimeout == nil {
		opts.withTimeout = context.WithTimeout
	}
	if opts.Name == "" {
		opts.Name = newUUID()
	}
	if opts.StateMachineName == "" {
		opts.StateMachineName = "StateMachine"
	}
	ex := &execution{m: m, opts: opts, name: opts.Name, start: opts.Now()}
	if err := ex.checkBindings(m.root); err != nil {
		return nil, err
	}
	const account = "arn:aws:states:local:000000000000:"
	ex.execObj = newObject(6)
	ex.execObj.set("Id", account+"execution:"+opts.StateMachineName+":"+opts.Name)
	ex.execObj.set("Input", newObject(0))
	ex.execObj.set("Name", opts.Name)
	ex.execObj.set("RoleArn", "arn:aws:iam::000000000000:role/StepFunctionsLocal")
	ex.execObj.set("StartTime", timestamp(ex.start))
	ex.execObj.set("RedriveCount", json.Number("0"))
	ex.smObj = newObject(2)
	ex.smObj.set("Id", account+"stateMachine:"+opts.StateMachineName)
	ex.smObj.set("Name", opts.StateMachineName)
	return ex, nil
}

// checkBindings refuses to start when a function the definition names
// literally has no handler, or a callback task has no hook.
func (ex *execution) checkBindings(b *branch) error {
	for _, name := range b.order {
		st := b.states[name]
		switch {
		case st.task != nil:
			fn := st.task.resource
			if st.task.kind != resourceFunction {
				v, _, static := st.parameters.staticField("FunctionName")
				if !static {
					break
				}
				fn, _ = v.(string)
			}
			if ex.handler(fn) == nil {
				return fmt.Errorf("asl: state %q: no handler is registered for function %q", name, fn)
			}
			if st.task.kind == resourceInvokeWait && ex.opts.WaitForTaskToken == nil {
				return fmt.Errorf("asl: state %q uses lambda:invoke.waitForTaskToken, but Options.WaitForTaskToken is nil", name)
			}
		case st.mapSpec != nil:
			if err := ex.checkBindings(st.mapSpec.processor); err != nil {
				return err
			}
		case st.branches != nil:
			for _, sub := range st.branches {
				if err := ex.checkBindings(sub); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func realSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (ex *execution) now() time.Time { return ex.opts.Now() }

func (ex *execution) random() float64 {
	ex.randomMu.Lock()
	defer ex.randomMu.Unlock()
	return ex.opts.Random()
}

func (ex *execution) emit(ev Event) {
	if ex.opts.OnTransition == nil {
		return
	}
	ev.Time = ex.now()
	ex.eventMu.Lock()
	defer ex.eventMu.Unlock()
	ex.opts.OnTransition(ev)
}

// timestamp formats a time as Step Functions does in the context object.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// runBranch runs states from StartAt until one ends the branch.
func (ex *execution) runBranch(ctx context.Context, b *branch, input any, scope string) (any, error) {
	cur := b.startAt
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out, next, err := ex.runState(ctx, b.states[cur], input, scope)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		cur, input = next, out
	}
}

// stateRun is one entry into a state.
type stateRun struct {
	st      *state
	scope   string
	entered time.Time
	retries int // retries so far, for $$.State.RetryCount
}

func (ex *execution) runState(ctx context.Context, st *state, input any, scope string) (any, string, error) {
	r := &stateRun{st: st, scope: scope, entered: ex.now()}
	ex.emit(Event{Kind: StateEntered, State: st.name, Type: st.typ, Scope: scope})
	out, next, err := ex.dispatch(ctx, r, input)
	if err == nil {
		err = r.checkSize(out, "output")
	}
	if err != nil {
		if se, ok := err.(*stateError); ok {
			if se.state == "" {
				se.state = st.name
			}
			ex.emit(Event{Kind: StateFailed, State: st.name, Type: st.typ, Scope: scope, Error: se.name, Duration: ex.now().Sub(r.entered)})
		}
		return nil, "", err
	}
	ex.emit(Event{Kind: StateExited, State: st.name, Type: st.typ, Scope: scope, Next: next, Duration: ex.now().Sub(r.entered)})
	return out, next, nil
}

func (ex *execution) dispatch(ctx context.Context, r *stateRun, input any) (any, string, error) {
	st := r.st
	switch st.typ {
	case "Task", "Map", "Parallel":
		return ex.withRetry(ctx, r, input)
	case "Choice":
		return ex.runChoice(r, input)
	case "Fail":
		return nil, "", ex.runFail(r, input)
	case "Wait":
		out, err := ex.runWait(ctx, r, input)
		return out, st.next, err
	case "Succeed":
		out, err := ex.passThrough(r, input)
		return out, "", err
	}
	out, err := ex.runPass(r, input) // Pass
	return out, st.next, err
}

// contextObject builds $$ for a state: the execution's and machine's
// fields, the state's, and a task token or Map item where there is one.
func (ex *execution) contextObject(r *stateRun, token string, item *object) *object {
	stObj := newObject(3)
	stObj.set("EnteredTime", timestamp(r.entered))
	stObj.set("Name", r.st.name)
	stObj.set("RetryCount", intNumber(int64(r.retries)))
	c := newObject(5)
	c.set("Execution", ex.execObj)
	c.set("State", stObj)
	c.set("StateMachine", ex.smObj)
	if token != "" {
		task := newObject(1)
		task.set("Token", token)
		c.set("Task", task)
	}
	if item != nil {
		mapObj := newObject(1)
		mapObj.set("Item", item)
		c.set("Map", mapObj)
	}
	return c
}

func (ex *execution) env(input, context any) *env {
	return &env{input: input, context: context, random: ex.random}
}

// failf reports a States.Runtime error of the state.
func (r *stateRun) failf(format string, args ...any) *stateError {
	return runtimeError("state %q: %s", r.st.name, fmt.Sprintf(format, args...))
}

// checkSize enforces MaxPayloadBytes on a value the state produced.
func (r *stateRun) checkSize(v any, what string) error {
	if n := len(encodeJSON(v)); n > MaxPayloadBytes {
		return &stateError{name: ErrDataLimitExceeded, cause: fmt.Sprintf("state %q: the %s is %d bytes, more than the %d-byte limit", r.st.name, what, n, MaxPayloadBytes)}
	}
	return nil
}

// selectPath applies InputPath or OutputPath.
func (r *stateRun) selectPath(field string, op optPath, v any, e *env) (any, error) {
	if op.null {
		return newObject(0), nil
	}
	if op.p == nil {
		return v, nil
	}
	root := v
	if op.p.context {
		root = e.context
	}
	out, ok := op.p.get(root)
	if !ok {
		where := "input"
		switch {
		case op.p.context:
			where = "context object"
		case field == "OutputPath":
			where = "output"
		}
		return nil, r.failf("%s %q names nothing in the state's %s", field, op.p.src, where)
	}
	return out, nil
}

// effectiveInput applies InputPath, then Parameters. It also returns the
// value in between, which ItemsPath and TimeoutSecondsPath read.
func (ex *execution) effectiveInput(r *stateRun, raw any, e *env) (selected, effective any, err error) {
	selected, err = r.selectPath("InputPath", r.st.inputPath, raw, e)
	if err != nil {
		return nil, nil, err
	}
	effective = selected
	if r.st.parameters != nil {
		if effective, err = r.st.parameters.build(ex.env(selected, e.context)); err != nil {
			return nil, nil, r.failf("Parameters: %v", err)
		}
		if err := r.checkSize(effective, "input after Parameters"); err != nil {
			return nil, nil, err
		}
	}
	return selected, effective, nil
}

// finish applies ResultSelector, ResultPath and OutputPath to a result.
func (ex *execution) finish(r *stateRun, raw, result any, context *object) (any, error) {
	var err error
	if r.st.resultSelector != nil {
		if result, err = r.st.resultSelector.build(ex.env(result, context)); err != nil {
			return nil, r.failf("ResultSelector: %v", err)
		}
	}
	out, err := applyResultPath(r.st.resultPath, raw, result)
	if err != nil {
		return nil, r.failf("ResultPath %q cannot be applied to the state's input: %v", r.st.resultPath.p, err)
	}
	return r.selectPath("OutputPath", r.st.outputPath, out, ex.env(out, context))
}

// applyResultPath places a result (or an error output) in the state's raw
// input.
func applyResultPath(op optPath, raw, result any) (any, error) {
	switch {
	case op.null:
		return raw, nil
	case op.p == nil:
		return result, nil
	}
	return op.p.set(raw, result)
}
