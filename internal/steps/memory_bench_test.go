package steps

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/conveyor-migrate/conveyor/internal/blob/fileblob"
	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/memledger"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
	"github.com/conveyor-migrate/conveyor/internal/trigger"
)

// The export of BenchmarkStepMemory: enough matters to fill the staging
// chunks (the mapping configuration's staging.chunk_matters, 100 by
// default, for the matters; 1,000 records for the other kinds, which needs
// about 790 matters for the clients), each with the reference migration's
// volumes (issue 7: 20 activities, 10 notes and 5 documents a matter), and
// in the first matters chunk three large files: one just under the 25 MB
// attachment limit (uploaded as it is) and two over it, one that
// compresses (zipped) and one that does not (split into parts).
const (
	memMatters          = 800
	memActivities       = 20
	memNotes            = 10
	memDocuments        = 5
	memUnderLimitBytes  = 24 << 20 // uploaded as it is
	memOverLimitBytes   = 26 << 20 // zipped, or split when it does not compress
	memRollbackBatch    = 500      // statemachine/rollback.asl.json's limit
	memSampleSize       = 300      // the largest sample
	memMigration        = "firm"
	memExport           = "exports/memory"
	memPlanRun          = "plan-1"
	memFullRun          = "full-1"
	memSampleTick       = 2 * time.Millisecond
	memGOGC             = 10 // the collector's target while a step is measured (CONVEYOR_MEMORY_GOGC); see memMeasure
	memMeasuredChunks   = 8  // chunks (and rollback batches) measured per kind; the rest run unmeasured
	memDailyBudgetLarge = 1 << 30
)

