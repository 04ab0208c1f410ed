package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// stateMachineFunctions are the functions each definition calls
// (docs/aws.md): the migration all but the trigger and rollback.
var stateMachineFunctions = map[string][]string{
	"MigrationStateMachine": {"ExtractFunction", "SchemaFunction", "StagesFunction", "OwnersFunction", "SampleFunction",
		"LoadFunction", "TransferFunction", "EstimateFunction", "VerifyFunction", "FinishFunction", "ApprovalFunction"},
	"RollbackStateMachine": {"RollbackFunction", "ApprovalFunction"},
}

var stateMachineFiles = map[string]string{
	"MigrationStateMachine": "statemachine/migrate.asl.json",
	"RollbackStateMachine":  "statemachine/rollback.asl.json",
}

var placeholderRE = regexp.MustCompile(`\$\{([^}]*)\}`)

func TestStateMachineSubstitutions(t *testing.T) {
	for _, sm := range sortedKeys(stateMachineFiles) {
		p := asObj(resource(t, sm, "AWS::Serverless::StateMachine")["Properties"])
		file := stateMachineFiles[sm]
		if got := render(p["DefinitionUri"]); got != file {
			t.Errorf("%s: DefinitionUri = %s, want %s", sm, got, file)
		}
		if got := render(p["Type"]); got != "STANDARD" {
			t.Errorf("%s: Type = %s, want STANDARD (the approvals wait for a task token)", sm, got)
		}
		subs := asObj(p["DefinitionSubstitutions"])
		// The substitutions are the documented functions' ARNs, named <LogicalId>Arn.
		var want []string
		for _, f := range stateMachineFunctions[sm] {
			want = append(want, f+"Arn")
		}
		sort.Strings(want)
		if got := sortedKeys(subs); !slices.Equal(got, want) {
			t.Errorf("%s: DefinitionSubstitutions\n %v\nwant\n %v", sm, got, want)
		}
		for name, v := range subs {
			fn := strings.TrimSuffix(name, "Arn")
			if got := render(v); got != "!GetAtt "+fn+".Arn" {
				t.Errorf("%s: %s = %s, want !GetAtt %s.Arn", sm, name, got, fn)
			}
		}
		// Every placeholder of the definition has a substitution, and every
		// substitution is used.
		data, err := os.ReadFile(filepath.Join(root(t), file))
		if err != nil {
			t.Errorf("%s: %v", sm, err)
			continue
		}
		used := map[string]bool{}
		for _, m := range placeholderRE.FindAllStringSubmatch(string(data), -1) {
			used[m[1]] = true
			if _, ok := subs[m[1]]; !ok {
				t.Errorf("%s: placeholder ${%s} has no DefinitionSubstitutions entry in %s", file, m[1], sm)
			}
		}
		for _, name := range sortedKeys(subs) {
			if !used[name] {
				t.Errorf("%s: substitution %s is not used by %s", sm, name, file)
			}
		}
	}
}

func TestStateMachineLogging(t *testing.T) {
	outputs := asObj(template(t)["Outputs"])
	for _, sm := range sortedKeys(stateMachineFiles) {
		p := asObj(resource(t, sm, "AWS::Serverless::StateMachine")["Properties"])
		lg := sm + "LogGroup"
		dest := asList(get(p, "Logging", "Destinations"))
		if len(dest) != 1 || render(get(dest[0], "CloudWatchLogsLogGroup", "LogGroupArn")) != "!GetAtt "+lg+".Arn" {
			t.Errorf("%s: Logging.Destinations = %s, want %s", sm, render(dest), lg)
		}
		if level := render(get(p, "Logging", "Level")); level == "" || level == "OFF" {
			t.Errorf("%s: Logging.Level = %q", sm, level)
		}
		if get(p, "Logging", "IncludeExecutionData") != false {
			t.Errorf("%s: Logging.IncludeExecutionData must be false: only references move through the state, but the logs need not hold even those", sm)
		}
		if got := render(get(resource(t, lg, "AWS::Logs::LogGroup"), "Properties", "RetentionInDays")); got != "!Ref LogRetentionDays" {
			t.Errorf("%s: RetentionInDays = %s", lg, got)
		}
		if _, ok := outputs[lg+"Name"]; !ok {
			t.Errorf("no output %sName", lg)
		}
		var tracing []any
		for _, b := range branches(get(p, "Tracing", "Enabled")) {
			tracing = append(tracing, b.v)
		}
		if len(tracing) != 2 || render(get(p, "Tracing", "Enabled", "Fn::If")) == "" {
			t.Errorf("%s: Tracing.Enabled = %s, want !If [TracingEnabled, true, false]", sm, render(get(p, "Tracing", "Enabled")))
		}
	}
}

