package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// aslValidator is asl-validator's command, installed by `npm ci` from the
// repository's package-lock.json.
const aslValidator = "node_modules/.bin/asl-validator"

// TestStateMachinesValidate runs asl-validator (the States Language's JSON
// schema, with ARN and JSONPath checks) on every statemachine/*.asl.json,
// as written (what `make lint` checks) and as deployed: each ${…}
// placeholder substituted with a Lambda function ARN, as SAM's
// DefinitionSubstitutions do.
//
// Skipped when node or node_modules is missing, except on CI (CI set),
// where that fails: .ci/run installs them.
func TestStateMachinesValidate(t *testing.T) {
	node := requireValidator(t)
	files, err := filepath.Glob(filepath.Join(root(t), "statemachine", "*.asl.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no statemachine/*.asl.json (%v)", err)
	}
	// One run for all: each file as written, then as deployed.
	dir := t.TempDir()
	var paths []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		deployed := placeholderRE.ReplaceAllFunc(data, func(m []byte) []byte {
			name := strings.TrimSuffix(string(placeholderRE.FindSubmatch(m)[1]), "Arn")
			return []byte("arn:aws:lambda:eu-west-2:123456789012:function:conveyor-" + name)
		})
		if bytes.Contains(deployed, []byte("${")) {
			t.Errorf("%s: a placeholder is left after substitution", file)
		}
		sub := filepath.Join(dir, "substituted-"+filepath.Base(file))
		if err := os.WriteFile(sub, deployed, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, file, sub)
	}
	out, err := validate(t, node, paths...)
	if err != nil {
		t.Fatalf("asl-validator: %v\n%s", err, out)
	}
	for _, p := range paths {
		if !strings.Contains(out, fmt.Sprintf("%q is valid", p)) {
			t.Errorf("asl-validator: no verdict on %s:\n%s", p, out)
		}
	}
}

// TestStateMachineValidatorRejects makes sure the check above can fail:
// asl-validator must refuse a definition with an unknown Next and a
// malformed path, and say why.
func TestStateMachineValidatorRejects(t *testing.T) {
	node := requireValidator(t)
	bad := filepath.Join(t.TempDir(), "bad.asl.json")
	def := `{"StartAt": "A", "States": {
	  "A": {"Type": "Pass", "InputPath": "$..[oops", "Next": "Nowhere"},
	  "B": {"Type": "Succeed"}}}`
	if err := os.WriteFile(bad, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := validate(t, node, bad)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, "invalid") {
		t.Fatalf("asl-validator accepted a bad definition (%v):\n%s", err, out)
	}
}

// validate runs asl-validator on files, with its ARN and path checks; it
// exits 1 if any is invalid, naming each file with its verdict.
func validate(t *testing.T, node string, paths ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{aslValidator}
	for _, p := range paths {
		args = append(args, "--json-path", p)
	}
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = root(t)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// requireValidator returns node's path when node is on PATH and
// asl-validator is installed. Otherwise the test is skipped, except on CI
// (CI set), where a missing dependency fails it.
func requireValidator(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	missing := ""
	if err != nil {
		missing = "node is not on PATH"
	} else if _, err := os.Stat(filepath.Join(root(t), aslValidator)); err != nil {
		missing = aslValidator + " is missing (run `npm ci` at the repository root)"
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s; on CI (CI=%s) this is a failure: .ci/run installs the node dependencies", missing, os.Getenv("CI"))
		}
		t.Skipf("%s; skipped (it fails when CI is set)", missing)
	}
	return node
}
