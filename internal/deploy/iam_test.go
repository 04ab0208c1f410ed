package deploy

import (
	"slices"
	"sort"
	"strings"
	"testing"
)

// starResourceActions are the only actions an Allow may grant on Resource
// "*", each because AWS gives it no resource to scope it to.
var starResourceActions = map[string]string{
	"xray:PutTraceSegments":         "X-Ray actions take no resource ARN",
	"xray:PutTelemetryRecords":      "X-Ray actions take no resource ARN",
	"xray:GetSamplingRules":         "X-Ray actions take no resource ARN",
	"xray:GetSamplingTargets":       "X-Ray actions take no resource ARN",
	"logs:CreateLogDelivery":        "Step Functions logging: log delivery actions require \"*\"",
	"logs:GetLogDelivery":           "Step Functions logging: log delivery actions require \"*\"",
	"logs:UpdateLogDelivery":        "Step Functions logging: log delivery actions require \"*\"",
	"logs:DeleteLogDelivery":        "Step Functions logging: log delivery actions require \"*\"",
	"logs:ListLogDeliveries":        "Step Functions logging: log delivery actions require \"*\"",
	"logs:PutResourcePolicy":        "Step Functions logging: the vended-logs resource policy is account-wide",
	"logs:DescribeResourcePolicies": "Step Functions logging: the vended-logs resource policy is account-wide",
	"logs:DescribeLogGroups":        "Step Functions logging: DescribeLogGroups takes no resource ARN",
}

// statement is one IAM policy statement as the template may produce it:
// an Fn::If around a statement is expanded into its branches.
type statement struct {
	where string // resource and policy, for messages
	when  []string
	s     obj
}

func (st statement) effect() string      { return render(st.s["Effect"]) }
func (st statement) actions() []string   { return renderAll(st.s["Action"]) }
func (st statement) resources() []string { return renderAll(st.s["Resource"]) }

func policyStatements(where string, doc any) []statement {
	var out []statement
	for _, b := range branches(doc) {
		for _, s := range asList(get(b.v, "Statement")) {
			for _, sb := range branches(s) {
				out = append(out, statement{where: where, when: append(append([]string{}, b.when...), sb.when...), s: asObj(sb.v)})
			}
		}
	}
	return out
}

