// Command finish is the Lambda function of the finish step: it writes a run's summary, watermark and delta report
// (steps.Deps.Finish). It only wires dependencies from the environment
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
		fmt.Fprintf(os.Stderr, "finish: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(d.Finish)
}