// BenchmarkStepMemory measures each step handler's peak memory (issue 7)
// on the largest chunk: every handler runs in-process, as its Lambda
// function runs it, against the ledger in memory (memledger) and the
// Pipedrive sandbox behind httptest (no contract validation) on a virtual
// clock, on an export whose chunks are full (see memMatters). The bucket
// is a directory (fileblob), not memblob: on AWS the bucket is S3, outside
// the function's memory, and memblob would put every staged chunk, plan
// and report on the heap the steps are measured on. A plan run (for the
// estimate), then a full run, then its rollback a batch at a time, the
// approval and the trigger.
//
// Before each step the heap is collected and returned to the system
// (debug.FreeOSMemory); while it runs, with the collector at memGOGC, the
// heap is sampled every 2 ms (runtime/metrics). Per step it reports:
//
//   - heap-MB: the highest heap in use (objects, plus the unused part of
//     the spans the runtime holds) above the heap before the step: the
//     step's peak live heap (see memMeasure). A Go process at the default
//     GOGC=100 lets its heap grow to about twice its live heap before it
//     collects, so a function's heap peaks near 2 × heap-MB;
//   - live-MB: the highest live heap the collector found (after a mark,
//     /gc/heap/live) above the live heap before the step; 0 when no
//     collection finished during the step. With a large base-MB it is
//     nearer what the step holds than heap-MB: the collector marks the
//     whole process, the ledger and sandbox company included, and the step
//     allocates on while it marks, so heap-MB carries garbage in proportion
//     to base-MB and the step's allocation rate (at 20,000 matters,
//     hundreds of MB). live-MB counts what was allocated during a mark as
//     live too, so it is high for the same reason, less so;
//   - sys-MB: the highest memory the Go runtime maps (heap, stacks,
//     metadata: /memory/classes/total less what it released) above the
//     same figure before the step;
//   - alloc-MB: everything the step allocated, collected or not;
//   - retained-MB: the live heap after the step above the live heap before
//     it: what it wrote to the ledger and the sandbox company (which on
//     AWS live elsewhere);
//   - base-MB: the live heap before the step (the ledger and the sandbox
//     company so far);
//   - invocations: how many times it ran (chunks, batches, events);
//   - ns/op and cpu-s: the step's wall time and the CPU time the process
//     spent meanwhile, sandbox and collector included (the slowest
//     invocation's). Lambda gives a function CPU in proportion to its
//     memory, a whole vCPU at 1,769 MB: at M MB a CPU-bound step takes
//     about cpu-s × 1769 / M seconds.
//
// Load and transfer steps run once per chunk and the figure is the largest
// chunk's (the chunk with the highest peak) of the first memMeasuredChunks
// of each kind (full chunks; chunk 0 holds the large files), the rest run
// unmeasured; rollback the largest of its batches of 500 (the first
// memMeasuredChunks and every 25th). The figures are upper bounds of what
// the step itself needs: the sandbox serving the step's requests allocates
// in the same heap. A function's memory is then about 2 × heap-MB, plus the runtime's
// own (stacks and metadata, logged at the end as "runtime"), plus the
// bootstrap binary (BenchmarkLambdaSizes in internal/lambdatest);
// template.yaml sets about twice that, rounded up (docs/benchmarks.md).
//
//	go test -run '^$' -bench BenchmarkStepMemory -benchtime 1x -timeout 60m -v ./internal/steps
//
// CONVEYOR_MEMORY_MATTERS sets the number of matters (default 800; the
// reference migration is 5000): extract, sample, verify, finish, estimate
// and the stage, schema and owner steps read the whole export or
// migration, the load and transfer steps one chunk.
func BenchmarkStepMemory(b *testing.B) {
	matters := memMatters
	if v := os.Getenv("CONVEYOR_MEMORY_MATTERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("CONVEYOR_MEMORY_MATTERS=%q: want a positive number", v)
		}
		matters = n
	}
	cfg := mapping.Default()
	dir := b.TempDir()
	root := filepath.Join(dir, memExport)
	sum, err := sampleexport.Write(root, sampleexport.Options{Matters: matters, Seed: 1, LargeDocuments: -1,
		ActivitiesPerMatter: memActivities, NotesPerMatter: memNotes, DocumentsPerMatter: memDocuments})
	if err != nil {
		b.Fatal(err)
	}
	limit := int64(cfg.Policies.AttachmentSizeLimit)
	if memUnderLimitBytes > limit || memOverLimitBytes <= limit {
		b.Fatalf("the attachment limit is %d bytes: the large files (%d, %d) no longer fall either side of it", limit, memUnderLimitBytes, memOverLimitBytes)
	}
	large := memAddLargeDocuments(b, root)
	b.Logf("export: %d matters (chunks of %d), %d activity rows, %d documents (%d bytes) and %d large files in the first chunk (%s); %d clients, %d organisations",
		sum.Rows[pp.TableMatters], cfg.Staging.ChunkMatters, sum.Rows[pp.TableActivities], sum.Documents, sum.DocumentBytes,
		len(large), strings.Join(large, ", "), sum.Rows[pp.TableClients], sum.Rows[pp.TableOrganisations])

	var results []memResult
	for i := 0; i < b.N; i++ {
		results = memRunAll(b, dir)
	}
	for _, r := range results {
		b.Run(r.step, func(b *testing.B) {
			b.ReportMetric(float64(r.wall.Nanoseconds()), "ns/op")
			b.ReportMetric(memMB(r.heap), "heap-MB")
			b.ReportMetric(memMB(r.sys), "sys-MB")
			b.ReportMetric(memMB(r.live), "live-MB")
			b.ReportMetric(memMB(r.retained), "retained-MB")
			b.ReportMetric(memMB(r.alloc), "alloc-MB")
			b.ReportMetric(memMB(r.base), "base-MB")
			b.ReportMetric(r.cpu, "cpu-s")
			b.ReportMetric(float64(r.runs), "invocations")
			b.ReportMetric(float64(r.measured), "measured")
		})
		b.Logf("%-20s heap %6.1f MB, live %6.1f MB, sys %6.1f MB above a live heap of %6.1f MB, %6.1f MB of it kept after, %7.1f MB allocated; %s, %.2f CPU-seconds (%d invocations, %d measured; the largest: %s)",
			r.step, memMB(r.heap), memMB(r.live), memMB(r.sys), memMB(r.base), memMB(r.retained), memMB(r.alloc), r.wall.Round(time.Millisecond), r.cpu, r.runs, r.measured, r.what)
	}
	rt := memRuntimeOverhead()
	b.Run("runtime", func(b *testing.B) {
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(memMB(rt), "sys-MB")
	})
	b.Logf("runtime: %.1f MB of stacks, metadata and other runtime memory besides the heap (this process's, whose heap is the largest)", memMB(rt))
	fmt.Println("reproduce: go test -run '^$' -bench BenchmarkStepMemory -benchtime 1x -timeout 60m -v ./internal/steps")
}

