package pipedrive

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

// sandboxEnv is a client of an in-memory Pipedrive company, both on one
// virtual clock, the client's traffic checked against the documents.
type sandboxEnv struct {
	c  *Client
	sb *sandbox.Sandbox
}

func newSandboxEnv(t testing.TB, plan string, faults sandbox.Faults) sandboxEnv {
	t.Helper()
	vc := clock.NewVirtual(epoch)
	sb, err := sandbox.New(sandbox.Options{Plan: plan, Seed: 7, Token: testToken, Now: vc.Now, Faults: faults})
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL, Token: testToken, Plan: plan,
		HTTPClient: &http.Client{Transport: contractTransport(t), Timeout: 10 * time.Second},
		Now:        vc.Now, Sleep: vc.Sleep})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return sandboxEnv{c: c, sb: sb}
}

// checkMeters compares the client's meter with the sandbox's, exactly.
func (e sandboxEnv) checkMeters(t *testing.T) {
	t.Helper()
	sm := e.sb.Meter()
	if got, want := e.c.Meter().Tokens(), sm.TokensByEndpoint; !reflect.DeepEqual(got, want) {
		t.Errorf("client meter %v\nsandbox meter %v", got, want)
	}
	if got, want := e.c.Meter().Total(), sm.Tokens; got != want {
		t.Errorf("client total %d, sandbox %d", got, want)
	}
	if got, want := e.c.Meter().Throttled(), sm.Throttled; got != want {
		t.Errorf("client throttled %d, sandbox %d", got, want)
	}
}

