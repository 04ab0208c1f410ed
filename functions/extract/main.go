// Command extract is the Lambda for the extract step: it reads an export
// bundle from the migration bucket, audits it and stages it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/conveyor-migrate/conveyor/internal/blob/s3blob"
	"github.com/conveyor-migrate/conveyor/internal/extract"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "extract: load AWS configuration: %v\n", err)
		os.Exit(1)
	}
	var opts []s3blob.Option
	if key := os.Getenv("KMS_KEY_ID"); key != "" {
		opts = append(opts, s3blob.WithKMSKey(key))
	}
	step := &extract.Step{Store: s3blob.New(s3.NewFromConfig(cfg), os.Getenv("BUCKET"), "", opts...)}
	lambda.Start(step.Handle)
}
