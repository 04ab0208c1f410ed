package trigger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/blobtest"
	"github.com/conveyor-migrate/conveyor/internal/blob/s3blob"
	"github.com/conveyor-migrate/conveyor/internal/ledger/ledgertest"
	"github.com/conveyor-migrate/conveyor/internal/trigger"
)

// One moto_server for the test binary, a state machine per test. moto is
// started by ledgertest's helper: the server it starts serves every moto
// service, Step Functions too. moto keeps the executions it is asked to
// start without running them (it runs none by default), so each stays
// RUNNING until stopped.
var (
	server    *ledgertest.DynamoDBServer
	serverErr error
	machines  atomic.Int64
)

func TestMain(m *testing.M) {
	flag.Parse()
	server, serverErr = ledgertest.StartDynamoDB()
	code := m.Run()
	if server != nil {
		server.Close()
	}
	os.Exit(code)
}

// env is one test's handler: a fresh state machine in moto, the bucket in
// gofakes3.
type env struct {
	h       *trigger.Handler
	client  *sfn.Client
	machine string
	store   blob.Store
}

func newEnv(t *testing.T, bucket string) *env {
	t.Helper()
	ledgertest.SkipWithoutDynamoDB(t, serverErr)
	client := sfn.New(sfn.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String(server.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	out, err := client.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name:       aws.String(fmt.Sprintf("migrate-%d", machines.Add(1))),
		Definition: aws.String(`{"StartAt":"Extract","States":{"Extract":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/x"),
	})
	if err != nil {
		t.Fatalf("create state machine: %v", err)
	}
	s3client, _ := blobtest.NewS3TestServer(t)
	store := s3blob.New(s3client, blobtest.S3TestBucket, "")
	h := &trigger.Handler{SFN: client, StateMachineARN: aws.ToString(out.StateMachineArn), Store: store, Bucket: bucket,
		Now: func() time.Time { return time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC) }}
	return &env{h: h, client: client, machine: aws.ToString(out.StateMachineArn), store: store}
}

func (e *env) executions(t *testing.T) []sfntypes.ExecutionListItem {
	t.Helper()
	out, err := e.client.ListExecutions(context.Background(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(e.machine)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Executions
}

// input is an execution's input, decoded.
func (e *env) input(t *testing.T, arn string) map[string]any {
	t.Helper()
	out, err := e.client.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	var in map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.Input)), &in); err != nil {
		t.Fatalf("input %q: %v", aws.ToString(out.Input), err)
	}
	return in
}

// objectCreated is the example event: events/s3-object-created.json when
// the repository has it, testdata's copy otherwise.
func objectCreated(t *testing.T) (raw []byte, bucket, key, etag string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "s3-object-created.json"))
	if errors.Is(err, os.ErrNotExist) {
		raw, err = os.ReadFile(filepath.Join("testdata", "s3-object-created.json"))
	}
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Detail struct {
			Bucket struct{ Name string }
			Object struct{ Key, ETag string }
		}
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return raw, ev.Detail.Bucket.Name, ev.Detail.Object.Key, ev.Detail.Object.ETag
}

// event is an S3 Object Created event for key in bucket.
func event(bucket, key, etag string) []byte {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": "ev-1", "detail-type": "Object Created", "source": "aws.s3",
		"account": "123456789012", "region": "eu-west-2",
		"detail": map[string]any{
			"version": "0",
			"bucket":  map[string]any{"name": bucket},
			"object":  map[string]any{"key": key, "size": 100, "etag": etag, "sequencer": "00AB"},
			"reason":  "PutObject",
		},
	})
	return b
}

// expected is what the upload convention says an uploaded key starts,
// worked out here independently of the package.
func expected(key string) (migration, export, mode string) {
	parts := strings.Split(key, "/")
	migration = parts[1]
	id := parts[2]
	if strings.HasSuffix(key, ".zip") {
		export, id = key, strings.TrimSuffix(id, ".zip")
	} else {
		export = strings.Join(parts[:3], "/") + "/"
	}
	mode = "plan"
	for _, m := range []string{"sample", "full", "delta"} {
		if strings.HasSuffix(id, "."+m) {
			mode = m
		}
	}
	return migration, export, mode
}

func TestUploadStartsOnce(t *testing.T) {
	raw, bucket, key, etag := objectCreated(t)
	e := newEnv(t, bucket)
	ctx := context.Background()
	migration, export, mode := expected(key)
	name := trigger.ExecutionName(migration, mode, bucket, key, etag)
	if !strings.HasPrefix(name, migration+"-"+mode+"-") || len(name) != len(migration)+len(mode)+2+16 {
		t.Errorf("execution name %q; want %s-%s-<16 hex>", name, migration, mode)
	}

	res, err := e.h.Handle(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ignored != "" || res.AlreadyStarted || res.Execution != name || res.ExecutionARN == "" || res.Mode != mode || res.Export != export {
		t.Fatalf("first event: %+v; want a new execution %s", res, name)
	}
	list := e.executions(t)
	if len(list) != 1 || aws.ToString(list[0].Name) != name || aws.ToString(list[0].ExecutionArn) != res.ExecutionARN {
		t.Fatalf("executions %+v; want one named %s", list, name)
	}
	want := map[string]any{"migration_id": migration, "export": export, "mode": mode}
	if got := e.input(t, res.ExecutionARN); !reflect.DeepEqual(got, want) {
		t.Errorf("execution input %v; want %v", got, want)
	}
	// The start is recorded.
	data, err := e.store.Get(ctx, trigger.RecordKey(migration, name))
	if err != nil {
		t.Fatalf("no trigger record: %v", err)
	}
	var rec trigger.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Export != export || rec.Mode != mode || rec.Source != trigger.ByUpload || rec.Key != key || rec.ETag != etag || rec.ExecutionARN != res.ExecutionARN {
		t.Errorf("record %+v", rec)
	}

	// The same event again (EventBridge delivers at least once): nothing new.
	again, err := e.h.Handle(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if !again.AlreadyStarted || again.Execution != name || again.ExecutionARN != res.ExecutionARN {
		t.Errorf("repeated event: %+v; want AlreadyStarted %s", again, name)
	}
	if n := len(e.executions(t)); n != 1 {
		t.Errorf("%d executions after the repeated event; want 1", n)
	}

	// A new version of the manifest (another ETag) is a new export upload.
	other, err := e.h.Handle(ctx, event(bucket, key, "0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if other.AlreadyStarted || other.Execution == name {
		t.Errorf("new ETag: %+v; want a new execution", other)
	}
	if n := len(e.executions(t)); n != 2 {
		t.Errorf("%d executions; want 2", n)
	}
}

// TestRepeatWithoutRecord shows what Step Functions (moto as AWS) does with
// a repeated StartExecution when the record is missing (the trigger died
// between the two): while the execution runs, the same name and input
// return it again, with success; once it has ended, ExecutionAlreadyExists,
// which the trigger takes as already started. Either way nothing new runs.
func TestRepeatWithoutRecord(t *testing.T) {
	e := newEnv(t, "bucket-1")
	ctx := context.Background()
	key := "exports/acme-2026/2026-11-20.sample/manifest.json"
	res, err := e.h.Handle(ctx, event("bucket-1", key, "etag-1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != trigger.ModeSample {
		t.Errorf("mode %q; want sample", res.Mode)
	}
	record := trigger.RecordKey("acme-2026", res.Execution)

	// Running: the same execution comes back.
	if err := e.store.Delete(ctx, record); err != nil {
		t.Fatal(err)
	}
	running, err := e.h.Handle(ctx, event("bucket-1", key, "etag-1"))
	if err != nil {
		t.Fatal(err)
	}
	if running.ExecutionARN != res.ExecutionARN {
		t.Errorf("repeat while running: %+v; want the same execution", running)
	}
	if n := len(e.executions(t)); n != 1 {
		t.Errorf("%d executions; want 1", n)
	}

	// Ended: ExecutionAlreadyExists.
	if _, err := e.client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(res.ExecutionARN)}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Delete(ctx, record); err != nil {
		t.Fatal(err)
	}
	ended, err := e.h.Handle(ctx, event("bucket-1", key, "etag-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !ended.AlreadyStarted || ended.ExecutionARN != res.ExecutionARN {
		t.Errorf("repeat after the end: %+v; want AlreadyStarted with ARN %s", ended, res.ExecutionARN)
	}
	if n := len(e.executions(t)); n != 1 {
		t.Errorf("%d executions; want 1", n)
	}
	data, err := e.store.Get(ctx, record)
	if err != nil || !bytes.Contains(data, []byte(`"already_started": true`)) {
		t.Errorf("record after ExecutionAlreadyExists: %s, %v", data, err)
	}
}

func TestZipAndModes(t *testing.T) {
	e := newEnv(t, "bucket-1")
	ctx := context.Background()
	for _, tc := range []struct{ key, export, mode string }{
		{"exports/acme-2026/2026-11-21.full.zip", "exports/acme-2026/2026-11-21.full.zip", "full"},
		{"exports/acme-2026/2026-11-22.ZIP", "exports/acme-2026/2026-11-22.ZIP", "plan"},
		{"exports/acme-2026/2026-11-23.delta/manifest.json", "exports/acme-2026/2026-11-23.delta/", "delta"},
		{"exports/acme.firm_2026/x.sample/manifest.json", "exports/acme.firm_2026/x.sample/", "sample"},
	} {
		res, err := e.h.Handle(ctx, event("bucket-1", tc.key, "e"))
		if err != nil {
			t.Errorf("%s: %v", tc.key, err)
			continue
		}
		if res.Export != tc.export || res.Mode != tc.mode || res.Execution == "" || res.AlreadyStarted {
			t.Errorf("%s: %+v; want export %s, mode %s", tc.key, res, tc.export, tc.mode)
		}
		if got := e.input(t, res.ExecutionARN); got["export"] != tc.export || got["mode"] != tc.mode {
			t.Errorf("%s: input %v", tc.key, got)
		}
	}
	if n := len(e.executions(t)); n != 4 {
		t.Errorf("%d executions; want 4", n)
	}
}

func TestIgnored(t *testing.T) {
	e := newEnv(t, "bucket-1")
	ctx := context.Background()
	for _, raw := range [][]byte{
		event("bucket-1", "exports/acme-2026/2026-11-20/clients.csv", "e"),
		event("bucket-1", "exports/acme-2026/2026-11-20/docs/manifest.json", "e"),
		event("bucket-1", "migrations/acme-2026/runs/r1/summary.json", "e"),
		event("bucket-1", "exports/acme-2026/notes.txt", "e"),
		event("another-bucket", "exports/acme-2026/2026-11-20/manifest.json", "e"),
		[]byte(`{"source":"aws.s3","detail-type":"Object Deleted","detail":{"bucket":{"name":"bucket-1"},"object":{"key":"exports/acme-2026/2026-11-20/manifest.json"}}}`),
	} {
		res, err := e.h.Handle(ctx, raw)
		if err != nil || res.Ignored == "" || res.Execution != "" {
			t.Errorf("%s: %+v, %v; want ignored", raw, res, err)
		}
	}
	if n := len(e.executions(t)); n != 0 {
		t.Errorf("%d executions; want none", n)
	}
}

func TestInputError(t *testing.T) {
	e := newEnv(t, "bucket-1")
	ctx := context.Background()
	for _, raw := range [][]byte{
		event("bucket-1", "exports/acme 2026!/2026-11-20/manifest.json", "e"),
		event("bucket-1", "exports/"+strings.Repeat("a", 81)+"/2026-11-20/manifest.json", "e"),
		event("bucket-1", "exports/-acme/2026-11-20/manifest.json", "e"),
		event("bucket-1", "exports/acme/2026+11+20/manifest.json", "e"),
		event("bucket-1", "exports/acme/2026-11-20/manifest.json", ""),
		[]byte(`{"source":"aws.s3","detail-type":"Object Created","detail":{}}`),
		[]byte(`{"source":"conveyor.schedule"}`),
		[]byte(`{"source":"conveyor.schedule","migration_id":"../etc"}`),
		[]byte(`{"source":"somewhere.else"}`),
		[]byte(`[1,2]`),
	} {
		if bytes.Contains(raw, []byte(`"etag":""`)) {
			// No ETag and no sequencer.
			raw = bytes.Replace(raw, []byte(`"sequencer":"00AB"`), []byte(`"sequencer":""`), 1)
		}
		res, err := e.h.Handle(ctx, raw)
		var input *trigger.InputError
		if !errors.As(err, &input) {
			t.Errorf("%s: %+v, %v; want *InputError", raw, res, err)
		}
	}
	if n := len(e.executions(t)); n != 0 {
		t.Errorf("%d executions; want none", n)
	}
}

func put(t *testing.T, store blob.Store, key string) {
	t.Helper()
	if err := store.Put(context.Background(), key, strings.NewReader(`{"files":[]}`)); err != nil {
		t.Fatal(err)
	}
}

func TestScheduledDelta(t *testing.T) {
	e := newEnv(t, blobtest.S3TestBucket)
	ctx := context.Background()
	schedule := []byte(`{"source":"conveyor.schedule","migration_id":"acme-2026"}`)

	// No export yet.
	res, err := e.h.Handle(ctx, schedule)
	if err != nil || res.Ignored != trigger.NoNewExport {
		t.Fatalf("no exports: %+v, %v; want %q", res, err, trigger.NoNewExport)
	}

	// Two exports: the newer is the one written last, whatever its name.
	// S3 lists LastModified to the second: a second apart.
	put(t, e.store, "exports/acme-2026/zz-older/manifest.json")
	put(t, e.store, "exports/acme-2026/zz-older/clients.csv")
	time.Sleep(1100 * time.Millisecond)
	put(t, e.store, "exports/acme-2026/aa-newer/clients.csv")
	put(t, e.store, "exports/acme-2026/aa-newer/manifest.json")
	put(t, e.store, "exports/acme-2026/not-an-export/clients.csv")
	put(t, e.store, "exports/acme-20260/other-migration/manifest.json")

	res, err = e.h.Handle(ctx, schedule)
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.store.Stat(ctx, "exports/acme-2026/aa-newer/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	name := trigger.ExecutionName("acme-2026", "delta", blobtest.S3TestBucket, "exports/acme-2026/aa-newer/manifest.json", info.ETag)
	if res.Export != "exports/acme-2026/aa-newer/" || res.Mode != trigger.ModeDelta || res.Execution != name || res.AlreadyStarted {
		t.Fatalf("schedule: %+v; want a delta of aa-newer named %s", res, name)
	}
	want := map[string]any{"migration_id": "acme-2026", "export": "exports/acme-2026/aa-newer/", "mode": "delta"}
	if got := e.input(t, res.ExecutionARN); !reflect.DeepEqual(got, want) {
		t.Errorf("input %v; want %v", got, want)
	}
	var rec trigger.Record
	data, err := e.store.Get(ctx, trigger.RecordKey("acme-2026", name))
	if err != nil || json.Unmarshal(data, &rec) != nil || rec.Source != trigger.BySchedule || rec.Export != "exports/acme-2026/aa-newer/" {
		t.Errorf("record %s, %v", data, err)
	}

	// The next schedule finds nothing new.
	res, err = e.h.Handle(ctx, schedule)
	if err != nil || res.Ignored != trigger.NoNewExport {
		t.Fatalf("second schedule: %+v, %v; want %q", res, err, trigger.NoNewExport)
	}
	if n := len(e.executions(t)); n != 1 {
		t.Errorf("%d executions; want 1", n)
	}

	// An export uploaded for a plan is still new to the schedule; one
	// uploaded for a full run is not. (Within a second the greater key is
	// the newer export, and these names are greater than the others.)
	put(t, e.store, "exports/acme-2026/zzz-1/manifest.json")
	info, _ = e.store.Stat(ctx, "exports/acme-2026/zzz-1/manifest.json")
	plan, err := e.h.Handle(ctx, event(blobtest.S3TestBucket, "exports/acme-2026/zzz-1/manifest.json", info.ETag))
	if err != nil || plan.Mode != trigger.ModePlan {
		t.Fatalf("upload: %+v, %v", plan, err)
	}
	res, err = e.h.Handle(ctx, schedule)
	if err != nil || res.Mode != trigger.ModeDelta || res.Export != "exports/acme-2026/zzz-1/" {
		t.Fatalf("schedule after a plan upload: %+v, %v; want a delta of zzz-1", res, err)
	}
	put(t, e.store, "exports/acme-2026/zzz-2.full.zip")
	info, _ = e.store.Stat(ctx, "exports/acme-2026/zzz-2.full.zip")
	full, err := e.h.Handle(ctx, event(blobtest.S3TestBucket, "exports/acme-2026/zzz-2.full.zip", info.ETag))
	if err != nil || full.Mode != trigger.ModeFull {
		t.Fatalf("upload: %+v, %v", full, err)
	}
	res, err = e.h.Handle(ctx, schedule)
	if err != nil || res.Ignored != trigger.NoNewExport {
		t.Fatalf("schedule after a full upload: %+v, %v; want %q", res, err, trigger.NoNewExport)
	}
	if n := len(e.executions(t)); n != 4 {
		t.Errorf("%d executions; want 4 (delta, plan, delta, full)", n)
	}
}

// TestStartError: a state machine that does not exist is Step Functions
// refusing the start, reported as *StartError, and nothing is recorded.
func TestStartError(t *testing.T) {
	e := newEnv(t, "bucket-1")
	e.h.StateMachineARN = strings.Replace(e.machine, "migrate-", "missing-", 1)
	ctx := context.Background()
	_, err := e.h.Handle(ctx, event("bucket-1", "exports/acme-2026/2026-11-20/manifest.json", "e"))
	var start *trigger.StartError
	if !errors.As(err, &start) {
		t.Fatalf("%v; want *StartError", err)
	}
	infos, _ := e.store.List(ctx, "migrations/")
	if len(infos) != 0 {
		t.Errorf("recorded %v after a failed start", infos)
	}
}

func TestExecutionName(t *testing.T) {
	long := strings.Repeat("m", 80)
	name := trigger.ExecutionName(long, "sample", "b", "k", "e")
	short := trigger.ExecutionName("m", "sample", "b", "k", "e")
	if len(name) != 80 || name[len(name)-16:] != short[len(short)-16:] || !strings.Contains(name, "-sample-") {
		t.Errorf("long name %q (%d)", name, len(name))
	}
	if got := trigger.ExecutionName("acme.2026", "plan", "b", "k", "e"); !strings.HasPrefix(got, "acme_2026-plan-") {
		t.Errorf("name %q: '.' not replaced", got)
	}
	a := trigger.ExecutionName("m", "plan", "b", "k", "e1")
	if a == trigger.ExecutionName("m", "plan", "b", "k", "e2") || a == trigger.ExecutionName("m", "plan", "b2", "k", "e1") || a != trigger.ExecutionName("m", "plan", "b", "k", "e1") {
		t.Error("the name does not follow bucket, key and ETag")
	}
}
