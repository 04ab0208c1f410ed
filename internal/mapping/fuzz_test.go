package mapping

import (
	"errors"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, must explain
// every failure, and whatever it accepts must be valid and survive being
// written out and read back unchanged. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			var cerr *Error
			if c != nil || !errors.As(err, &cerr) || len(cerr.Problems) == 0 {
				t.Fatalf("Parse = %v, %v; want nil and an *Error with problems", c, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a Config that does not validate: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("yaml.Marshal: %v", err)
		}
		again, err := Parse("marshalled.yaml", out)
		if err != nil {
			t.Fatalf("Parse(yaml.Marshal(result)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("Parse(yaml.Marshal(result)) differs from result:\n%s", out)
		}
	})
}
