// Package lambdatest runs the step handlers as Lambda runs them: the real
// function binaries (functions/<dir>, built as `bootstrap` with the
// Makefile's flags, for the host's architecture) under the AWS Lambda
// Runtime Interface Emulator (RIE), invoked over its HTTP API, with every
// AWS service and Pipedrive on loopback stand-ins:
//
//   - S3: gofakes3 (internal/blob/blobtest.NewS3TestServer);
//   - DynamoDB, Secrets Manager and Step Functions: one moto_server
//     (internal/ledger/ledgertest.StartDynamoDB);
//   - Pipedrive: the project's sandbox (internal/pipedrive/sandbox).
//
// The functions reach them only through the environment a deployment gives
// them and the variables the AWS SDK honours (AWS_ENDPOINT_URL_<SERVICE>,
// AWS_REGION, static credentials), so the test checks the wiring of
// functions/*/main.go and internal/awsdeps, aws-lambda-go's error naming
// (the errorType the state machines' Retry and Catch match), and that the
// functions' logs carry no client data and never the Pipedrive token.
//
// The emulator is built by the test from its Go module at a pinned version
// (see rieVersion in rie_test.go) with `go install` into a temporary GOBIN:
// it is not a dependency of the project's go.mod. The test needs the Go
// module proxy (or a module cache holding that version) and moto_server; it
// skips without either, unless CI is set, when it fails. It runs on Linux
// only, and not with -short.
package lambdatest