// TestSandboxEveryCall exercises every call against the sandbox, in the
// order a migration makes them, and then compares the token meters.
func TestSandboxEveryCall(t *testing.T) {
	env := newSandboxEnv(t, "growth", sandbox.Faults{})
	c := env.c
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	me, err := c.Me(ctx)
	must("Me", err)
	users, err := c.ListUsers(ctx)
	must("ListUsers", err)
	if len(users) == 0 || me.ID == 0 {
		t.Fatalf("users %v, me %v", users, me)
	}
	types, err := c.ListActivityTypes(ctx)
	must("ListActivityTypes", err)
	if len(types) == 0 {
		t.Errorf("no activity types")
	}
	at, err := c.CreateActivityType(ctx, ActivityTypeInput{Name: "Completion", IconKey: "finish"})
	must("CreateActivityType", err)

	// Custom fields: find or create by label, keys resolved at run time.
	for _, kind := range []FieldKind{PersonFields, OrganizationFields, DealFields} {
		_, err := c.CreateField(ctx, kind, FieldInput{Name: "Perfect Portal id", Type: "varchar"})
		must("CreateField "+string(kind), err)
	}
	_, err = c.CreateField(ctx, DealFields, FieldInput{Name: "Matter type", Type: "enum", Options: []string{"Purchase", "Sale"}})
	must("CreateField enum", err)
	pf, err := c.ResolveFields(ctx, PersonFields)
	must("ResolveFields person", err)
	of, err := c.ResolveFields(ctx, OrganizationFields)
	must("ResolveFields organization", err)
	df, err := c.ResolveFields(ctx, DealFields)
	must("ResolveFields deal", err)
	ppPerson, ok1 := pf.Key(" perfect PORTAL id ")
	ppOrg, ok2 := of.Key("Perfect Portal id")
	ppDeal, ok3 := df.Key("Perfect Portal id")
	matterType, ok4 := df.Key("Matter type")
	purchase, ok5 := df.Option("matter type", "purchase")
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || len(ppPerson) != 40 {
		t.Fatalf("resolve: %q %v, %q %v, %q %v, %q %v, %d %v", ppPerson, ok1, ppOrg, ok2, ppDeal, ok3, matterType, ok4, purchase, ok5)
	}
	if l, _ := pf.Label(ppPerson); l != "Perfect Portal id" {
		t.Errorf("Label(%s) = %q", ppPerson, l)
	}

	pl, err := c.CreatePipeline(ctx, PipelineInput{Name: "Conveyancing"})
	must("CreatePipeline", err)
	st, err := c.CreateStage(ctx, StageInput{Name: "Searches", PipelineID: pl.ID})
	must("CreateStage", err)
	pipelines, err := c.ListPipelines(ctx)
	must("ListPipelines", err)
	stages, err := c.ListStages(ctx, pl.ID)
	must("ListStages", err)
	if len(pipelines) < 1 || len(stages) != 1 || stages[0].ID != st.ID {
		t.Errorf("pipelines %d, stages %+v", len(pipelines), stages)
	}

	org, err := c.CreateOrganization(ctx, OrganizationInput{Name: "Acme Estates", CustomFields: map[string]any{ppOrg: "PP-C-9"}})
	must("CreateOrganization", err)
	_, err = c.UpdateOrganization(ctx, org.ID, OrganizationInput{Name: "Acme Estates Ltd"})
	must("UpdateOrganization", err)
	org, err = c.GetOrganization(ctx, org.ID)
	must("GetOrganization", err)
	if org.Name != "Acme Estates Ltd" || org.CustomFields[ppOrg] != "PP-C-9" {
		t.Errorf("organization %+v", org)
	}
	var orgs int
	must("ListOrganizations", c.ListOrganizations(ctx, ListOptions{}, func(Organization) error { orgs++; return nil }))

	p, err := c.CreatePerson(ctx, PersonInput{Name: "Jane Doe", OrgID: org.ID, AddTime: At(epoch.Add(-48 * time.Hour)),
		Emails:       []ContactValue{{Value: "jane@example.com", Primary: true, Label: "work"}},
		CustomFields: map[string]any{ppPerson: "PP-1001"}})
	must("CreatePerson", err)
	_, err = c.UpdatePerson(ctx, p.ID, PersonInput{JobTitle: "Buyer"})
	must("UpdatePerson", err)
	p, err = c.GetPerson(ctx, p.ID)
	must("GetPerson", err)
	if p.JobTitle != "Buyer" || p.CustomFields[ppPerson] != "PP-1001" || p.OrgID != org.ID {
		t.Errorf("person %+v", p)
	}
	var persons []Person
	must("ListPersons", c.ListPersons(ctx, ListOptions{}, func(p Person) error { persons = append(persons, p); return nil }))
	found, err := c.SearchPersonsByEmail(ctx, "jane@example.com")
	must("SearchPersonsByEmail", err)
	if len(found) != 1 || found[0].ID != p.ID {
		t.Errorf("search found %+v", found)
	}

	v := 250000.0
	d, err := c.CreateDeal(ctx, DealInput{Title: "12 High St purchase", PersonID: p.ID, OrgID: org.ID, PipelineID: pl.ID, StageID: st.ID,
		Value: &v, Currency: "GBP", CustomFields: map[string]any{ppDeal: "M-42", matterType: purchase}})
	must("CreateDeal", err)
	_, err = c.UpdateDeal(ctx, d.ID, DealInput{ExpectedCloseDate: "2026-06-30"})
	must("UpdateDeal", err)
	d, err = c.GetDeal(ctx, d.ID)
	must("GetDeal", err)
	if d.StageID != st.ID || d.ExpectedCloseDate != "2026-06-30" {
		t.Errorf("deal %+v", d)
	}
	var deals []int
	must("ListDeals", c.ListDeals(ctx, DealListOptions{PipelineID: pl.ID, StageID: st.ID}, func(d Deal) error { deals = append(deals, d.ID); return nil }))
	if len(deals) != 1 {
		t.Errorf("deals in the stage: %v", deals)
	}

	done := true
	a, err := c.CreateActivity(ctx, ActivityInput{Subject: "Call client", Type: at.KeyString, DealID: d.ID, PersonID: p.ID, DueDate: "2026-03-01", Done: &done})
	must("CreateActivity", err)
	_, err = c.UpdateActivity(ctx, a.ID, ActivityInput{Note: "Spoke about searches"})
	must("UpdateActivity", err)
	_, err = c.GetActivity(ctx, a.ID)
	must("GetActivity", err)
	var acts int
	must("ListActivities", c.ListActivities(ctx, ActivityListOptions{DealID: d.ID}, func(Activity) error { acts++; return nil }))
	if acts != 1 {
		t.Errorf("%d activities on the deal", acts)
	}

	part, err := c.AddParticipant(ctx, d.ID, p.ID)
	must("AddParticipant", err)
	var parts []Participant
	must("ListParticipants", c.ListParticipants(ctx, d.ID, ListOptions{}, func(p Participant) error { parts = append(parts, p); return nil }))
	if len(parts) == 0 || parts[len(parts)-1].PersonID != p.ID {
		t.Errorf("participants %+v", parts)
	}
	must("DeleteParticipant", c.DeleteParticipant(ctx, d.ID, part.ID))

	n, err := c.CreateNote(ctx, NoteInput{Content: "<p>Exchanged</p>", DealID: d.ID, AddTime: epoch.Add(-time.Hour)})
	must("CreateNote", err)
	var notes int
	must("ListNotes", c.ListNotes(ctx, NoteListOptions{DealID: d.ID}, func(Note) error { notes++; return nil }))
	edited := "<p>Exchanged and completed</p>"
	un, err := c.UpdateNote(ctx, n.ID, NoteUpdate{Content: &edited})
	must("UpdateNote", err)
	gn, err := c.GetNote(ctx, n.ID)
	must("GetNote", err)
	if un.Content != edited || gn.Content != edited || gn.DealID != d.ID || !gn.AddTime.Equal(n.AddTime.Time) {
		t.Errorf("after UpdateNote: put %+v, get %+v", un, gn)
	}
	if _, err := c.UpdateNote(ctx, n.ID, NoteUpdate{Content: new(string)}); err == nil {
		t.Error("UpdateNote with empty content: no error")
	}
	must("DeleteNote", c.DeleteNote(ctx, n.ID))

	doc := strings.Repeat("conveyancing file ", 1000)
	fl, err := c.UploadFile(ctx, FileInput{Name: "contract.pdf", Body: strings.NewReader(doc), Size: int64(len(doc)), DealID: d.ID})
	must("UploadFile", err)
	if fl.FileSize != int64(len(doc)) {
		t.Errorf("file size %d, want %d", fl.FileSize, len(doc))
	}
	var files int
	must("ListFiles", c.ListFiles(ctx, ListOptions{}, func(File) error { files++; return nil }))
	gf, err := c.GetFile(ctx, fl.ID)
	must("GetFile", err)
	if gf.ID != fl.ID || gf.FileName != "contract.pdf" || gf.FileSize != int64(len(doc)) || gf.DealID != d.ID || !gf.ActiveFlag {
		t.Errorf("GetFile %+v, uploaded %+v", gf, fl)
	}
	must("DeleteFile", c.DeleteFile(ctx, fl.ID))
	gf, err = c.GetFile(ctx, fl.ID)
	must("GetFile after DeleteFile", err)
	if gf.ID != fl.ID || gf.ActiveFlag {
		t.Errorf("GetFile after DeleteFile %+v, want ActiveFlag false", gf)
	}

	must("DeleteActivity", c.DeleteActivity(ctx, a.ID))
	must("DeleteDeal", c.DeleteDeal(ctx, d.ID))
	must("DeletePerson", c.DeletePerson(ctx, p.ID))
	must("DeleteOrganization", c.DeleteOrganization(ctx, org.ID))
	if _, err := c.GetPerson(ctx, p.ID); err != nil {
		var nf *NotFoundError
		if !errors.As(err, &nf) {
			t.Errorf("GetPerson after delete: %v", err)
		}
	}
	env.checkMeters(t)
	t.Logf("%d requests, %d tokens", c.Meter().Requests(), c.Meter().Total())
}

