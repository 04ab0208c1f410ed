package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// functionDirs is docs/aws.md's table of functions: logical id → the
// directory under functions/ of its main.go.
var functionDirs = map[string]string{
	"ExtractFunction":  "extract",
	"SchemaFunction":   "schema",
	"StagesFunction":   "stages",
	"OwnersFunction":   "owners",
	"SampleFunction":   "sample",
	"LoadFunction":     "load",
	"TransferFunction": "transfer",
	"EstimateFunction": "estimate",
	"VerifyFunction":   "verify",
	"FinishFunction":   "finish",
	"ApprovalFunction": "approval",
	"RollbackFunction": "rollback",
	"TriggerFunction":  "trigger",
}

// longRunning are the functions that work through a whole chunk or the
// whole ledger and get Lambda's longest timeout.
var longRunning = []string{"LoadFunction", "TransferFunction", "VerifyFunction", "RollbackFunction"}

// stepEnvironment is the environment of every step function (docs/aws.md).
var stepEnvironment = map[string]string{
	"CONVEYOR_BUCKET":        "!Ref Bucket",
	"CONVEYOR_TABLE":         "!Ref LedgerTable",
	"PIPEDRIVE_URL":          "!Ref PipedriveCompanyUrl",
	"PIPEDRIVE_TOKEN_SECRET": "!Ref PipedriveTokenSecretArn",
	"PIPEDRIVE_PLAN":         "!Ref PipedrivePlan",
	"PIPEDRIVE_SEATS":        "!Ref PipedriveSeats",
	"DEFAULT_OWNER_EMAIL":    "!Ref DefaultOwnerEmail",
	"LEDGER_TTL_DAYS":        "!Ref RollbackWindowDays",
	"KMS_KEY_ID":             "!Ref KmsKeyArn",
}

// triggerEnvironment is the trigger's: docs/aws.md's two, and the
// optional key its trigger records are written with.
var triggerEnvironment = map[string]string{
	"CONVEYOR_BUCKET":   "!Ref Bucket",
	"STATE_MACHINE_ARN": "!Ref MigrationStateMachine",
	"KMS_KEY_ID":        "!Ref KmsKeyArn",
}

func TestFunctionsAreTheDocumentedOnes(t *testing.T) {
	fns := resources(t, "AWS::Serverless::Function")
	for id := range fns {
		if _, ok := functionDirs[id]; !ok {
			t.Errorf("template.yaml has function %s, which docs/aws.md does not list", id)
		}
	}
	for _, id := range sortedKeys(functionDirs) {
		if _, ok := fns[id]; !ok {
			t.Errorf("template.yaml lacks %s (functions/%s)", id, functionDirs[id])
		}
	}
}

