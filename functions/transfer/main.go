// Command transfer is the Lambda function of the transfer step: it uploads one chunk's documents, streamed from the export
// (steps.Deps.Transfer). It only wires dependencies from the environment
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
		fmt.Fprintf(os.Stderr, "transfer: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(d.Transfer)
}
