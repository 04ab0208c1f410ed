#!/usr/bin/env node
// run-local.mjs runs one execution of a statemachine/*.asl.json definition
// with aws-local-stepfunctions (a second, independent implementation of
// the States Language) instead of Conveyor's embedded executor
// (internal/asl). Every Task calls the step handlers over HTTP, on a
// server the Go test starts (internal/steps/crosscheck_test.go):
//
//	POST <endpoint>/invoke/<function>  body: the payload
//	  200: the handler's output; 500: {"errorType", "errorMessage"}
//	POST <endpoint>/callback           body: {"state", "token", "payload"}
//	  the answer to a .waitForTaskToken task (SendTaskSuccess: 200 and the
//	  output; SendTaskFailure: 500 and {"errorType", "errorMessage"})
//	POST <endpoint>/wait               body: {"state", "seconds"} or {"state", "timestamp"}
//	  a Wait state's duration, for the Go side's virtual clock
//
// Usage:
//
//	node statemachine/test/run-local.mjs --definition statemachine/migrate.asl.json \
//	  --substitutions '{"ExtractFunctionArn": "arn:aws:lambda:…:function:extract", …}' \
//	  --endpoint http://127.0.0.1:PORT --name <execution name> --input '<json>'
//
// It prints one JSON object on stdout: {"status": "SUCCEEDED", "output": …}
// or {"status": "FAILED", "error": …, "cause": …}, with "entered" (how many
// times each state was entered) and "retries". It exits 0 when the
// execution ran, whatever its outcome, and 1 when it could not run (a bad
// argument, a definition the library refuses or cannot emulate).
//
// What aws-local-stepfunctions 3 does not do, and this script emulates:
//
//   - Service integrations. The library calls the Task's Resource as a
//     Lambda function (through the AWS SDK) unless the state is overridden
//     (overrides.taskResourceLocalHandlers, keyed by state name). The
//     override gets the effective input (after InputPath and Parameters)
//     and its return value is the task's result, unwrapped. So for
//     arn:aws:states:::lambda:invoke the override reads FunctionName and
//     Payload from the Parameters and wraps the function's output as the
//     integration does ({"ExecutedVersion", "Payload", "SdkHttpMetadata",
//     "SdkResponseMetadata", "StatusCode": 200}), for ResultSelector's
//     $.Payload… paths and OutputPath "$.Payload".
//   - .waitForTaskToken. The library knows nothing of task tokens: there is
//     no $$.Task.Token, and it would call the function and take its output
//     as the result. The execution's context object is given a
//     Task.Token (one per execution: the library's context object is
//     shared by all the states), the override calls the function, ignores
//     its output, then asks /callback for the result.
//   - Error names. Retry and Catch compare ErrorEquals with the thrown
//     error's `name` (and States.ALL / States.TaskFailed); a failed Lambda
//     function is named by its errorType. The override throws an Error
//     whose name is the errorType and whose message is the errorMessage
//     (the embedded executor's cause).
//   - Time. Wait states take 1 ms and retry pauses none
//     (waitTimeOverrides, retryIntervalOverrides), and each Wait state's
//     duration is posted to /wait before the next task runs, so the Go
//     side moves its virtual clock as the embedded executor does.
//   - Promise.withResolvers, which the library uses for every Task's
//     timeout and which node 20 lacks (it requires node 22): without the
//     polyfill below every Task fails with a TypeError, which the
//     definitions' States.ALL catchers then route to ReportFailure.
//
// Left as the library does it: a Task without TimeoutSeconds times out
// after 60 s of real time (Step Functions: 99999999 s), and TimeoutSeconds
// above 2147483 overflows node's timer; the context object holds only what
// is passed below (Execution.Id, Name, RoleArn, RedriveCount,
// StateMachine, Task.Token) with Execution.Input and StartTime, and
// inside a Map iteration Execution.Input is the iteration's input.

if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

// Imported after the polyfill (a static import would run first).
const { StateMachine, ExecutionError } = await import('aws-local-stepfunctions');

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const LAMBDA_INVOKE_WAIT = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)(:[A-Za-z0-9$_-]+)?$/;

function fail(message) {
  process.stderr.write(`run-local: ${message}\n`);
  process.exit(1);
}

