package memblob_test

import (
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/blobtest"
	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
)

func TestConformance(t *testing.T) {
	blobtest.RunConformanceTests(t, func(*testing.T) blob.Store { return memblob.New() })
}

func BenchmarkPutGet(b *testing.B) {
	blobtest.RunPutGetBenchmark(b, memblob.New(), 1<<20)
}