func TestFunctionsBuild(t *testing.T) {
	g := asObj(get(template(t), "Globals", "Function"))
	for k, want := range map[string]string{"Runtime": "provided.al2023", "Handler": "bootstrap", "Architectures": `["arm64"]`} {
		if got := render(g[k]); got != want {
			t.Errorf("Globals.Function.%s = %s, want %s", k, got, want)
		}
	}
	makefile, err := os.ReadFile(filepath.Join(root(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range sortedKeys(resources(t, "AWS::Serverless::Function")) {
		fn := resources(t, "AWS::Serverless::Function")[id]
		p := asObj(fn["Properties"])
		dir := functionDirs[id]
		if dir == "" {
			continue // reported above
		}
		if got := render(get(fn, "Metadata", "BuildMethod")); got != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod = %q, want makefile", id, got)
		}
		if got := render(p["CodeUri"]); got != "." {
			t.Errorf("%s: CodeUri = %q, want . (the Makefile builds from the module root)", id, got)
		}
		for _, k := range []string{"Runtime", "Handler", "Architectures", "InlineCode", "ImageUri", "PackageType", "Layers"} {
			if _, ok := p[k]; ok {
				t.Errorf("%s: sets %s; the Globals' provided.al2023/arm64/bootstrap apply to every function", id, k)
			}
		}
		main := filepath.Join("functions", dir, "main.go")
		if _, err := os.Stat(filepath.Join(root(t), main)); err != nil {
			t.Errorf("%s: %s does not exist (make build-%s builds it)", id, main, id)
		}
		target := regexp.MustCompile(`(?m)^build-` + id + `:.*\n\t\$\(LAMBDA_BUILD\) \./functions/` + dir + `\s*$`)
		if !target.Match(makefile) {
			t.Errorf("%s: the Makefile has no target build-%s running $(LAMBDA_BUILD) ./functions/%s", id, id, dir)
		}
	}
}

func TestFunctionsSizing(t *testing.T) {
	fns := resources(t, "AWS::Serverless::Function")
	for _, id := range sortedKeys(fns) {
		p := asObj(fns[id]["Properties"])
		timeout, _ := p["Timeout"].(float64)
		memory, _ := p["MemorySize"].(float64)
		if timeout < 1 || timeout > 900 || memory < 128 || memory > 10240 {
			t.Errorf("%s: Timeout %v, MemorySize %v; want them set, within Lambda's limits", id, p["Timeout"], p["MemorySize"])
		}
	}
	for _, id := range longRunning {
		if got := get(fns[id], "Properties", "Timeout"); got != 900.0 {
			t.Errorf("%s: Timeout = %v, want 900", id, got)
		}
	}
	for _, id := range []string{"ApprovalFunction", "TriggerFunction", "StagesFunction", "EstimateFunction"} {
		if got, _ := get(fns[id], "Properties", "Timeout").(float64); got >= 900 {
			t.Errorf("%s: Timeout = %v; a small step needs less than 900", id, got)
		}
	}
}

// Each function logs to its own group, kept LogRetentionDays: the function
// is named so that Lambda's default group is the one the template makes.
func TestFunctionsLogGroups(t *testing.T) {
	fns := resources(t, "AWS::Serverless::Function")
	for _, id := range sortedKeys(fns) {
		dir := functionDirs[id]
		if dir == "" {
			continue
		}
		p := asObj(fns[id]["Properties"])
		name := "${AWS::StackName}-" + dir
		if got := render(p["FunctionName"]); got != "!Sub "+name {
			t.Errorf("%s: FunctionName = %s, want !Sub %s", id, got, name)
		}
		lgID := strings.TrimSuffix(id, "Function") + "LogGroup"
		lg := resource(t, lgID, "AWS::Logs::LogGroup")
		if got := render(get(lg, "Properties", "LogGroupName")); got != "!Sub /aws/lambda/"+name {
			t.Errorf("%s: LogGroupName = %s, want !Sub /aws/lambda/%s", lgID, got, name)
		}
		if got := render(get(lg, "Properties", "RetentionInDays")); got != "!Ref LogRetentionDays" {
			t.Errorf("%s: RetentionInDays = %s, want !Ref LogRetentionDays", lgID, got)
		}
		if _, ok := asObj(template(t)["Outputs"])[lgID+"Name"]; !ok {
			t.Errorf("no output %sName", lgID)
		}
	}
}

func TestFunctionsEnvironment(t *testing.T) {
	fns := resources(t, "AWS::Serverless::Function")
	if g := get(template(t), "Globals", "Function", "Environment"); g != nil {
		t.Errorf("Globals.Function.Environment is set; each function's environment is its own")
	}
	for _, id := range sortedKeys(fns) {
		want := stepEnvironment
		if id == "TriggerFunction" {
			want = triggerEnvironment
		}
		vars := asObj(get(fns[id], "Properties", "Environment", "Variables"))
		for _, k := range sortedKeys(want) {
			if got := render(vars[k]); got != want[k] {
				t.Errorf("%s: %s = %q, want %s", id, k, got, want[k])
			}
		}
		for _, k := range sortedKeys(vars) {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: environment variable %s is not in docs/aws.md", id, k)
			}
		}
	}
}

// The token is a secret the firm creates; the template passes its ARN and
// nothing else.
func TestNoPlainToken(t *testing.T) {
	fns := resources(t, "AWS::Serverless::Function")
	for _, id := range sortedKeys(fns) {
		for k, v := range asObj(get(fns[id], "Properties", "Environment", "Variables")) {
			if strings.Contains(k, "TOKEN") && k != "PIPEDRIVE_TOKEN_SECRET" {
				t.Errorf("%s: environment variable %s may carry a token; pass PIPEDRIVE_TOKEN_SECRET only", id, k)
			}
			if k == "PIPEDRIVE_TOKEN_SECRET" && render(v) != "!Ref PipedriveTokenSecretArn" {
				t.Errorf("%s: PIPEDRIVE_TOKEN_SECRET = %s, want !Ref PipedriveTokenSecretArn", id, render(v))
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(root(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`PIPEDRIVE_(API_)?TOKEN\b`).Find(data); m != nil {
		t.Errorf("template.yaml mentions %s: the token is never an environment value", m)
	}
	if s := resources(t, "AWS::SecretsManager::Secret"); len(s) > 0 {
		t.Errorf("template.yaml creates secrets %v; the firm creates the token's secret itself", sortedKeys(s))
	}
	params := asObj(template(t)["Parameters"])
	for _, name := range sortedKeys(params) {
		if strings.Contains(strings.ToLower(name), "token") && name != "PipedriveTokenSecretArn" {
			t.Errorf("parameter %s: the token is never a parameter; only PipedriveTokenSecretArn", name)
		}
	}
	if p := asObj(params["PipedriveTokenSecretArn"]); p == nil || !strings.Contains(render(p["AllowedPattern"]), ":secretsmanager:") {
		t.Errorf("parameter PipedriveTokenSecretArn must exist and only take a Secrets Manager ARN")
	}
}