// TestSandboxThrottleAndFaults: a burst of reads on the smallest plan
// draws no 429 from the sandbox, and with injected 5xx and dropped
// connections every read still succeeds and the meters still agree.
func TestSandboxThrottleAndFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults sandbox.Faults
	}{
		{"clean", sandbox.Faults{}},
		{"5xx and drops", sandbox.Faults{Rate500: 0.05, Rate503: 0.05, Rate429: 0.05, DropRate: 0.05}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newSandboxEnv(t, "lite", sandbox.Faults{})
			ctx := context.Background()
			me, err := env.c.Me(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := env.sb.SetFaults(tc.faults); err != nil {
				t.Fatal(err)
			}
			for i := range 200 {
				if _, err := env.c.Me(ctx); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
			}
			_ = me
			if tc.faults == (sandbox.Faults{}) && env.sb.Meter().Throttled != 0 {
				t.Errorf("the sandbox throttled %d requests", env.sb.Meter().Throttled)
			}
			env.checkMeters(t)
		})
	}
}

// TestSandboxLostCreate: a create the sandbox applies and then drops is
// reported as OutcomeUnknownError, sent once, and is findable afterwards.
func TestSandboxLostCreate(t *testing.T) {
	env := newSandboxEnv(t, "growth", sandbox.Faults{FailAfterWrites: 1})
	ctx := context.Background()
	if _, err := env.c.CreateOrganization(ctx, OrganizationInput{Name: "First"}); err != nil {
		t.Fatal(err)
	}
	_, err := env.c.CreateOrganization(ctx, OrganizationInput{Name: "Second"})
	var ou *OutcomeUnknownError
	if !errors.As(err, &ou) {
		t.Fatalf("err %v, want *OutcomeUnknownError", err)
	}
	var names []string
	if err := env.c.ListOrganizations(ctx, ListOptions{}, func(o Organization) error { names = append(names, o.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(strings.Join(names, ","), "Second"); got != 1 {
		t.Errorf("organizations %v: want exactly one Second", names)
	}
}
