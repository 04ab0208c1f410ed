package pipedrive

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/clock"
)

// BenchmarkGetPerson measures the client's own cost per call (throttle,
// request, decode, meter) against a loopback server, on a virtual clock so
// that the plan's rate limit does not set the pace.
func BenchmarkGetPerson(b *testing.B) {
	body := []byte(ok(personJSON))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	vc := clock.NewVirtual(epoch)
	c, err := New(Config{BaseURL: srv.URL, Token: testToken, Plan: "ultimate", Now: vc.Now, Sleep: vc.Sleep,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	start := vc.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.GetPerson(ctx, 7); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if virtual := vc.Now().Sub(start); virtual > 0 {
		b.ReportMetric(float64(c.Meter().Requests())/virtual.Seconds(), "req/virtual-s")
	}
	b.ReportMetric(float64(time.Second)/float64(b.Elapsed()/time.Duration(max(c.Meter().Requests(), 1))), "req/wall-s")
}
