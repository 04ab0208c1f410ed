package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/conveyor-migrate/conveyor/internal/approval"
	"github.com/conveyor-migrate/conveyor/internal/approval/approvaltest"
)

// TestApprove answers real waiting approvals: executions of moto's Step
// Functions stopped at a .waitForTaskToken task, their requests in moto's
// S3 (see approvaltest).
func TestApprove(t *testing.T) {
	m, err := approvaltest.Start()
	approvaltest.Skip(t, err)
	t.Cleanup(func() { m.Close() })
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	base := []string{"approve", "--migration", "acme-2026", "--bucket", approvaltest.Bucket, "--region", approvaltest.Region, "--endpoint-url", m.URL}
	args := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	requested := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

	t.Run("approve the newest", func(t *testing.T) {
		w := m.Wait(t, "acme-2026", "acme-2026-full-0123456789abcdef", "full", 60, requested,
			"migrations/acme-2026/runs/r1/estimate.json", "migrations/acme-2026/runs/r1/audit.json")
		// An older request, answered already, is not offered.
		old := approval.Request{MigrationID: "acme-2026", Run: "old-run", Mode: "sample", Token: "t", RequestedAt: requested.Add(-time.Hour),
			Answer: approval.Approved, AnsweredBy: "someone", AnsweredAt: requested}
		if err := approval.Save(context.Background(), m.Store(), old); err != nil {
			t.Fatal(err)
		}

		code, stdout, stderr := conveyor(t, args("--by", "jo@firm.example")...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{
			"Approved run acme-2026-full-0123456789abcdef of migration acme-2026 (mode full), by jo@firm.example",
			"s3://" + approvaltest.Bucket + "/migrations/acme-2026/runs/r1/estimate.json",
			"s3://" + approvaltest.Bucket + "/migrations/acme-2026/runs/r1/audit.json",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		if strings.Contains(stdout, "old-run") || strings.Contains(stdout, w.Request.Token) {
			t.Errorf("stdout shows the answered request or the token:\n%s", stdout)
		}
		out := m.Done(t, w.ExecutionARN)
		if out.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("execution %s: %s", out.Status, aws.ToString(out.Cause))
		}
		var output struct {
			Approved bool
			By, At   string
		}
		if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &output); err != nil || !output.Approved || output.By != "jo@firm.example" || output.At == "" {
			t.Errorf("execution output %s (%v)", aws.ToString(out.Output), err)
		}

		// Nothing is left: exit 1, saying so.
		code, _, stderr = conveyor(t, args()...)
		if code != exitUntrusted || !strings.Contains(stderr, "nothing to approve") {
			t.Errorf("second approve: exit %d, %q; want 1 and nothing to approve", code, stderr)
		}
	})

	t.Run("reject by run, json", func(t *testing.T) {
		w := m.Wait(t, "acme-2026", "run-sample-1", "sample", 60, requested)
		code, stdout, stderr := conveyor(t, args("--run", "run-sample-1", "--reject", "--reason", "stage mapping is wrong", "--by", "jo", "--json")...)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var got struct {
			Answered     map[string]any   `json:"answered"`
			StillPending []map[string]any `json:"still_pending"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("--json output %q: %v", stdout, err)
		}
		if got.Answered["run"] != "run-sample-1" || got.Answered["answer"] != "rejected" || got.Answered["reason"] != "stage mapping is wrong" || got.Answered["token"] != nil {
			t.Errorf("answered %v", got.Answered)
		}
		if out := m.Done(t, w.ExecutionARN); aws.ToString(out.Error) != approval.RejectedError {
			t.Errorf("execution %s error %q; want %s", out.Status, aws.ToString(out.Error), approval.RejectedError)
		}
	})

	t.Run("expired", func(t *testing.T) {
		w := m.Wait(t, "acme-2026", "run-full-2", "full", 1, requested)
		m.Done(t, w.ExecutionARN)
		code, _, stderr := conveyor(t, args()...)
		if code != exitUntrusted || !strings.Contains(stderr, "expired") {
			t.Errorf("exit %d, %q; want 1 and expired", code, stderr)
		}
		r, err := approval.Load(context.Background(), m.Store(), "acme-2026", "run-full-2")
		if err != nil || r.Answer != approval.Expired {
			t.Errorf("request %+v, %v; want expired", r, err)
		}
	})

	t.Run("usage", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"approve", "--bucket", "b"}, "--migration is required"},
			{[]string{"approve", "--migration", "acme-2026"}, "--bucket is required"},
			{args("--reject"), "--reject needs --reason"},
			{args("--reason", "why"), "--reason goes with --reject"},
		} {
			code, _, stderr := conveyor(t, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, stderr, tc.want)
			}
		}
	})
}
