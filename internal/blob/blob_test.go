package blob_test

import (
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/blobtest"
	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
)

// TestPrefixedConformance checks that a Prefixed store is itself a
// conforming Store, on top of memblob.
func TestPrefixedConformance(t *testing.T) {
	blobtest.RunConformanceTests(t, func(*testing.T) blob.Store {
		return blob.Prefixed(memblob.New(), "scope/sub")
	})
}
