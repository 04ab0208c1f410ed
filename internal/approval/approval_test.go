package approval_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/conveyor-migrate/conveyor/internal/approval"
	"github.com/conveyor-migrate/conveyor/internal/approval/approvaltest"
	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
)

// One moto_server for the test binary; each waiting execution empties it
// first (see approvaltest).
var (
	moto    *approvaltest.Moto
	motoErr error
)

func TestMain(m *testing.M) {
	flag.Parse()
	moto, motoErr = approvaltest.Start()
	code := m.Run()
	if moto != nil {
		moto.Close()
	}
	os.Exit(code)
}

func mustMoto(t *testing.T) *approvaltest.Moto {
	t.Helper()
	approvaltest.Skip(t, motoErr)
	return moto
}

var (
	requested = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	answered  = time.Date(2026, 11, 20, 10, 15, 0, 0, time.UTC)
)

func TestApprove(t *testing.T) {
	m := mustMoto(t)
	ctx := context.Background()
	w := m.Wait(t, "acme-2026", "acme-2026-full-0123456789abcdef", "full", 60, requested,
		"migrations/acme-2026/runs/r1/estimate.json", "migrations/acme-2026/runs/r1/audit.json")
	store := m.Store()

	pending, err := approval.Pending(ctx, store, "acme-2026")
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Run != w.Request.Run || pending[0].Token == "" {
		t.Fatalf("pending = %+v; want the one waiting run", pending)
	}

	got, err := approval.Approve(ctx, store, m.SFN, "acme-2026", "", "jo@firm.example", answered)
	if err != nil {
		t.Fatal(err)
	}
	if got.Answer != approval.Approved || got.AnsweredBy != "jo@firm.example" || !got.AnsweredAt.Equal(answered) || got.Run != w.Request.Run {
		t.Errorf("Approve returned %+v", got)
	}
	if !reflect.DeepEqual(got.Reports, w.Request.Reports) {
		t.Errorf("reports %v; want %v", got.Reports, w.Request.Reports)
	}

	// The execution went on with the approval as its task's output.
	out := m.Done(t, w.ExecutionARN)
	if out.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	var output map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &output); err != nil {
		t.Fatalf("output %q: %v", aws.ToString(out.Output), err)
	}
	want := map[string]any{"approved": true, "by": "jo@firm.example", "at": "2026-11-20T10:15:00Z"}
	if !reflect.DeepEqual(output, want) {
		t.Errorf("execution output %v; want %v", output, want)
	}

	// The request is rewritten as answered and is no longer pending.
	stored, err := approval.Load(ctx, store, "acme-2026", w.Request.Run)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Pending() || stored.Answer != approval.Approved || stored.AnsweredBy != "jo@firm.example" {
		t.Errorf("stored request %+v; want approved by jo", stored)
	}
	if pending, _ := approval.Pending(ctx, store, "acme-2026"); len(pending) != 0 {
		t.Errorf("still pending after approval: %+v", pending)
	}

	// Nothing is left to approve, and the run asked for by name was answered.
	if _, err := approval.Approve(ctx, store, m.SFN, "acme-2026", "", "jo", answered); !errors.Is(err, approval.ErrNothingPending) {
		t.Errorf("second Approve: %v; want ErrNothingPending", err)
	}
	if _, err := approval.Approve(ctx, store, m.SFN, "acme-2026", w.Request.Run, "jo", answered); !errors.Is(err, approval.ErrAnswered) || !strings.Contains(err.Error(), "approved by jo@firm.example") {
		t.Errorf("Approve of the answered run: %v; want ErrAnswered naming who approved it", err)
	}
}

func TestReject(t *testing.T) {
	m := mustMoto(t)
	ctx := context.Background()
	w := m.Wait(t, "acme-2026", "run-sample-1", "sample", 60, requested)
	store := m.Store()

	got, err := approval.Reject(ctx, store, m.SFN, "acme-2026", w.Request.Run, "jo", "stage mapping is wrong", answered)
	if err != nil {
		t.Fatal(err)
	}
	if got.Answer != approval.Rejected || got.Reason != "stage mapping is wrong" {
		t.Errorf("Reject returned %+v", got)
	}
	out := m.Done(t, w.ExecutionARN)
	if out.Status != sfntypes.ExecutionStatusFailed || aws.ToString(out.Error) != approval.RejectedError {
		t.Errorf("execution %s, error %q; want FAILED with %s", out.Status, aws.ToString(out.Error), approval.RejectedError)
	}
	if stored, _ := approval.Load(ctx, store, "acme-2026", w.Request.Run); stored.Answer != approval.Rejected {
		t.Errorf("stored answer %q; want rejected", stored.Answer)
	}
}

