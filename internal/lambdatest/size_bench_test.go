package lambdatest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// BenchmarkLambdaSizes builds every function of template.yaml for
// linux/arm64 exactly as SAM does, with the Makefile's own target (`make
// build-<LogicalId> ARTIFACTS_DIR=...`, i.e. GOOS=linux GOARCH=arm64
// CGO_ENABLED=0 go build -trimpath -tags lambda.norpc -ldflags='-s -w'),
// and reports each bootstrap's size in MB (2^20 bytes), then the total
// (issue 7: the binary is part of what a function's memory must hold,
// beside the Go heap and runtime; see docs/benchmarks.md).
//
//	go test -run '^$' -bench BenchmarkLambdaSizes -benchtime 1x ./internal/lambdatest
//
// It needs make; a build failure fails the benchmark.
func BenchmarkLambdaSizes(b *testing.B) {
	if _, err := exec.LookPath("make"); err != nil {
		b.Skip("make is not installed: the sizes are of the Makefile's build-<LogicalId> targets")
	}
	root := sizeRepoRoot(b)
	ids := sizeMakeTargets(b, root)
	goCmd := sizeGoCommand()
	sizes := map[string]int64{}
	for _, id := range ids {
		b.Run(id, func(b *testing.B) {
			var size int64
			for i := 0; i < b.N; i++ {
				out := b.TempDir()
				cmd := exec.Command("make", "--no-print-directory", "-C", root, "build-"+id, "ARTIFACTS_DIR="+out, "GO="+goCmd)
				if msg, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("make build-%s: %v\n%s", id, err, msg)
				}
				bootstrap := filepath.Join(out, "bootstrap")
				if err := sizeCheckARM64(bootstrap); err != nil {
					b.Fatal(err)
				}
				fi, err := os.Stat(bootstrap)
				if err != nil {
					b.Fatal(err)
				}
				size = fi.Size()
			}
			sizes[id] = size
			b.ReportMetric(float64(size)/(1<<20), "MB")
		})
	}
	b.Run("total", func(b *testing.B) {
		var total int64
		for _, s := range sizes {
			total += s
		}
		b.ReportMetric(float64(total)/(1<<20), "MB")
		b.ReportMetric(float64(len(sizes)), "functions")
	})
}

// sizeMakeTargets lists the Makefile's SAM_FUNCTIONS (the logical ids of
// template.yaml's functions, each with a build-<LogicalId> target).
func sizeMakeTargets(b *testing.B, root string) []string {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^SAM_FUNCTIONS\s*=\s*((?:.*\\\n)*.*)$`).FindSubmatch(data)
	if m == nil {
		b.Fatal("the Makefile has no SAM_FUNCTIONS")
	}
	ids := strings.Fields(strings.ReplaceAll(string(m[1]), "\\\n", " "))
	if len(ids) == 0 {
		b.Fatal("SAM_FUNCTIONS is empty")
	}
	return ids
}

// sizeCheckARM64 checks that a bootstrap is a 64-bit little-endian ELF
// for arm64 (e_machine 183), as Lambda's arm64 architecture runs.
func sizeCheckARM64(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := make([]byte, 20)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if string(hdr[:4]) != "\x7fELF" || hdr[4] != 2 || hdr[5] != 1 || int(hdr[18])|int(hdr[19])<<8 != 183 {
		return fmt.Errorf("%s is not a linux/arm64 ELF executable", path)
	}
	return nil
}

// sizeRepoRoot is the module root: `go test` runs in the package's
// directory, two levels below it.
func sizeRepoRoot(b *testing.B) string {
	b.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "Makefile")); err != nil {
		b.Fatalf("no Makefile at the module root %s: %v", root, err)
	}
	return root
}

// sizeGoCommand is the go command `go test` runs with (its GOROOT's bin
// comes first on PATH), for the Makefile's $(GO).
func sizeGoCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}
