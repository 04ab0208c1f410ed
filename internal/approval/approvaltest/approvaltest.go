// Package approvaltest runs real waiting approvals for tests: a Step
// Functions execution stopped at a .waitForTaskToken task, in moto_server
// on loopback, whose token the tests answer with the approval package.
//
// moto answers SendTaskSuccess and SendTaskFailure for real only when it
// runs the state machines it holds (its "execute_state_machine" setting,
// which [Start] turns on); otherwise it accepts any token and does
// nothing. The waiting task is an aws-sdk:s3:putObject.waitForTaskToken
// that writes the token to tokens/<run> in the test bucket, in moto's own
// S3, where [Moto.Wait] picks it up and stores the approval request as the
// approval Lambda would.
package approvaltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/conveyor-migrate/conveyor/internal/approval"
	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/s3blob"
	"github.com/conveyor-migrate/conveyor/internal/ledger/ledgertest"
)

// Region, Bucket and RoleARN are what the server's resources use.
const (
	Region  = "eu-west-2"
	Bucket  = "conveyor-approvals"
	RoleARN = "arn:aws:iam::123456789012:role/x"
)

// Moto is a moto_server on loopback that runs state machines.
type Moto struct {
	// URL is the endpoint of every service: http://127.0.0.1:PORT.
	URL string
	SFN *sfn.Client
	S3  *s3.Client

	srv      *ledgertest.DynamoDBServer
	machines atomic.Int64
}

// Start starts moto_server (through ledgertest's helper, which serves every
// moto service, not only DynamoDB) and turns on its execution of state
// machines. It returns an error wrapping ledgertest.ErrNoDynamoDB when
// moto_server is not on PATH. The caller must Close it.
func Start() (*Moto, error) {
	srv, err := ledgertest.StartDynamoDB()
	if err != nil {
		return nil, err
	}
	m := &Moto{URL: srv.URL, srv: srv}
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	m.SFN = sfn.New(sfn.Options{Region: Region, BaseEndpoint: aws.String(srv.URL), Credentials: creds})
	m.S3 = s3.New(s3.Options{
		Region: Region, BaseEndpoint: aws.String(srv.URL), Credentials: creds, UsePathStyle: true,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	if err := m.reset(context.Background()); err != nil {
		srv.Close()
		return nil, err
	}
	return m, nil
}

// Close stops the server.
func (m *Moto) Close() error { return m.srv.Close() }

// Skip ends the test if err, from Start, is not nil: it skips when
// moto_server is not installed and CI is unset, and fails otherwise.
func Skip(tb testing.TB, err error) {
	tb.Helper()
	ledgertest.SkipWithoutDynamoDB(tb, err)
}

// Store is the test bucket as a blob.Store.
func (m *Moto) Store() blob.Store { return s3blob.New(m.S3, Bucket, "") }

// reset empties the server (moto 5.2 cannot start an execution while it
// holds another: it deep-copies the state machine and fails on the running
// execution's lock), turns state machine execution on and creates the
// bucket.
func (m *Moto) reset(ctx context.Context) error {
	for _, call := range []struct{ path, body string }{
		{"/moto-api/reset", "{}"},
		{"/moto-api/config", `{"stepfunctions": {"execute_state_machine": true}}`},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+call.path, strings.NewReader(call.body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("moto %s: %w", call.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("moto %s: %s", call.path, resp.Status)
		}
	}
	_, err := m.S3.CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket:                    aws.String(Bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(Region)},
	})
	if err != nil {
		return fmt.Errorf("moto: create bucket %s: %w", Bucket, err)
	}
	return nil
}

// Waiting is an execution stopped at its approval.
type Waiting struct {
	ExecutionARN string
	Request      approval.Request
}

// Wait empties the server, then starts an execution named run of a state
// machine that waits for its task token (timing out after timeoutSeconds)
// and stores the approval request for it, as the approval Lambda would,
// with requestedAt and reports. It fails the test if the execution does
// not reach its approval within 20 seconds.
func (m *Moto) Wait(tb testing.TB, migration, run, mode string, timeoutSeconds int, requestedAt time.Time, reports ...string) Waiting {
	tb.Helper()
	ctx := context.Background()
	if err := m.reset(ctx); err != nil {
		tb.Fatal(err)
	}
	def := map[string]any{
		"StartAt": "Approve",
		"States": map[string]any{
			"Approve": map[string]any{
				"Type":     "Task",
				"Resource": "arn:aws:states:::aws-sdk:s3:putObject.waitForTaskToken",
				"Parameters": map[string]any{
					"Bucket": Bucket,
					"Key.$":  "States.Format('tokens/{}', $$.Execution.Name)",
					"Body.$": "$$.Task.Token",
				},
				"TimeoutSeconds": timeoutSeconds,
				"End":            true,
			},
		},
	}
	defJSON, _ := json.Marshal(def)
	sm, err := m.SFN.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(fmt.Sprintf("migrate-%d", m.machines.Add(1))),
		Definition: aws.String(string(defJSON)),
		RoleArn:    aws.String(RoleARN),
	})
	if err != nil {
		tb.Fatalf("create state machine: %v", err)
	}
	input, _ := json.Marshal(map[string]string{"migration_id": migration, "mode": mode})
	ex, err := m.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: sm.StateMachineArn,
		Name:            aws.String(run),
		Input:           aws.String(string(input)),
	})
	if err != nil {
		tb.Fatalf("start execution: %v", err)
	}
	store := m.Store()
	deadline := time.Now().Add(20 * time.Second)
	for {
		token, err := store.Get(ctx, "tokens/"+run)
		if err == nil {
			req := approval.Request{MigrationID: migration, Run: run, Mode: mode, Token: string(token),
				State: "Approve", RequestedAt: requestedAt.UTC(), Reports: reports}
			if err := approval.Save(ctx, store, req); err != nil {
				tb.Fatal(err)
			}
			return Waiting{ExecutionARN: aws.ToString(ex.ExecutionArn), Request: req}
		}
		if !errors.Is(err, blob.ErrNotFound) {
			tb.Fatal(err)
		}
		if time.Now().After(deadline) {
			out, _ := m.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
			if out != nil {
				tb.Fatalf("execution %s did not reach its approval in 20s: status %s, error %s, cause %s",
					run, out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
			}
			tb.Fatalf("execution %s did not reach its approval in 20s", run)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Done waits, up to 20 seconds, until the execution has ended, and returns
// how. It fails the test if it does not end.
func (m *Moto) Done(tb testing.TB, executionARN string) *sfn.DescribeExecutionOutput {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := m.SFN.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
		if err != nil {
			tb.Fatal(err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			return out
		}
		if time.Now().After(deadline) {
			tb.Fatalf("execution %s still running after 20s", executionARN)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
