package asl

import (
	"strings"
	"testing"
)

// TestPathGet uses the reference path examples of
// https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
func TestPathGet(t *testing.T) {
	doc := mustDecode(t, `{"foo":123,"bar":["a","b","c"],"car":{"cdr":true},"a b":{"c.d":[{"e":1}]},"q'uote":2}`)
	tests := []struct {
		path, want string
		found      bool
	}{
		{"$.foo", `123`, true},
		{"$.bar", `["a","b","c"]`, true},
		{"$.car.cdr", `true`, true},
		{"$", string(encodeJSON(doc)), true},
		{"$.bar[2]", `"c"`, true},
		{"$['a b']['c.d'][0].e", `1`, true},
		{`$["a b"]["c.d"][0]`, `{"e":1}`, true},
		{`$['q\'uote']`, `2`, true},
		{"$.bar[3]", ``, false},
		{"$.foo.x", ``, false},
		{"$.bar.x", ``, false},
		{"$.car[0]", ``, false},
		{"$.nope", ``, false},
	}
	for _, tc := range tests {
		p, err := parsePath(tc.path, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		v, ok := p.get(doc)
		if ok != tc.found || (ok && string(encodeJSON(v)) != tc.want) {
			t.Errorf("%s = %s, %v; want %s, %v", tc.path, encodeJSON(v), ok, tc.want, tc.found)
		}
	}
}

func TestPathSet(t *testing.T) {
	tests := []struct{ doc, path, value, want, err string }{
		{`{"a":1}`, "$", `2`, `2`, ""},
		{`{"a":1}`, "$.a", `2`, `{"a":2}`, ""},
		{`{"a":1}`, "$.b.c", `2`, `{"a":1,"b":{"c":2}}`, ""},
		{`{"a":[1,{"x":0}]}`, "$.a[1].x", `2`, `{"a":[1,{"x":2}]}`, ""},
		{`{"a":[1]}`, "$.a[0]", `2`, `{"a":[2]}`, ""},
		{`{"a":[1]}`, "$.a[1]", `2`, ``, "out of range"},
		{`{"a":1}`, "$.a.b", `2`, ``, "cannot be added to a number"},
		{`{"a":null}`, "$.a.b", `2`, ``, "cannot be added to a null"},
		{`{}`, "$.a[0]", `2`, ``, "cannot be indexed"},
		{`"s"`, "$.a", `2`, ``, "cannot be added to a string"},
	}
	for _, tc := range tests {
		doc := mustDecode(t, tc.doc)
		p, err := parsePath(tc.path, false)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.set(doc, mustDecode(t, tc.value))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("set %s in %s: err = %v, want %q", tc.path, tc.doc, err, tc.err)
			}
			continue
		}
		if err != nil || string(encodeJSON(got)) != tc.want {
			t.Errorf("set %s in %s = %s, %v; want %s", tc.path, tc.doc, encodeJSON(got), err, tc.want)
		}
		if string(encodeJSON(doc)) != tc.doc && tc.doc[0] == '{' {
			t.Errorf("set changed its input to %s", encodeJSON(doc))
		}
	}
}

func TestPathSyntax(t *testing.T) {
	for _, bad := range []string{"", "a", "$.", "$a", "$.a.", "$[", "$['a'", "$[a]", "$[+1]", "$[01x]", "$.a b", "$.a]", "$$", "$$.x"} {
		if p, err := parsePath(bad, false); err == nil {
			t.Errorf("%q parsed as %+v", bad, p)
		}
	}
	p, err := parsePath("$$.Map.Item.Value", true)
	if err != nil || !p.context || len(p.segs) != 3 {
		t.Errorf("context path: %+v, %v", p, err)
	}
}

func mustDecode(t testing.TB, s string) any {
	t.Helper()
	v, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

func TestJSONRoundTrip(t *testing.T) {
	for _, s := range []string{
		`{"b":1,"a":[true,false,null,"x\"y\\z\n\u0001<>&é😀"],"c":{}}`,
		`[]`, `0`, `-1.5e+10`, `"\u2028"`,
	} {
		v := mustDecode(t, s)
		again := mustDecode(t, string(encodeJSON(v)))
		if !equalValues(v, again) {
			t.Errorf("%s → %s", s, encodeJSON(v))
		}
	}
	if got := string(encodeJSON(mustDecode(t, `{"b":1,"a":2,"b":3}`))); got != `{"b":3,"a":2}` {
		t.Errorf("duplicate keys: %s", got)
	}
	if got := string(encodeJSON("<&>")); got != `"<&>"` {
		t.Errorf("HTML escaped: %s", got)
	}
	for _, bad := range []string{``, `{`, `{"a" 1}`, `[1,]`, `{} []`, `nul`} {
		if _, err := decodeJSON([]byte(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}