// memCPUSeconds is the CPU time the process has used, user and system,
// as the kernel counts it (/proc/self/stat, in ticks of 1/100 s); 0 where
// there is no /proc. (runtime/metrics' /cpu/classes are estimates from
// wall time, which count a thread the host did not run.)
func memCPUSeconds() float64 {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses:
	// state is the first, utime the 12th and stime the 13th.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}

// memRuntimeOverhead is the memory the Go runtime maps besides the heap:
// goroutine stacks, the collector's and the allocator's metadata, and the
// rest (/memory/classes/total less the heap classes).
func memRuntimeOverhead() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"}, {Name: "/memory/classes/heap/free:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(sample)
	v := sample[0].Value.Uint64()
	for _, s := range sample[1:] {
		v -= s.Value.Uint64()
	}
	return v
}

func memMB(n uint64) float64 { return float64(n) / (1 << 20) }

// memResult is one step's largest invocation.
type memResult struct {
	step                                   string
	heap, live, sys, base, retained, alloc uint64
	wall                                   time.Duration
	cpu                                    float64
	runs, measured                         int
	what                                   string
}

// memUse is one invocation's figures.
type memUse struct {
	heap, live, sys, base, retained, alloc uint64
	wall                                   time.Duration
	cpu                                    float64
}

// memMeasure runs fn with the heap collected and returned to the system
// first, sampling the heap in use and the memory the runtime holds.
//
// While fn runs the collector's target is memGOGC (10%), not the default
// 100%: the collector lets the heap grow by GOGC% of the live heap of the
// whole process, which here holds the ledger and the sandbox company
// (base-MB, tens of MB), so at 100% a step's garbage could grow by that
// much before a collection and the peak would say more about the test than
// about the step. At 10% the peak above the heap before the step is the
// step's own peak live heap, give or take a tenth of the whole.
//
// CONVEYOR_MEMORY_GOGC=100 measures at the default target instead: the
// heap figures then include garbage the base heap's target lets grow, but
// cpu-s is the step's without the many more collections of the whole heap
// that 10% costs.
func memMeasure(fn func() error) (memUse, error) {
	gogc := memGOGC
	if v, err := strconv.Atoi(os.Getenv("CONVEYOR_MEMORY_GOGC")); err == nil && v > 0 {
		gogc = v
	}
	defer debug.SetGCPercent(debug.SetGCPercent(gogc))
	debug.FreeOSMemory()
	sample := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	read := func() (heap, sys uint64) {
		metrics.Read(sample)
		return sample[0].Value.Uint64() + sample[1].Value.Uint64(), sample[2].Value.Uint64() - sample[3].Value.Uint64()
	}
	heap0, sys0 := read()
	live0, allocs0, marked0 := sample[0].Value.Uint64(), sample[4].Value.Uint64(), sample[5].Value.Uint64()
	cpu0 := memCPUSeconds()
	var peakHeap, peakSys, peakMarked uint64
	note := func() {
		h, s := read()
		peakHeap, peakSys, peakMarked = max(peakHeap, h), max(peakSys, s), max(peakMarked, sample[5].Value.Uint64())
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(memSampleTick)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				note()
			}
		}
	}()
	start := time.Now()
	err := fn()
	wall := time.Since(start)
	close(done)
	wg.Wait()
	note()
	allocs1 := sample[4].Value.Uint64()
	cpu1 := memCPUSeconds()
	runtime.GC()
	metrics.Read(sample)
	live1 := sample[0].Value.Uint64()
	u := memUse{base: live0, wall: wall, alloc: allocs1 - allocs0, cpu: cpu1 - cpu0}
	if live1 > live0 {
		u.retained = live1 - live0
	}
	if peakHeap > heap0 {
		u.heap = peakHeap - heap0
	}
	if peakMarked > marked0 {
		u.live = peakMarked - marked0
	}
	if peakSys > sys0 {
		u.sys = peakSys - sys0
	}
	return u, err
}

