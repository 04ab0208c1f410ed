package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/cost"
)

// The endpoint each planned write calls, by target kind and operation: v2
// wherever Pipedrive has it, v1 only for notes, files and participants.
var estimateEndpoints = map[string]map[string][2]string{
	"organization":  {PlanCreate: {"POST", "/api/v2/organizations"}, PlanUpdate: {"PATCH", "/api/v2/organizations/{id}"}, PlanLink: {"PATCH", "/api/v2/organizations/{id}"}},
	"person":        {PlanCreate: {"POST", "/api/v2/persons"}, PlanUpdate: {"PATCH", "/api/v2/persons/{id}"}, PlanLink: {"PATCH", "/api/v2/persons/{id}"}},
	"deal":          {PlanCreate: {"POST", "/api/v2/deals"}, PlanUpdate: {"PATCH", "/api/v2/deals/{id}"}, PlanLink: {"PATCH", "/api/v2/deals/{id}"}},
	"participant":   {PlanCreate: {"POST", "/v1/deals/{id}/participants"}},
	"activity":      {PlanCreate: {"POST", "/api/v2/activities"}, PlanUpdate: {"PATCH", "/api/v2/activities/{id}"}},
	"note":          {PlanCreate: {"POST", "/v1/notes"}, PlanUpdate: {"PUT", "/v1/notes/{id}"}},
	"file":          {PlanCreate: {"POST", "/v1/files"}},
	"deal_field":    {PlanCreate: {"POST", "/api/v2/dealFields"}},
	"person_field":  {PlanCreate: {"POST", "/api/v2/personFields"}},
	"org_field":     {PlanCreate: {"POST", "/api/v2/organizationFields"}},
	"pipeline":      {PlanCreate: {"POST", "/api/v2/pipelines"}},
	"stage":         {PlanCreate: {"POST", "/api/v2/stages"}},
	"activity_type": {PlanCreate: {"POST", "/v1/activityTypes"}},
}

// historyKinds are the records a firm may choose not to bring over to
// save budget: the activity history, notes and files.
var historyKinds = map[string]bool{"activity": true, "note": true, "file": true}

// WriteEndpoint returns the endpoint ("POST /api/v2/persons") a planned
// write calls; false for a skip, or a link that changes nothing.
func WriteEndpoint(targetKind, op string) (string, bool) {
	if targetKind == "organization_field" {
		targetKind = "org_field"
	}
	e, ok := estimateEndpoints[targetKind][op]
	if !ok {
		return "", false
	}
	return e[0] + " " + e[1], true
}

// Tally counts planned requests by endpoint, history apart.
type Tally struct {
	Requests map[string]int `json:"requests"`
	// History counts the activity, note and file requests among them.
	History map[string]int `json:"history"`
}

// NewTally returns an empty tally.
func NewTally() *Tally { return &Tally{Requests: map[string]int{}, History: map[string]int{}} }

// Add counts n requests of a planned write; a skip adds nothing.
func (t *Tally) Add(targetKind, op string, n int) {
	ep, ok := WriteEndpoint(targetKind, op)
	if !ok || n <= 0 {
		return
	}
	t.Requests[ep] += n
	if historyKinds[targetKind] {
		t.History[ep] += n
	}
}

// AddList counts the pages of a paginated list of n items (500 a page for
// v2, 100 for v1 files), at least one page.
func (t *Tally) AddList(endpoint string, n, pageSize int) {
	pages := max(1, (n+pageSize-1)/pageSize)
	t.Requests[endpoint] += pages
}

// Estimate is what a run costs in Pipedrive's terms.
type Estimate struct {
	Plan        string `json:"plan"`
	Seats       int    `json:"seats"`
	DailyTokens int    `json:"daily_tokens"`
	// BurstPerSecond is the plan's request rate (its 2-second limit / 2).
	BurstPerSecond float64 `json:"burst_per_second"`
	All            Cost    `json:"all"`
	// WithoutHistory leaves out activities, notes and files.
	WithoutHistory Cost `json:"without_history"`
	// ByEndpoint is the token cost per endpoint.
	ByEndpoint map[string]int `json:"by_endpoint"`
}

// Cost is one variant of the estimate.
type Cost struct {
	Requests int     `json:"requests"`
	Tokens   int     `json:"tokens"`
	Hours    float64 `json:"hours"`
	// Days is how many daily budgets the tokens take (the run pauses at
	// each reset); CalendarDays rounds it up to whole days of running.
	Days         float64 `json:"days"`
	CalendarDays int     `json:"calendar_days"`
}

