// Package integration holds the tests that run the Pipedrive client against
// the sandbox over HTTP, with every request and response checked against
// Pipedrive's OpenAPI documents: throughput at the plan's limits, token
// accounting on both sides, and faults.
package integration
