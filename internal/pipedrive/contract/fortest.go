package contract

import (
	"errors"
	"io/fs"
	"os"
	"sync"
	"testing"
)

var shared struct {
	once sync.Once
	v    *Validator
	err  error
}

// ForTest returns the validator for Pipedrive's documents, loaded once per
// test binary from SpecDir. When the documents are not found it skips the test
// (tb.Skipf) on a developer machine without shared/, but fails it
// (tb.Fatalf) when the CI environment variable is set. A document that is
// found but does not load always fails the test.
func ForTest(tb testing.TB) *Validator {
	tb.Helper()
	shared.once.Do(func() {
		dir, err := SpecDir()
		if err != nil {
			shared.err = err
			return
		}
		shared.v, shared.err = Load(dir)
	})
	if shared.err != nil {
		failLoad(tb, shared.err, os.Getenv("CI") != "")
		return nil
	}
	return shared.v
}

// failLoad skips the test when the documents are missing on a developer
// machine and fails it otherwise.
func failLoad(tb testing.TB, err error, ci bool) {
	tb.Helper()
	if errors.Is(err, fs.ErrNotExist) && !ci {
		tb.Skipf("contract: Pipedrive's OpenAPI documents not found (set CI to make this fatal): %v", err)
		return
	}
	tb.Fatalf("contract: %v", err)
}
