package memledger_test

import (
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/ledgertest"
	"github.com/conveyor-migrate/conveyor/internal/ledger/memledger"
)

func TestConformance(t *testing.T) {
	ledgertest.RunConformanceTests(t, func(*testing.T) ledger.Store { return memledger.New() })
}

func BenchmarkBeginCommit(b *testing.B) {
	ledgertest.RunBeginCommitBenchmark(b, memledger.New())
}
