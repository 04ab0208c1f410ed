package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMapDocumentationExample is "Map State Example With Parameters" of
// https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-map-state.html,
// in its older form (Iterator, Parameters) and its current one
// (ItemProcessor, ItemSelector).
func TestMapDocumentationExample(t *testing.T) {
	const input = `{
	  "ship-date": "2016-03-14T01:59:00Z",
	  "detail": {
	    "delivery-partner": "UQS",
	    "shipped": [
	      { "prod": "R31", "dest-code": 9511, "quantity": 1344 },
	      { "prod": "S39", "dest-code": 9511, "quantity": 40 },
	      { "prod": "R31", "dest-code": 9833, "quantity": 12 },
	      { "prod": "R40", "dest-code": 9860, "quantity": 887 },
	      { "prod": "R40", "dest-code": 9511, "quantity": 1220 }
	    ]
	  }
	}`
	legacy := `{"StartAt":"Validate-All","States":{"Validate-All": {
	  "Type": "Map", "InputPath": "$.detail", "ItemsPath": "$.shipped", "MaxConcurrency": 0,
	  "ResultPath": "$.detail.shipped",
	  "Parameters": {"parcel.$": "$$.Map.Item.Value", "courier.$": "$.delivery-partner"},
	  "Iterator": {"StartAt": "Validate", "States": {"Validate": {
	      "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:ship-val", "End": true}}},
	  "End": true}}}`
	current := strings.NewReplacer(`"Parameters"`, `"ItemSelector"`, `"Iterator": {`, `"ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},`).Replace(legacy)
	var mu sync.Mutex
	var got []string
	shipVal := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		mu.Lock()
		got = append(got, string(in))
		mu.Unlock()
		var p struct {
			Parcel struct {
				Prod     string
				Quantity int
			}
			Courier string
		}
		if err := json.Unmarshal(in, &p); err != nil {
			return nil, err
		}
		return json.RawMessage(fmt.Sprintf(`{"prod":%q,"ok":%t,"courier":%q}`, p.Parcel.Prod, p.Parcel.Quantity < 1000, p.Courier)), nil
	}
	for name, def := range map[string]string{"Iterator and Parameters": legacy, "ItemProcessor and ItemSelector": current} {
		t.Run(name, func(t *testing.T) {
			got = nil
			out := mustRun(t, def, input, Options{Handlers: map[string]Handler{"ship-val": shipVal}})
			assertJSON(t, out, `{
			  "ship-date": "2016-03-14T01:59:00Z",
			  "detail": {"delivery-partner": "UQS", "shipped": [
			    {"prod":"R31","ok":false,"courier":"UQS"}, {"prod":"S39","ok":true,"courier":"UQS"},
			    {"prod":"R31","ok":true,"courier":"UQS"}, {"prod":"R40","ok":true,"courier":"UQS"},
			    {"prod":"R40","ok":false,"courier":"UQS"}]}}`)
			want := `{"parcel":{"prod":"R31","dest-code":9511,"quantity":1344},"courier":"UQS"}`
			found := false
			for _, g := range got {
				found = found || g == want
			}
			if len(got) != 5 || !found {
				t.Errorf("the function got %v; want 5 calls, one with %s", got, want)
			}
		})
	}
}

// concurrencyProbe is a handler that records how many calls are in flight
// at once. Calls wait until `target` are in flight together (or a second
// has passed), so a run that allows `target` concurrent calls reaches it
// without sleeping.
type concurrencyProbe struct {
	mu       sync.Mutex
	inFlight int
	max      int
	target   int
	reached  chan struct{}
	once     sync.Once
}

func newProbe(target int) *concurrencyProbe {
	return &concurrencyProbe{target: target, reached: make(chan struct{})}
}

func (p *concurrencyProbe) handle(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
	p.mu.Lock()
	p.inFlight++
	p.max = max(p.max, p.inFlight)
	if p.inFlight >= p.target {
		p.once.Do(func() { close(p.reached) })
	}
	p.mu.Unlock()
	select {
	case <-p.reached:
	case <-time.After(time.Second): // only when the executor allows fewer than target
	case <-ctx.Done():
	}
	p.mu.Lock()
	p.inFlight--
	p.mu.Unlock()
	n, err := strconv.Atoi(string(in))
	return json.RawMessage(strconv.Itoa(n * 10)), err
}

