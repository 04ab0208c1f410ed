// Package statemachine holds the state machine definitions, the one
// description of Conveyor's workflow: Step Functions runs them on AWS (SAM
// deploys the files, substituting each ${<LogicalId>Arn}), and `conveyor
// run` and `conveyor rollback` execute the same files, embedded here, with
// the handlers in-process (internal/asl, internal/steps).
package statemachine

import _ "embed"

// Migrate is statemachine/migrate.asl.json.
//
//go:embed migrate.asl.json
var Migrate []byte

// Rollback is statemachine/rollback.asl.json.
//
//go:embed rollback.asl.json
var Rollback []byte
