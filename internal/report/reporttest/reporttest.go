// Package reporttest compares report data with golden files.
//
// The normalisation, so that two runs of the same deterministic fixture
// compare equal:
//
//   - every run id ("r20261126T101422Z-a16e66": the start time and a random
//     suffix) becomes "RUN-1", "RUN-2"… in the order the ids first appear
//     in the JSON (the report's own run first, then the other runs newest
//     first), wherever it appears: ids, plan file keys, commands;
//   - strings the test names (a temporary directory) are replaced first;
//   - the value of every "started", "finished" and "generated" key (when a
//     run or a load step started and finished, when the report was made)
//     becomes "TIME".
//
// Nothing else changes: counts, tokens, Pipedrive ids and field keys (the
// sandbox's, from its fixed seed) and the export's own dates must match.
package reporttest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// Update rewrites the golden files instead of comparing with them:
// go test ./... -run Golden -update.
var Update = flag.Bool("update", false, "rewrite the golden files")

var runID = regexp.MustCompile(`r\d{8}T\d{6}Z-[0-9a-f]{6}`)

// timeKeys are the keys whose values are times of the run, not of the data.
var timeKeys = map[string]bool{"started": true, "finished": true, "generated": true}

// Normalize returns the report data as indented JSON with run ids and run
// times replaced (see the package comment).
func Normalize(data []byte) ([]byte, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("reporttest: %w", err)
	}
	v = blankTimes(v)
	out, err := marshal(v)
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	out = runID.ReplaceAllFunc(out, func(id []byte) []byte {
		s, ok := ids[string(id)]
		if !ok {
			s = fmt.Sprintf("RUN-%d", len(ids)+1)
			ids[string(id)] = s
		}
		return []byte(s)
	})
	return out, nil
}

func blankTimes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && timeKeys[k] && s != "" {
				x[k] = "TIME"
				continue
			}
			x[k] = blankTimes(e)
		}
	case []any:
		for i, e := range x {
			x[i] = blankTimes(e)
		}
	}
	return v
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Golden compares the normalised report data with the golden file at path
// (or, with -update, writes it there). replace holds pairs of strings
// that change from one test run to the next (a temporary directory) and
// what to write instead, replaced first.
func Golden(t testing.TB, path string, data []byte, replace ...string) {
	t.Helper()
	if len(replace)%2 != 0 {
		t.Fatal("reporttest.Golden: replace takes pairs")
	}
	for i := 0; i < len(replace); i += 2 {
		old, _ := json.Marshal(replace[i])
		new, _ := json.Marshal(replace[i+1])
		data = bytes.ReplaceAll(data, bytes.Trim(old, `"`), bytes.Trim(new, `"`))
	}
	got, err := Normalize(data)
	if err != nil {
		t.Fatal(err)
	}
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report data differs from %s (run with -update to accept):\n%s", path, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first lines where want and got part.
func firstDiff(want, got string) string {
	wl, gl := bytes.Split([]byte(want), []byte("\n")), bytes.Split([]byte(got), []byte("\n"))
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			from := max(0, i-3)
			var b bytes.Buffer
			for j := from; j < i+4; j++ {
				if j < len(wl) {
					fmt.Fprintf(&b, "want %5d: %s\n", j+1, wl[j])
				}
				if j < len(gl) {
					fmt.Fprintf(&b, "got  %5d: %s\n", j+1, gl[j])
				}
			}
			return b.String()
		}
	}
	return ""
}
