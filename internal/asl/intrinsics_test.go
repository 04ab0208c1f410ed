package asl

import (
	"crypto/sha1"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

// TestIntrinsics evaluates each intrinsic function in a Pass state's
// Parameters. The examples are those of
// https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
// unless marked otherwise.
func TestIntrinsics(t *testing.T) {
	sha1Input := sha1.Sum([]byte("input data"))
	tests := []struct {
		name, input, call, want string
	}{
		{"Format with a literal template", `{"name":"Arnav"}`, `States.Format('Hello, my name is {}.', $.name)`, `"Hello, my name is Arnav."`},
		{"Format with a template from the input", `{"name":"Arnav","template":"Hello, my name is {}."}`, `States.Format($.template, $.name)`, `"Hello, my name is Arnav."`},
		{"Format renders numbers, booleans, null", `{"n":1.5,"b":true}`, `States.Format('{} {} {}', $.n, $.b, null)`, `"1.5 true null"`},
		{"Format renders arrays and objects Java-style", `{"o":{"a":1,"b":[1,"x"]}}`, `States.Format('{}', $.o)`, `"{a=1, b=[1, x]}"`},
		{"Format escapes", `{}`, `States.Format('it\'s \{\} {} \\', 'x')`, `"it's {} x \\"`},
		{"StringToJson", `{"escapedJsonString":"{\"foo\": \"bar\"}"}`, `States.StringToJson($.escapedJsonString)`, `{"foo":"bar"}`},
		{"JsonToString", `{"unescapedJson":{"foo":"bar"}}`, `States.JsonToString($.unescapedJson)`, `"{\"foo\":\"bar\"}"`},
		{"Array", `{"Id":123456}`, `States.Array($.Id)`, `[123456]`},
		{"Array of several and none", `{"a":"x"}`, `States.Array($.a, 1, true, States.Array())`, `["x",1,true,[]]`},
		{"ArrayPartition", `{"inputArray":[1,2,3,4,5,6,7,8,9]}`, `States.ArrayPartition($.inputArray,4)`, `[[1,2,3,4],[5,6,7,8],[9]]`},
		{"ArrayContains", `{"inputArray":[1,2,3,4,5,6,7,8,9],"lookingFor":5}`, `States.ArrayContains($.inputArray, $.lookingFor)`, `true`},
		{"ArrayContains an object", `{"a":[{"k":1}],"o":{"k":1.0}}`, `States.ArrayContains($.a, $.o)`, `true`},
		{"ArrayContains not", `{"a":[1,2]}`, `States.ArrayContains($.a, 'x')`, `false`},
		{"ArrayRange", `{}`, `States.ArrayRange(1, 9, 2)`, `[1,3,5,7,9]`},
		{"ArrayRange downwards", `{}`, `States.ArrayRange(5, 1, -2)`, `[5,3,1]`},
		{"ArrayGetItem", `{"inputArray":[1,2,3,4,5,6,7,8,9],"index":5}`, `States.ArrayGetItem($.inputArray, $.index)`, `6`},
		{"ArrayLength", `{"inputArray":[1,2,3,4,5,6,7,8,9]}`, `States.ArrayLength($.inputArray)`, `9`},
		{"ArrayUnique", `{"inputArray":[1,2,3,3,3,3,3,3,4]}`, `States.ArrayUnique($.inputArray)`, `[1,2,3,4]`},
		{"ArrayUnique of objects", `{"a":[{"x":1},"s",{"x":1},"s",null,null]}`, `States.ArrayUnique($.a)`, `[{"x":1},"s",null]`},
		{"Base64Encode", `{"input":"Data to encode"}`, `States.Base64Encode($.input)`, `"RGF0YSB0byBlbmNvZGU="`},
		{"Base64Decode", `{"base64":"RGF0YSB0byBlbmNvZGU="}`, `States.Base64Decode($.base64)`, `"Data to encode"`},
		{"Hash SHA-1", `{"Data":"input data","Algorithm":"SHA-1"}`, `States.Hash($.Data, $.Algorithm)`, `"` + hex.EncodeToString(sha1Input[:]) + `"`},
		{"Hash SHA-256 of abc", `{}`, `States.Hash('abc', 'SHA-256')`, `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`},
		{"Hash MD5 of abc", `{}`, `States.Hash('abc', 'MD5')`, `"900150983cd24fb0d6963f7d28e17f72"`},
		{"JsonMerge (shallow)", `{"json1":{"a":{"a1":1,"a2":2},"b":2},"json2":{"a":{"a3":1,"a4":2},"c":3}}`,
			`States.JsonMerge($.json1, $.json2, false)`, `{"a":{"a3":1,"a4":2},"b":2,"c":3}`},
		{"MathAdd", `{"value1":111,"step":-1}`, `States.MathAdd($.value1, $.step)`, `110`},
		{"MathAdd rounds half up", `{}`, `States.MathAdd(1.5, 2.4)`, `4`},
		{"MathRandom with a seed is repeatable", `{}`, `States.Array(States.MathRandom(1, 1000, 7), States.MathRandom(1, 1000, 7))`, ``},
		{"StringSplit", `{"inputString":"1,2,3,4,5","splitter":","}`, `States.StringSplit($.inputString, $.splitter)`, `["1","2","3","4","5"]`},
		{"StringSplit on any of the characters", `{"inputString":"This.is+a,test=string","splitter":".+,="}`,
			`States.StringSplit($.inputString, $.splitter)`, `["This","is","a","test","string"]`},
		{"StringSplit drops empty pieces", `{}`, `States.StringSplit(',a,,b,', ',')`, `["a","b"]`},
		// The page's nine-deep example has three {} for two values; this is
		// it with two.
		{"nested calls", `{"ImageRecipe":{"Arn":"arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/myrecipe/1.0.3"}}`,
			`States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))`,
			`"1.0"`},
		{"context object argument", `{}`, `States.Format('{}/{}', $$.Execution.Name, $$.State.Name)`, `"run/P"`},
		{"bracket path with a comma", `{"a,b":"x"}`, `States.Array($['a,b'])`, `["x"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			def := passMachine(`"Parameters":{"v.$":` + quote(tc.call) + `}`)
			out := mustRun(t, def, tc.input, Options{Name: "run"})
			if tc.want == "" { // MathRandom with a seed: the same number twice
				if !regexp.MustCompile(`^\{"v":\[(\d+),(\d+)\]\}$`).Match(out) {
					t.Fatalf("got %s", out)
				}
				m := regexp.MustCompile(`\d+`).FindAllString(string(out), -1)
				if m[0] != m[1] {
					t.Errorf("seeded MathRandom gave %s then %s", m[0], m[1])
				}
				return
			}
			assertJSON(t, out, `{"v":`+tc.want+`}`)
		})
	}
}

func quote(s string) string { return string(appendString(nil, s)) }

func TestMathRandomAndUUID(t *testing.T) {
	def := passMachine(`"Parameters":{"r.$":"States.MathRandom(10, 12)","u.$":"States.UUID()"}`)
	seen := map[string]bool{}
	for _, f := range []float64{0, 0.49, 0.5, 0.999} {
		out := mustRun(t, def, `{}`, Options{Random: func() float64 { return f }})
		r := regexp.MustCompile(`"r":(\d+)`).FindStringSubmatch(string(out))[1]
		seen[r] = true
		if !regexp.MustCompile(`"u":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"`).Match(out) {
			t.Errorf("UUID: %s", out)
		}
	}
	if !seen["10"] || !seen["11"] || len(seen) != 2 {
		t.Errorf("MathRandom(10, 12) gave %v, want 10 and 11 only (end is exclusive)", seen)
	}
}

func TestIntrinsicRuntimeErrors(t *testing.T) {
	tests := []struct{ call, input, cause string }{
		{`States.ArrayGetItem($.a, 5)`, `{"a":[1]}`, "index 5 is out of range"},
		{`States.ArrayPartition($.a, 0)`, `{"a":[1]}`, "chunk size must be positive"},
		{`States.ArrayRange(1, 2000, 1)`, `{}`, "more than 1000 items"},
		{`States.ArrayRange(1, 2, 0)`, `{}`, "step must not be 0"},
		{`States.StringToJson($.s)`, `{"s":"{nope"}`, "not JSON"},
		{`States.Format($.t, 1)`, `{"t":"no placeholder"}`, "0 {} placeholders but 1 values"},
		{`States.JsonMerge($.a, $.b, $.deep)`, `{"a":{},"b":{},"deep":true}`, "only the shallow merge"},
		{`States.MathAdd($.n, 1)`, `{"n":2147483648}`, "outside"},
		{`States.Hash('x', 'SHA-3')`, `{}`, "algorithm must be one of"},
		{`States.Base64Decode('***')`, `{}`, "not base64"},
		{`States.MathRandom(5, 5)`, `{}`, "must be greater than the start"},
	}
	for _, tc := range tests {
		t.Run(tc.call, func(t *testing.T) {
			_, err := run(t, passMachine(`"Parameters":{"v.$":`+quote(tc.call)+`}`), tc.input, Options{})
			assertFailed(t, err, ErrRuntime, tc.cause)
		})
	}
}

func TestIntrinsicParseErrors(t *testing.T) {
	tests := []struct{ call, msg string }{
		{`States.Nope(1)`, `intrinsic function "States.Nope" is not supported by the embedded executor`},
		{`States.Format('{} {}', 1)`, "2 {} placeholders but 1 values"},
		{`States.Format(1)`, "first argument of States.Format must be a string"},
		{`States.JsonMerge($.a, $.b, true)`, "only the shallow merge"},
		{`States.ArrayLength()`, "States.ArrayLength takes 1 argument, not 0"},
		{`States.MathRandom(1)`, "takes 2 to 3 arguments"},
		{`States.Format('\n')`, `invalid escape`},
		{`States.Format('open`, "unterminated string"},
		{`States.Array(1`, "missing )"},
		{`States.Array(1) extra`, "after the call"},
		{`States.Array($.a[*])`, "the wildcard [*] is not supported"},
		{`States.Array(bogus)`, "unexpected"},
		{`Foo()`, "neither a path"},
		{strings.Repeat("States.Array(", 11) + strings.Repeat(")", 11), "more than 10 nested"},
	}
	for _, tc := range tests {
		t.Run(tc.call, func(t *testing.T) {
			_, err := Parse([]byte(passMachine(`"Parameters":{"v.$":` + quote(tc.call) + `}`)))
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.msg)
			}
			if !strings.Contains(err.Error(), `state "P": field "Parameters"`) {
				t.Errorf("err = %v, want it to name the state and field", err)
			}
		})
	}
	// Ten deep is allowed.
	mustParse(t, passMachine(`"Parameters":{"v.$":`+quote(strings.Repeat("States.Array(", 10)+strings.Repeat(")", 10))+`}`))
}
