package pipedrive

import "context"

const organizationsPath = v2 + "/organizations"

// Organization is a v2 organization.
type Organization struct {
	ID         int      `json:"id"`
	Name       string   `json:"name"`
	OwnerID    int      `json:"owner_id,omitempty"`
	AddTime    Time     `json:"add_time"`
	UpdateTime Time     `json:"update_time"`
	IsDeleted  bool     `json:"is_deleted,omitempty"`
	VisibleTo  int      `json:"visible_to,omitempty"`
	LabelIDs   []int    `json:"label_ids,omitempty"`
	Address    *Address `json:"address,omitempty"`
	Website    string   `json:"website,omitempty"`
	// CustomFields is keyed by field key (see FieldSet).
	CustomFields map[string]any `json:"custom_fields,omitempty"`
}

// OrganizationInput is the body of an organization create (Name required)
// or update; empty fields are not sent.
type OrganizationInput struct {
	Name      string   `json:"name,omitempty"`
	OwnerID   int      `json:"owner_id,omitempty"`
	AddTime   *Time    `json:"add_time,omitempty"`
	VisibleTo int      `json:"visible_to,omitempty"`
	LabelIDs  []int    `json:"label_ids,omitempty"`
	Address   *Address `json:"address,omitempty"`
	Website   string   `json:"website,omitempty"`
	// CustomFields is keyed by field key; a nil value clears the field.
	CustomFields map[string]any `json:"custom_fields,omitempty"`
}

// CreateOrganization creates an organization. A dropped connection after
// sending gives *OutcomeUnknownError.
func (c *Client) CreateOrganization(ctx context.Context, in OrganizationInput) (Organization, error) {
	return createV2[Organization](ctx, c, organizationsPath, in)
}

// UpdateOrganization changes the set fields of organization id (PATCH).
func (c *Client) UpdateOrganization(ctx context.Context, id int, in OrganizationInput) (Organization, error) {
	return updateV2[Organization](ctx, c, organizationsPath, id, in)
}

// GetOrganization returns organization id, or *NotFoundError.
func (c *Client) GetOrganization(ctx context.Context, id int) (Organization, error) {
	return getOne[Organization](ctx, c, organizationsPath, id, nil)
}

// DeleteOrganization deletes organization id.
func (c *Client) DeleteOrganization(ctx context.Context, id int) error {
	return deleteOne(ctx, c, itemPath(organizationsPath, id))
}

// ListOrganizations calls fn with every organization, page by page.
func (c *Client) ListOrganizations(ctx context.Context, opt ListOptions, fn func(Organization) error) error {
	return listV2(ctx, c, organizationsPath, nil, opt.limit(MaxPageSize), fn)
}
