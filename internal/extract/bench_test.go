package extract

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/benchtest"
	"github.com/conveyor-migrate/conveyor/internal/blob/fileblob"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

// benchExport writes (once, then reuses) a clean sample export of n
// matters under the system's temp directory: 200,000 matters are 4 million
// rows and 300,000 document files, a minute or more to write, so they are
// kept between runs.
func benchExport(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("conveyor-bench-export-%d-v2", n))
	if _, err := os.Stat(filepath.Join(dir, pp.ManifestName)); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	tmp := dir + ".partial"
	os.RemoveAll(tmp)
	if _, err := sampleexport.Write(tmp, sampleexport.Options{Matters: n, Seed: 1, LargeDocuments: -1}); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		b.Fatal(err)
	}
	return dir
}

func benchmarkAudit(b *testing.B, matters int, staged bool) {
	dir := benchExport(b, matters)
	rows := 0
	var peak, live uint64
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bundle, err := pp.Open(context.Background(), dir)
		if err != nil {
			b.Fatal(err)
		}
		opt := Options{}
		if staged {
			store, err := fileblob.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			opt.Stage, opt.StagePrefix, opt.TempDir = store, "staged/", b.TempDir()
		}
		var res *Result
		cpu0 := benchtest.CPUTime()
		p, l := benchtest.PeakHeap(func() {
			res, err = Run(context.Background(), bundle, opt)
		})
		cpu += benchtest.CPUTime() - cpu0
		bundle.Close()
		if err != nil {
			b.Fatal(err)
		}
		peak, live = max(peak, p), max(live, l)
		rows = 0
		for _, c := range res.Report.Tables {
			rows += c.Read
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(live)/(1<<20), "peak-live-MB")
	b.ReportMetric(float64(rows)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
}

// benchSizes are the exports the audit is measured on: 5,000, 50,000 and
// 200,000 matters (about 100 thousand, 1 million and 4 million rows).
var benchSizes = []int{5000, 50000, 200000}

// BenchmarkAudit is the audit of clean sample exports growing to 200,000
// matters (about four million rows): rows/s, and the peak heap, which should
// stay nearly flat as the export grows.
//
// The bundle (its list of files) is opened before, and counted in, the
// peak. The exports are written once, under the system's temp directory.
//
//	go test -run '^$' -bench BenchmarkAudit -benchtime 3x -timeout 60m ./internal/extract
func BenchmarkAudit(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("matters=%d", n), func(b *testing.B) { benchmarkAudit(b, n, false) })
	}
	fmt.Println("reproduce: go test -run '^$' -bench BenchmarkAudit -benchtime 3x -timeout 60m ./internal/extract")
}

// BenchmarkExtract is the audit plus staging every accepted row.
//
//	go test -run '^$' -bench BenchmarkExtract -benchtime 1x -timeout 60m ./internal/extract
func BenchmarkExtract(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("matters=%d", n), func(b *testing.B) { benchmarkAudit(b, n, true) })
	}
	fmt.Println("reproduce: go test -run '^$' -bench BenchmarkExtract -benchtime 1x -timeout 60m ./internal/extract")
}
