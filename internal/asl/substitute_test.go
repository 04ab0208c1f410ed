package asl

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSubstitute(t *testing.T) {
	def := []byte(`{"a":"${First}","b":"x-${Second}-y","c":"$.path","d":"${First}","e":"${not a name}"}`)
	out, err := Substitute(def, map[string]string{"First": "arn:aws:lambda:eu-west-2:1:function:f", "Second": `q"uote\`, "Unused": "u"})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"a":"arn:aws:lambda:eu-west-2:1:function:f","b":"x-q\"uote\\-y","c":"$.path","d":"arn:aws:lambda:eu-west-2:1:function:f","e":"${not a name}"}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	if !json.Valid(out) {
		t.Error("the result is not JSON")
	}
	_, err = Substitute(def, map[string]string{"First": "f"})
	if err == nil || !strings.Contains(err.Error(), "placeholders with no substitution: ${Second}") {
		t.Errorf("err = %v", err)
	}
	_, err = Substitute([]byte(`"${B}${A}${B}"`), nil)
	if err == nil || !strings.Contains(err.Error(), "${A}, ${B}") {
		t.Errorf("err = %v, want both names, sorted, once", err)
	}
}

func TestExecuteSubstitutions(t *testing.T) {
	m := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"FunctionName":"${Fn}","Payload":{}},"OutputPath":"$.Payload","End":true}}}`)
	opts, _ := withClock(Options{Substitutions: map[string]string{"Fn": "real"}, Handlers: map[string]Handler{"real": returns(`"substituted"`)}})
	out, err := m.Execute(context.Background(), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, out, `"substituted"`)

	opts.Substitutions = map[string]string{"Other": "x"}
	if _, err := m.Execute(context.Background(), nil, opts); err == nil || !strings.Contains(err.Error(), "${Fn}") {
		t.Errorf("an unknown placeholder: err = %v", err)
	}

	// Without Substitutions the placeholder is the function's name.
	opts.Substitutions = nil
	opts.Handlers = map[string]Handler{"${Fn}": returns(`"literal"`)}
	out, err = m.Execute(context.Background(), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, out, `"literal"`)
}

// TestRepositoryDefinitions parses every state machine the project deploys,
// its placeholders filled in, so that a definition the embedded executor
// cannot run is found here rather than at run time.
func TestRepositoryDefinitions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "statemachine", "*.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no statemachine/*.asl.json")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			values := map[string]string{}
			for _, m := range regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`).FindAllSubmatch(data, -1) {
				values[string(m[1])] = "arn:aws:lambda:eu-west-2:123456789012:function:" + string(m[1])
			}
			src, err := Substitute(data, values)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(src); err != nil {
				t.Fatal(err)
			}
		})
	}
}
