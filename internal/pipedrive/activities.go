package pipedrive

import (
	"context"
	"net/url"
	"strconv"
)

const activitiesPath = v2 + "/activities"

// ActivityParticipant is a person taking part in an activity.
type ActivityParticipant struct {
	PersonID int  `json:"person_id"`
	Primary  bool `json:"primary"`
}

// Activity is a v2 activity.
type Activity struct {
	ID       int    `json:"id"`
	Subject  string `json:"subject"`
	Type     string `json:"type"`
	OwnerID  int    `json:"owner_id,omitempty"`
	DealID   int    `json:"deal_id,omitempty"`
	PersonID int    `json:"person_id,omitempty"`
	OrgID    int    `json:"org_id,omitempty"`
	// DueDate is YYYY-MM-DD; DueTime and Duration are HH:MM(:SS).
	DueDate           string                `json:"due_date,omitempty"`
	DueTime           string                `json:"due_time,omitempty"`
	Duration          string                `json:"duration,omitempty"`
	Busy              bool                  `json:"busy,omitempty"`
	Done              bool                  `json:"done,omitempty"`
	MarkedAsDoneTime  Time                  `json:"marked_as_done_time"`
	AddTime           Time                  `json:"add_time"`
	UpdateTime        Time                  `json:"update_time"`
	IsDeleted         bool                  `json:"is_deleted,omitempty"`
	Participants      []ActivityParticipant `json:"participants,omitempty"`
	PublicDescription string                `json:"public_description,omitempty"`
	Note              string                `json:"note,omitempty"`
}

// ActivityInput is the body of an activity create or update; empty
// fields are not sent.
type ActivityInput struct {
	Subject string `json:"subject,omitempty"`
	// Type is an activity type's key_string (see ListActivityTypes).
	Type              string                `json:"type,omitempty"`
	OwnerID           int                   `json:"owner_id,omitempty"`
	DealID            int                   `json:"deal_id,omitempty"`
	PersonID          int                   `json:"person_id,omitempty"`
	OrgID             int                   `json:"org_id,omitempty"`
	DueDate           string                `json:"due_date,omitempty"`
	DueTime           string                `json:"due_time,omitempty"`
	Duration          string                `json:"duration,omitempty"`
	Busy              *bool                 `json:"busy,omitempty"`
	Done              *bool                 `json:"done,omitempty"`
	Participants      []ActivityParticipant `json:"participants,omitempty"`
	PublicDescription string                `json:"public_description,omitempty"`
	Note              string                `json:"note,omitempty"`
}

// ActivityListOptions filters ListActivities; a zero DealID does not filter.
type ActivityListOptions struct {
	ListOptions
	DealID int
}

// CreateActivity creates an activity. A dropped connection after sending
// gives *OutcomeUnknownError.
func (c *Client) CreateActivity(ctx context.Context, in ActivityInput) (Activity, error) {
	return createV2[Activity](ctx, c, activitiesPath, in)
}

// UpdateActivity changes the set fields of activity id (PATCH).
func (c *Client) UpdateActivity(ctx context.Context, id int, in ActivityInput) (Activity, error) {
	return updateV2[Activity](ctx, c, activitiesPath, id, in)
}

// GetActivity returns activity id, or *NotFoundError.
func (c *Client) GetActivity(ctx context.Context, id int) (Activity, error) {
	return getOne[Activity](ctx, c, activitiesPath, id, nil)
}

// DeleteActivity deletes activity id.
func (c *Client) DeleteActivity(ctx context.Context, id int) error {
	return deleteOne(ctx, c, itemPath(activitiesPath, id))
}

// ListActivities calls fn with every activity (of a deal, if set), page by page.
func (c *Client) ListActivities(ctx context.Context, opt ActivityListOptions, fn func(Activity) error) error {
	q := url.Values{}
	if opt.DealID != 0 {
		q.Set("deal_id", strconv.Itoa(opt.DealID))
	}
	return listV2(ctx, c, activitiesPath, q, opt.limit(MaxPageSize), fn)
}