// Estimate prices the tally with each endpoint's token cost from
// Pipedrive's documents, at the plan's burst rate and daily budget:
//
//	tokens = Σ over endpoints of requests × x-token-cost
//	hours  = requests / (burst per 2 s / 2) / 3600
//	days   = tokens / (30,000 × plan multiplier × seats)
//
// It returns an error for an endpoint the documents do not publish.
func (t *Tally) Estimate(plan pipedrive.Plan, seats int) (Estimate, error) {
	if seats <= 0 {
		seats = 1
	}
	e := Estimate{Plan: plan.Name, Seats: seats, DailyTokens: 30000 * plan.Multiplier * seats,
		BurstPerSecond: float64(plan.Burst) / pipedrive.BurstWindow.Seconds(), ByEndpoint: map[string]int{}}
	eps := make([]string, 0, len(t.Requests))
	for ep := range t.Requests {
		eps = append(eps, ep)
	}
	sort.Strings(eps)
	var hist Cost
	for _, ep := range eps {
		var method, path string
		fmt.Sscanf(ep, "%s %s", &method, &path)
		op, ok := cost.Lookup(method, path)
		if !ok {
			return e, fmt.Errorf("estimate: %s is not a published Pipedrive operation", ep)
		}
		n := t.Requests[ep]
		e.ByEndpoint[ep] = n * op.Cost
		e.All.Requests += n
		e.All.Tokens += n * op.Cost
		hist.Requests += t.History[ep]
		hist.Tokens += t.History[ep] * op.Cost
	}
	e.WithoutHistory = Cost{Requests: e.All.Requests - hist.Requests, Tokens: e.All.Tokens - hist.Tokens}
	for _, c := range []*Cost{&e.All, &e.WithoutHistory} {
		c.Hours = math.Round(float64(c.Requests)/e.BurstPerSecond/3600*100) / 100
		c.Days = math.Round(float64(c.Tokens)/float64(e.DailyTokens)*100) / 100
		c.CalendarDays = int(math.Ceil(float64(c.Tokens) / float64(e.DailyTokens)))
	}
	return e, nil
}

// EstimateInput names a plan run to price.
type EstimateInput struct {
	MigrationID string `json:"migration_id"`
	Run         string `json:"run"`
	// Plan and Seats are the company's Pipedrive plan and seats.
	Plan  string `json:"plan"`
	Seats int    `json:"seats"`
}

// EstimateOutput is where the estimate is, and its headline figures.
type EstimateOutput struct {
	MigrationID string   `json:"migration_id"`
	Estimate    string   `json:"estimate"`
	Result      Estimate `json:"result"`
}

// EstimateRun prices a plan run: every write its plans and the schema plan
// list, and the reads a run makes besides (one page of each list it matches
// against or reconciles with, at the least), at the plan's burst limit and
// daily budget. It writes runs/<run>/estimate.json.
func (e *Env) EstimateRun(ctx context.Context, in EstimateInput) (EstimateOutput, error) {
	if !idPattern.MatchString(in.MigrationID) || !idPattern.MatchString(in.Run) {
		return EstimateOutput{}, &InputError{Msg: fmt.Sprintf("migration_id %q and run %q: use letters, digits, '.', '_' and '-' (up to 80)", in.MigrationID, in.Run)}
	}
	plan, ok := pipedrive.Plans[in.Plan]
	if !ok {
		return EstimateOutput{}, &InputError{Msg: fmt.Sprintf("plan %q: use lite, growth, premium or ultimate", in.Plan)}
	}
	seats := max(in.Seats, 1)
	tally := NewTally()
	var schemaPlan SchemaPlan
	if err := getJSON(ctx, e.Store, Prefix(in.MigrationID)+SchemaPlanName, &schemaPlan); err != nil {
		return EstimateOutput{}, fmt.Errorf("estimate: the schema plan: %w", err)
	}
	for _, it := range schemaPlan.Items {
		if it.Action == ActionCreate {
			tally.Add(it.Kind, PlanCreate, 1)
		}
	}
	infos, err := e.Store.List(ctx, RunPrefix(in.MigrationID, in.Run)+"plan/")
	if err != nil {
		return EstimateOutput{}, fmt.Errorf("estimate: list the plans: %w", err)
	}
	for _, info := range infos {
		data, err := e.Store.Get(ctx, info.Key)
		if err != nil {
			return EstimateOutput{}, fmt.Errorf("estimate: read %s: %w", info.Key, err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var op PlannedOp
			if err := json.Unmarshal(line, &op); err != nil {
				return EstimateOutput{}, fmt.Errorf("estimate: %s: %w", info.Key, err)
			}
			tally.Add(op.TargetKind, op.Op, 1)
		}
	}
	for _, ep := range []string{"GET /api/v2/persons", "GET /api/v2/organizations", "GET /api/v2/deals", "GET /api/v2/dealFields",
		"GET /api/v2/personFields", "GET /api/v2/organizationFields", "GET /api/v2/pipelines", "GET /api/v2/stages", "GET /v1/activityTypes", "GET /v1/users"} {
		tally.AddList(ep, 0, 500)
	}
	est, err := tally.Estimate(plan, seats)
	if err != nil {
		return EstimateOutput{}, err
	}
	key := RunPrefix(in.MigrationID, in.Run) + "estimate.json"
	if err := e.putJSON(ctx, key, est); err != nil {
		return EstimateOutput{}, err
	}
	return EstimateOutput{MigrationID: in.MigrationID, Estimate: key, Result: est}, nil
}
