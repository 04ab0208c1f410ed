// Command load is the Lambda function of the load step: it loads one chunk of organisations, persons, deals or activities and notes
// (steps.Deps.Load). It only wires dependencies from the environment
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
		fmt.Fprintf(os.Stderr, "load: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(d.Load)
}
