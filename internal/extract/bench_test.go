package extract

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob/fileblob"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

// benchExport writes (once, then reuses) a clean sample export of n
// matters under the system's temp directory: writing 50,000 matters takes
// most of a minute, so it is kept between runs.
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

// peakHeap samples the live heap while fn runs and returns the highest
// figure seen (heap objects plus unused spans the runtime still holds).
func peakHeap(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	var peak uint64
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64() + sample[1].Value.Uint64(); v > peak {
			peak = v
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	read()
	return peak
}

func benchmarkAudit(b *testing.B, matters int, staged bool) {
	dir := benchExport(b, matters)
	rows := 0
	var peak uint64
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
		p := peakHeap(func() {
			res, err = Run(context.Background(), bundle, opt)
		})
		bundle.Close()
		if err != nil {
			b.Fatal(err)
		}
		if p > peak {
			peak = p
		}
		rows = 0
		for _, c := range res.Report.Tables {
			rows += c.Read
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// BenchmarkAudit is the audit of clean sample exports growing to 50,000
// matters (about a million rows): rows/s, and the peak heap, which should
// stay nearly flat as the export grows.
func BenchmarkAudit(b *testing.B) {
	for _, n := range []int{12500, 25000, 50000} {
		b.Run(fmt.Sprintf("matters=%d", n), func(b *testing.B) { benchmarkAudit(b, n, false) })
	}
}

// BenchmarkExtract is the audit plus staging every accepted row.
func BenchmarkExtract(b *testing.B) {
	for _, n := range []int{12500, 50000} {
		b.Run(fmt.Sprintf("matters=%d", n), func(b *testing.B) { benchmarkAudit(b, n, true) })
	}
}
