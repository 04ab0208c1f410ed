package asl

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestInputOutputProcessing runs the InputPath, Parameters, ResultSelector,
// ResultPath and OutputPath examples of the Step Functions documentation
// through a Task state whose function returns a fixed result.
func TestInputOutputProcessing(t *testing.T) {
	const helloInput = `{
	  "comment": "This is a test of the input and output of a Task state.",
	  "details": "Default example",
	  "who": "AWS Step Functions"
	}`
	tests := []struct {
		name, fields, input, result, want string
	}{
		// https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-input-output-processing.html
		{
			name:   "numbers to add, ResultPath $.sum",
			fields: `"InputPath":"$.numbers","ResultPath":"$.sum","OutputPath":"$"`,
			input:  `{"title":"Numbers to add","numbers":{"val1":3,"val2":4}}`,
			result: `7`,
			want:   `{"title":"Numbers to add","numbers":{"val1":3,"val2":4},"sum":7}`,
		},
		{
			name:   "numbers to add, OutputPath $.sum",
			fields: `"InputPath":"$.numbers","ResultPath":"$.sum","OutputPath":"$.sum"`,
			input:  `{"numbers":{"val1":3,"val2":4}}`,
			result: `7`,
			want:   `7`,
		},
		// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html
		{
			name:   "ResultPath $ replaces the input",
			fields: `"ResultPath":"$"`,
			input:  helloInput,
			result: `"Hello, AWS Step Functions!"`,
			want:   `"Hello, AWS Step Functions!"`,
		},
		{
			name:   "no ResultPath replaces the input",
			input:  helloInput,
			result: `"Hello, AWS Step Functions!"`,
			want:   `"Hello, AWS Step Functions!"`,
		},
		{
			name:   "ResultPath null discards the result",
			fields: `"ResultPath":null`,
			input:  helloInput,
			result: `"Hello, AWS Step Functions!"`,
			want:   helloInput,
		},
		{
			name:   "ResultPath includes the result with the input",
			fields: `"ResultPath":"$.taskresult"`,
			input:  helloInput,
			result: `"Hello, AWS Step Functions!"`,
			want: `{"comment":"This is a test of the input and output of a Task state.","details":"Default example",
			        "who":"AWS Step Functions","taskresult":"Hello, AWS Step Functions!"}`,
		},
		{
			name:   "ResultPath into a child node",
			fields: `"ResultPath":"$.strings.lambdaresult"`,
			input:  `{"comment":"An input comment.","strings":{"string1":"foo","string2":"bar","string3":"baz"},"who":"AWS Step Functions"}`,
			result: `"Hello, AWS Step Functions!"`,
			want: `{"comment":"An input comment.","strings":{"string1":"foo","string2":"bar","string3":"baz",
			        "lambdaresult":"Hello, AWS Step Functions!"},"who":"AWS Step Functions"}`,
		},
		{
			name:   "ResultPath updates a node",
			fields: `"ResultPath":"$.comment"`,
			input:  helloInput,
			result: `"Hello, AWS Step Functions!"`,
			want:   `{"comment":"Hello, AWS Step Functions!","details":"Default example","who":"AWS Step Functions"}`,
		},
		{
			name:   "ResultPath creates the missing objects on its way",
			fields: `"ResultPath":"$.a.b.c"`,
			input:  `{"x":1}`,
			result: `{"ok":true}`,
			want:   `{"x":1,"a":{"b":{"c":{"ok":true}}}}`,
		},
		{
			name:   "ResultPath into an array element",
			fields: `"ResultPath":"$.list[1].r"`,
			input:  `{"list":[{"n":0},{"n":1}]}`,
			result: `"R"`,
			want:   `{"list":[{"n":0},{"n":1,"r":"R"}]}`,
		},
		{
			name:   "ResultPath with a bracket field name",
			fields: `"ResultPath":"$['a key']"`,
			input:  `{}`,
			result: `1`,
			want:   `{"a key":1}`,
		},
		{
			name:   "InputPath null gives the task {}",
			fields: `"InputPath":null,"ResultPath":"$.got"`,
			input:  `{"a":1}`,
			result: `null`, // the function echoes
			want:   `{"a":1,"got":{}}`,
		},
		{
			name:   "OutputPath null gives {}",
			fields: `"OutputPath":null`,
			input:  `{"a":1}`,
			result: `2`,
			want:   `{}`,
		},
		// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
		{
			name:   "InputPath selects a dataset",
			fields: `"InputPath":"$.dataset2","ResultPath":"$"`,
			input:  `{"comment":"Example for InputPath.","dataset1":{"val1":1,"val2":2,"val3":3},"dataset2":{"val1":"a","val2":"b","val3":"c"}}`,
			result: `null`, // the function echoes
			want:   `{"val1":"a","val2":"b","val3":"c"}`,
		},
		{
			name: "Parameters select what I care about",
			fields: `"Parameters":{"comment":"Selecting what I care about.",
			          "MyDetails":{"size.$":"$.product.details.size","exists.$":"$.product.availability","StaticValue":"foo"}}`,
			input: `{"comment":"Example for Parameters.","product":{"details":{"color":"blue","size":"small","material":"cotton"},
			         "availability":"in stock","sku":"2317","cost":"$23"}}`,
			result: `null`,
			want:   `{"comment":"Selecting what I care about.","MyDetails":{"size":"small","exists":"in stock","StaticValue":"foo"}}`,
		},
		{
			name: "ResultSelector picks from the result, ResultPath places it",
			fields: `"ResultSelector":{"ClusterId.$":"$.output.ClusterId","ResourceType.$":"$.resourceType","static":"s"},
			          "ResultPath":"$.EMROutput"`,
			input: `{"cluster":"c"}`,
			result: `{"resourceType":"elasticmapreduce","resource":"createCluster.sync",
			          "output":{"SdkHttpMetadata":{"HttpStatusCode":200},"ClusterId":"AKIAIOSFODNN7EXAMPLE"}}`,
			want: `{"cluster":"c","EMROutput":{"ClusterId":"AKIAIOSFODNN7EXAMPLE","ResourceType":"elasticmapreduce","static":"s"}}`,
		},
		{
			name:   "Parameters arrays are walked for paths",
			fields: `"Parameters":{"list":[{"v.$":"$.a"},"lit",["x",{"w.$":"$.b"}]]}`,
			input:  `{"a":1,"b":2}`,
			result: `null`,
			want:   `{"list":[{"v":1},"lit",["x",{"w":2}]]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := returns(tc.result)
			if tc.result == "null" {
				h = echo
			}
			out := mustRun(t, taskMachine(tc.fields), tc.input, Options{Handlers: map[string]Handler{"fn": h}})
			assertJSON(t, out, tc.want)
		})
	}
}

// TestPassState covers Result, Parameters and the paths on a Pass state.
// https://docs.aws.amazon.com/step-functions/latest/dg/state-pass.html
func TestPassState(t *testing.T) {
	tests := []struct{ name, fields, input, want string }{
		{"passes its input", `"Comment":"nothing"`, `{"a":1}`, `{"a":1}`},
		{"Result at ResultPath", `"Result":{"x-datum":0.381018,"y-datum":622.2269926397355},"ResultPath":"$.coords"`,
			`{"georefOf":"Home"}`, `{"georefOf":"Home","coords":{"x-datum":0.381018,"y-datum":622.2269926397355}}`},
		{"Result replaces Parameters", `"Parameters":{"p":1},"Result":"r"`, `{}`, `"r"`},
		{"Parameters become the result", `"Parameters":{"p.$":"$.a"},"ResultPath":"$.params"`, `{"a":[1]}`, `{"a":[1],"params":{"p":[1]}}`},
		{"InputPath then OutputPath", `"InputPath":"$.in","OutputPath":"$.k"`, `{"in":{"k":"v"}}`, `"v"`},
		{"array index", `"InputPath":"$.list[2]"`, `{"list":[1,2,{"third":3}]}`, `{"third":3}`},
		{"large numbers keep their digits", `"InputPath":"$.n"`, `{"n":12345678901234567890}`, `12345678901234567890`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertJSON(t, mustRun(t, passMachine(tc.fields), tc.input, Options{}), tc.want)
		})
	}
}

// TestOutputKeepsKeyOrder checks that objects keep the order they were
// read or built in, as Step Functions' output does.
func TestOutputKeepsKeyOrder(t *testing.T) {
	out := mustRun(t, passMachine(`"Parameters":{"z":1,"a.$":"$.m","m":{"y":1,"b":2}},"ResultPath":"$.r"`), `{"q":1,"c":2,"m":"x"}`, Options{})
	const want = `{"q":1,"c":2,"m":"x","r":{"z":1,"a":"x","m":{"y":1,"b":2}}}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

// TestContextObject reads the context object from Parameters.
// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html
func TestContextObject(t *testing.T) {
	def := passMachine(`"Parameters":{
		"id.$":"$$.Execution.Id","name.$":"$$.Execution.Name","input.$":"$$.Execution.Input",
		"start.$":"$$.Execution.StartTime","state.$":"$$.State.Name","entered.$":"$$.State.EnteredTime",
		"retries.$":"$$.State.RetryCount","machine.$":"$$.StateMachine.Name"}`)
	out := mustRun(t, def, `{"k":"v"}`, Options{Name: "exec-1", StateMachineName: "conveyor"})
	assertJSON(t, out, `{
		"id":"arn:aws:states:local:000000000000:execution:conveyor:exec-1","name":"exec-1","input":{"k":"v"},
		"start":"2026-03-14T01:59:00.000Z","state":"P","entered":"2026-03-14T01:59:00.000Z",
		"retries":0,"machine":"conveyor"}`)
}

func TestRuntimeErrors(t *testing.T) {
	tests := []struct{ name, def, input, cause string }{
		{"InputPath names nothing", passMachine(`"InputPath":"$.missing"`), `{}`, `InputPath "$.missing" names nothing`},
		{"OutputPath names nothing", passMachine(`"OutputPath":"$.missing"`), `{}`, `OutputPath "$.missing" names nothing`},
		{"Parameters path names nothing", passMachine(`"Parameters":{"x.$":"$.missing"}`), `{}`, `field "x.$": the JSONPath "$.missing" could not be found in the input`},
		{"ResultPath through a string", passMachine(`"Result":1,"ResultPath":"$.s.x"`), `{"s":"str"}`, `cannot be added to a string`},
		{"ResultPath into a non-object input", passMachine(`"Result":1,"ResultPath":"$.x"`), `[1]`, `ResultPath "$.x" cannot be applied`},
		{"intrinsic on the wrong type", passMachine(`"Parameters":{"n.$":"States.ArrayLength($.s)"}`), `{"s":"str"}`, `States.ArrayLength: the argument must be an array, not a string`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, tc.def, tc.input, Options{})
			ef := assertFailed(t, err, ErrRuntime, tc.cause)
			if ef.State != "P" {
				t.Errorf("State = %q, want P", ef.State)
			}
		})
	}
}

func TestExecutionInput(t *testing.T) {
	m := mustParse(t, passMachine(`"Comment":"c"`))
	ctx := context.Background()
	out, err := m.Execute(ctx, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, out, `{}`)
	if _, err := m.Execute(ctx, json.RawMessage(`{"a":`), Options{}); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("bad input: err = %v", err)
	}
	if _, err := m.Execute(ctx, json.RawMessage(`{} {}`), Options{}); err == nil {
		t.Error("two values: no error")
	}
}
