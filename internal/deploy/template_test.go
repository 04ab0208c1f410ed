package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTemplateLints runs cfn-lint, which knows the SAM transform and every
// resource's schema.
func TestTemplateLints(t *testing.T) {
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed (it is on the CI machine image)")
	}
	out, err := exec.Command(lint, filepath.Join(root(t), "template.yaml")).CombinedOutput()
	if err != nil {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}

func TestTemplateSecurity(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tpl := string(data)
	for _, want := range []string{
		"SSEAlgorithm:", "BlockPublicAcls: true", "BlockPublicPolicy: true", "IgnorePublicAcls: true",
		"RestrictPublicBuckets: true", "aws:SecureTransport: \"false\"", "RetentionInDays:",
		"Runtime: provided.al2023", "Architectures: [arm64]", "BuildMethod: makefile",
	} {
		if !strings.Contains(tpl, want) {
			t.Errorf("template.yaml lacks %q", want)
		}
	}
	// No wildcard action may be allowed; the only "s3:*" is the TLS deny.
	allow := regexp.MustCompile(`(?m)^\s*Action:.*\*`)
	for _, m := range allow.FindAllString(tpl, -1) {
		if !strings.Contains(m, `"s3:*`) {
			t.Errorf("wildcard action in template: %s", strings.TrimSpace(m))
		}
	}
	if n := strings.Count(tpl, `"s3:*"`); n != 1 || !strings.Contains(tpl, "Effect: Deny") {
		t.Errorf("s3:* appears %d times; want once, in the Deny statement", n)
	}
}

func TestStateMachinesParse(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(root(t), "statemachine", "*.asl.json"))
	if len(files) == 0 {
		t.Fatal("no state machine definitions")
	}
	tpl, _ := os.ReadFile(filepath.Join(root(t), "template.yaml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var def struct {
			StartAt string
			States  map[string]map[string]any
		}
		if err := json.Unmarshal(data, &def); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if _, ok := def.States[def.StartAt]; !ok {
			t.Errorf("%s: StartAt %q is not a state", f, def.StartAt)
		}
		for name, st := range def.States {
			for _, k := range []string{"Next", "Default"} {
				if n, ok := st[k].(string); ok {
					if _, ok := def.States[n]; !ok {
						t.Errorf("%s: state %s: %s %q is not a state", f, name, k, n)
					}
				}
			}
		}
		for _, m := range regexp.MustCompile(`\$\{(\w+)\}`).FindAllStringSubmatch(string(data), -1) {
			if !strings.Contains(string(tpl), m[1]+":") {
				t.Errorf("%s: placeholder ${%s} has no DefinitionSubstitutions entry in template.yaml", f, m[1])
			}
		}
	}
}