func TestMapConcurrency(t *testing.T) {
	items := make([]string, 12)
	want := make([]string, 12)
	for i := range items {
		items[i] = strconv.Itoa(i)
		want[i] = strconv.Itoa(i * 10)
	}
	input := `{"items":[` + strings.Join(items, ",") + `],"limit":4}`
	tests := []struct {
		name, fields string
		max          int
	}{
		{"MaxConcurrency 3", `"MaxConcurrency":3`, 3},
		{"MaxConcurrency 1 runs one at a time", `"MaxConcurrency":1`, 1},
		{"MaxConcurrency 0 runs all at once", `"MaxConcurrency":0`, 12},
		{"MaxConcurrencyPath", `"MaxConcurrencyPath":"$.limit"`, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			probe := newProbe(tc.max)
			def := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",` + tc.fields + `,
				"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"fn","End":true}}},"End":true}}}`
			out := mustRun(t, def, input, Options{Handlers: map[string]Handler{"fn": probe.handle}})
			assertJSON(t, out, `[`+strings.Join(want, ",")+`]`) // in item order
			if probe.max != tc.max {
				t.Errorf("max in flight = %d, want %d", probe.max, tc.max)
			}
		})
	}
}

func TestMapConcurrencyIsCapped(t *testing.T) {
	items := make([]string, MaxMapConcurrency+10)
	for i := range items {
		items[i] = strconv.Itoa(i)
	}
	probe := newProbe(MaxMapConcurrency)
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":1000,
		"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"fn","End":true}}},"End":true}}}`
	mustRun(t, def, `[`+strings.Join(items, ",")+`]`, Options{Handlers: map[string]Handler{"fn": probe.handle}})
	if probe.max != MaxMapConcurrency {
		t.Errorf("max in flight = %d, want %d", probe.max, MaxMapConcurrency)
	}
}

func TestMapFailure(t *testing.T) {
	def := `{"StartAt":"M","States":{
		"M":{"Type":"Map","ItemSelector":{"n.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index"},
		  "ItemProcessor":{"StartAt":"Check","States":{
		    "Check":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":3,"Next":"Bad"}],"Default":"Work"},
		    "Bad":{"Type":"Fail","Error":"ItemInvalid","Cause":"item 3"},
		    "Work":{"Type":"Task","Resource":"fn","End":true}}},
		  "Retry":[{"ErrorEquals":["ItemInvalid"],"MaxAttempts":1}],
		  "Catch":[{"ErrorEquals":["ItemInvalid"],"ResultPath":"$.error","Next":"Failed"}],
		  "ResultPath":"$.results","End":true},
		"Failed":{"Type":"Pass","End":true}}}`
	var mu sync.Mutex
	calls := 0
	fn := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return in, nil
	}
	opts, clock := withClock(Options{Handlers: map[string]Handler{"fn": fn}})
	out, err := mustParse(t, def).Execute(context.Background(), json.RawMessage(`[1,2,3,4]`), opts)
	if err == nil {
		t.Fatalf("the Map's input is an array; ResultPath $.error cannot apply, yet got %s", out)
	}
	assertFailed(t, err, ErrRuntime, "ResultPath")

	out, err = mustParse(t, strings.Replace(def, `"ItemSelector"`, `"ItemsPath":"$.items","ItemSelector"`, 1)).
		Execute(context.Background(), json.RawMessage(`{"items":[1,2,3,4]}`), opts)
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, out, `{"items":[1,2,3,4],"error":{"Error":"ItemInvalid","Cause":"item 3"}}`)
	if len(clock.Sleeps()) != 2 { // once per execution: the Map retried once each time
		t.Errorf("sleeps %v, want one retry per execution", clock.Sleeps())
	}

	out = mustRun(t, strings.Replace(def, `"ItemSelector"`, `"ItemsPath":"$.items","ItemSelector"`, 1), `{"items":[1,2,4]}`, Options{Handlers: map[string]Handler{"fn": fn}})
	assertJSON(t, out, `{"items":[1,2,4],"results":[{"n":1,"i":0},{"n":2,"i":1},{"n":4,"i":2}]}`)
}