// TestExpired answers a token after its task timed out: Step Functions
// refuses it, and the request is marked expired.
func TestExpired(t *testing.T) {
	m := mustMoto(t)
	ctx := context.Background()
	w := m.Wait(t, "acme-2026", "run-full-1", "full", 1, requested)
	if out := m.Done(t, w.ExecutionARN); out.Status != sfntypes.ExecutionStatusFailed {
		t.Fatalf("the timed-out execution is %s; want FAILED", out.Status)
	}
	store := m.Store()

	_, err := approval.Approve(ctx, store, m.SFN, "acme-2026", "", "jo", answered)
	var expired *approval.ExpiredError
	if !errors.As(err, &expired) {
		t.Fatalf("Approve of a timed-out token: %v; want *ExpiredError", err)
	}
	if expired.Run != "run-full-1" || (expired.Code != "InvalidToken" && expired.Code != "TaskTimedOut") {
		t.Errorf("ExpiredError %+v", expired)
	}
	if !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "start it again") {
		t.Errorf("message %q does not say what to do", err)
	}
	stored, err := approval.Load(ctx, store, "acme-2026", "run-full-1")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Answer != approval.Expired || !strings.Contains(stored.Reason, expired.Code) {
		t.Errorf("stored %+v; want expired with the code as reason", stored)
	}
	if pending, _ := approval.Pending(ctx, store, "acme-2026"); len(pending) != 0 {
		t.Errorf("an expired request is still pending: %+v", pending)
	}
}

// TestUnknownErrorLeavesPending: a failure that is not about the token
// (here, a server that does not answer) leaves the request pending.
func TestUnknownErrorLeavesPending(t *testing.T) {
	m := mustMoto(t)
	ctx := context.Background()
	store := memblob.New()
	if err := approval.Save(ctx, store, approval.Request{MigrationID: "m1", Run: "r1", Mode: "full", Token: "t", RequestedAt: requested}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := approval.Approve(cctx, store, m.SFN, "m1", "", "jo", answered); err == nil {
		t.Fatal("Approve with a cancelled context succeeded")
	}
	if pending, err := approval.Pending(ctx, store, "m1"); err != nil || len(pending) != 1 {
		t.Errorf("pending = %v, %v; want the request still pending", pending, err)
	}
}

func TestPendingNewestFirst(t *testing.T) {
	ctx := context.Background()
	store := memblob.New()
	for i, run := range []string{"r-old", "r-new", "r-answered", "r-mid", "r-mid2"} {
		r := approval.Request{MigrationID: "m1", Run: run, Mode: "full", Token: "tok-" + run, RequestedAt: requested.Add(time.Duration(i) * time.Minute)}
		switch run {
		case "r-new":
			r.RequestedAt = requested.Add(time.Hour)
		case "r-answered":
			r.RequestedAt = requested.Add(2 * time.Hour)
			r.Answer, r.AnsweredBy, r.AnsweredAt = approval.Approved, "jo", answered
		case "r-mid2":
			r.RequestedAt = requested.Add(3 * time.Minute) // ties with r-mid: the greater run first
		}
		if err := approval.Save(ctx, store, r); err != nil {
			t.Fatal(err)
		}
	}
	// Another migration's approvals are not listed.
	if err := approval.Save(ctx, store, approval.Request{MigrationID: "m10", Run: "x", Token: "t", RequestedAt: requested.Add(5 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	pending, err := approval.Pending(ctx, store, "m1")
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, r := range pending {
		runs = append(runs, r.Run)
	}
	if want := []string{"r-new", "r-mid2", "r-mid", "r-old"}; !reflect.DeepEqual(runs, want) {
		t.Errorf("pending runs %v; want %v", runs, want)
	}
}

func TestKeyAndWireFormat(t *testing.T) {
	if got := approval.Key("acme-2026", "run-1"); got != "migrations/acme-2026/approvals/run-1.json" {
		t.Errorf("Key = %q", got)
	}
	// What steps.Approval writes (its JSON names, its time format) reads back.
	const written = `{"migration_id":"acme-2026","run":"run-1","mode":"full","token":"tok","state":"ApproveFull","requested_at":"2026-11-20T09:30:00Z","reports":["a.json","b.json"]}`
	var r approval.Request
	if err := json.Unmarshal([]byte(written), &r); err != nil {
		t.Fatal(err)
	}
	want := approval.Request{MigrationID: "acme-2026", Run: "run-1", Mode: "full", Token: "tok", State: "ApproveFull", RequestedAt: requested, Reports: []string{"a.json", "b.json"}}
	if !reflect.DeepEqual(r, want) || !r.Pending() {
		t.Errorf("decoded %+v; want %+v, pending", r, want)
	}
	// A pending request is written without answer fields.
	data, _ := json.Marshal(want)
	for _, field := range []string{"answer", "answered_by", "answered_at", "reason"} {
		if strings.Contains(string(data), fmt.Sprintf("%q", field)) {
			t.Errorf("pending request written with %s: %s", field, data)
		}
	}
}

func TestInvalidIDs(t *testing.T) {
	ctx := context.Background()
	store := memblob.New()
	if _, err := approval.Pending(ctx, store, "../x"); err == nil {
		t.Error("Pending accepted migration ../x")
	}
	if err := approval.Save(ctx, store, approval.Request{MigrationID: "m1", Run: "a/b"}); err == nil {
		t.Error("Save accepted run a/b")
	}
	if _, err := approval.Approve(ctx, store, nil, "m1", "", "jo", answered); !errors.Is(err, approval.ErrNothingPending) {
		t.Errorf("Approve in an empty store: %v; want ErrNothingPending", err)
	}
	if _, err := approval.Reject(ctx, store, nil, "m1", "r9", "jo", "no", answered); !errors.Is(err, approval.ErrNothingPending) {
		t.Errorf("Reject of a missing run: %v; want ErrNothingPending", err)
	}
}
