// Command trigger is the Trigger Lambda: it starts the migration state
// machine for an export uploaded to the bucket (S3's Object Created event,
// through EventBridge) and for the newest export on the delta schedule
// (EventBridge Scheduler). See internal/trigger.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/conveyor-migrate/conveyor/internal/blob/s3blob"
	"github.com/conveyor-migrate/conveyor/internal/trigger"
)

func main() {
	bucket, machine := os.Getenv("CONVEYOR_BUCKET"), os.Getenv("STATE_MACHINE_ARN")
	if bucket == "" || machine == "" {
		fmt.Fprintln(os.Stderr, "trigger: set CONVEYOR_BUCKET and STATE_MACHINE_ARN")
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "trigger: load AWS configuration: %v\n", err)
		os.Exit(1)
	}
	var opts []s3blob.Option
	if key := os.Getenv("KMS_KEY_ID"); key != "" {
		opts = append(opts, s3blob.WithKMSKey(key))
	}
	h := &trigger.Handler{
		SFN:             sfn.NewFromConfig(cfg),
		StateMachineARN: machine,
		Store:           s3blob.New(s3.NewFromConfig(cfg, func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true }), bucket, "", opts...),
		Bucket:          bucket,
		Log:             slog.New(slog.NewJSONHandler(os.Stdout, nil)),
	}
	lambda.Start(h.Handle)
}
