package asl

import (
	"errors"
	"fmt"
	"reflect"
)

// Error names the executor itself reports or treats specially.
const (
	// ErrAll in ErrorEquals matches every error except the terminal ones:
	// ErrRuntime, ErrDataLimitExceeded and ErrNoChoiceMatched.
	ErrAll = "States.ALL"
	// ErrTaskFailed in ErrorEquals matches every error except ErrTimeout
	// and the terminal ones.
	ErrTaskFailed = "States.TaskFailed"
	// ErrTimeout: a Task ran longer than its TimeoutSeconds, or the execution
	// longer than the definition's TimeoutSeconds.
	ErrTimeout = "States.Timeout"
	// ErrRuntime: the definition could not be applied to the data (a path
	// that names nothing, an intrinsic function given the wrong type…). It
	// is never retried or caught.
	ErrRuntime = "States.Runtime"
	// ErrDataLimitExceeded: a state's input or output, or a task's result,
	// is larger than MaxPayloadBytes. It is never retried or caught.
	ErrDataLimitExceeded = "States.DataLimitExceeded"
	// ErrNoChoiceMatched: a Choice state without Default matched no rule.
	// This is the ASL specification's name (Step Functions reports
	// States.Runtime); like Step Functions, the executor never retries or
	// catches it.
	ErrNoChoiceMatched = "States.NoChoiceMatched"
)

// ExecutionFailedError is the error Execute returns for an execution that
// failed: one that reached a Fail state, or in which a state reported an
// error that no Catch handled.
type ExecutionFailedError struct {
	Name  string // the error name, as in the execution's "error"
	Cause string // the human-readable cause, as in the execution's "cause"
	State string // the state that failed
}

func (e *ExecutionFailedError) Error() string {
	msg := fmt.Sprintf("asl: execution failed in state %q: %s", e.State, e.Name)
	if e.Cause != "" {
		msg += ": " + e.Cause
	}
	return msg
}

// TaskFailedError names an error explicitly. Returned (possibly wrapped) by
// the Options.WaitForTaskToken hook it behaves like SendTaskFailure with
// these error and cause; returned by a Handler it names the handler's error
// the same way.
type TaskFailedError struct {
	Name  string
	Cause string
}

func (e *TaskFailedError) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// DefinitionError is a definition that Parse refuses: invalid, or using a
// feature the embedded executor does not implement.
type DefinitionError struct {
	State   string // "" for a top-level field
	Field   string // "" when the problem is not one field's
	Problem string // e.g. `is not supported by the embedded executor`
}

func (e *DefinitionError) Error() string {
	msg := "asl: "
	if e.State != "" {
		msg += fmt.Sprintf("state %q: ", e.State)
	}
	if e.Field != "" {
		return msg + fmt.Sprintf("field %q %s", e.Field, e.Problem)
	}
	return msg + e.Problem
}

// stateError is an error a state reports: the name and cause that Retry
// and Catch see.
type stateError struct {
	name, cause string
	state       string // the state that reported it first
}

func (e *stateError) Error() string { return e.name + ": " + e.cause }

func runtimeError(format string, args ...any) *stateError {
	return &stateError{name: ErrRuntime, cause: fmt.Sprintf(format, args...)}
}

// terminal reports errors that no retrier or catcher handles.
func (e *stateError) terminal() bool {
	return e.name == ErrRuntime || e.name == ErrDataLimitExceeded || e.name == ErrNoChoiceMatched
}

// matchesAny reports whether an ErrorEquals list matches the error.
func (e *stateError) matchesAny(names []string) bool {
	if e.terminal() {
		return false
	}
	for _, n := range names {
		switch {
		case n == e.name:
			return true
		case n == ErrAll:
			return true
		case n == ErrTaskFailed && e.name != ErrTimeout:
			return true
		}
	}
	return false
}

// ErrorNamer is implemented by a handler error that names itself: its
// ErrorName is the error name Retry and Catch match, instead of the Go type
// name. Only the returned value itself is asked, not errors it wraps, as a
// Lambda function's runtime only sees that value.
type ErrorNamer interface {
	ErrorName() string
}

// nameError names a handler's error the way aws-lambda-go does for a Go
// Lambda function: the type name of the returned value, without package
// path or pointer (so *migrate.InputError is "InputError", errors.New's
// value "errorString" and fmt.Errorf's with %w "wrapError"), and its message
// as the cause. A *TaskFailedError anywhere in the chain, or an ErrorNamer
// returned as is, names the error explicitly.
func nameError(err error) *stateError {
	var tf *TaskFailedError
	if errors.As(err, &tf) {
		return &stateError{name: tf.Name, cause: tf.Cause}
	}
	if n, ok := err.(ErrorNamer); ok {
		return &stateError{name: n.ErrorName(), cause: err.Error()}
	}
	return &stateError{name: goTypeName(err), cause: err.Error()}
}

func goTypeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