const { values: args } = parseArgs({
  options: {
    definition: { type: 'string' },
    substitutions: { type: 'string', default: '{}' },
    input: { type: 'string', default: '{}' },
    endpoint: { type: 'string' },
    name: { type: 'string', default: 'local' },
    'state-machine-name': { type: 'string', default: 'conveyor' },
  },
});
if (!args.definition || !args.endpoint) {
  fail('usage: run-local.mjs --definition FILE --endpoint URL [--substitutions JSON] [--input JSON] [--name NAME]');
}

// The definition, with its ${…} placeholders substituted as SAM's
// DefinitionSubstitutions would.
let text = readFileSync(args.definition, 'utf8');
const substitutions = JSON.parse(args.substitutions);
text = text.replace(/\$\{([^}]*)\}/g, (whole, key) => {
  if (!(key in substitutions)) fail(`${args.definition}: no substitution for ${whole}`);
  return substitutions[key];
});
const definition = JSON.parse(text);
const input = JSON.parse(args.input);
const endpoint = args.endpoint.replace(/\/$/, '');

// A Lambda function name from a FunctionName or Resource: the name, a
// function ARN (qualified or not) or a partial ARN.
function functionName(ref) {
  if (typeof ref !== 'string' || ref === '') return null;
  const m = LAMBDA_ARN.exec(ref);
  if (m) return m[1];
  if (/^[A-Za-z0-9_-]+$/.test(ref)) return ref;
  return null;
}

// A failed task: an Error named by its errorType, as Retry and Catch match it.
function taskError(name, message) {
  const err = new Error(message);
  err.name = name;
  return err;
}

// Writes to the Go side go one at a time after any pending /wait, so a
// virtual clock moves before the next task runs.
let pendingWait = Promise.resolve();

