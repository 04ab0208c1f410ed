package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// The template is read with goformation's intrinsic processor told not to
// resolve anything (NoProcess): it turns the YAML short forms (!Ref,
// !GetAtt, !Sub, !If …) into their long JSON forms and leaves them there,
// so the tests see {"Ref": "Bucket"} where the template says !Ref Bucket.
// goformation's typed resources are not used: their generated structs lag
// the resource schemas (no LoggingConfig, no RetryPolicy on an
// EventBridgeRule event) and reject unknown properties, and they cannot
// hold an intrinsic where a bool or a number goes.

type obj = map[string]any

var (
	tplOnce sync.Once
	tplData obj
	tplErr  error
)

func template(t *testing.T) obj {
	t.Helper()
	tplOnce.Do(func() {
		data, err := os.ReadFile(filepath.Join(root(t), "template.yaml"))
		if err != nil {
			tplErr = err
			return
		}
		js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
		if err != nil {
			tplErr = fmt.Errorf("template.yaml: %w", err)
			return
		}
		tplErr = json.Unmarshal(js, &tplData)
	})
	if tplErr != nil {
		t.Fatal(tplErr)
	}
	return tplData
}

// resources returns the template's resources of a type, by logical id.
func resources(t *testing.T, typ string) map[string]obj {
	t.Helper()
	out := map[string]obj{}
	for id, r := range asObj(template(t)["Resources"]) {
		if ro := asObj(r); ro["Type"] == typ {
			out[id] = ro
		}
	}
	return out
}

func resource(t *testing.T, id, typ string) obj {
	t.Helper()
	r := asObj(asObj(template(t)["Resources"])[id])
	if r == nil {
		t.Fatalf("template.yaml has no resource %s", id)
	}
	if r["Type"] != typ {
		t.Fatalf("%s is a %v, want %s", id, r["Type"], typ)
	}
	return r
}

func asObj(v any) obj {
	o, _ := v.(map[string]any)
	return o
}

func asList(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case nil:
		return nil
	}
	return []any{v}
}

// get walks a path of object keys; nil when any step is missing.
func get(v any, path ...string) any {
	for _, k := range path {
		o := asObj(v)
		if o == nil {
			return nil
		}
		v = o[k]
	}
	return v
}

func isNoValue(v any) bool { return render(v) == "!Ref AWS::NoValue" }

// branches expands Fn::If: the values v may take, AWS::NoValue left out,
// each with the conditions under which it is taken (a leading "!" for a
// false condition).
type branch struct {
	v    any
	when []string
}

func branches(v any) []branch {
	o := asObj(v)
	if args, ok := o["Fn::If"].([]any); ok && len(o) == 1 && len(args) == 3 {
		cond, _ := args[0].(string)
		var out []branch
		for i, sub := range args[1:] {
			c := cond
			if i == 1 {
				c = "!" + cond
			}
			for _, b := range branches(sub) {
				out = append(out, branch{b.v, append([]string{c}, b.when...)})
			}
		}
		return out
	}
	if isNoValue(v) {
		return nil
	}
	return []branch{{v: v}}
}

// values is every value v may take (see branches).
func values(v any) []any {
	var out []any
	for _, b := range branches(v) {
		out = append(out, b.v)
	}
	return out
}

// render writes a value compactly, intrinsics in their short YAML form:
// "!Ref Bucket", "!GetAtt Bucket.Arn", "!Sub ${Bucket.Arn}/exports/*".
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case obj:
		if len(x) == 1 {
			for k, a := range x {
				switch k {
				case "Ref":
					return "!Ref " + render(a)
				case "Fn::GetAtt":
					if l, ok := a.([]any); ok {
						parts := make([]string, len(l))
						for i, p := range l {
							parts[i] = render(p)
						}
						return "!GetAtt " + strings.Join(parts, ".")
					}
					return "!GetAtt " + render(a)
				case "Fn::Sub":
					if s, ok := a.(string); ok {
						return "!Sub " + s
					}
				}
			}
		}
	}
	data, _ := json.Marshal(v)
	return string(data)
}

func renderAll(v any) []string {
	var out []string
	for _, e := range asList(v) {
		out = append(out, render(e))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestRenderAndBranches(t *testing.T) {
	v := obj{"Fn::If": []any{"C", obj{"Fn::GetAtt": []any{"A", "Arn"}}, obj{"Ref": "AWS::NoValue"}}}
	bs := branches(v)
	if len(bs) != 1 || render(bs[0].v) != "!GetAtt A.Arn" || strings.Join(bs[0].when, ",") != "C" {
		t.Fatalf("branches = %+v", bs)
	}
	if got := render(obj{"Fn::Sub": "${X.Arn}/y"}); got != "!Sub ${X.Arn}/y" {
		t.Fatalf("render = %s", got)
	}
}