// statements returns every policy statement of the template: inline role
// policies, IAM policies, bucket policies, and SAM Policies.
func statements(t *testing.T) []statement {
	t.Helper()
	var out []statement
	res := asObj(template(t)["Resources"])
	for _, id := range sortedKeys(res) {
		r := asObj(res[id])
		p := asObj(r["Properties"])
		switch r["Type"] {
		case "AWS::IAM::Role":
			for _, pol := range asList(p["Policies"]) {
				for _, b := range branches(pol) {
					out = append(out, policyStatements(id+"/"+render(get(b.v, "PolicyName")), get(b.v, "PolicyDocument"))...)
				}
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy":
			out = append(out, policyStatements(id, p["PolicyDocument"])...)
		case "AWS::Serverless::Function", "AWS::Serverless::StateMachine":
			for _, pol := range asList(p["Policies"]) {
				out = append(out, policyStatements(id+"/Policies", pol)...)
			}
		}
	}
	return out
}

func TestNoWildcardGrants(t *testing.T) {
	sts := statements(t)
	if len(sts) == 0 {
		t.Fatal("no policy statements found")
	}
	for _, st := range sts {
		acts := st.actions()
		if st.s["NotAction"] != nil || st.s["NotResource"] != nil || st.s["NotPrincipal"] != nil {
			t.Errorf("%s: NotAction/NotResource/NotPrincipal: say what is allowed instead", st.where)
		}
		switch st.effect() {
		case "Allow":
			for _, a := range acts {
				if strings.Contains(a, "*") {
					t.Errorf("%s: Allow of wildcard action %s", st.where, a)
				}
			}
			if slices.Contains(st.resources(), "*") {
				for _, a := range acts {
					if _, ok := starResourceActions[a]; !ok {
						t.Errorf("%s: Allow of %s on Resource \"*\"; scope it, or add it to starResourceActions with the reason AWS requires it", st.where, a)
					}
				}
			}
		case "Deny":
			for _, a := range acts {
				if strings.Contains(a, "*") && !isTLSDeny(st) {
					t.Errorf("%s: wildcard action %s outside the bucket's TLS-only Deny", st.where, a)
				}
			}
		default:
			t.Errorf("%s: Effect %q", st.where, st.effect())
		}
	}
}

func isTLSDeny(st statement) bool {
	return strings.HasPrefix(st.where, "BucketPolicy") && st.effect() == "Deny" &&
		render(get(st.s, "Condition", "Bool", "aws:SecureTransport")) == "false" &&
		slices.Equal(st.actions(), []string{"s3:*"})
}

// Every function has a role of its own; SAM's generated roles would attach
// AWSLambdaBasicExecutionRole, whose log actions are on "*".
func TestFunctionsHaveTheirOwnRoles(t *testing.T) {
	fns := resources(t, "AWS::Serverless::Function")
	roles := map[string]string{}
	for _, id := range sortedKeys(fns) {
		p := asObj(fns[id]["Properties"])
		if p["Policies"] != nil {
			t.Errorf("%s: SAM Policies; give the function a Role of its own", id)
		}
		role := strings.TrimSuffix(strings.TrimPrefix(render(p["Role"]), "!GetAtt "), ".Arn")
		if role == "" || strings.HasPrefix(role, "!") {
			t.Errorf("%s: Role = %s, want !GetAtt <its role>.Arn", id, render(p["Role"]))
			continue
		}
		if other, ok := roles[role]; ok {
			t.Errorf("%s and %s share role %s", id, other, role)
		}
		roles[role] = id
		r := resource(t, role, "AWS::IAM::Role")
		if got := render(get(r, "Properties", "AssumeRolePolicyDocument", "Statement")); !strings.Contains(got, `"lambda.amazonaws.com"`) {
			t.Errorf("%s: %s is not assumable by Lambda: %s", id, role, got)
		}
		if mp := get(r, "Properties", "ManagedPolicyArns"); mp != nil {
			t.Errorf("%s: %s attaches managed policies %s", id, role, render(mp))
		}
		lg := "!GetAtt " + strings.TrimSuffix(id, "Function") + "LogGroup.Arn"
		found := false
		for _, st := range statements(t) {
			if strings.HasPrefix(st.where, role+"/") && slices.Contains(st.actions(), "logs:PutLogEvents") {
				found = found || slices.Equal(st.resources(), []string{lg})
				if !slices.Equal(st.resources(), []string{lg}) {
					t.Errorf("%s: logs:PutLogEvents on %v, want only %s", role, st.resources(), lg)
				}
			}
		}
		if !found {
			t.Errorf("%s: may not write to its log group (%s)", role, lg)
		}
	}
	for _, sm := range []string{"MigrationStateMachine", "RollbackStateMachine"} {
		p := asObj(resource(t, sm, "AWS::Serverless::StateMachine")["Properties"])
		if p["Policies"] != nil || render(p["Role"]) != "!GetAtt "+sm+"Role.Arn" {
			t.Errorf("%s: Role = %s, Policies = %s; want !GetAtt %sRole.Arn and no SAM policies", sm, render(p["Role"]), render(p["Policies"]), sm)
		}
	}
}

// grants returns, for each role, the actions it is allowed and on what:
// action → rendered resources.
func grants(t *testing.T) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for _, st := range statements(t) {
		if st.effect() != "Allow" {
			continue
		}
		role, _, _ := strings.Cut(st.where, "/")
		if out[role] == nil {
			out[role] = map[string][]string{}
		}
		for _, a := range st.actions() {
			out[role][a] = append(out[role][a], st.resources()...)
		}
	}
	return out
}

