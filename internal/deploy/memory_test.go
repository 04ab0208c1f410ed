package deploy

import (
	"math"
	"testing"
)

// stepFigures are what the benchmarks measured of one function (issue 7,
// docs/benchmarks.md, "Lambda functions: size, memory, CPU"):
//
//   - binaryMB: its bootstrap's size (BenchmarkLambdaSizes in
//     internal/lambdatest);
//   - heapMB: the step's peak live heap on its largest input
//     (BenchmarkStepMemory in internal/steps at the reference migration's
//     5,000 matters, chunks full; for the extract step BenchmarkExtract in
//     internal/extract at 200,000 matters, the largest export measured);
//   - cpuSeconds: the CPU time of its slowest invocation, the in-process
//     sandbox's work included (an upper bound).
type stepFigures struct {
	binaryMB, heapMB, cpuSeconds float64
}

// measured are the figures of 2026-11-26 (commands in docs/benchmarks.md):
// for each step the larger of two runs of BenchmarkStepMemory (12:56 and
// 15:43 UTC), but rollback's, from the second run only, after its batches
// stopped reading the whole ledger, and verify's, the largest of three
// runs (22:47 and 22:52 UTC, 00:16 UTC on the 27th) after it went a kind
// at a time. The load function runs every load step; its figures are the
// largest of them (activities and notes).
var measured = map[string]stepFigures{
	"ExtractFunction":  {13.94, 57.2, 24.9},
	"SchemaFunction":   {13.31, 1.1, 1.21},
	"StagesFunction":   {12.81, 1.3, 1.22},
	"OwnersFunction":   {12.88, 1.1, 1.23},
	"SampleFunction":   {12.81, 1.0, 0.62},
	"LoadFunction":     {13.56, 17.7, 1.59},
	"TransferFunction": {13.56, 50.1, 2.51},
	"EstimateFunction": {12.81, 12.4, 5.15},
	"VerifyFunction":   {13.25, 100.4, 51.07},
	"FinishFunction":   {21.25, 93.5, 23.70},
	"ApprovalFunction": {12.75, 0.0, 0.00},
	"RollbackFunction": {13.31, 7.8, 0.12},
	"TriggerFunction":  {9.81, 0.0, 0.01},
}

// goRuntimeMB is the Go runtime's own memory beside the heap (stacks,
// metadata), as BenchmarkStepMemory measured it.
const goRuntimeMB = 10.4

// lambdaFullCPUMB is the memory at which Lambda gives a function one whole
// vCPU; below it, CPU in proportion.
const lambdaFullCPUMB = 1769

// memoryFor is the rule template.yaml's MemorySize follows: twice what the
// function holds at its peak (the binary, the runtime, and the heap, which
// at Go's default GOGC=100 grows to twice the live heap before a
// collection), and at least enough CPU that the slowest invocation's CPU
// work takes a quarter of the timeout; rounded up to 64 MB, at least 128.
func memoryFor(f stepFigures, timeout float64) int {
	holds := f.binaryMB + goRuntimeMB + 2*f.heapMB
	forCPU := f.cpuSeconds * lambdaFullCPUMB / (timeout / 4)
	mb := math.Max(128, math.Max(2*holds, forCPU))
	return int(math.Ceil(mb/64)) * 64
}

// TestFunctionsMemoryFromFigures: every function's MemorySize is the one
// the measured figures give, so that the template changes when they do.
func TestFunctionsMemoryFromFigures(t *testing.T) {
	fns := resources(t, "AWS::Serverless::Function")
	for _, id := range sortedKeys(fns) {
		f, ok := measured[id]
		if !ok {
			t.Errorf("%s: no measured figures; run the benchmarks (docs/benchmarks.md) and add them", id)
			continue
		}
		timeout, _ := get(fns[id], "Properties", "Timeout").(float64)
		memory, _ := get(fns[id], "Properties", "MemorySize").(float64)
		want := memoryFor(f, timeout)
		if int(memory) != want {
			t.Errorf("%s: MemorySize %v; the figures (binary %.1f MB, heap %.1f MB, %.2f CPU-seconds, timeout %v s) give %d",
				id, memory, f.binaryMB, f.heapMB, f.cpuSeconds, timeout, want)
		}
		t.Logf("%-17s %5d MB (binary %5.1f MB, heap %5.1f MB, %5.2f CPU-s, timeout %3.0f s)", id, want, f.binaryMB, f.heapMB, f.cpuSeconds, timeout)
	}
	for id := range measured {
		if _, ok := fns[id]; !ok {
			t.Errorf("figures for %s, which template.yaml does not have", id)
		}
	}
}

// TestMemoryRule checks the rule on figures worked by hand.
func TestMemoryRule(t *testing.T) {
	for _, tc := range []struct {
		f       stepFigures
		timeout float64
		want    int
	}{
		{stepFigures{10, 0, 0}, 30, 128},            // nothing: the floor
		{stepFigures{13.25, 146.5, 55.7}, 900, 640}, // 2 × (13.25 + 10.4 + 293) = 633.3
		{stepFigures{21.25, 93.5, 23.7}, 300, 576},  // CPU: 23.7 × 1769 / 75 = 559.0
		{stepFigures{12.81, 12.4, 5.15}, 120, 320},  // CPU: 5.15 × 1769 / 30 = 303.7
		{stepFigures{13.56, 17.7, 1.59}, 900, 128},  // 2 × 59.36 = 118.7
		{stepFigures{13.94, 57.2, 24.9}, 900, 320},  // 2 × 138.7 = 277.5
		{stepFigures{0, 0, 10}, 40, 1792},           // CPU: 10 s of work in 10 s is a whole vCPU, 1,769 MB
	} {
		if got := memoryFor(tc.f, tc.timeout); got != tc.want {
			t.Errorf("memoryFor(%+v, %v) = %d, want %d", tc.f, tc.timeout, got, tc.want)
		}
	}
}
