// Command stages is the Lambda function of the stages step: it maps every source stage to a Pipedrive stage, or stops for review
// (steps.Deps.Stages). It only wires dependencies from the environment
// (internal/awsdeps) and starts the handler.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/conveyor-migrate/conveyor/internal/awsdeps"
)

func main() {
	d, err := awsdeps.Load(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "stages: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(d.Stages)
}
