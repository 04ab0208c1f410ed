// Package pdindex holds what a Pipedrive account already has, fetched with
// paginated lists (500 a page, 10 tokens each) rather than a search per
// record (20 tokens each): persons by email, organizations by normalised
// name, and persons, organizations and deals by the Perfect Portal id a
// migration stamps on them, so that planning matches existing records and
// a retried write finds the record an interrupted one created.
package pdindex

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// SourceKeys are the 40-hex keys of the "Perfect Portal ID" custom fields;
// an empty key leaves that kind unindexed by source.
type SourceKeys struct {
	Person, Organization, Deal string
}

// Index is a snapshot of the account's persons, organizations and deals.
type Index struct {
	Persons       map[int]pipedrive.Person
	Organizations map[int]pipedrive.Organization
	Deals         map[int]pipedrive.Deal

	personsByEmail  map[string][]int
	personsBySource map[string]int
	orgsByName      map[string][]int
	orgsBySource    map[string]int
	dealsBySource   map[string]int
}

// Load lists every person, organization and deal of the account. It
// returns the first error of the client, wrapped with what was listed.
func Load(ctx context.Context, c *pipedrive.Client, keys SourceKeys) (*Index, error) {
	ix := New()
	if err := c.ListPersons(ctx, pipedrive.ListOptions{}, func(p pipedrive.Person) error { ix.AddPerson(p, keys.Person); return nil }); err != nil {
		return nil, fmt.Errorf("index persons: %w", err)
	}
	if err := c.ListOrganizations(ctx, pipedrive.ListOptions{}, func(o pipedrive.Organization) error { ix.AddOrganization(o, keys.Organization); return nil }); err != nil {
		return nil, fmt.Errorf("index organizations: %w", err)
	}
	if err := c.ListDeals(ctx, pipedrive.DealListOptions{}, func(d pipedrive.Deal) error { ix.AddDeal(d, keys.Deal); return nil }); err != nil {
		return nil, fmt.Errorf("index deals: %w", err)
	}
	return ix, nil
}

// New returns an empty index.
func New() *Index {
	return &Index{Persons: map[int]pipedrive.Person{}, Organizations: map[int]pipedrive.Organization{}, Deals: map[int]pipedrive.Deal{},
		personsByEmail: map[string][]int{}, personsBySource: map[string]int{}, orgsByName: map[string][]int{},
		orgsBySource: map[string]int{}, dealsBySource: map[string]int{}}
}

// AddPerson indexes a person (a write the migration just made, or one
// listed); sourceKey is the Perfect Portal ID field's key.
func (ix *Index) AddPerson(p pipedrive.Person, sourceKey string) {
	ix.Persons[p.ID] = p
	for _, e := range p.Emails {
		if k := pp.NormalizeEmail(e.Value); k != "" && !containsInt(ix.personsByEmail[k], p.ID) {
			ix.personsByEmail[k] = append(ix.personsByEmail[k], p.ID)
		}
	}
	for _, id := range sourceIDs(p.CustomFields, sourceKey) {
		ix.personsBySource[id] = p.ID
	}
}

// AddOrganization indexes an organization.
func (ix *Index) AddOrganization(o pipedrive.Organization, sourceKey string) {
	ix.Organizations[o.ID] = o
	if k := NormalizeOrgName(o.Name); k != "" && !containsInt(ix.orgsByName[k], o.ID) {
		ix.orgsByName[k] = append(ix.orgsByName[k], o.ID)
	}
	for _, id := range sourceIDs(o.CustomFields, sourceKey) {
		ix.orgsBySource[id] = o.ID
	}
}

// AddDeal indexes a deal.
func (ix *Index) AddDeal(d pipedrive.Deal, sourceKey string) {
	ix.Deals[d.ID] = d
	for _, id := range sourceIDs(d.CustomFields, sourceKey) {
		ix.dealsBySource[id] = d.ID
	}
}

// PersonsByEmail returns the persons holding that email (any of theirs),
// compared trimmed and without case, oldest id first.
func (ix *Index) PersonsByEmail(email string) []int {
	return ix.personsByEmail[pp.NormalizeEmail(email)]
}

// PersonBySource returns the person stamped with that Perfect Portal id.
func (ix *Index) PersonBySource(id string) (int, bool) { v, ok := ix.personsBySource[id]; return v, ok }

// OrganizationsByName returns the organizations whose normalised name is
// the same, oldest id first.
func (ix *Index) OrganizationsByName(name string) []int { return ix.orgsByName[NormalizeOrgName(name)] }

// OrganizationBySource returns the organization stamped with that id.
func (ix *Index) OrganizationBySource(id string) (int, bool) {
	v, ok := ix.orgsBySource[id]
	return v, ok
}

// DealBySource returns the deal stamped with that matter id.
func (ix *Index) DealBySource(id string) (int, bool) { v, ok := ix.dealsBySource[id]; return v, ok }

// sourceIDs reads a Perfect Portal ID field: one id, or several joined by
// ";" (a person made of clients merged by email).
func sourceIDs(custom map[string]any, key string) []string {
	if key == "" {
		return nil
	}
	s, _ := custom[key].(string)
	var out []string
	for _, id := range strings.Split(s, ";") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

var (
	nonAlnum    = regexp.MustCompile(`[^\p{L}\p{N}]+`)
	legalSuffix = regexp.MustCompile(`(?:^| )(?:ltd|limited|llp|plc|co|company|uk|the)$`)
)

// NormalizeOrgName folds an organisation name for matching: case, "&" and
// "and", punctuation and spacing, and a trailing legal form ("Ltd",
// "Limited", "LLP", "plc") do not make two names different.
func NormalizeOrgName(name string) string {
	s := strings.ToLower(strings.ReplaceAll(name, "&", " and "))
	s = strings.TrimSpace(nonAlnum.ReplaceAllString(s, " "))
	for {
		t := strings.TrimSpace(legalSuffix.ReplaceAllString(s, ""))
		if t == s || t == "" {
			break
		}
		s = t
	}
	return s
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