func TestAlarms(t *testing.T) {
	alarms := resources(t, "AWS::CloudWatch::Alarm")
	for _, sm := range sortedKeys(stateMachineFiles) {
		found := false
		for _, id := range sortedKeys(alarms) {
			p := asObj(alarms[id]["Properties"])
			dims := asList(p["Dimensions"])
			if render(p["MetricName"]) != "ExecutionsFailed" || len(dims) != 1 || render(get(dims[0], "Value")) != "!Ref "+sm {
				continue
			}
			found = true
			bs := branches(p["AlarmActions"])
			if len(bs) != 1 || !slices.Equal(bs[0].when, []string{"HasAlarmEmail"}) || render(bs[0].v) != `[{"Ref":"AlarmTopic"}]` {
				t.Errorf("%s: AlarmActions = %s, want !If [HasAlarmEmail, [!Ref AlarmTopic], !Ref AWS::NoValue]", id, render(p["AlarmActions"]))
			}
		}
		if !found {
			t.Errorf("no ExecutionsFailed alarm on %s", sm)
		}
	}
	for _, id := range []string{"AlarmTopic", "AlarmSubscription"} {
		var r obj
		for _, typ := range []string{"AWS::SNS::Topic", "AWS::SNS::Subscription"} {
			if x := resources(t, typ)[id]; x != nil {
				r = x
			}
		}
		if r == nil || r["Condition"] != "HasAlarmEmail" {
			t.Errorf("%s must exist under the condition HasAlarmEmail", id)
		}
	}
}

func TestParametersAndOutputs(t *testing.T) {
	params := asObj(template(t)["Parameters"])
	defaults := map[string]string{
		"PipedrivePlan":           "growth",
		"PipedriveSeats":          "1",
		"DefaultOwnerEmail":       "",
		"KmsKeyArn":               "",
		"MigrationForDelta":       "",
		"DeltaScheduleState":      "DISABLED",
		"DeltaScheduleExpression": "rate(1 day)",
		"AlarmEmail":              "",
	}
	for _, name := range []string{"PipedriveCompanyUrl", "PipedriveTokenSecretArn", "LogRetentionDays", "StagedRetentionDays", "RollbackWindowDays"} {
		defaults[name] = "-"
	}
	for _, name := range sortedKeys(defaults) {
		p := asObj(params[name])
		if p == nil {
			t.Errorf("no parameter %s", name)
			continue
		}
		if want := defaults[name]; want != "-" {
			if d, ok := p["Default"]; !ok || render(d) != want {
				t.Errorf("parameter %s: Default = %v, want %q", name, d, want)
			}
		}
	}
	if got := renderAll(get(params, "PipedrivePlan", "AllowedValues")); !slices.Equal(got, []string{"lite", "growth", "premium", "ultimate"}) {
		t.Errorf("PipedrivePlan: AllowedValues = %v", got)
	}
	if got := render(get(params, "PipedriveSeats", "Type")); got != "Number" {
		t.Errorf("PipedriveSeats: Type = %s, want Number", got)
	}
	outputs := asObj(template(t)["Outputs"])
	for name, want := range map[string]string{
		"BucketName":               "!Ref Bucket",
		"MigrationStateMachineArn": "!Ref MigrationStateMachine",
		"RollbackStateMachineArn":  "!Ref RollbackStateMachine",
		"LedgerTableName":          "!Ref LedgerTable",
	} {
		if got := render(get(outputs, name, "Value")); got != want {
			t.Errorf("output %s = %q, want %s", name, got, want)
		}
	}
	conds := asObj(template(t)["Conditions"])
	for name, want := range map[string]string{
		"HasKmsKey":     `{"Fn::Not":[{"Fn::Equals":[{"Ref":"KmsKeyArn"},""]}]}`,
		"HasAlarmEmail": `{"Fn::Not":[{"Fn::Equals":[{"Ref":"AlarmEmail"},""]}]}`,
	} {
		if got := render(conds[name]); got != want {
			t.Errorf("condition %s = %s, want %s", name, got, want)
		}
	}
}
