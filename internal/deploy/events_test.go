package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const exampleMigration = "example-llp-2026-11"

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root(t), "events", name))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(data) {
		t.Fatalf("events/%s is not JSON", name)
	}
	return data
}

func decodeStrict(t *testing.T, name string, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(readEvent(t, name)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("events/%s: %v", name, err)
	}
}

// wildcard matches EventBridge's wildcard pattern: * is any run of
// characters.
func wildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	re := make([]string, len(parts))
	for i, p := range parts {
		re[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(re, ".*") + "$").MatchString(s)
}

// The upload trigger: the trigger function's EventBridgeRule event on this
// bucket's Object Created events under exports/ (SAM makes the rule and the
// permission scoped to it).
func TestUploadRule(t *testing.T) {
	fn := resource(t, "TriggerFunction", "AWS::Serverless::Function")
	var rules []obj
	for _, ev := range asObj(get(fn, "Properties", "Events")) {
		if render(get(ev, "Type")) == "EventBridgeRule" {
			rules = append(rules, asObj(ev))
		}
	}
	if len(rules) != 1 {
		t.Fatalf("TriggerFunction has %d EventBridgeRule events, want 1", len(rules))
	}
	pat := get(rules[0], "Properties", "Pattern")
	if got := renderAll(get(pat, "source")); !slices.Equal(got, []string{"aws.s3"}) {
		t.Errorf("rule source %v", got)
	}
	if got := renderAll(get(pat, "detail-type")); !slices.Equal(got, []string{"Object Created"}) {
		t.Errorf("rule detail-type %v", got)
	}
	if got := renderAll(get(pat, "detail", "bucket", "name")); !slices.Equal(got, []string{"!Ref Bucket"}) {
		t.Errorf("rule bucket %v, want this stack's bucket", got)
	}
	keys := asList(get(pat, "detail", "object", "key"))
	if len(keys) == 0 {
		t.Fatal("rule matches every key; want exports/ only")
	}
	var ev struct {
		DetailType string `json:"detail-type"`
		Source     string
		Detail     struct {
			Bucket struct{ Name string }
			Object struct{ Key, ETag string }
		}
	}
	if err := json.Unmarshal(readEvent(t, "s3-object-created.json"), &ev); err != nil {
		t.Fatal(err)
	}
	matched := false
	for _, k := range keys {
		var p string
		switch {
		case get(k, "prefix") != nil:
			p = render(get(k, "prefix")) + "*"
		case get(k, "wildcard") != nil:
			p = render(get(k, "wildcard"))
		default:
			t.Errorf("rule key pattern %s", render(k))
			continue
		}
		if !strings.HasPrefix(p, "exports/") {
			t.Errorf("rule key pattern %s is outside exports/", render(k))
		}
		matched = matched || wildcard(p, ev.Detail.Object.Key)
		if wildcard(p, "exports/"+exampleMigration+"/2026-11-20-full/documents/M1/lease.pdf") {
			t.Errorf("rule key pattern %s matches every document of an export: each would invoke the trigger", p)
		}
	}
	if !matched {
		t.Errorf("events/s3-object-created.json's key %s does not match the rule", ev.Detail.Object.Key)
	}
	if ev.Source != "aws.s3" || ev.DetailType != "Object Created" || ev.Detail.Object.Key != "exports/"+exampleMigration+"/2026-11-20-full/manifest.json" || ev.Detail.Object.ETag == "" || ev.Detail.Bucket.Name == "" {
		t.Errorf("events/s3-object-created.json: %+v", ev)
	}
}