// memBench is the world of BenchmarkStepMemory: the handlers' Deps, the
// sandbox and the virtual clock, and each step's largest invocation.
type memBench struct {
	b       *testing.B
	deps    *Deps
	clock   *clock.Virtual
	results map[string]*memResult
	order   []string
}

// measure runs one invocation of a step and keeps it if it is the step's
// largest so far. A step the daily budget stopped runs again after the
// reset, as the state machine runs it.
func (m *memBench) measure(step, what string, fn func() (resumeAt string, err error)) {
	m.b.Helper()
	m.invoke(step, what, true, fn)
}

// invoke runs one invocation of a step, measured or not (the chunks and
// batches after the first memMeasuredChunks: full ones like those before).
func (m *memBench) invoke(step, what string, measured bool, fn func() (resumeAt string, err error)) {
	m.b.Helper()
	for {
		var resume string
		call := func() error {
			var err error
			resume, err = fn()
			return err
		}
		var u memUse
		var err error
		if measured {
			u, err = memMeasure(call)
		} else {
			err = call()
		}
		if err != nil {
			m.b.Fatalf("%s (%s): %v", step, what, err)
		}
		r := m.results[step]
		if r == nil {
			r = &memResult{step: step}
			m.results[step] = r
			m.order = append(m.order, step)
		}
		r.runs++
		if measured {
			r.measured++
			if u.heap >= r.heap {
				r.heap, r.base, r.retained, r.what = u.heap, u.base, u.retained, what
			}
			r.live, r.sys, r.alloc, r.wall, r.cpu = max(r.live, u.live), max(r.sys, u.sys), max(r.alloc, u.alloc), max(r.wall, u.wall), max(r.cpu, u.cpu)
			if testing.Verbose() && strings.HasSuffix(what, " chunk 0") {
				m.b.Logf("%s, %s: heap %.1f MB, %s, %.2f CPU-seconds", step, what, memMB(u.heap), u.wall.Round(time.Millisecond), u.cpu)
			}
		}
		if resume == "" {
			return
		}
		at, err := time.Parse(time.RFC3339, resume)
		if err != nil {
			m.b.Fatalf("%s: resume_at %q: %v", step, resume, err)
		}
		m.clock.Set(at.Add(time.Second))
	}
}

