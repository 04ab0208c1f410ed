package migrate

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/benchtest"
	"github.com/conveyor-migrate/conveyor/internal/blob/fileblob"
	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger/memledger"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

// BenchmarkPlan plans a migration of clean sample exports of 5,000, 50,000
// and 200,000 matters (CONVEYOR_PLAN_MATTERS=n: n only) as mode plan
// does: the export is audited and staged first (not measured), then the
// measured plan runs the schema step without applying, the stage mapping,
// the owners, and every load step (organisations, referrers' firms,
// clients, referrers, deals, activities and notes, documents) over every
// staged chunk with Apply false. Pipedrive is the sandbox over loopback
// HTTP (httptest, traffic not checked against the OpenAPI documents) with
// the client's throttle on a virtual clock, so that waiting for the rate
// limit costs no time; the staged chunks and the plans are files under
// the test's temporary directory.
//
// It reports the records planned (a planned operation each: create, link
// or skip) per second of wall time and of CPU time (the process's, the
// in-process sandbox's included; on a loaded machine the wall time is
// mostly waiting), and the peak heap while planning (sampled every 5 ms
// from runtime/metrics, as BenchmarkAudit does).
//
// Every load step reads its own chunk and nothing more (the deals step
// used to read every staged client for the clients' organisations, which
// made planning grow as chunks × clients: about 45 minutes of CPU at
// 200,000 matters; staging now puts the organisation on each matter's
// client links), so planning is linear in the export.
//
//	go test -run '^$' -bench BenchmarkPlan -benchtime 1x -timeout 60m ./internal/migrate
//	go test -run '^$' -bench 'BenchmarkPlan/matters=200000' -benchtime 1x -timeout 60m ./internal/migrate
func BenchmarkPlan(b *testing.B) {
	sizes := []int{5000, 50000, 200000}
	if v := os.Getenv("CONVEYOR_PLAN_MATTERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("CONVEYOR_PLAN_MATTERS=%q: want a positive number", v)
		}
		sizes = []int{n}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("matters=%d", n), func(b *testing.B) {
			benchmarkPlan(b, n)
		})
	}
	fmt.Println("reproduce: go test -run '^$' -bench BenchmarkPlan -benchtime 1x -timeout 60m ./internal/migrate")
}

func benchmarkPlan(b *testing.B, matters int) {
	ctx := context.Background()
	dir := planBenchExport(b, matters)
	var planned, requests, chunks int
	var peak uint64
	var elapsed, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p := newPlanBench(b, dir)
		b.StartTimer()
		start, cpu0 := time.Now(), benchtest.CPUTime()
		var n, c int
		pk, _ := benchtest.PeakHeap(func() { n, c = p.plan(ctx, b) })
		elapsed += time.Since(start)
		cpu += benchtest.CPUTime() - cpu0
		planned, chunks, requests = n, c, p.sb.Meter().Requests
		peak = max(peak, pk)
		b.StopTimer()
		p.close()
		b.StartTimer()
	}
	b.ReportMetric(float64(planned)*float64(b.N)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(planned), "records")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(requests), "requests")
	b.ReportMetric((elapsed / time.Duration(b.N)).Seconds(), "s-planning")
	b.ReportMetric((cpu / time.Duration(b.N)).Seconds(), "cpu-s")
	b.ReportMetric(float64(planned)*float64(b.N)/cpu.Seconds(), "records/cpu-s")
	b.Logf("%d matters: %d records planned over %d load steps in %s (%.0f records/s), %.1f s of CPU (the sandbox's included), %d requests, peak heap %.1f MB",
		matters, planned, chunks, (elapsed / time.Duration(b.N)).Round(time.Millisecond), float64(planned)*float64(b.N)/elapsed.Seconds(),
		(cpu / time.Duration(b.N)).Seconds(), requests, float64(peak)/(1<<20))
}

// planBenchExport writes (once, then reuses) a clean sample export of n
// matters under the system's temp directory, where BenchmarkAudit keeps
// the same ones.
func planBenchExport(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("conveyor-bench-export-%d-v2", n))
	if _, err := os.Stat(filepath.Join(dir, pp.ManifestName)); err == nil {
		return dir
	}
	tmp := fmt.Sprintf("%s.partial-%d", dir, os.Getpid())
	os.RemoveAll(tmp)
	if _, err := sampleexport.Write(tmp, sampleexport.Options{Matters: n, Seed: 1, LargeDocuments: -1}); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(filepath.Join(dir, pp.ManifestName)); serr != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// planBench is a staged export and a sandbox company to plan it into.
type planBench struct {
	env      *Env
	sb       *sandbox.Sandbox
	srv      *httptest.Server
	manifest string
	staged   *extract.StageManifest
}

func newPlanBench(b *testing.B, export string) *planBench {
	b.Helper()
	ctx := context.Background()
	store, err := fileblob.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := pp.Open(ctx, export)
	if err != nil {
		b.Fatal(err)
	}
	defer bundle.Close()
	cfg := mapping.Default()
	prefix := extract.StagePrefix(testMigration)
	res, err := extract.Run(ctx, bundle, extract.Options{Config: cfg, Stage: store, StagePrefix: prefix, TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	const plan = "growth"
	vc := clock.NewVirtual(epoch)
	sb, err := sandbox.New(sandbox.Options{Plan: plan, Seed: 1, Token: testToken, Now: vc.Now})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	c, err := pipedrive.New(pipedrive.Config{BaseURL: srv.URL, Token: testToken, Plan: plan,
		HTTPClient: &http.Client{Timeout: time.Minute}, Now: vc.Now, Sleep: vc.Sleep})
	if err != nil {
		b.Fatal(err)
	}
	return &planBench{env: &Env{Store: store, Ledger: memledger.New(), Pipedrive: c, Config: cfg, Now: vc.Now},
		sb: sb, srv: srv, manifest: prefix + extract.StageManifestName, staged: res.Staged}
}

func (p *planBench) close() { p.srv.Close() }

// plan runs the plan's steps and returns the records planned and the load
// steps run.
func (p *planBench) plan(ctx context.Context, b *testing.B) (planned, steps int) {
	e := p.env
	if _, err := e.Schema(ctx, SchemaInput{MigrationID: testMigration, Run: "plan", Manifest: p.manifest}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.MapStages(ctx, MapStagesInput{MigrationID: testMigration, Manifest: p.manifest}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.ResolveOwners(ctx, OwnersInput{MigrationID: testMigration, Manifest: p.manifest}); err != nil {
		b.Fatal(err)
	}
	for _, s := range loadOrder {
		for i := range p.staged.Kinds[s.source].Chunks {
			in := LoadInput{MigrationID: testMigration, Run: "plan", Manifest: p.manifest, Kind: s.kind, Source: s.source, Chunk: i}
			out, err := runLoad(ctx, e, in, nil)
			if err != nil {
				b.Fatalf("%s %s %d: %v", s.kind, s.source, i, err)
			}
			if out.Failed != 0 || out.Created != 0 || out.Updated != 0 {
				b.Fatalf("%s %s %d: a plan wrote: %+v", s.kind, s.source, i, out)
			}
			planned += out.Planned
			steps++
		}
	}
	return planned, steps
}
