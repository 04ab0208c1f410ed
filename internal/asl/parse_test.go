package asl

import (
	"errors"
	"strings"
	"testing"
)

// TestUnsupportedFeaturesAreRefused: what the executor does not implement
// is refused when the definition is parsed, naming the state and field.
func TestUnsupportedFeaturesAreRefused(t *testing.T) {
	const proc = `"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`
	tests := []struct{ name, def, want string }{
		{"distributed Map ResultWriter",
			`{"StartAt":"Load","States":{"Load":{"Type":"Map",` + proc + `,"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject"},"End":true}}}`,
			`state "Load": field "ResultWriter" is not supported by the embedded executor`},
		{"distributed Map ItemReader",
			`{"StartAt":"Load","States":{"Load":{"Type":"Map",` + proc + `,"ItemReader":{},"End":true}}}`,
			`state "Load": field "ItemReader" is not supported by the embedded executor`},
		{"ProcessorConfig DISTRIBUTED",
			`{"StartAt":"Load","States":{"Load":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			`state "Load": field "ItemProcessor.ProcessorConfig.Mode" is "DISTRIBUTED", which is not supported by the embedded executor`},
		{"ProcessorConfig ExecutionType",
			`{"StartAt":"Load","States":{"Load":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"ExecutionType":"EXPRESS"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			`field "ItemProcessor.ProcessorConfig.ExecutionType" is not supported`},
		{"ToleratedFailurePercentage",
			`{"StartAt":"Load","States":{"Load":{"Type":"Map",` + proc + `,"ToleratedFailurePercentage":5,"End":true}}}`,
			`state "Load": field "ToleratedFailurePercentage" is not supported by the embedded executor`},
		{"ItemBatcher",
			`{"StartAt":"Load","States":{"Load":{"Type":"Map",` + proc + `,"ItemBatcher":{"MaxItemsPerBatch":10},"End":true}}}`,
			`field "ItemBatcher" is not supported`},
		{"JSONata for the machine",
			`{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`,
			`field "QueryLanguage" is "JSONata", which is not supported by the embedded executor: only JSONPath is`},
		{"JSONata for a state",
			`{"StartAt":"P","States":{"P":{"Type":"Pass","QueryLanguage":"JSONata","End":true}}}`,
			`state "P": field "QueryLanguage" is "JSONata", which is not supported`},
		{"JSONata Arguments", taskMachine(`"Arguments":{"a":"{% $states.input %}"}`), `state "T": field "Arguments" is not supported`},
		{"JSONata Output", passMachine(`"Output":{}`), `state "P": field "Output" is not supported`},
		{"variables", passMachine(`"Assign":{"x":1}`), `state "P": field "Assign" is not supported`},
		{"Credentials", taskMachine(`"Credentials":{"RoleArn":"arn:aws:iam::1:role/r"}`), `state "T": field "Credentials" is not supported`},
		{"an SDK integration",
			`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","Parameters":{},"End":true}}}`,
			`state "T": field "Resource" is "arn:aws:states:::dynamodb:putItem", which is not supported by the embedded executor`},
		{"an activity",
			`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:us-east-1:123456789012:activity:X","End":true}}}`,
			`field "Resource" is "arn:aws:states:us-east-1:123456789012:activity:X", which is not supported`},
		{"a .sync integration",
			`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","Parameters":{},"End":true}}}`,
			`field "Resource" is "arn:aws:states:::states:startExecution.sync:2", which is not supported`},
		{"asynchronous Lambda invocation",
			`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","InvocationType":"Event"},"End":true}}}`,
			`field "Parameters.InvocationType" is not supported`},
		{"an unknown intrinsic", passMachine(`"Parameters":{"x.$":"States.StringReverse($.a)"}`),
			`state "P": field "Parameters" is invalid: field "x.$": intrinsic function "States.StringReverse" is not supported by the embedded executor`},
		{"a deep JsonMerge", passMachine(`"Parameters":{"x.$":"States.JsonMerge($.a, $.b, true)"}`), `only the shallow merge`},
		{"a wildcard", passMachine(`"InputPath":"$.items[*].id"`),
			`state "P": field "InputPath" is invalid: path "$.items[*].id": the wildcard [*] is not supported by the embedded executor`},
		{"a dotted wildcard", passMachine(`"OutputPath":"$.items.*"`), `field "OutputPath" is invalid: path "$.items.*": the wildcard * is not supported`},
		{"a filter", passMachine(`"Parameters":{"x.$":"$.items[?(@.ok == true)]"}`), `a filter expression [?(...)] is not supported`},
		{"recursive descent", passMachine(`"InputPath":"$..id"`), `recursive descent (..) is not supported`},
		{"a slice", passMachine(`"InputPath":"$.a[0:2]"`), `a slice or union [0:2] is not supported`},
		{"a union", passMachine(`"InputPath":"$['a','b']"`), `a union ['a','b'] is not supported`},
		{"a negative index", passMachine(`"InputPath":"$.a[-1]"`), `a negative index [-1] is not supported`},
		{"a function", passMachine(`"InputPath":"$.a.length()"`), `the function length() is not supported`},
		{"a wildcard in a Choice", choiceMachine(`{"Variable":"$.a[*]","IsPresent":true,"Next":"Yes"}`), `state "C": field "Choices[0]" is not a valid choice rule: "Variable": path "$.a[*]": the wildcard [*] is not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.def))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %s", err, tc.want)
			}
			var de *DefinitionError
			if !errors.As(err, &de) {
				t.Errorf("err is a %T, not a *DefinitionError", err)
			}
		})
	}
}

// TestInvalidDefinitions: what Step Functions would refuse to create is
// refused too.
func TestInvalidDefinitions(t *testing.T) {
	tests := []struct{ name, def, want string }{
		{"not JSON", `{"StartAt":`, "the definition is not JSON"},
		{"not an object", `[]`, "must be a JSON object"},
		{"no StartAt", `{"States":{"P":{"Type":"Pass","End":true}}}`, `field "StartAt" is required`},
		{"StartAt names no state", `{"StartAt":"Q","States":{"P":{"Type":"Pass","End":true}}}`, `field "StartAt" names state "Q", which is not in States`},
		{"no States", `{"StartAt":"P","States":{}}`, `field "States" is required`},
		{"Next names no state", `{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"Q"}}}`, `state "P": field "Next" names state "Q", which does not exist`},
		{"Catch Next names no state", taskMachine(`"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Q"}]`), `state "T": field "Catch[0].Next" names state "Q"`},
		{"Default names no state", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"C"}],"Default":"Q"}}}`, `field "Default" names state "Q"`},
		{"neither Next nor End", `{"StartAt":"P","States":{"P":{"Type":"Pass"}}}`, `state "P": needs exactly one of "Next" or "End": true`},
		{"both Next and End", `{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"P","End":true}}}`, `needs exactly one of`},
		{"an unreachable state", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true},"Lost":{"Type":"Succeed"}}}`, `state "Lost": is not reachable from StartAt`},
		{"a transition into a branch", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","End":true}}}],"Next":"B"}}}`, `field "Next" names state "B", which does not exist (or is not in the same branch)`},
		{"a transition out of a branch", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"P"}}}],"End":true}}}`, `state "B": field "Next" names state "P"`},
		{"no Type", `{"StartAt":"P","States":{"P":{"End":true}}}`, `state "P": field "Type" is required`},
		{"an unknown Type", `{"StartAt":"P","States":{"P":{"Type":"Activity","End":true}}}`, `field "Type" is "Activity", which is not a state type`},
		{"a misspelt field", passMachine(`"Resutl":1`), `state "P": field "Resutl" is not a valid field of a Pass state`},
		{"a field of another type", passMachine(`"Retry":[]`), `state "P": field "Retry" is not a valid field of a Pass state`},
		{"End on a Choice", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"C"}],"End":true}}}`, `field "End" is not a valid field of a Choice state`},
		{"no Choices", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[]}}}`, `field "Choices" is required`},
		{"Task without Resource", `{"StartAt":"T","States":{"T":{"Type":"Task","End":true}}}`, `field "Resource" is required`},
		{"lambda:invoke without Parameters", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}`, `field "Parameters" is required`},
		{"lambda:invoke without FunctionName", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"Payload":{}},"End":true}}}`, `field "Parameters.FunctionName" is required`},
		{"lambda:invoke with a FunctionName that is not a string", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":7},"End":true}}}`, `field "Parameters.FunctionName" must be a function name or ARN`},
		{"lambda:invoke with an unknown parameter", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Paylaod":{}},"End":true}}}`, `field "Parameters.Paylaod" is not a parameter of lambda:invoke`},
		{"waitForTaskToken without the token", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","Payload":{}},"End":true}}}`, `must pass $$.Task.Token`},
		{"TimeoutSeconds not positive", taskMachine(`"TimeoutSeconds":0`), `field "TimeoutSeconds" must be an integer from 1`},
		{"TimeoutSeconds and TimeoutSecondsPath", taskMachine(`"TimeoutSeconds":5,"TimeoutSecondsPath":"$.t"`), `field "TimeoutSecondsPath" cannot be used with TimeoutSeconds`},
		{"HeartbeatSeconds not below TimeoutSeconds", taskMachine(`"TimeoutSeconds":5,"HeartbeatSeconds":5`), `must be smaller than TimeoutSeconds`},
		{"States.ALL not alone", taskMachine(`"Retry":[{"ErrorEquals":["States.ALL","E"]}]`), `field "Retry[0].ErrorEquals" has States.ALL, which must appear alone and in the last element`},
		{"States.ALL not last", taskMachine(`"Catch":[{"ErrorEquals":["States.ALL"],"Next":"T"},{"ErrorEquals":["E"],"Next":"T"}]`), `field "Catch[0].ErrorEquals" has States.ALL`},
		{"empty ErrorEquals", taskMachine(`"Retry":[{"ErrorEquals":[]}]`), `field "Retry[0].ErrorEquals" must be a non-empty array`},
		{"BackoffRate below 1", taskMachine(`"Retry":[{"ErrorEquals":["E"],"BackoffRate":0.5}]`), `field "Retry[0].BackoffRate" must be a number of at least 1.0`},
		{"IntervalSeconds not an integer", taskMachine(`"Retry":[{"ErrorEquals":["E"],"IntervalSeconds":1.5}]`), `field "Retry[0].IntervalSeconds" must be an integer`},
		{"MaxAttempts negative", taskMachine(`"Retry":[{"ErrorEquals":["E"],"MaxAttempts":-1}]`), `field "Retry[0].MaxAttempts" must be an integer from 0`},
		{"MaxDelaySeconds zero", taskMachine(`"Retry":[{"ErrorEquals":["E"],"MaxDelaySeconds":0}]`), `field "Retry[0].MaxDelaySeconds"`},
		{"a bad JitterStrategy", taskMachine(`"Retry":[{"ErrorEquals":["E"],"JitterStrategy":"HALF"}]`), `field "Retry[0].JitterStrategy" must be "FULL" or "NONE"`},
		{"an unknown retrier field", taskMachine(`"Retry":[{"ErrorEquals":["E"],"Interval":1}]`), `field "Retry[0].Interval" is not a valid field of a retrier`},
		{"Catch without Next", taskMachine(`"Catch":[{"ErrorEquals":["E"]}]`), `field "Catch[0].Next" is required`},
		{"Catch ResultPath to the context", taskMachine(`"Catch":[{"ErrorEquals":["E"],"Next":"T","ResultPath":"$$.x"}]`), `field "Catch[0].ResultPath" is invalid`},
		{"ResultPath into the context object", passMachine(`"ResultPath":"$$.State"`), `field "ResultPath" is invalid: path "$$.State": the context object ($$) cannot be used here`},
		{"a path without $", passMachine(`"InputPath":"a.b"`), `path "a.b" must start with $`},
		{"a .$ field that is not a string", passMachine(`"Parameters":{"x.$":1}`), `field "x.$" must be a string`},
		{"a .$ field clashing with another", passMachine(`"Parameters":{"x":1,"x.$":"$.x"}`), `fields "x" and "x.$" both produce "x"`},
		{"Wait without a time", `{"StartAt":"W","States":{"W":{"Type":"Wait","End":true}}}`, `needs exactly one of Seconds, Timestamp, SecondsPath or TimestampPath`},
		{"Wait with two times", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true}}}`, `needs exactly one of`},
		{"Wait with a bad Timestamp", `{"StartAt":"W","States":{"W":{"Type":"Wait","Timestamp":"2016-03-14 01:59:00","End":true}}}`, `field "Timestamp" must be a timestamp`},
		{"Fail with Error and ErrorPath", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","ErrorPath":"$.e"}}}`, `field "ErrorPath" cannot be used with Error`},
		{"Map without ItemProcessor", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true}}}`, `state "M": field "ItemProcessor" is required`},
		{"Map with both Iterator and ItemProcessor", `{"StartAt":"M","States":{"M":{"Type":"Map","Iterator":{},"ItemProcessor":{},"End":true}}}`, `field "Iterator" cannot be used with ItemProcessor`},
		{"Map with both Parameters and ItemSelector", `{"StartAt":"M","States":{"M":{"Type":"Map","Parameters":{},"ItemSelector":{},"ItemProcessor":{},"End":true}}}`, `field "Parameters" cannot be used with ItemSelector`},
		{"an ItemProcessor without StartAt", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`, `state "M": field "ItemProcessor.StartAt" is required`},
		{"a negative MaxConcurrency", `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":-1,"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`, `field "MaxConcurrency" must be a non-negative integer`},
		{"Parallel without Branches", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[],"End":true}}}`, `field "Branches" is required`},
		{"a bad branch", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"X","States":{"Y":{"Type":"Pass","End":true}}}],"End":true}}}`, `state "P": field "Branches[0].StartAt" names state "X"`},
		{"a bad state in a branch", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","Bogus":1,"End":true}}}],"End":true}}}`, `state "X": field "Bogus" is not a valid field`},
		{"a Version other than 1.0", `{"Version":"2.0","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, `field "Version" must be "1.0"`},
		{"an unknown top-level field", `{"Strat":"P","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, `field "Strat" is not a valid field of the definition's top level`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.def))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %s", err, tc.want)
			}
		})
	}
}

// TestValidDefinitions are accepted, with the fields the executor checks
// and otherwise ignores.
func TestValidDefinitions(t *testing.T) {
	defs := []string{
		`{"Comment":"c","Version":"1.0","TimeoutSeconds":60,"QueryLanguage":"JSONPath","StartAt":"P","States":{"P":{"Type":"Pass","Comment":"c","QueryLanguage":"JSONPath","End":true}}}`,
		taskMachine(`"HeartbeatSeconds":10,"TimeoutSeconds":60`),
		taskMachine(`"HeartbeatSecondsPath":"$.hb"`),
		`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws-cn:states:::lambda:invoke","Parameters":{"FunctionName":"f","InvocationType":"RequestResponse","Qualifier":"1","LogType":"None"},"End":true}}}`,
		`{"StartAt":"S","States":{"S":{"Type":"Succeed","InputPath":"$.a","OutputPath":null}}}`,
		`{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('{}', $.c)"}}}`,
		`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Comment":"loop","Variable":"$.a","IsNull":false,"Next":"C"}]}}}`,
	}
	for _, def := range defs {
		if _, err := Parse([]byte(def)); err != nil {
			t.Errorf("%s: %v", def, err)
		}
	}
}