// memRunAll runs a plan run, a full run, its rollback and the trigger,
// measuring every step.
func memRunAll(b *testing.B, dir string) []memResult {
	b.Helper()
	ctx := context.Background()
	vc := clock.NewVirtual(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	sb, err := sandbox.New(sandbox.Options{Plan: "ultimate", Seed: 1, Token: testToken, Now: vc.Now, DailyBudget: memDailyBudgetLarge})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()
	httpc := &http.Client{Timeout: time.Minute}
	store, err := fileblob.New(filepath.Join(dir, "bucket"))
	if err != nil {
		b.Fatal(err)
	}
	led := &readCounter{Store: memledger.New()}
	deps := &Deps{Store: store, Ledger: led, Plan: "ultimate", Seats: 1, Now: vc.Now,
		Pipedrive: func(ctx context.Context, workers int) (*pipedrive.Client, error) {
			return pipedrive.New(pipedrive.Config{BaseURL: srv.URL, Token: testToken, Plan: "ultimate", Workers: workers,
				HTTPClient: httpc, Now: vc.Now, Sleep: vc.Sleep})
		},
		OpenBundle: func(ctx context.Context, export string) (*pp.Bundle, error) {
			return pp.Open(ctx, filepath.Join(dir, export))
		}}
	m := &memBench{b: b, deps: deps, clock: vc, results: map[string]*memResult{}}

	// The plan run: the estimate prices its plans. Only the estimate is
	// measured here; the other steps are measured in the full run.
	plan := memRunSteps(b, m, ModePlan, memPlanRun, false)
	m.measure("estimate", "the plan run", func() (string, error) {
		_, err := deps.Estimate(ctx, StepInput{MigrationID: memMigration, Run: memPlanRun, Manifest: plan.Manifest, Mode: ModePlan})
		return "", err
	})

	// The full run, every step measured.
	full := memRunSteps(b, m, ModeFull, memFullRun, true)
	in := StepInput{MigrationID: memMigration, Run: memFullRun, Manifest: full.Manifest, Mode: ModeFull}
	var verified migrate.VerifyOutput
	m.measure("verify", "every migrated record", func() (string, error) {
		var err error
		verified, err = deps.Verify(ctx, VerifyInput{StepInput: in})
		return "", err
	})
	if verified.Missing != 0 || verified.Mismatches != 0 || verified.Checked == 0 {
		b.Fatalf("verify %+v; want every record checked and none missing or differing", verified)
	}
	var fin FinishOutput
	m.measure("finish", "the full run's summary, watermark, delta and HTML reports", func() (string, error) {
		var err error
		fin, err = deps.Finish(ctx, FinishInput{StepInput: in, Verify: &verified})
		return "", err
	})
	if fin.Report == "" || fin.Failed {
		b.Fatalf("finish %+v; want the HTML report written", fin)
	}
	m.measure("approval", "one approval request", func() (string, error) {
		_, err := deps.Approval(ctx, ApprovalInput{MigrationID: memMigration, Run: "full-2", Mode: ModeFull, Token: "task-token",
			Reports: []string{full.Audit}})
		return "", err
	})

	// The rollback, a batch at a time, newest write first, each batch
	// carrying on below the last, as the state machine calls it.
	entries := 0
	if err := deps.Ledger.List(ctx, memMigration, func(ledger.Entry) error { entries++; return nil }); err != nil {
		b.Fatal(err)
	}
	led.read.Store(0)
	meter := sb.Meter()
	var before int64
	batches := 0
	for batch := 1; ; batch++ {
		var out RollbackOutput
		m.invoke("rollback", fmt.Sprintf("batch %d of %d entries", batch, memRollbackBatch), batch <= memMeasuredChunks || batch%25 == 0, func() (string, error) {
			var err error
			out, err = deps.Rollback(ctx, RollbackInput{RollbackInput: migrate.RollbackInput{MigrationID: memMigration, Apply: true, Limit: memRollbackBatch, Before: before}})
			return out.ResumeAt, err
		})
		if out.Flagged != 0 || out.Unknown != 0 {
			b.Fatalf("rollback batch %d: %+v", batch, out.RollbackOutput)
		}
		before, batches = out.Before, batch
		if !out.More && !out.BudgetExhausted {
			if undone := out.Deleted + out.Restored + out.AlreadyGone + out.Unchanged; undone != entries {
				b.Fatalf("the rollback undid %d of %d entries: %+v", undone, entries, out.RollbackOutput)
			}
			break
		}
	}
	after := sb.Meter()
	b.Logf("rollback: %d entries in %d batches; %d ledger entries read (%.3f a ledger entry); %d requests, %d tokens (%.2f tokens an entry)",
		entries, batches, led.read.Load(), float64(led.read.Load())/float64(entries), after.Requests-meter.Requests,
		after.Tokens-meter.Tokens, float64(after.Tokens-meter.Tokens)/float64(entries))
	b.ReportMetric(float64(led.read.Load())/float64(entries), "rollback-ledger-reads/entry")
	b.ReportMetric(float64(after.Tokens-meter.Tokens)/float64(entries), "rollback-tokens/entry")

	// The trigger: an uploaded manifest, then the delta schedule.
	h := &trigger.Handler{SFN: memSFN{}, StateMachineARN: "arn:aws:states:eu-west-2:111122223333:stateMachine:conveyor-migrate",
		Store: deps.Store, Bucket: "conveyor-bucket", Now: vc.Now}
	manifestKey := "exports/" + memMigration + "/2026-11-20-full/manifest.json"
	data, err := os.ReadFile(filepath.Join(dir, memExport, pp.ManifestName))
	if err != nil {
		b.Fatal(err)
	}
	if err := deps.Store.Put(ctx, manifestKey, strings.NewReader(string(data))); err != nil {
		b.Fatal(err)
	}
	event := fmt.Sprintf(`{"version":"0","id":"e1","detail-type":%q,"source":%q,"detail":{"bucket":{"name":"conveyor-bucket"},"object":{"key":%q,"size":%d,"etag":"9b2cf535f27731c974343645a3985328"},"reason":"PutObject"}}`,
		trigger.ObjectCreated, trigger.SourceS3, manifestKey, len(data))
	m.measure("trigger", "an uploaded manifest.json", func() (string, error) {
		_, err := h.Handle(ctx, json.RawMessage(event))
		return "", err
	})
	m.measure("trigger", "the delta schedule", func() (string, error) {
		_, err := h.Handle(ctx, json.RawMessage(fmt.Sprintf(`{"source":%q,"migration_id":%q}`, trigger.SourceSchedule, memMigration)))
		return "", err
	})

	out := make([]memResult, 0, len(m.order))
	for _, s := range m.order {
		out = append(out, *m.results[s])
	}
	return out
}

// memRunSteps runs extract to the transfer step of one run, measuring
// each step when measured is set (the plan run's are not).
func memRunSteps(b *testing.B, m *memBench, mode, run string, measured bool) ExtractOutput {
	b.Helper()
	ctx := context.Background()
	d := m.deps
	step := func(name, what string, fn func() (string, error)) {
		if measured {
			m.measure(name, what, fn)
			return
		}
		if _, err := fn(); err != nil {
			b.Fatalf("%s run: %s (%s): %v", mode, name, what, err)
		}
	}
	chunkStep := func(name, what string, chunk int, fn func() (string, error)) {
		if measured {
			m.invoke(name, what, chunk < memMeasuredChunks, fn)
			return
		}
		step(name, what, fn)
	}
	var x ExtractOutput
	step("extract", "the whole export", func() (string, error) {
		var err error
		x, err = d.Extract(ctx, Execution{MigrationID: memMigration, Export: memExport, Mode: mode, Approved: true})
		return "", err
	})
	if !x.Trusted || x.Errors != 0 {
		b.Fatalf("extract: trusted %v with %d errors; want a clean export", x.Trusted, x.Errors)
	}
	in := StepInput{MigrationID: memMigration, Run: run, Manifest: x.Manifest, Mode: mode}
	step("stages", "every source stage", func() (string, error) {
		out, err := d.Stages(ctx, in)
		if err == nil && out.Review {
			err = fmt.Errorf("the stage mapping asks for review: %+v", out)
		}
		return "", err
	})
	step("schema", "fields, pipelines, stages, activity types", func() (string, error) {
		_, err := d.Schema(ctx, in)
		return "", err
	})
	step("owners", "every fee earner", func() (string, error) {
		_, err := d.Owners(ctx, in)
		return "", err
	})
	if measured {
		step("sample", fmt.Sprintf("%d matters of all", memSampleSize), func() (string, error) {
			_, err := d.Sample(ctx, SampleInput{StepInput: in, Size: memSampleSize})
			return "", err
		})
	}
	// The load steps in the state machine's order: organisations and
	// referrers' firms, clients and referrers, deals, activities and
	// notes, then the documents (the transfer step).
	for _, l := range []struct{ kind, source string }{
		{migrate.LoadOrganisations, extract.KindOrganisations}, {migrate.LoadOrganisations, extract.KindReferrers},
		{migrate.LoadPersons, extract.KindClients}, {migrate.LoadPersons, extract.KindReferrers},
		{migrate.LoadDeals, extract.KindMatters}, {migrate.LoadActivities, extract.KindMatters},
		{migrate.LoadDocuments, extract.KindMatters},
	} {
		name, handler := "load-"+l.kind, d.Load
		if l.kind == migrate.LoadDocuments {
			name, handler = "transfer", d.Transfer
		}
		for _, c := range x.Chunks[l.source] {
			li := LoadInput{StepInput: in, Kind: l.kind, Source: l.source, Chunk: c, Workers: 1, Export: memExport}
			chunkStep(name, fmt.Sprintf("%s chunk %d", l.source, c), c, func() (string, error) {
				out, err := handler(ctx, li)
				if err == nil && out.Failed != 0 {
					err = fmt.Errorf("%d records failed", out.Failed)
				}
				return out.ResumeAt, err
			})
		}
	}
	return x
}

// memSFN stands in for Step Functions: every execution starts.
type memSFN struct{}

func (memSFN) StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	arn := strings.Replace(aws.ToString(in.StateMachineArn), ":stateMachine:", ":execution:", 1) + ":" + aws.ToString(in.Name)
	now := time.Now()
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(arn), StartDate: &now}, nil
}

