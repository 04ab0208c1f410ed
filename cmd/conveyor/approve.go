package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/conveyor-migrate/conveyor/internal/approval"
	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/s3blob"
)

// approvalView is a request as approve prints it: never the token.
type approvalView struct {
	MigrationID string   `json:"migration_id"`
	Run         string   `json:"run"`
	Mode        string   `json:"mode"`
	State       string   `json:"state,omitempty"`
	RequestedAt string   `json:"requested_at"`
	Reports     []string `json:"reports"`
	Answer      string   `json:"answer,omitempty"`
	AnsweredBy  string   `json:"answered_by,omitempty"`
	AnsweredAt  string   `json:"answered_at,omitempty"`
	Reason      string   `json:"reason,omitempty"`
}

func viewOf(r approval.Request) approvalView {
	v := approvalView{MigrationID: r.MigrationID, Run: r.Run, Mode: r.Mode, State: r.State,
		RequestedAt: r.RequestedAt.UTC().Format(time.RFC3339), Reports: r.Reports,
		Answer: r.Answer, AnsweredBy: r.AnsweredBy, Reason: r.Reason}
	if v.Reports == nil {
		v.Reports = []string{}
	}
	if !r.AnsweredAt.IsZero() {
		v.AnsweredAt = r.AnsweredAt.UTC().Format(time.RFC3339)
	}
	return v
}

func cmdApprove(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("approve", "--migration ID --bucket NAME [--region R] [--run RUN] [--reject --reason TEXT] [--by NAME] [--json]", stderr)
	migration := fs.String("migration", "", "migration id (required)")
	bucket := fs.String("bucket", "", "the migration bucket (required)")
	region := fs.String("region", "", "the AWS region of the bucket and the state machine (default: the AWS configuration's)")
	run := fs.String("run", "", "answer this run's approval (default: the newest pending)")
	reject := fs.Bool("reject", false, "reject instead of approving: the run stops with ApprovalRejected")
	reason := fs.String("reason", "", "why the run is rejected (required with --reject)")
	by := fs.String("by", "", "who answers, recorded with the answer (default: the login name)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	endpoint := fs.String("endpoint-url", "", "send S3 and Step Functions requests to this endpoint (path-style S3), for tests and emulators")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if err := approval.ValidID(*migration); err != nil {
		fmt.Fprintln(stderr, "conveyor approve: --migration is required (letters, digits, '.', '_' and '-')")
		return exitUsage
	}
	if *bucket == "" {
		fmt.Fprintln(stderr, "conveyor approve: --bucket is required: the migration bucket")
		return exitUsage
	}
	if *reject && strings.TrimSpace(*reason) == "" {
		fmt.Fprintln(stderr, "conveyor approve: --reject needs --reason: say why, for the run's failure report")
		return exitUsage
	}
	if !*reject && *reason != "" {
		fmt.Fprintln(stderr, "conveyor approve: --reason goes with --reject")
		return exitUsage
	}
	who := *by
	if who == "" {
		who = loginName()
	}

	store, tasks, err := approveClients(ctx, *bucket, *region, *endpoint)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor approve: %v\n", err)
		return exitUsage
	}
	pending, err := approval.Pending(ctx, store, *migration)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor approve: %v\n", err)
		return exitUsage
	}
	if len(pending) == 0 && *run == "" {
		fmt.Fprintf(stderr, "conveyor approve: nothing to approve: no approval of migration %s is pending in s3://%s/%s\n", *migration, *bucket, approval.Prefix(*migration))
		return exitUntrusted
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "Pending approvals of migration %s, newest first:\n", *migration)
		for _, r := range pending {
			fmt.Fprintf(stdout, "  %-40s %-7s requested %s\n", r.Run, r.Mode, r.RequestedAt.UTC().Format(time.RFC3339))
		}
		if len(pending) == 0 {
			fmt.Fprintln(stdout, "  (none)")
		}
	}

	var answered approval.Request
	if *reject {
		answered, err = approval.Reject(ctx, store, tasks, *migration, *run, who, *reason, time.Now())
	} else {
		answered, err = approval.Approve(ctx, store, tasks, *migration, *run, who, time.Now())
	}
	if err != nil {
		// Nothing pending for --run, answered already, expired, or Step
		// Functions refused: the run was not moved on.
		fmt.Fprintf(stderr, "conveyor approve: %v\n", err)
		return exitUntrusted
	}

	var still []approvalView
	for _, r := range pending {
		if r.Run != answered.Run {
			still = append(still, viewOf(r))
		}
	}
	if *asJSON {
		if still == nil {
			still = []approvalView{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Answered     approvalView   `json:"answered"`
			StillPending []approvalView `json:"still_pending"`
		}{viewOf(answered), still}); err != nil {
			fmt.Fprintf(stderr, "conveyor approve: %v\n", err)
			return exitUsage
		}
		return exitOK
	}
	verb := "Approved"
	if answered.Answer == approval.Rejected {
		verb = "Rejected"
	}
	fmt.Fprintf(stdout, "\n%s run %s of migration %s (mode %s), by %s at %s.\n", verb, answered.Run, answered.MigrationID, answered.Mode, answered.AnsweredBy, answered.AnsweredAt.UTC().Format(time.RFC3339))
	if answered.Reason != "" {
		fmt.Fprintf(stdout, "Reason: %s\n", answered.Reason)
	}
	if len(answered.Reports) > 0 {
		fmt.Fprintln(stdout, "Reports to read first:")
		for _, k := range answered.Reports {
			fmt.Fprintf(stdout, "  s3://%s/%s\n", *bucket, k)
		}
	}
	if len(still) > 0 {
		fmt.Fprintf(stdout, "Still pending: %d (conveyor approve --run RUN answers one)\n", len(still))
	}
	return exitOK
}

// approveClients builds the bucket's store and a Step Functions client from
// the usual AWS configuration; endpoint, when set, points both at an
// emulator (S3 path-style).
func approveClients(ctx context.Context, bucket, region, endpoint string) (blob.Store, *sfn.Client, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, nil, errors.New("no AWS region: give --region or set AWS_REGION")
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	sfnc := sfn.NewFromConfig(cfg, func(o *sfn.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return s3blob.New(s3c, bucket, ""), sfnc, nil
}

// loginName is who runs the command, for the record of the answer.
func loginName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if name := os.Getenv("USER"); name != "" {
		return name
	}
	return "unknown"
}
