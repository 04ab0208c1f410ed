package migrate

import (
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

func TestEstimate(t *testing.T) {
	tl := NewTally()
	tl.Add("person", PlanCreate, 1000)           // 5 tokens each
	tl.Add("person", PlanLink, 100)              // PATCH, 5
	tl.Add("person", PlanSkip, 50)               // nothing
	tl.Add("deal", PlanCreate, 500)              // 5
	tl.Add("participant", PlanCreate, 300)       // v1, 10
	tl.Add("activity", PlanCreate, 10000)        // 5
	tl.Add("note", PlanCreate, 5000)             // v1, 10
	tl.Add("file", PlanCreate, 2500)             // v1, 10
	tl.AddList("GET /api/v2/persons", 1201, 500) // 3 pages, 10 each
	e, err := tl.Estimate(pipedrive.Plans["growth"], 3)
	if err != nil {
		t.Fatal(err)
	}
	wantTokens := 1000*5 + 100*5 + 500*5 + 300*10 + 10000*5 + 5000*10 + 2500*10 + 3*10
	if e.All.Tokens != wantTokens {
		t.Errorf("tokens = %d; want %d", e.All.Tokens, wantTokens)
	}
	if want := 1000 + 100 + 500 + 300 + 10000 + 5000 + 2500 + 3; e.All.Requests != want {
		t.Errorf("requests = %d; want %d", e.All.Requests, want)
	}
	if e.DailyTokens != 180000 || e.BurstPerSecond != 20 {
		t.Errorf("budget %d, rate %v; want 180000 and 20/s on growth with 3 seats", e.DailyTokens, e.BurstPerSecond)
	}
	if want := float64(e.All.Requests) / 20 / 3600; e.All.Hours < want-0.01 || e.All.Hours > want+0.01 {
		t.Errorf("hours = %v; want %.2f", e.All.Hours, want)
	}
	if e.WithoutHistory.Tokens != wantTokens-(10000*5+5000*10+2500*10) {
		t.Errorf("tokens without history = %d", e.WithoutHistory.Tokens)
	}
	if e.All.CalendarDays != 1 || e.All.Days != 0.76 { // 136,030 of 180,000
		t.Errorf("days = %v (%d calendar); want 0.76 (1)", e.All.Days, e.All.CalendarDays)
	}
	if _, ok := WriteEndpoint("person", PlanSkip); ok {
		t.Errorf("a skip has an endpoint")
	}
	bad := NewTally()
	bad.AddList("GET /v1/persons", 1, 500)
	if _, err := bad.Estimate(pipedrive.Plans["lite"], 1); err == nil {
		t.Errorf("an unpublished endpoint was priced")
	}
}
