// Command approval is the Lambda function of the approval step: it records a waiting approval's task token
// (steps.Deps.Approval). It only wires dependencies from the environment
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
		fmt.Fprintf(os.Stderr, "approval: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(d.Approval)
}
