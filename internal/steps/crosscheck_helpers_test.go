package steps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/asl"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

// The cross-check's second engine: aws-local-stepfunctions, run by
// statemachine/test/run-local.mjs, calling this world's handlers over HTTP.

// localDriver is the node script, from the repository root.
const localDriver = "statemachine/test/run-local.mjs"

// repoRoot is the repository root (this package is internal/steps).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// requireNodeModule returns node's path when node is on PATH and the
// project's node_modules holds module (`npm ci` installs it). Otherwise the
// test is skipped, except on CI (CI set), where a missing dependency fails
// it: .ci/run installs both.
func requireNodeModule(t *testing.T, root, module string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	missing := ""
	if err != nil {
		missing = "node is not on PATH"
	} else if _, err := os.Stat(filepath.Join(root, "node_modules", module, "package.json")); err != nil {
		missing = "node_modules/" + module + " is missing (run `npm ci` at the repository root)"
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s; on CI (CI=%s) this is a failure: .ci/run installs the node dependencies", missing, os.Getenv("CI"))
		}
		t.Skipf("%s; skipped (it fails when CI is set)", missing)
	}
	return node
}

// lambdaARN is the fake function ARN the local runs substitute for a
// function directory: run-local.mjs takes the function name back out.
func lambdaARN(dir string) string {
	return "arn:aws:lambda:eu-west-2:123456789012:function:" + dir
}

// lambdaErrorType names a handler's error as aws-lambda-go reports it, and
// as internal/asl names it (asl.nameError, not exported): a
// *asl.TaskFailedError anywhere in the chain names itself, so does an
// asl.ErrorNamer returned as is; otherwise the Go type name of the value
// returned, unwrapped, without package path or pointer.
func lambdaErrorType(err error) (name, message string) {
	var tf *asl.TaskFailedError
	if errors.As(err, &tf) {
		return tf.Name, tf.Cause
	}
	if n, ok := err.(asl.ErrorNamer); ok {
		return n.ErrorName(), err.Error()
	}
	return goTypeName(err), err.Error()
}

func goTypeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// lambdaServer serves the world's handlers to run-local.mjs on loopback:
//
//	POST /invoke/<function>: the handler of Deps.Handlers() with the body
//	  as its input; 200 and the output, or 500 and {"errorType",
//	  "errorMessage"} as the Lambda runtime reports a function's error.
//	POST /callback: a .waitForTaskToken task's answer, from approve (nil:
//	  no approval is expected, and one fails the test).
//	POST /wait: a Wait state's duration, slept on the world's virtual
//	  clock as the embedded executor sleeps it.
func (w *world) lambdaServer(approve func(json.RawMessage) (json.RawMessage, error)) *httptest.Server {
	handlers := w.deps.Handlers()
	mux := http.NewServeMux()
	writeJSON := func(rw http.ResponseWriter, status int, v any) {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		_ = json.NewEncoder(rw).Encode(v)
	}
	writeError := func(rw http.ResponseWriter, status int, name, message string) {
		writeJSON(rw, status, map[string]string{"errorType": name, "errorMessage": message})
	}
	mux.HandleFunc("POST /invoke/{function}", func(rw http.ResponseWriter, r *http.Request) {
		fn := r.PathValue("function")
		h, ok := handlers[fn]
		if !ok {
			writeError(rw, http.StatusNotFound, "Lambda.ResourceNotFoundException", "Function not found: "+lambdaARN(fn))
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(rw, http.StatusInternalServerError, "Lambda.ServiceException", err.Error())
			return
		}
		out, err := func() (out json.RawMessage, err error) {
			defer func() {
				if p := recover(); p != nil { // the runtime names a panic by its value's type
					err = &asl.TaskFailedError{Name: goTypeName(p), Cause: fmt.Sprint(p)}
				}
			}()
			return h(r.Context(), body)
		}()
		if err != nil {
			name, message := lambdaErrorType(err)
			writeError(rw, http.StatusInternalServerError, name, message)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write(out)
	})
	mux.HandleFunc("POST /callback", func(rw http.ResponseWriter, r *http.Request) {
		var cb struct {
			State   string          `json:"state"`
			Token   string          `json:"token"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.NewDecoder(r.Body).Decode(&cb); err != nil {
			writeError(rw, http.StatusBadRequest, "States.Runtime", err.Error())
			return
		}
		if approve == nil {
			w.t.Errorf("local run: an approval was asked for in %s", cb.State)
			writeError(rw, http.StatusInternalServerError, "ApprovalRejected", "")
			return
		}
		out, err := approve(cb.Payload)
		if err != nil {
			name, message := lambdaErrorType(err)
			writeError(rw, http.StatusInternalServerError, name, message)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write(out)
	})
	mux.HandleFunc("POST /wait", func(rw http.ResponseWriter, r *http.Request) {
		var wt struct {
			State     string   `json:"state"`
			Seconds   *float64 `json:"seconds"`
			Timestamp *string  `json:"timestamp"`
		}
		if err := json.NewDecoder(r.Body).Decode(&wt); err != nil {
			writeError(rw, http.StatusBadRequest, "States.Runtime", err.Error())
			return
		}
		var d time.Duration
		switch {
		case wt.Seconds != nil:
			d = time.Duration(*wt.Seconds * float64(time.Second))
		case wt.Timestamp != nil:
			ts, err := time.Parse(time.RFC3339Nano, *wt.Timestamp)
			if err != nil {
				writeError(rw, http.StatusBadRequest, "States.Runtime", err.Error())
				return
			}
			d = ts.Sub(w.clock.Now())
		}
		_ = w.clock.Sleep(r.Context(), d)
		writeJSON(rw, http.StatusOK, map[string]string{"now": w.clock.Now().Format(time.RFC3339Nano)})
	})
	srv := httptest.NewServer(mux) // 127.0.0.1, an ephemeral port
	w.t.Cleanup(srv.Close)
	return srv
}

// localReport is what run-local.mjs prints: the execution's outcome, and
// how many times each state was entered (and retried).
type localReport struct {
	Status  string          `json:"status"` // SUCCEEDED or FAILED
	Output  json.RawMessage `json:"output"`
	Error   string          `json:"error"`
	Cause   string          `json:"cause"`
	Entered map[string]int  `json:"entered"`
	Retries map[string]int  `json:"retries"`
}

// executeLocal runs a definition file (relative to the repository root)
// with aws-local-stepfunctions, its tasks calling srv: the counterpart of
// world.execute.
func (w *world) executeLocal(node string, srv *httptest.Server, file, name string, input any) localReport {
	w.t.Helper()
	root := repoRoot(w.t)
	subs := map[string]string{}
	for placeholder, dir := range Substitutions() {
		subs[placeholder] = lambdaARN(dir)
	}
	subsJSON, _ := json.Marshal(subs)
	in, _ := json.Marshal(input)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, localDriver, "--definition", file, "--substitutions", string(subsJSON),
		"--input", string(in), "--endpoint", srv.URL, "--name", name,
		"--state-machine-name", strings.TrimSuffix(filepath.Base(file), ".asl.json"))
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		w.t.Fatalf("node %s %s (%s): %v\nstderr:\n%s\nstdout:\n%s", localDriver, file, name, err, stderr.String(), stdout.String())
	}
	var rep localReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || rep.Status == "" {
		w.t.Fatalf("node %s %s (%s): the report is not JSON (%v):\n%s\nstderr:\n%s", localDriver, file, name, err, stdout.String(), stderr.String())
	}
	return rep
}

// enteredCounts counts the StateEntered events of the last execute.
func (w *world) enteredCounts() map[string]int {
	n := map[string]int{}
	for _, ev := range w.events {
		if ev.Kind == asl.StateEntered {
			n[ev.State]++
		}
	}
	return n
}

// storeObjects is every object in the world's bucket, by key.
func (w *world) storeObjects() map[string][]byte {
	w.t.Helper()
	ctx := context.Background()
	infos, err := w.deps.Store.List(ctx, "")
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, info := range infos {
		data, err := w.deps.Store.Get(ctx, info.Key)
		if err != nil {
			w.t.Fatal(err)
		}
		out[info.Key] = data
	}
	return out
}

// ledgerEntries is every ledger entry of a migration, as JSON by key,
// without CreatedAt and UpdatedAt (memledger stamps them with the wall
// clock), and when loose without Seq and the payload hashes (concurrent
// writes take their numbers, and so their related records' ids, in any
// order).
func (w *world) ledgerEntries(migration string, loose bool) map[string][]byte {
	w.t.Helper()
	out := map[string][]byte{}
	err := w.deps.Ledger.List(context.Background(), migration, func(e ledger.Entry) error {
		e.CreatedAt, e.UpdatedAt = time.Time{}, time.Time{}
		if loose {
			e.Seq, e.PayloadHash, e.SourceHash = 0, "", ""
		}
		b, err := json.Marshal(e)
		out[e.Key] = b
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// diffCounts lists the states entered a different number of times.
func diffCounts(want, got map[string]int) []string {
	var out []string
	for _, k := range slices.Sorted(mapsKeys(want, got)) {
		if want[k] != got[k] {
			out = append(out, fmt.Sprintf("%q: embedded %d, local %d", k, want[k], got[k]))
		}
	}
	return out
}

func mapsKeys(ms ...map[string]int) func(func(string) bool) {
	seen := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			seen[k] = true
		}
	}
	return func(yield func(string) bool) {
		for k := range seen {
			if !yield(k) {
				return
			}
		}
	}
}

// runClock is the span of virtual time the runs took: a timestamp in it
// was written by the run (add_time, marked_as_done_time, a load's
// "started"), not taken from the export.
type runClock struct{ from, to time.Time }

func (c runClock) has(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) < len("2006-01-02T15:04:05Z") || s[10] != 'T' {
		return false
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && !ts.Before(c.from) && !ts.After(c.to)
}

// loose replaces, in a decoded JSON value, the run's timestamps by
// "<time>" and Pipedrive ids (numbers named id or …_id) by "<id>", and
// sorts lists: what the order of concurrent writes decides.
func (c runClock) loose(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if _, isNum := x.(json.Number); isNum && (k == "id" || strings.HasSuffix(k, "_id")) {
				v[k] = "<id>"
				continue
			}
			v[k] = c.loose(x)
		}
	case []any:
		for i, x := range v {
			v[i] = c.loose(x)
		}
		// Lists in completion order (a summary's timeline) follow the
		// concurrent loads: compared as multisets.
		slices.SortFunc(v, func(a, b any) int {
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			return bytes.Compare(ja, jb)
		})
	default:
		if c.has(v) {
			return "<time>"
		}
	}
	return v
}

// decodeAll decodes a JSON document or NDJSON lines; ok is false for
// anything else.
func decodeAll(data []byte) (vs []any, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			return vs, true
		} else if err != nil {
			return nil, false
		}
		vs = append(vs, v)
	}
}

// sameObjects compares two bucket objects as JSON (or NDJSON) values,
// loosely (c.loose) when c is not nil.
func sameObjects(a, b []byte, c *runClock) bool {
	va, oka := decodeAll(a)
	vb, okb := decodeAll(b)
	if !oka || !okb {
		return bytes.Equal(a, b)
	}
	if c != nil {
		for i := range va {
			va[i] = c.loose(va[i])
		}
		for i := range vb {
			vb[i] = c.loose(vb[i])
		}
	}
	return reflect.DeepEqual(va, vb)
}

// refKinds are the sandbox's relation properties and the kind each names.
var refKinds = map[string]string{
	"deal_id": "deals", "org_id": "organizations", "person_id": "persons", "stage_id": "stages", "pipeline_id": "pipelines",
	"owner_id": "users", "user_id": "users", "creator_user_id": "users", "added_by_user_id": "users", "assigned_to_user_id": "users",
}

// canonical is a company's entities as content, not ids: per kind, each
// entity as JSON with its id and the run's timestamps left out and every
// relation replaced by the related entity's own canonical form (a hash),
// so two companies that got the same records in another order compare
// equal. Deleted entities are kept, marked.
func canonical(st sandbox.State, c runClock) map[string][]string {
	memo := map[string]string{}
	var key func(kind string, id int, depth int) string
	var form func(kind string, e *sandbox.Entity, depth int) string
	rewrite := func(v any, depth int) any {
		var walk func(v any) any
		walk = func(v any) any {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if kind, ok := refKinds[k]; ok {
						if n, ok := x.(float64); ok && n > 0 {
							v[k] = key(kind, int(n), depth+1)
							continue
						}
					}
					v[k] = walk(x)
				}
			case []any:
				for i, x := range v {
					v[i] = walk(x)
				}
			default:
				if c.has(v) {
					return "<time>"
				}
			}
			return v
		}
		return walk(v)
	}
	form = func(kind string, e *sandbox.Entity, depth int) string {
		b, _ := json.Marshal(map[string]any{"attrs": e.Attrs, "custom_fields": e.Custom, "deleted": e.Deleted})
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		out, _ := json.Marshal(rewrite(m, depth))
		return string(out)
	}
	key = func(kind string, id int, depth int) string {
		k := fmt.Sprintf("%s/%d", kind, id)
		if h, ok := memo[k]; ok {
			return h
		}
		e := st.Items[kind][id]
		if e == nil || depth > 8 {
			return "missing " + kind
		}
		sum := sha256.Sum256([]byte(kind + form(kind, e, depth)))
		memo[k] = hex.EncodeToString(sum[:8])
		return memo[k]
	}
	out := map[string][]string{}
	for kind, items := range st.Items {
		for _, e := range items {
			out[kind] = append(out[kind], form(kind, e, 0))
		}
		slices.Sort(out[kind])
	}
	for ent, fields := range st.Fields {
		for _, f := range fields {
			b, _ := json.Marshal(map[string]any{"key": f.Key, "name": f.Name, "type": f.Type, "options": f.Options, "extra": f.Extra})
			out[ent+"Fields"] = append(out[ent+"Fields"], string(b))
		}
		slices.Sort(out[ent+"Fields"])
	}
	return out
}

// canonicalDiffs lists, kind by kind, the entities (as content) one
// company has and the other has not.
func canonicalDiffs(embedded, local map[string][]string) []string {
	var out []string
	kinds := map[string]int{}
	for k := range embedded {
		kinds[k]++
	}
	for k := range local {
		kinds[k]++
	}
	for _, kind := range slices.Sorted(mapsKeys(kinds)) {
		e, l := embedded[kind], local[kind]
		i, j := 0, 0
		for i < len(e) || j < len(l) {
			switch {
			case j == len(l) || (i < len(e) && e[i] < l[j]):
				out = append(out, fmt.Sprintf("%s: only embedded: %.400s", kind, e[i]))
				i++
			case i == len(e) || l[j] < e[i]:
				out = append(out, fmt.Sprintf("%s: only local: %.400s", kind, l[j]))
				j++
			default:
				i, j = i+1, j+1
			}
		}
	}
	return out
}
