package pipedrive

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

const personsPath = v2 + "/persons"

// ContactValue is one e-mail address, phone number or IM handle of a person.
type ContactValue struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary,omitempty"`
	Label   string `json:"label,omitempty"`
}

// Address is a postal address; Value is the whole address on one line.
type Address struct {
	Value           string `json:"value,omitempty"`
	Country         string `json:"country,omitempty"`
	AdminAreaLevel1 string `json:"admin_area_level_1,omitempty"`
	AdminAreaLevel2 string `json:"admin_area_level_2,omitempty"`
	Locality        string `json:"locality,omitempty"`
	Sublocality     string `json:"sublocality,omitempty"`
	Route           string `json:"route,omitempty"`
	StreetNumber    string `json:"street_number,omitempty"`
	Subpremise      string `json:"subpremise,omitempty"`
	PostalCode      string `json:"postal_code,omitempty"`
}

// Person is a v2 person.
type Person struct {
	ID            int            `json:"id"`
	Name          string         `json:"name"`
	FirstName     string         `json:"first_name,omitempty"`
	LastName      string         `json:"last_name,omitempty"`
	OwnerID       int            `json:"owner_id,omitempty"`
	OrgID         int            `json:"org_id,omitempty"`
	AddTime       Time           `json:"add_time"`
	UpdateTime    Time           `json:"update_time"`
	Emails        []ContactValue `json:"emails,omitempty"`
	Phones        []ContactValue `json:"phones,omitempty"`
	IsDeleted     bool           `json:"is_deleted,omitempty"`
	VisibleTo     int            `json:"visible_to,omitempty"`
	LabelIDs      []int          `json:"label_ids,omitempty"`
	PostalAddress *Address       `json:"postal_address,omitempty"`
	Notes         string         `json:"notes,omitempty"`
	Birthday      string         `json:"birthday,omitempty"`
	JobTitle      string         `json:"job_title,omitempty"`
	// CustomFields is keyed by field key (see FieldSet).
	CustomFields map[string]any `json:"custom_fields,omitempty"`
}

// PersonInput is the body of a person create or update; empty fields are
// not sent, so an update changes only what is set.
type PersonInput struct {
	Name          string         `json:"name,omitempty"`
	OwnerID       int            `json:"owner_id,omitempty"`
	OrgID         int            `json:"org_id,omitempty"`
	AddTime       *Time          `json:"add_time,omitempty"`
	Emails        []ContactValue `json:"emails,omitempty"`
	Phones        []ContactValue `json:"phones,omitempty"`
	VisibleTo     int            `json:"visible_to,omitempty"`
	LabelIDs      []int          `json:"label_ids,omitempty"`
	PostalAddress *Address       `json:"postal_address,omitempty"`
	Notes         string         `json:"notes,omitempty"`
	Birthday      string         `json:"birthday,omitempty"`
	JobTitle      string         `json:"job_title,omitempty"`
	// CustomFields is keyed by field key; a nil value clears the field.
	CustomFields map[string]any `json:"custom_fields,omitempty"`
}

// CreatePerson creates a person (POST /api/v2/persons). A dropped
// connection after sending gives *OutcomeUnknownError.
func (c *Client) CreatePerson(ctx context.Context, in PersonInput) (Person, error) {
	return createV2[Person](ctx, c, personsPath, in)
}

// UpdatePerson changes the set fields of person id (PATCH).
func (c *Client) UpdatePerson(ctx context.Context, id int, in PersonInput) (Person, error) {
	return updateV2[Person](ctx, c, personsPath, id, in)
}

// GetPerson returns person id, or *NotFoundError.
func (c *Client) GetPerson(ctx context.Context, id int) (Person, error) {
	return getOne[Person](ctx, c, personsPath, id, nil)
}

// DeletePerson deletes person id (Pipedrive keeps it, marked deleted, for 30 days).
func (c *Client) DeletePerson(ctx context.Context, id int) error {
	return deleteOne(ctx, c, itemPath(personsPath, id))
}

// ListPersons calls fn with every person, page by page; an error from fn
// stops the listing and is returned.
func (c *Client) ListPersons(ctx context.Context, opt ListOptions, fn func(Person) error) error {
	return listV2(ctx, c, personsPath, nil, opt.limit(MaxPageSize), fn)
}

// personSearchItem is one result of GET /api/v2/persons/search.
type personSearchItem struct {
	ResultScore float64 `json:"result_score"`
	Item        struct {
		ID        int      `json:"id"`
		Name      string   `json:"name"`
		Phones    []string `json:"phones"`
		Emails    []string `json:"emails"`
		VisibleTo int      `json:"visible_to"`
		Owner     *struct {
			ID int `json:"id"`
		} `json:"owner"`
		Organization *struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"organization"`
	} `json:"item"`
}

type personSearchPage struct {
	Data struct {
		Items []personSearchItem `json:"items"`
	} `json:"data"`
	AdditionalData *struct {
		NextCursor *string `json:"next_cursor"`
	} `json:"additional_data"`
}

// SearchPersonsByEmail returns the persons with exactly this e-mail
// address (search on the email field, exact match), on the search rate
// limit. The persons carry what search returns: id, name, e-mails,
// phones, owner, organization and visibility. It costs a search; prefer
// ListPersons to prefetch many.
func (c *Client) SearchPersonsByEmail(ctx context.Context, email string) ([]Person, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return nil, fmt.Errorf("pipedrive: search persons by e-mail: empty address")
	}
	q := url.Values{}
	q.Set("term", email)
	q.Set("fields", "email")
	q.Set("exact_match", "true")
	q.Set("limit", "100")
	var out []Person
	for {
		var page personSearchPage
		if err := c.do(ctx, call{method: http.MethodGet, path: personsPath + "/search", query: q, lane: laneSearch}, &page); err != nil {
			return nil, err
		}
		for _, it := range page.Data.Items {
			p := Person{ID: it.Item.ID, Name: it.Item.Name, VisibleTo: it.Item.VisibleTo}
			for _, e := range it.Item.Emails {
				p.Emails = append(p.Emails, ContactValue{Value: e})
			}
			for _, ph := range it.Item.Phones {
				p.Phones = append(p.Phones, ContactValue{Value: ph})
			}
			if it.Item.Owner != nil {
				p.OwnerID = it.Item.Owner.ID
			}
			if it.Item.Organization != nil {
				p.OrgID = it.Item.Organization.ID
			}
			out = append(out, p)
		}
		if page.AdditionalData == nil || page.AdditionalData.NextCursor == nil || *page.AdditionalData.NextCursor == "" {
			return out, nil
		}
		q.Set("cursor", *page.AdditionalData.NextCursor)
	}
}