func TestDeltaSchedule(t *testing.T) {
	s := resource(t, "DeltaSchedule", "AWS::Scheduler::Schedule")
	p := asObj(s["Properties"])
	if got := render(p["State"]); got != "!Ref DeltaScheduleState" {
		t.Errorf("DeltaSchedule: State = %s", got)
	}
	if got := render(get(template(t), "Parameters", "DeltaScheduleState", "Default")); got != "DISABLED" {
		t.Errorf("DeltaScheduleState defaults to %q; the schedule must be off until cutover", got)
	}
	if got := render(p["ScheduleExpression"]); got != "!Ref DeltaScheduleExpression" {
		t.Errorf("DeltaSchedule: ScheduleExpression = %s", got)
	}
	if got := render(get(p, "Target", "Arn")); got != "!GetAtt TriggerFunction.Arn" {
		t.Errorf("DeltaSchedule: target %s, want the trigger", got)
	}
	if got := render(get(p, "Target", "RoleArn")); got != "!GetAtt DeltaScheduleRole.Arn" {
		t.Errorf("DeltaSchedule: role %s", got)
	}
	input := render(get(p, "Target", "Input"))
	tmpl, ok := strings.CutPrefix(input, "!Sub ")
	if !ok {
		t.Fatalf("DeltaSchedule: Input = %s, want !Sub of the trigger's schedule event", input)
	}
	// events/schedule-delta.json is what the schedule delivers for the example migration.
	delivered := strings.ReplaceAll(tmpl, "${MigrationForDelta}", exampleMigration)
	var got, want any
	if err := json.Unmarshal([]byte(delivered), &got); err != nil {
		t.Fatalf("DeltaSchedule: Input %s: %v", tmpl, err)
	}
	if err := json.Unmarshal(readEvent(t, "schedule-delta.json"), &want); err != nil {
		t.Fatal(err)
	}
	if render(got) != render(want) {
		t.Errorf("DeltaSchedule delivers %s, events/schedule-delta.json says %s", render(got), render(want))
	}
	if render(get(want, "source")) != "conveyor.schedule" || render(get(want, "migration_id")) != exampleMigration {
		t.Errorf("events/schedule-delta.json = %s", render(want))
	}
}

// The execution input of docs/aws.md.
type executionInput struct {
	MigrationID string `json:"migration_id"`
	Export      string `json:"export"`
	Mode        string `json:"mode"`
	Config      string `json:"config"`
	SampleSize  int    `json:"sample_size"`
	Concurrency int    `json:"concurrency"`
	Approved    bool   `json:"approved"`
}

func TestExecutionInputs(t *testing.T) {
	for _, mode := range []string{"plan", "sample", "full", "delta"} {
		var in executionInput
		decodeStrict(t, "start-"+mode+".json", &in)
		if in.MigrationID != exampleMigration || in.Mode != mode {
			t.Errorf("events/start-%s.json: migration %q mode %q", mode, in.MigrationID, in.Mode)
		}
		if !strings.HasPrefix(in.Export, "exports/"+exampleMigration+"/") || !strings.HasSuffix(in.Export, "/") {
			t.Errorf("events/start-%s.json: export %q, want a folder under exports/%s/", mode, in.Export, exampleMigration)
		}
		if mode == "sample" && (in.SampleSize < 100 || in.SampleSize > 300) {
			t.Errorf("events/start-sample.json: sample_size %d, want 100 to 300", in.SampleSize)
		}
		if in.Approved {
			t.Errorf("events/start-%s.json: approved: an example must not skip the approval", mode)
		}
	}
	var rb struct {
		MigrationID string `json:"migration_id"`
		Run         string `json:"run"`
		Force       bool   `json:"force"`
		Approved    bool   `json:"approved"`
	}
	decodeStrict(t, "rollback.json", &rb)
	if rb.MigrationID != exampleMigration || rb.Force || rb.Approved {
		t.Errorf("events/rollback.json: %+v; want the example migration, not forced, not pre-approved", rb)
	}
	var ap struct {
		Approved bool   `json:"approved"`
		By       string `json:"by"`
		At       string `json:"at"`
	}
	decodeStrict(t, "approval.json", &ap)
	if !ap.Approved || ap.By == "" || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(ap.At) {
		t.Errorf("events/approval.json: %+v", ap)
	}
}