func TestMapErrors(t *testing.T) {
	mapDef := func(fields string) string {
		return `{"StartAt":"M","States":{"M":{"Type":"Map",` + fields + `"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`
	}
	_, err := run(t, mapDef(`"ItemsPath":"$.items",`), `{"items":"no"}`, Options{})
	assertFailed(t, err, ErrRuntime, "ItemsPath must name an array, not a string")
	_, err = run(t, mapDef(`"ItemsPath":"$.nope",`), `{}`, Options{})
	assertFailed(t, err, ErrRuntime, `ItemsPath "$.nope" names nothing`)
	_, err = run(t, mapDef(`"MaxConcurrencyPath":"$.n",`), `[1]`, Options{})
	assertFailed(t, err, ErrRuntime, "MaxConcurrencyPath")
	assertJSON(t, mustRun(t, mapDef(""), `[]`, Options{}), `[]`)
}

// TestParallel runs branches on the same input and collects their outputs
// in branch order.
// https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html
func TestParallel(t *testing.T) {
	def := `{"StartAt":"LookupCustomerInfo","States":{"LookupCustomerInfo":{
	  "Type":"Parallel","Parameters":{"who.$":"$.who"},"ResultSelector":{"address.$":"$[0]","phone.$":"$[1]"},"ResultPath":"$.info",
	  "Branches":[
	    {"StartAt":"LookupAddress","States":{"LookupAddress":{"Type":"Task","Resource":"AddressFinder","End":true}}},
	    {"StartAt":"LookupPhone","States":{"LookupPhone":{"Type":"Task","Resource":"PhoneFinder","Next":"Done"},"Done":{"Type":"Succeed"}}}],
	  "End":true}}}`
	probe := newProbe(2)
	handlers := map[string]Handler{
		"AddressFinder": func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			if _, err := probe.handle(ctx, json.RawMessage("1")); err != nil {
				return nil, err
			}
			return json.RawMessage(`{"street":"High St","for":` + string(in) + `}`), nil
		},
		"PhoneFinder": func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			if _, err := probe.handle(ctx, json.RawMessage("1")); err != nil {
				return nil, err
			}
			return json.RawMessage(`"0123"`), nil
		},
	}
	out := mustRun(t, def, `{"who":"C1","keep":true}`, Options{Handlers: handlers})
	assertJSON(t, out, `{"who":"C1","keep":true,"info":{"address":{"street":"High St","for":{"who":"C1"}},"phone":"0123"}}`)
	if probe.max != 2 {
		t.Errorf("branches in flight = %d, want 2", probe.max)
	}

	t.Run("a failing branch fails the state, for its Catch", func(t *testing.T) {
		def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
		    {"StartAt":"A","States":{"A":{"Type":"Task","Resource":"slow","End":true}}},
		    {"StartAt":"B","States":{"B":{"Type":"Fail","Error":"BranchBroke","Cause":"b"}}}],
		  "Catch":[{"ErrorEquals":["BranchBroke"],"Next":"Handled"}],"End":true},
		  "Handled":{"Type":"Pass","End":true}}}`
		cancelled := make(chan bool, 1)
		slow := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			select {
			case <-ctx.Done():
				cancelled <- true
				return nil, ctx.Err()
			case <-time.After(5 * time.Second):
				cancelled <- false
				return json.RawMessage(`1`), nil
			}
		}
		out := mustRun(t, def, `{}`, Options{Handlers: map[string]Handler{"slow": slow}})
		assertJSON(t, out, `{"Error":"BranchBroke","Cause":"b"}`)
		// fanOut waits for every branch, so a call to slow has reported by
		// now; if branch B failed first, A never called it.
		select {
		case c := <-cancelled:
			if !c {
				t.Error("the other branch was not stopped")
			}
		default:
		}
	})
}
