// Package benchtest holds what the benchmarks measure with, beside the
// timer: the heap while a function runs, and the process's CPU time.
package benchtest

import (
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"syscall"
	"time"
)

// PeakHeap samples the heap every 5 ms while fn runs and returns the
// highest figure seen (heap objects plus unused spans the runtime still
// holds), and the highest heap found live by a collection (what the run
// holds, without the garbage the collector lets pile up to about as much
// again).
func PeakHeap(fn func()) (peak, live uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}, {Name: "/gc/heap/live:bytes"}}
	read := func() {
		metrics.Read(sample)
		peak = max(peak, sample[0].Value.Uint64()+sample[1].Value.Uint64())
		live = max(live, sample[2].Value.Uint64())
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
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
	})
	fn()
	close(done)
	wg.Wait()
	read()
	return peak, live
}

// CPUTime is the CPU time the process has used, user and system: on a
// loaded machine it tells the work done apart from the waiting.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// StatusWriter notes the status a handler answered (0 when it wrote a body
// without one, which is 200), so that a benchmark's middleware can count
// the 429s its server gave.
type StatusWriter struct {
	http.ResponseWriter
	Status int
}

// WriteHeader notes the first status and passes it on.
func (s *StatusWriter) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}
