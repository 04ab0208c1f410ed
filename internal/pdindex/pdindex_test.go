package pdindex

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/contract"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

func TestNormalizeOrgName(t *testing.T) {
	same := [][]string{
		{"Hart & Co", "hart and co", "HART AND CO."},
		{"Acme Ltd", "Acme Limited", "ACME LTD.", " acme "},
		{"Example Conveyancing LLP", "example conveyancing"},
	}
	for _, group := range same {
		for _, n := range group[1:] {
			if NormalizeOrgName(n) != NormalizeOrgName(group[0]) {
				t.Errorf("%q → %q, %q → %q; want the same", group[0], NormalizeOrgName(group[0]), n, NormalizeOrgName(n))
			}
		}
	}
	if NormalizeOrgName("Acme Ltd") == NormalizeOrgName("Acme Homes Ltd") {
		t.Errorf("different firms fold together")
	}
	if got := NormalizeOrgName("Ltd"); got != "ltd" {
		t.Errorf("a name that is only a legal form folds to %q", got)
	}
}

// TestLoadFromSandbox lists a sandbox holding more than a page of persons,
// with stamped and unstamped records, and finds each by email, name and
// Perfect Portal id.
func TestLoadFromSandbox(t *testing.T) {
	vc := clock.NewVirtual(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	sb, err := sandbox.New(sandbox.Options{Plan: "premium", Seed: 5, Now: vc.Now})
	if err != nil {
		t.Fatal(err)
	}
	v := contract.ForTest(t)
	srv := httptest.NewServer(v.Middleware(t, sb))
	defer srv.Close()
	c, err := pipedrive.New(pipedrive.Config{BaseURL: srv.URL, Token: sandbox.DefaultToken, Plan: "premium", Now: vc.Now, Sleep: vc.Sleep,
		HTTPClient: &http.Client{Transport: v.Transport(t, http.DefaultTransport)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var keys SourceKeys
	for kind, dst := range map[pipedrive.FieldKind]*string{pipedrive.PersonFields: &keys.Person, pipedrive.OrganizationFields: &keys.Organization, pipedrive.DealFields: &keys.Deal} {
		f, err := c.CreateField(ctx, kind, pipedrive.FieldInput{Name: "Perfect Portal ID", Type: "varchar"})
		if err != nil {
			t.Fatal(err)
		}
		*dst = f.Code
	}
	for i := range 510 {
		in := pipedrive.PersonInput{Name: "Someone"}
		if i == 3 {
			in.Emails = []pipedrive.ContactValue{{Value: "Ann@Example.com", Primary: true}}
			in.CustomFields = map[string]any{keys.Person: "C1;C9"}
		}
		if _, err := c.CreatePerson(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	acme, err := c.CreateOrganization(ctx, pipedrive.OrganizationInput{Name: "Acme Ltd", CustomFields: map[string]any{keys.Organization: "O1"}})
	if err != nil {
		t.Fatal(err)
	}
	deal, err := c.CreateDeal(ctx, pipedrive.DealInput{Title: "Purchase", CustomFields: map[string]any{keys.Deal: "M1"}})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := Load(ctx, c, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Persons) != 510 {
		t.Errorf("%d persons indexed; want 510 (two pages)", len(ix.Persons))
	}
	if got := ix.PersonsByEmail(" ann@example.COM "); len(got) != 1 || got[0] != 4 {
		t.Errorf("by email = %v; want [4]", got)
	}
	for _, src := range []string{"C1", "C9"} {
		if id, ok := ix.PersonBySource(src); !ok || id != 4 {
			t.Errorf("by source %s = %d, %v", src, id, ok)
		}
	}
	if got := ix.OrganizationsByName("ACME LIMITED"); !reflect.DeepEqual(got, []int{acme.ID}) {
		t.Errorf("by name = %v", got)
	}
	if id, ok := ix.OrganizationBySource("O1"); !ok || id != acme.ID {
		t.Errorf("org by source = %d %v", id, ok)
	}
	if id, ok := ix.DealBySource("M1"); !ok || id != deal.ID {
		t.Errorf("deal by source = %d %v", id, ok)
	}
	if _, ok := ix.PersonBySource("C2"); ok {
		t.Errorf("found a person for an id nobody carries")
	}
	// Two list pages of persons (10 tokens each), one of organizations, one of deals.
	if got := sb.Meter().TokensByEndpoint["GET /api/v2/persons"]; got != 20 {
		t.Errorf("listing persons cost %d tokens; want 20 (two pages)", got)
	}
	if got := sb.Meter().TokensByEndpoint["GET /api/v2/persons/search"]; got != 0 {
		t.Errorf("searches were spent: %d tokens", got)
	}
}
