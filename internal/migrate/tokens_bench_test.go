package migrate

import (
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/cost"
)

// minimumTokens is what the mapping cannot do without: one write per
// ledger entry, at its endpoint's cost from Pipedrive's documents
//
//	minimum = Σ over written entries of x-token-cost(the entry's write)
//
// (POST /api/v2/{persons,organizations,deals,activities} 5,
// POST /v1/{notes,files,deals/{id}/participants} 10, PATCH 5 for a link
// that fills fields, POST for each schema item). Reads are overhead.
func minimumTokens(tb testing.TB, entries []ledger.Entry) int {
	tb.Helper()
	kinds := map[string]string{"organization": "organization", "person": "person", "deal": "deal", "participant": "participant",
		"activity": "activity", "note": "note", "file": "file", "deal_field": "deal_field", "person_field": "person_field",
		"organization_field": "org_field", "pipeline": "pipeline", "stage": "stage", "activity_type": "activity_type"}
	total := 0
	for _, e := range entries {
		if e.Status != ledger.StatusWritten {
			continue
		}
		op := PlanCreate
		switch e.Op {
		case ledger.OpLink, ledger.OpUpdate:
			if len(e.Previous) == 0 {
				continue // a link that changed nothing sent nothing
			}
			op = PlanLink
		}
		ep, ok := WriteEndpoint(kinds[e.TargetKind], op)
		if !ok {
			tb.Fatalf("no endpoint for %s %s", e.TargetKind, op)
		}
		method, path, _ := strings.Cut(ep, " ")
		c, ok := cost.Lookup(method, strings.ReplaceAll(strings.ReplaceAll(path, "{id}", "1"), "{field_code}", "x"))
		if !ok {
			tb.Fatalf("no cost for %s", ep)
		}
		total += c.Cost
	}
	return total
}

// BenchmarkTokens1000 migrates a 1,000-matter sample export into the
// sandbox (virtual clock) and reports the tokens spent against the
// minimum the mapping needs, and the person searches spent (none).
func BenchmarkTokens1000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		e := newTestEnv(b, envOptions{matters: 1000, plan: "ultimate"})
		migrateAll(b, e, openSampleBundle(b, 1000), true)
		m := e.sb.Meter()
		min := minimumTokens(b, e.entries(b))
		b.ReportMetric(float64(m.Tokens), "tokens")
		b.ReportMetric(float64(min), "minimum-tokens")
		b.ReportMetric(float64(m.Tokens)/float64(min), "ratio")
		b.ReportMetric(float64(m.TokensByEndpoint["GET /api/v2/persons/search"]), "search-tokens")
		b.ReportMetric(float64(m.Requests), "requests")
	}
}
