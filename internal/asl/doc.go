// Package asl executes Amazon States Language state machines in-process:
// the same statemachine/*.asl.json definitions that AWS Step Functions
// runs in the cloud, with Go handlers standing in for the Lambda
// functions. The definitions stay the only description of the workflow.
//
//	m, err := asl.Parse(definition)
//	out, err := m.Execute(ctx, input, asl.Options{
//		Substitutions: map[string]string{"ExtractFunctionArn": "extract"},
//		Handlers:      map[string]asl.Handler{"extract": extractHandler},
//	})
//
// Parse validates a definition and refuses, with a *DefinitionError naming
// the state and field, anything invalid and anything this executor does
// not implement: a definition it accepts runs as it would in Step
// Functions, and one it cannot run fails before it starts.
//
// # Supported
//
// The JSONPath query language, with these states and fields:
//
//   - Task: Resource, Parameters, ResultSelector, ResultPath, Retry,
//     Catch, TimeoutSeconds, TimeoutSecondsPath, HeartbeatSeconds,
//     HeartbeatSecondsPath, InputPath, OutputPath, Next/End.
//   - Pass: Result, Parameters, ResultPath, InputPath, OutputPath.
//   - Choice: Choices, Default, InputPath, OutputPath. Every comparison
//     operator (String…, StringMatches, Numeric…, Boolean…, Timestamp…,
//     each …Equals/LessThan/GreaterThan(Equals) with its …Path form),
//     IsNull, IsPresent, IsNumeric, IsString, IsBoolean, IsTimestamp, And,
//     Or, Not. A value of the wrong type never matches; a Variable that
//     names nothing is a States.Runtime error except for IsPresent.
//   - Wait: Seconds, SecondsPath, Timestamp, TimestampPath.
//   - Succeed, and Fail with Error, Cause, ErrorPath and CausePath (a path
//     or an intrinsic function).
//   - Map, inline: ItemsPath, ItemSelector (or its older name Parameters),
//     ItemProcessor with ProcessorConfig Mode INLINE (or its older name
//     Iterator), MaxConcurrency, MaxConcurrencyPath, ResultSelector,
//     ResultPath, Retry, Catch. $$.Map.Item.Index and $$.Map.Item.Value in
//     ItemSelector.
//   - Parallel: Branches, Parameters, ResultSelector, ResultPath, Retry,
//     Catch.
//   - Comment and QueryLanguage "JSONPath" anywhere; Version "1.0" and
//     TimeoutSeconds for the machine.
//
// Paths: "$" and "$$" (the context object) followed by dotted field names,
// bracket field names ($['a b']) and array indexes ($.a[0]). A path names at
// most one node; ResultPath creates the objects missing on its way.
//
// Context object: $$.Execution.Id, .Input, .Name, .RoleArn, .StartTime and
// .RedriveCount; $$.State.EnteredTime, .Name and .RetryCount;
// $$.StateMachine.Id and .Name; $$.Task.Token in .waitForTaskToken tasks;
// $$.Map.Item.Index and .Value in ItemSelector.
//
// Intrinsic functions, nested up to 10 deep, with string literals in single
// quotes where \', \{, \} and \\ are the only escapes: States.Format,
// StringToJson, JsonToString, Array, ArrayPartition, ArrayContains,
// ArrayRange, ArrayGetItem, ArrayLength, ArrayUnique, Base64Encode,
// Base64Decode, Hash (MD5, SHA-1, SHA-256, SHA-384, SHA-512), JsonMerge
// (shallow only, as in Step Functions), MathRandom (start inclusive, end
// exclusive), MathAdd, StringSplit (splits at any of the delimiter
// characters and drops empty strings) and UUID. Their failures are
// States.Runtime errors.
//
// Task resources, resolved through Options.Handlers:
//
//   - arn:aws:states:::lambda:invoke with Parameters FunctionName, Payload
//     (absent: {}), Qualifier, InvocationType "RequestResponse",
//     ClientContext and LogType (the last two ignored). The result is
//     wrapped as the integration wraps it: {"ExecutedVersion",
//     "Payload": <handler output>, "SdkHttpMetadata", "SdkResponseMetadata",
//     "StatusCode": 200}.
//   - arn:aws:states:::lambda:invoke.waitForTaskToken: the executor makes a
//     task token ($$.Task.Token, which Parameters must pass on, as Step
//     Functions requires), calls the handler, ignores its output, then
//     calls Options.WaitForTaskToken with the token, the state's name and
//     the Payload; what the hook returns is the task's result, and a
//     *TaskFailedError it returns fails the task as SendTaskFailure would.
//   - Any other Resource that is not a Step Functions ARN (a Lambda
//     function ARN, a function name, a substituted placeholder): the
//     handler gets the state's effective input and its output is the
//     result, unwrapped.
//
// A Lambda function ARN finds a handler registered under the full ARN,
// the ARN without its qualifier, or the bare function name. Execute
// refuses to start if a function named literally in the definition has no
// handler, or a .waitForTaskToken task has no hook; a FunctionName
// computed at run time without a handler fails the task with
// Lambda.ResourceNotFoundException.
//
// Errors. A handler's error is named as aws-lambda-go names a Go
// function's error: the Go type name of the value returned, without
// package path or pointer ("InputError" for *migrate.InputError,
// "errorString" for errors.New, "wrapError" for fmt.Errorf with %w — the
// runtime does not unwrap, so neither does this executor). An error value
// that implements ErrorNamer (ErrorName() string) names itself, and a
// *TaskFailedError anywhere in the chain gives both name and cause. The
// cause is the error's message. A panicking handler fails with the panic
// value's type name, as the Lambda runtime reports it. Retry follows the
// specification: the first retrier whose ErrorEquals matches decides (an
// exhausted one means no retry), each retrier counts its own attempts
// during one entry into the state, the delay is IntervalSeconds ×
// BackoffRate^n capped at MaxDelaySeconds, and JitterStrategy FULL takes a
// random fraction of it. Catch puts {"Error", "Cause"} at its ResultPath
// in the state's raw input. States.ALL matches every error, and
// States.TaskFailed every error but States.Timeout, except that
// States.Runtime, States.DataLimitExceeded and States.NoChoiceMatched are
// terminal: never retried or caught. An execution that fails returns an
// *ExecutionFailedError.
//
// Limits. A state's input or output, a task's result and a callback's
// output are limited to MaxPayloadBytes (256 KiB), beyond which the
// execution fails with States.DataLimitExceeded. A Map runs at most
// MaxMapConcurrency (40) iterations at once, the inline Map's limit in
// Step Functions, whatever MaxConcurrency says; 0 means that many.
//
// Time. Wait states, retry backoff, the context object's timestamps and
// event durations use Options.Now and Options.Sleep, so tests need not
// wait. TimeoutSeconds, of a task or of the machine, is enforced in real
// time: the handler's context carries the deadline and, when it passes,
// the executor waits for the handler to return (it does not abandon a
// running handler) and reports States.Timeout. HeartbeatSeconds is
// validated and otherwise ignored: a handler has no way to send
// heartbeats, and TimeoutSeconds bounds the whole task.
//
// Objects keep their keys in the order they were read or built, as in Step
// Functions, so States.JsonToString and the JSON handed to handlers are
// predictable.
//
// # Refused
//
//   - QueryLanguage "JSONata", and the JSONata and variables fields:
//     Arguments, Output, Assign, Items, Condition.
//   - The distributed Map: ProcessorConfig Mode "DISTRIBUTED" and
//     ExecutionType, ItemReader, ItemBatcher, ResultWriter, Label,
//     ToleratedFailurePercentage(Path), ToleratedFailureCount(Path).
//   - Task Credentials; Step Functions integrations other than Lambda's
//     (arn:aws:states:::dynamodb:…, .sync, states:startExecution…),
//     activities, and InvocationType other than "RequestResponse".
//   - JSONPath wildcards (* and [*]), filters ([?(…)]), scripts, slices
//     and unions ([0:2], ['a','b']), negative indexes, recursive descent
//     (..) and functions (length()).
//   - Intrinsic functions other than those listed, and States.JsonMerge
//     with deep merging.
//
// Parse also refuses what Step Functions would not create: a missing or
// unknown StartAt, Next, Default or Catch Next target (transitions cannot
// leave or enter a branch), a state unreachable from StartAt, a state
// without exactly one of Next and End, misspelt or misplaced fields,
// States.ALL not alone in the last retrier or catcher, and out-of-range
// numbers.
//
// One departure from Step Functions: a Choice state with no match and no
// Default fails with States.NoChoiceMatched, the name the States Language
// specification gives, where Step Functions reports States.Runtime; both
// are terminal.
//
// # Observing an execution
//
// Options.OnTransition receives an Event for every state entered and
// exited, every retry (with its delay), catch and failure, and the
// execution's start and end, with state names, scopes (Map iteration and
// Parallel branch), error names and durations, never payloads or causes.
package asl