// memAddLargeDocuments adds three large files to the first matters of the
// export (the first chunk): a scanned bundle just under the attachment
// limit, uploaded as it is; a text over it that compresses to a zip under
// it; and a scan over it that does not compress, split into parts. Each
// gets its row in documents.csv, and the manifest its new checksum and
// row count.
func memAddLargeDocuments(b *testing.B, root string) []string {
	b.Helper()
	docsPath := filepath.Join(root, "documents.csv")
	f, err := os.Open(docsPath)
	if err != nil {
		b.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, c := range []string{"document_id", "matter_id", "file_name", "path", "size_bytes", "sha256", "content_type", "category", "uploaded_at", "fee_earner_id"} {
		if _, ok := col[c]; !ok {
			b.Fatalf("documents.csv has no %s column: %v", c, rows[0])
		}
	}
	// The first three matters with a document, in file order.
	var firsts [][]string
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if m := r[col["matter_id"]]; !seen[m] && len(firsts) < 3 {
			seen[m] = true
			firsts = append(firsts, r)
		}
	}
	if len(firsts) < 3 {
		b.Fatal("documents.csv: fewer than three matters with documents")
	}
	files := []struct {
		name, category string
		size           int64
		compressible   bool
	}{
		{"Title Deeds (scanned).pdf", "contract", memUnderLimitBytes, false},
		{"Lease and Management Pack.pdf", "contract", memOverLimitBytes, true},
		{"Searches Bundle (scanned).pdf", "searches", memOverLimitBytes, false},
	}
	var added [][]string
	var names []string
	for i, spec := range files {
		like := firsts[i]
		matter := like[col["matter_id"]]
		rel := "documents/" + matter + "/" + spec.name
		sum, err := memWriteDocument(filepath.Join(root, filepath.FromSlash(rel)), spec.size, spec.compressible, uint64(i+1))
		if err != nil {
			b.Fatal(err)
		}
		row := slices.Clone(like)
		row[col["document_id"]] = fmt.Sprintf("D9%06d", i+1)
		row[col["file_name"]] = spec.name
		row[col["path"]] = rel
		row[col["size_bytes"]] = strconv.FormatInt(spec.size, 10)
		row[col["sha256"]] = sum
		row[col["content_type"]] = "application/pdf"
		row[col["category"]] = spec.category
		added = append(added, row)
		names = append(names, fmt.Sprintf("%s of %s, %d bytes", spec.name, matter, spec.size))
	}
	out, err := os.OpenFile(docsPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	w := csv.NewWriter(out)
	if err := w.WriteAll(added); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	memUpdateManifest(b, root, "documents.csv", len(added))
	return names
}

// memUpdateManifest records a table file's new checksum and extra rows.
func memUpdateManifest(b *testing.B, root, file string, extraRows int) {
	b.Helper()
	path := filepath.Join(root, pp.ManifestName)
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var man map[string]any
	if err := json.Unmarshal(data, &man); err != nil {
		b.Fatal(err)
	}
	files, _ := man["files"].(map[string]any)
	entry, _ := files[file].(map[string]any)
	if entry == nil {
		b.Fatalf("the manifest does not list %s", file)
	}
	content, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		b.Fatal(err)
	}
	s := sha256.Sum256(content)
	entry["sha256"] = hex.EncodeToString(s[:])
	rows, _ := entry["rows"].(float64)
	entry["rows"] = int(rows) + extraRows
	if data, err = json.MarshalIndent(man, "", "  "); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		b.Fatal(err)
	}
}

