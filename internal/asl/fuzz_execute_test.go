package asl

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzExecute runs small fixed definitions on fuzzed data: a reference
// ("v.$": a path, a context path or an intrinsic function call) evaluated
// on a fuzzed input, and the same input through a Pass state's InputPath,
// ResultPath and OutputPath, a Choice rule on a fuzzed Variable and a
// Task's ResultSelector on a fuzzed task result. Where FuzzParse varies
// the definition, this varies what the definition is applied to. Every
// execution must end in JSON output or an *ExecutionFailedError whose name
// is one of the executor's States.* errors, never a panic or another error.
func FuzzExecute(f *testing.F) {
	type seed struct{ ref, path, input string }
	for _, s := range []seed{
		{"$.a", "$.b", `{"a":1,"b":{"c":[1,2]}}`},
		{"$['a b'][0].c", "$.x.y", `{"a b":[{"c":true}]}`},
		{"$.items[*].id", "$.items[1]", `{"items":[{"id":1},{"id":2}]}`},
		{"$$.Execution.Input.a", "$", `{"a":"x"}`},
		{"$$.State.Name", "$.a", `{}`},
		{"States.Format('{} and {}', $.a, $.b)", "$.b", `{"a":"x","b":[1,{"c":null}]}`},
		{"States.StringToJson($.s)", "$.s", `{"s":"{\"k\":[1,2.5e3]}"}`},
		{"States.JsonToString($)", "$", `{"a":[1,2],"b":"\u00e9"}`},
		{"States.Array($.a, 'x', 1.5, true, null)", "$.a", `{"a":0}`},
		{"States.ArrayPartition($.a, 2)", "$.a[0]", `{"a":[1,2,3,4,5]}`},
		{"States.ArrayContains($.a, $.b)", "$.b", `{"a":[{"x":1}],"b":{"x":1.0}}`},
		{"States.ArrayRange(1, 9, 2)", "$", `{}`},
		{"States.ArrayGetItem($.a, $.i)", "$.i", `{"a":[1,2,3],"i":2}`},
		{"States.ArrayLength($.a)", "$.a", `{"a":[]}`},
		{"States.ArrayUnique($.a)", "$.a", `{"a":[1,1.0,"1",null,null,{"a":1},{"a":1}]}`},
		{"States.Base64Encode($.s)", "$.s", `{"s":"hello"}`},
		{"States.Base64Decode($.s)", "$.s", `{"s":"aGVsbG8="}`},
		{"States.Hash($.s, 'SHA-256')", "$.s", `{"s":"x"}`},
		{"States.JsonMerge($.a, $.b, false)", "$.a", `{"a":{"x":1,"y":{"z":1}},"b":{"y":{"w":2}}}`},
		{"States.MathRandom(1, 10, 7)", "$", `{}`},
		{"States.MathAdd($.n, -1)", "$.n", `{"n":2147483647}`},
		{"States.StringSplit($.s, ', ')", "$.s", `{"s":"a, b,,c"}`},
		{"States.UUID()", "$", `{}`},
		{"States.ArrayGetItem(States.StringSplit($.b, ','), 0)", "$.b", `{"b":"y,z"}`},
	} {
		f.Add(s.ref, s.path, []byte(s.input))
	}
	handler := func(out json.RawMessage) Handler {
		return func(context.Context, json.RawMessage) (json.RawMessage, error) { return out, nil }
	}
	f.Fuzz(func(t *testing.T, ref, path string, input []byte) {
		rj, _ := json.Marshal(ref)
		pj, _ := json.Marshal(path)
		defs := []string{
			passMachine(`"Parameters":{"v.$":` + string(rj) + `}`),
			passMachine(`"InputPath":` + string(pj) + `,"ResultPath":` + string(pj) + `,"OutputPath":` + string(pj)),
			passMachine(`"Result":{"r":1},"ResultPath":` + string(pj)),
			`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":` + string(pj) + `,"IsPresent":true,"Next":"Y"},` +
				`{"Variable":` + string(pj) + `,"StringMatches":"*a*","Next":"Y"}],"Default":"N"},` +
				`"Y":{"Type":"Pass","End":true},"N":{"Type":"Pass","End":true}}}`,
			taskMachine(`"ResultSelector":{"v.$":` + string(rj) + `},"ResultPath":"$.out"`),
		}
		for i, def := range defs {
			m, err := Parse([]byte(def))
			if err != nil {
				continue // the reference or the path does not parse: FuzzParse's ground
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			opts, _ := withClock(Options{
				Name:     "fuzz",
				Handlers: map[string]Handler{"fn": handler(json.RawMessage(input))},
				Random:   func() float64 { return 0.5 },
			})
			out, err := m.Execute(ctx, json.RawMessage(input), opts)
			cancel()
			var ef *ExecutionFailedError
			switch {
			case err == nil:
				if !json.Valid(out) {
					t.Fatalf("definition %d: output is not JSON: %q", i, out)
				}
				if len(out) > MaxPayloadBytes {
					t.Fatalf("definition %d: output of %d bytes, over the payload limit", i, len(out))
				}
			case errors.As(err, &ef):
				if !strings.HasPrefix(ef.Name, "States.") {
					t.Fatalf("definition %d: failed with %q: %v", i, ef.Name, err)
				}
			case !json.Valid(input) || len(input) > MaxPayloadBytes:
				// refused before it started
			default:
				t.Fatalf("definition %d on %q: %v", i, input, err)
			}
		}
	})
}