async function post(path, body) {
  await pendingWait;
  let res;
  try {
    res = await fetch(`${endpoint}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
  } catch (err) {
    // Unreachable function: what Lambda reports as a service error.
    throw taskError('Lambda.ServiceException', `POST ${path}: ${err.message}`);
  }
  const raw = await res.text();
  let value;
  try {
    value = raw === '' ? null : JSON.parse(raw);
  } catch {
    throw taskError('Lambda.ServiceException', `POST ${path}: ${res.status}: not JSON: ${raw.slice(0, 200)}`);
  }
  if (res.status === 200) return value;
  if (value && typeof value.errorType === 'string') throw taskError(value.errorType, String(value.errorMessage ?? ''));
  if (res.status === 404) throw taskError('Lambda.ResourceNotFoundException', `POST ${path}: ${raw}`);
  throw taskError('Lambda.ServiceException', `POST ${path}: ${res.status}: ${raw}`);
}

const invoke = (fn, payload) => post(`/invoke/${encodeURIComponent(fn)}`, payload);

// lambda:invoke's result, as Step Functions wraps it.
function invokeResponse(params, payload) {
  return {
    ExecutedVersion: typeof params.Qualifier === 'string' && params.Qualifier !== '' ? params.Qualifier : '$LATEST',
    Payload: payload,
    SdkHttpMetadata: { HttpStatusCode: 200 },
    SdkResponseMetadata: { RequestId: '00000000-0000-4000-8000-000000000000' },
    StatusCode: 200,
  };
}

// Every state of a definition, nested Map and Parallel states included.
function* allStates(def) {
  for (const [name, state] of Object.entries(def.States ?? {})) {
    yield [name, state];
    if (state.Type === 'Map') yield* allStates(state.ItemProcessor ?? state.Iterator ?? {});
    if (state.Type === 'Parallel') for (const b of state.Branches ?? []) yield* allStates(b);
  }
}

const taskToken = `token-${args.name}`;
const taskResourceLocalHandlers = {};
const waitTimeOverrides = {};
const retryIntervalOverrides = {};
const waitStates = {};
for (const [name, state] of allStates(definition)) {
  if (Array.isArray(state.Retry)) retryIntervalOverrides[name] = 0;
  if (state.Type === 'Wait') {
    if (state.InputPath !== undefined) fail(`state ${JSON.stringify(name)}: a Wait state's InputPath is not emulated`);
    // 1 ms, not 0: the library skips a 0 ms sleep synchronously, and the
    // event that posts the wait's duration must be read first (see below).
    waitTimeOverrides[name] = 1;
    waitStates[name] = state;
  }
  if (state.Type !== 'Task') continue;
  const resource = state.Resource;
  if (resource === LAMBDA_INVOKE || resource === LAMBDA_INVOKE_WAIT) {
    const wait = resource === LAMBDA_INVOKE_WAIT;
    taskResourceLocalHandlers[name] = async (params) => {
      const fn = functionName(params?.FunctionName);
      if (!fn) throw taskError('States.Runtime', `${name}: Parameters.FunctionName ${JSON.stringify(params?.FunctionName)} is not a Lambda function`);
      const payload = params.Payload === undefined ? {} : params.Payload;
      if (params.InvocationType !== undefined && params.InvocationType !== 'RequestResponse') {
        throw taskError('States.Runtime', `${name}: InvocationType ${params.InvocationType} is not emulated`);
      }
      const out = await invoke(fn, payload);
      if (!wait) return invokeResponse(params, out);
      return post('/callback', { state: name, token: taskToken, payload });
    };
  } else if (functionName(resource) && resource.startsWith('arn:')) {
    taskResourceLocalHandlers[name] = (effective) => invoke(functionName(resource), effective);
  } else {
    fail(`state ${JSON.stringify(name)}: Resource ${resource} is not emulated`);
  }
}

// A Wait state's duration from its input, as the StateEntered event gives
// it (only what the definitions use: Seconds, Timestamp, and $.a.b paths).
function pathValue(path, value) {
  if (path === '$') return value;
  if (!/^\$(\.[A-Za-z0-9_]+)+$/.test(path)) throw new Error(`path ${path} is not emulated`);
  for (const key of path.slice(2).split('.')) value = value?.[key];
  return value;
}
function waitBody(name, state, stateInput) {
  if (state.Seconds !== undefined) return { state: name, seconds: state.Seconds };
  if (state.Timestamp !== undefined) return { state: name, timestamp: state.Timestamp };
  if (state.SecondsPath !== undefined) return { state: name, seconds: pathValue(state.SecondsPath, stateInput) };
  return { state: name, timestamp: pathValue(state.TimestampPath, stateInput) };
}

let machine;
try {
  // Validated by the library (asl-validator with ARN and path checks).
  machine = new StateMachine(definition, {});
} catch (err) {
  fail(`${args.definition}: ${err.message}`);
}

const execution = machine.run(input, {
  overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
  context: {
    Execution: {
      Id: `arn:aws:states:eu-west-2:123456789012:execution:${args['state-machine-name']}:${args.name}`,
      Name: args.name,
      RoleArn: 'arn:aws:iam::123456789012:role/conveyor-local',
      RedriveCount: 0,
    },
    StateMachine: {
      Id: `arn:aws:states:eu-west-2:123456789012:stateMachine:${args['state-machine-name']}`,
      Name: args['state-machine-name'],
    },
    Task: { Token: taskToken },
  },
});

// The event log, read as the execution runs: states entered, retries, and
// each Wait state's duration. The StateEntered event of a Wait state
// reaches this loop in microtasks (nested Map events included), before the
// wait's 1 ms timer fires, so pendingWait is set before the next task
// posts, and every post waits for it.
const entered = {};
const retries = {};
const events = (async () => {
  try {
    await readEvents();
  } catch (err) {
    fail(`event log: ${err.message}`);
  }
})();
async function readEvents() {
  for await (const ev of execution.eventLogs) {
    if (ev.type === 'StateEntered') {
      const name = ev.state.name;
      entered[name] = (entered[name] ?? 0) + 1;
      if (waitStates[name]) {
        const body = waitBody(name, waitStates[name], ev.state.input);
        const previous = pendingWait;
        pendingWait = previous.then(() => fetch(`${endpoint}/wait`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })).then(async (res) => {
          if (res.status !== 200) fail(`POST /wait: ${res.status}: ${await res.text()}`);
        }, (err) => fail(`POST /wait: ${err.message}`));
      }
    } else if (ev.type === 'StateRetried') {
      retries[ev.state.name] = (retries[ev.state.name] ?? 0) + 1;
    }
  }
}

let report;
try {
  const output = await execution.result;
  report = { status: 'SUCCEEDED', output };
} catch (err) {
  const cause = err instanceof ExecutionError ? err.cause : err;
  report = { status: 'FAILED', error: cause?.name ?? 'Error', cause: cause?.message ?? String(cause) };
}
await events;
await pendingWait;
report.entered = entered;
report.retries = retries;
process.stdout.write(`${JSON.stringify(report)}\n`);