// memWriteDocument writes size bytes of a PDF-like file: numbered clauses
// of a lease (compressible) or the pseudo-random bytes of a scan (not),
// and returns its SHA-256.
func memWriteDocument(path string, size int64, compressible bool, seed uint64) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 64<<10)
	r := rand.New(rand.NewPCG(seed, 0x6d656d))
	header := "%PDF-1.4\n"
	w.WriteString(header)
	left := size - int64(len(header))
	if compressible {
		words := []string{"the Tenant", "the Landlord", "covenants", "shall", "the Premises", "the Term", "rent", "service charge",
			"insurance", "repair", "quiet enjoyment", "assignment", "underletting", "forfeiture", "notice", "in writing", "reasonable",
			"consent", "not to be unreasonably withheld", "the Building", "common parts", "yield up", "decoration", "alterations"}
		var line []byte
		for clause := 1; left > 0; clause++ {
			line = append(line[:0], fmt.Sprintf("%d.%d ", clause/20+1, clause%20+1)...)
			for n := 8 + r.IntN(16); n > 0; n-- {
				line = append(line, words[r.IntN(len(words))]...)
				line = append(line, ' ')
			}
			line = append(line, '\n')
			if int64(len(line)) > left {
				line = line[:left]
			}
			w.Write(line)
			left -= int64(len(line))
		}
	} else {
		buf := make([]byte, 64<<10)
		for left > 0 {
			n := min(int64(len(buf)), left)
			for i := 0; i < int(n); i += 8 {
				v := r.Uint64()
				for j := 0; j < 8 && i+j < int(n); j++ {
					buf[i+j] = byte(v >> (8 * j))
				}
			}
			w.Write(buf[:n])
			left -= n
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readCounter counts the ledger entries listings hand out.
type readCounter struct {
	ledger.Store
	read atomic.Int64
}

func (c *readCounter) List(ctx context.Context, migration string, fn func(ledger.Entry) error) error {
	return c.ListBefore(ctx, migration, 0, fn)
}

func (c *readCounter) ListBefore(ctx context.Context, migration string, before int64, fn func(ledger.Entry) error) error {
	return c.Store.ListBefore(ctx, migration, before, func(e ledger.Entry) error {
		c.read.Add(1)
		return fn(e)
	})
}
