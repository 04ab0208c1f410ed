package dynamoledger

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/ledgertest"
)

// One server for the test binary, a fresh table per test: starting moto
// takes a second or so, creating a table a few milliseconds.
var (
	server    *ledgertest.DynamoDBServer
	serverErr error
	tables    atomic.Int64
)

func TestMain(m *testing.M) {
	flag.Parse()
	start := time.Now()
	server, serverErr = ledgertest.StartDynamoDB()
	if serverErr == nil && testing.Verbose() {
		fmt.Fprintf(os.Stderr, "dynamoledger: %s answered at %s after %v\n", ledgertest.MotoCommand, server.URL, time.Since(start).Round(time.Millisecond))
	}
	code := m.Run()
	if server != nil {
		server.Close()
	}
	os.Exit(code)
}

// mustClient returns a client for the shared server, or skips (fails on
// CI) without one.
func mustClient(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	ledgertest.SkipWithoutDynamoDB(tb, serverErr)
	return server.Client()
}

// MustOpen creates a fresh ledger table on the shared server and returns a
// Store on it; the table is deleted when the test ends.
func MustOpen(tb testing.TB) *Store {
	tb.Helper()
	client := mustClient(tb)
	table := fmt.Sprintf("ledger-%d", tables.Add(1))
	ctx := context.Background()
	if err := CreateTable(ctx, client, table); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &table}); err != nil {
			tb.Errorf("delete table %s: %v", table, err)
		}
	})
	return New(client, table)
}

func TestConformance(t *testing.T) {
	mustClient(t) // skip once, not in every subtest
	tests := []struct {
		name     string
		pageSize int32
	}{
		{"default pages", 0},
		// Small pages make every List follow LastEvaluatedKey.
		{"small pages", 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ledgertest.RunConformanceTests(t, func(t *testing.T) ledger.Store {
				s := MustOpen(t)
				s.pageSize = tc.pageSize
				return s
			})
		})
	}
}

func BenchmarkBeginCommit(b *testing.B) {
	ledgertest.RunBeginCommitBenchmark(b, MustOpen(b))
}
