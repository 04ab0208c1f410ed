package asl

import (
	"encoding/json"
	"strings"
	"testing"
)

// choiceMachine routes to Yes when rule matches, else to No.
func choiceMachine(rule string) string {
	return `{"StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[` + rule + `],"Default":"No"},
		"Yes":{"Type":"Pass","Result":"yes","End":true},
		"No":{"Type":"Pass","Result":"no","End":true}}}`
}

func TestChoiceOperators(t *testing.T) {
	const input = `{"s":"beta","n":22,"f":1.5,"b":true,"t":"2016-08-18T17:33:00Z","t2":"2016-08-18T18:33:00+01:00",
		"z":null,"other":"alpha","on":10,"ob":true,"ot":"2016-08-18T17:33:00Z","list":[1],"file":"log-2026.txt","star":"a*b"}`
	tests := []struct {
		rule string
		want bool
	}{
		{`"Variable":"$.s","StringEquals":"beta"`, true},
		{`"Variable":"$.s","StringEquals":"Beta"`, false},
		{`"Variable":"$.n","StringEquals":"22"`, false}, // no match across types
		{`"Variable":"$.s","StringLessThan":"gamma"`, true},
		{`"Variable":"$.s","StringGreaterThan":"alpha"`, true},
		{`"Variable":"$.s","StringLessThanEquals":"beta"`, true},
		{`"Variable":"$.s","StringGreaterThanEquals":"c"`, false},
		{`"Variable":"$.s","StringEqualsPath":"$.other"`, false},
		{`"Variable":"$.s","StringGreaterThanPath":"$.other"`, true},
		{`"Variable":"$.file","StringMatches":"log-*.txt"`, true},
		{`"Variable":"$.file","StringMatches":"log-*.csv"`, false},
		{`"Variable":"$.file","StringMatches":"*"`, true},
		{`"Variable":"$.file","StringMatches":"l*2*6*t"`, true},
		{`"Variable":"$.star","StringMatches":"a\\*b"`, true},
		{`"Variable":"$.file","StringMatches":"a\\*b"`, false},
		{`"Variable":"$.n","NumericEquals":22`, true},
		{`"Variable":"$.n","NumericEquals":22.0`, true},
		{`"Variable":"$.s","NumericEquals":22`, false},
		{`"Variable":"$.n","NumericLessThan":30`, true},
		{`"Variable":"$.n","NumericGreaterThan":30`, false},
		{`"Variable":"$.f","NumericLessThanEquals":1.5`, true},
		{`"Variable":"$.f","NumericGreaterThanEquals":1.6`, false},
		{`"Variable":"$.n","NumericGreaterThanPath":"$.on"`, true},
		{`"Variable":"$.n","NumericEqualsPath":"$.s"`, false}, // the other value is not a number
		{`"Variable":"$.b","BooleanEquals":true`, true},
		{`"Variable":"$.s","BooleanEquals":true`, false},
		{`"Variable":"$.b","BooleanEqualsPath":"$.ob"`, true},
		{`"Variable":"$.t","TimestampEquals":"2016-08-18T17:33:00Z"`, true},
		{`"Variable":"$.t2","TimestampEquals":"2016-08-18T17:33:00Z"`, true}, // same instant
		{`"Variable":"$.t","TimestampLessThan":"2016-08-18T17:33:01Z"`, true},
		{`"Variable":"$.t","TimestampGreaterThan":"2016-08-18T17:33:01Z"`, false},
		{`"Variable":"$.t","TimestampLessThanEquals":"2016-08-18T17:33:00Z"`, true},
		{`"Variable":"$.t","TimestampGreaterThanEquals":"2017-01-01T00:00:00Z"`, false},
		{`"Variable":"$.s","TimestampEquals":"2016-08-18T17:33:00Z"`, false}, // not a timestamp
		{`"Variable":"$.t","TimestampEqualsPath":"$.ot"`, true},
		{`"Variable":"$.t2","TimestampGreaterThanPath":"$.ot"`, false},
		{`"Variable":"$.z","IsNull":true`, true},
		{`"Variable":"$.s","IsNull":true`, false},
		{`"Variable":"$.s","IsPresent":true`, true},
		{`"Variable":"$.nope","IsPresent":false`, true},
		{`"Variable":"$.nope","IsPresent":true`, false},
		{`"Variable":"$.f","IsNumeric":true`, true},
		{`"Variable":"$.s","IsNumeric":false`, true},
		{`"Variable":"$.s","IsString":true`, true},
		{`"Variable":"$.b","IsBoolean":true`, true},
		{`"Variable":"$.t","IsTimestamp":true`, true},
		{`"Variable":"$.s","IsTimestamp":true`, false},
		{`"Variable":"$.list[0]","NumericEquals":1`, true},
		{`"Variable":"$$.State.Name","StringEquals":"C"`, true},
		{`"And":[{"Variable":"$.n","NumericGreaterThanEquals":20},{"Variable":"$.n","NumericLessThan":30}]`, true},
		{`"And":[{"Variable":"$.n","NumericGreaterThanEquals":20},{"Variable":"$.n","NumericLessThan":21}]`, false},
		{`"Or":[{"Variable":"$.n","NumericEquals":1},{"Variable":"$.s","StringEquals":"beta"}]`, true},
		{`"Or":[{"Variable":"$.n","NumericEquals":1},{"Variable":"$.s","StringEquals":"x"}]`, false},
		{`"Not":{"Variable":"$.s","StringEquals":"beta"}`, false},
		{`"Not":{"And":[{"Variable":"$.nope","IsPresent":true},{"Variable":"$.nope","IsNull":true}]}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			out := mustRun(t, choiceMachine(`{`+tc.rule+`,"Next":"Yes"}`), input, Options{})
			want := map[bool]string{true: `"yes"`, false: `"no"`}[tc.want]
			assertJSON(t, out, want)
		})
	}
}

// TestChoiceDocumentationExample is the Choice state example of
// https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
func TestChoiceDocumentationExample(t *testing.T) {
	def := `{"StartAt":"ChoiceStateX","States":{
	  "ChoiceStateX": {"Type": "Choice", "Choices": [
	      {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
	      {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
	      {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20}, {"Variable": "$.value", "NumericLessThan": 30}],
	       "Next": "ValueInTwenties"}],
	    "Default": "DefaultState"},
	  "Public": {"Type": "Pass", "Result": "Public", "End": true},
	  "ValueIsZero": {"Type": "Pass", "Result": "ValueIsZero", "End": true},
	  "ValueInTwenties": {"Type": "Pass", "Result": "ValueInTwenties", "End": true},
	  "DefaultState": {"Type": "Fail", "Cause": "No Matches!"}}}`
	for input, want := range map[string]string{
		`{"type":"Private","value":22}`: `"ValueInTwenties"`,
		`{"type":"Public","value":22}`:  `"Public"`,
		`{"type":"Private","value":0}`:  `"ValueIsZero"`,
	} {
		assertJSON(t, mustRun(t, def, input, Options{}), want)
	}
	_, err := run(t, def, `{"type":"Private","value":50}`, Options{})
	ef := assertFailed(t, err, "", "No Matches!")
	if ef.State != "DefaultState" {
		t.Errorf("State = %q", ef.State)
	}
	// "If the state input doesn't contain the $.type field, the execution fails."
	_, err = run(t, def, `{"value":22}`, Options{})
	assertFailed(t, err, ErrRuntime, `invalid path "$.type"`)
}

func TestChoiceOutputAndNoMatch(t *testing.T) {
	def := `{"StartAt":"C","States":{
		"C":{"Type":"Choice","InputPath":"$.in","OutputPath":"$.keep","Choices":[{"Variable":"$.go","BooleanEquals":true,"Next":"End"}]},
		"End":{"Type":"Succeed"}}}`
	assertJSON(t, mustRun(t, def, `{"in":{"go":true,"keep":{"k":1}}}`, Options{}), `{"k":1}`)
	_, err := run(t, def, `{"in":{"go":false}}`, Options{})
	assertFailed(t, err, ErrNoChoiceMatched, "no choice rule matched")
}

// TestNoChoiceMatchedIsNotCaught: like Step Functions (where the error is
// reported as States.Runtime), a Map's States.ALL catcher does not catch it.
func TestNoChoiceMatchedIsNotCaught(t *testing.T) {
	def := `{"StartAt":"M","States":{
		"M":{"Type":"Map","ItemProcessor":{"StartAt":"C","States":{
			"C":{"Type":"Choice","Choices":[{"Variable":"$","NumericEquals":1,"Next":"S"}]},
			"S":{"Type":"Succeed"}}},
		  "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true},
		"Caught":{"Type":"Succeed"}}}`
	_, err := run(t, def, `[1,2]`, Options{})
	assertFailed(t, err, ErrNoChoiceMatched, "")
}

func TestChoiceRuleErrors(t *testing.T) {
	tests := []struct{ rule, msg string }{
		{`{"Variable":"$.a","StringEquals":1,"Next":"Yes"}`, `"StringEquals" must be a string`},
		{`{"Variable":"$.a","NumericEquals":"1","Next":"Yes"}`, `"NumericEquals" must be a number`},
		{`{"Variable":"$.a","TimestampEquals":"2016-08-18 17:33:00","Next":"Yes"}`, `must be a timestamp`},
		{`{"Variable":"$.a","BooleanEquals":"true","Next":"Yes"}`, `must be true or false`},
		{`{"Variable":"$.a","StringMatches":"a\\b","Next":"Yes"}`, `only \* and \\ may be escaped`},
		{`{"Variable":"$.a","Next":"Yes"}`, `needs a comparison operator`},
		{`{"Variable":"$.a","StringEquals":"x","NumericEquals":1,"Next":"Yes"}`, `has one operator`},
		{`{"Variable":"$.a","StringEquals":"x"}`, `needs "Next"`},
		{`{"And":[{"Variable":"$.a","StringEquals":"x","Next":"Yes"}],"Next":"Yes"}`, `must not have "Next"`},
		{`{"And":[],"Next":"Yes"}`, `non-empty array`},
		{`{"StringEquals":"x","Next":"Yes"}`, `needs "Variable"`},
		{`{"Variable":"$.a[?(@.x)]","StringEquals":"x","Next":"Yes"}`, `filter expression`},
		{`{"Condition":"{% true %}","Next":"Yes"}`, `"Condition" in a choice rule is not supported by the embedded executor`},
		{`{"Variable":"$.a","StringEquals":"x","Next":"Nowhere"}`, `field "Choices[0].Next" names state "Nowhere", which does not exist`},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			_, err := Parse([]byte(choiceMachine(tc.rule)))
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.msg)
			}
			if !strings.Contains(err.Error(), `state "C"`) {
				t.Errorf("err = %v does not name the state", err)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"a*", "a", true},
		{"*a", "ba", true},
		{"*a*", "bab", true},
		{"a*a", "a", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{`\\`, `\`, true},
		{`\*`, `*`, true},
		{`\*`, `x`, false},
	}
	for _, tc := range tests {
		g, err := compileGlob(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.match(tc.s); got != tc.want {
			b, _ := json.Marshal(g.parts)
			t.Errorf("%q matches %q = %v, want %v (%s)", tc.pattern, tc.s, got, tc.want, b)
		}
	}
}
