package asl

import "time"

// EventKind says what an Event reports.
type EventKind string

// The events Options.OnTransition receives.
const (
	ExecutionStarted   EventKind = "ExecutionStarted"
	ExecutionSucceeded EventKind = "ExecutionSucceeded"
	// ExecutionFailed: Error names the error; also sent for an execution
	// stopped by its context, with Error empty.
	ExecutionFailed EventKind = "ExecutionFailed"
	StateEntered    EventKind = "StateEntered"
	// StateExited: the state finished; Next is the state that follows ("" at
	// the end of the machine or of a branch).
	StateExited EventKind = "StateExited"
	// StateFailed: the state reported an error that no Retry or Catch
	// handled; it ends the branch or the execution.
	StateFailed EventKind = "StateFailed"
	// StateRetrying: the state reported Error and will run again after
	// Delay; Attempt counts the retries of this entry into the state.
	StateRetrying EventKind = "StateRetrying"
	// StateCaught: a Catch handled Error; Next is the catcher's state.
	StateCaught EventKind = "StateCaught"
	// TaskTokenWaiting: a .waitForTaskToken task's function has returned and
	// the execution now waits for Options.WaitForTaskToken.
	TaskTokenWaiting EventKind = "TaskTokenWaiting"
)

// Event is a step of an execution, for progress reports and logs. It names
// states, errors and durations, never payloads or error causes, which may
// hold the data being migrated.
type Event struct {
	Kind  EventKind
	State string // "" for the Execution… events
	Type  string // the state's type: Task, Map…
	// Scope places a state inside Map iterations and Parallel branches:
	// "" at the top level, "Load[3]" in iteration 3 of Map state "Load",
	// "Fan[1]/Load[3]" deeper down.
	Scope string
	Time  time.Time // Options.Now when the event happened
	// Duration: for StateExited, StateFailed and StateCaught the time since
	// the state was entered; for ExecutionSucceeded and ExecutionFailed
	// since the execution started.
	Duration time.Duration
	Attempt  int           // StateRetrying: 1 for the first retry
	Delay    time.Duration // StateRetrying: the backoff before the retry
	Error    string        // the error name, for StateRetrying, StateCaught, StateFailed, ExecutionFailed
	Next     string        // StateExited, StateCaught
}