// The functions' permissions, from docs/aws.md's table.
func TestFunctionPermissions(t *testing.T) {
	type need struct {
		pipedrive bool
		ledger    string // "", "read", "write", "list" (write and Query)
		s3        []string
	}
	rwMigrations := []string{"get !Sub ${Bucket.Arn}/migrations/*", "put !Sub ${Bucket.Arn}/migrations/*"}
	readExports := "get !Sub ${Bucket.Arn}/exports/*"
	needs := map[string]need{
		"ExtractFunction":  {s3: append([]string{readExports}, rwMigrations...)},
		"SchemaFunction":   {pipedrive: true, ledger: "write", s3: rwMigrations},
		"StagesFunction":   {s3: rwMigrations},
		"OwnersFunction":   {pipedrive: true, s3: rwMigrations},
		"SampleFunction":   {s3: rwMigrations},
		"LoadFunction":     {pipedrive: true, ledger: "write", s3: rwMigrations},
		"TransferFunction": {pipedrive: true, ledger: "write", s3: append([]string{readExports}, rwMigrations...)},
		"EstimateFunction": {s3: rwMigrations},
		"VerifyFunction":   {pipedrive: true, ledger: "read", s3: rwMigrations},
		"FinishFunction":   {ledger: "list", s3: rwMigrations},
		"ApprovalFunction": {s3: []string{"put !Sub ${Bucket.Arn}/migrations/*/approvals/*"}},
		"RollbackFunction": {pipedrive: true, ledger: "list", s3: rwMigrations},
		"TriggerFunction":  {s3: []string{readExports, "get !Sub ${Bucket.Arn}/migrations/*/triggers/*", "put !Sub ${Bucket.Arn}/migrations/*/triggers/*"}},
	}
	g := grants(t)
	fns := resources(t, "AWS::Serverless::Function")
	for _, id := range sortedKeys(needs) {
		if fns[id] == nil {
			continue
		}
		n := needs[id]
		role := strings.TrimSuffix(strings.TrimPrefix(render(get(fns[id], "Properties", "Role")), "!GetAtt "), ".Arn")
		have := g[role]
		// S3: exactly the object prefixes of the table.
		var s3 []string
		for a, rs := range have {
			verb := map[string]string{"s3:GetObject": "get", "s3:PutObject": "put"}[a]
			for _, r := range rs {
				if verb != "" {
					s3 = append(s3, verb+" "+r)
				} else if strings.HasPrefix(a, "s3:") && a != "s3:ListBucket" && a != "s3:DeleteObject" && a != "s3:AbortMultipartUpload" {
					t.Errorf("%s: unexpected S3 action %s on %s", id, a, r)
				}
			}
		}
		sort.Strings(s3)
		want := append([]string{}, n.s3...)
		sort.Strings(want)
		if !slices.Equal(s3, want) {
			t.Errorf("%s: S3 object grants\n got %q\nwant %q", id, s3, want)
		}
		for _, a := range []string{"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"} {
			for _, r := range have[a] {
				if strings.Contains(r, "/exports/") {
					t.Errorf("%s: %s on %s: exports are read-only to the functions", id, a, r)
				}
			}
		}
		for _, r := range have["s3:ListBucket"] {
			if r != "!GetAtt Bucket.Arn" {
				t.Errorf("%s: s3:ListBucket on %s", id, r)
			}
		}
		// Ledger.
		var ledger []string
		for a := range have {
			if strings.HasPrefix(a, "dynamodb:") {
				ledger = append(ledger, a)
			}
		}
		sort.Strings(ledger)
		wantLedger := map[string][]string{
			"":      nil,
			"read":  {"dynamodb:GetItem"},
			"write": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
			"list":  {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
		}[n.ledger]
		if !slices.Equal(ledger, wantLedger) {
			t.Errorf("%s: ledger actions %v, want %v", id, ledger, wantLedger)
		}
		for _, a := range ledger {
			want := []string{"!GetAtt LedgerTable.Arn"}
			if a == "dynamodb:Query" {
				want = []string{"!Sub ${LedgerTable.Arn}/index/by_seq"}
			}
			if !slices.Equal(have[a], want) {
				t.Errorf("%s: %s on %v, want %v", id, a, have[a], want)
			}
		}
		// The token.
		secret := have["secretsmanager:GetSecretValue"]
		switch {
		case n.pipedrive && !slices.Equal(secret, []string{"!Ref PipedriveTokenSecretArn"}):
			t.Errorf("%s: secretsmanager:GetSecretValue on %v, want the token secret only", id, secret)
		case !n.pipedrive && secret != nil:
			t.Errorf("%s: reads the token secret, but does not call Pipedrive", id)
		}
		// Step Functions.
		for a, rs := range have {
			if !strings.HasPrefix(a, "states:") {
				continue
			}
			if id != "TriggerFunction" || a != "states:StartExecution" || !slices.Equal(rs, []string{"!Ref MigrationStateMachine"}) {
				t.Errorf("%s: %s on %v; only the trigger may start executions, of the migration state machine", id, a, rs)
			}
		}
		if id == "TriggerFunction" && !slices.Equal(have["states:StartExecution"], []string{"!Ref MigrationStateMachine"}) {
			t.Errorf("TriggerFunction: states:StartExecution on %v, want the migration state machine", have["states:StartExecution"])
		}
	}
}

// KMS only when a customer key is given, and only on it.
func TestKMSOnlyWithAKey(t *testing.T) {
	for _, st := range statements(t) {
		for _, a := range st.actions() {
			if !strings.HasPrefix(a, "kms:") {
				continue
			}
			if !slices.Contains(st.when, "HasKmsKey") {
				t.Errorf("%s: %s is granted without the HasKmsKey condition", st.where, a)
			}
			if !slices.Equal(st.resources(), []string{"!Ref KmsKeyArn"}) {
				t.Errorf("%s: %s on %v, want the KmsKeyArn parameter only", st.where, a, st.resources())
			}
			if !strings.Contains(a, "Decrypt") && !strings.Contains(a, "Encrypt") && !strings.Contains(a, "GenerateDataKey") {
				t.Errorf("%s: %s: the functions only encrypt and decrypt", st.where, a)
			}
		}
	}
}

// Each state machine invokes exactly the functions its definition names.
func TestStateMachineRoles(t *testing.T) {
	g := grants(t)
	for sm, fns := range stateMachineFunctions {
		var want []string
		for _, f := range fns {
			want = append(want, "!GetAtt "+f+".Arn")
		}
		sort.Strings(want)
		got := append([]string{}, g[sm+"Role"]["lambda:InvokeFunction"]...)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%sRole: lambda:InvokeFunction on\n %v\nwant\n %v", sm, got, want)
		}
		for a := range g[sm+"Role"] {
			if a != "lambda:InvokeFunction" && !strings.HasPrefix(a, "logs:") && !strings.HasPrefix(a, "xray:") {
				t.Errorf("%sRole: unexpected action %s", sm, a)
			}
		}
		for _, st := range statements(t) {
			if strings.HasPrefix(st.where, sm+"Role/") && slices.ContainsFunc(st.actions(), func(a string) bool { return strings.HasPrefix(a, "xray:") }) && !slices.Contains(st.when, "TracingEnabled") {
				t.Errorf("%s: X-Ray permissions without the TracingEnabled condition", st.where)
			}
		}
	}
	if got := g["DeltaScheduleRole"]; len(got) != 1 || !slices.Equal(got["lambda:InvokeFunction"], []string{"!GetAtt TriggerFunction.Arn"}) {
		t.Errorf("DeltaScheduleRole grants %v; want lambda:InvokeFunction on the trigger only", got)
	}
}
