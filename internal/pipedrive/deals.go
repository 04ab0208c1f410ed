package pipedrive

import (
	"context"
	"net/url"
	"strconv"
)

const dealsPath = v2 + "/deals"

// Deal is a v2 deal.
type Deal struct {
	ID                int     `json:"id"`
	Title             string  `json:"title"`
	OwnerID           int     `json:"owner_id,omitempty"`
	PersonID          int     `json:"person_id,omitempty"`
	OrgID             int     `json:"org_id,omitempty"`
	PipelineID        int     `json:"pipeline_id,omitempty"`
	StageID           int     `json:"stage_id,omitempty"`
	Value             float64 `json:"value,omitempty"`
	Currency          string  `json:"currency,omitempty"`
	AddTime           Time    `json:"add_time"`
	UpdateTime        Time    `json:"update_time"`
	StageChangeTime   Time    `json:"stage_change_time"`
	IsDeleted         bool    `json:"is_deleted,omitempty"`
	Status            string  `json:"status,omitempty"`
	LostReason        string  `json:"lost_reason,omitempty"`
	VisibleTo         int     `json:"visible_to,omitempty"`
	CloseTime         Time    `json:"close_time"`
	WonTime           Time    `json:"won_time"`
	LostTime          Time    `json:"lost_time"`
	ExpectedCloseDate string  `json:"expected_close_date,omitempty"`
	LabelIDs          []int   `json:"label_ids,omitempty"`
	// CustomFields is keyed by field key (see FieldSet).
	CustomFields map[string]any `json:"custom_fields,omitempty"`
}

// DealInput is the body of a deal create (Title required) or update;
// empty fields are not sent. v2 deals take no add_time: keep a matter's
// creation date in a custom date field.
type DealInput struct {
	Title      string   `json:"title,omitempty"`
	OwnerID    int      `json:"owner_id,omitempty"`
	PersonID   int      `json:"person_id,omitempty"`
	OrgID      int      `json:"org_id,omitempty"`
	PipelineID int      `json:"pipeline_id,omitempty"`
	StageID    int      `json:"stage_id,omitempty"`
	Value      *float64 `json:"value,omitempty"`
	Currency   string   `json:"currency,omitempty"`
	// Status is open, won or lost.
	Status     string `json:"status,omitempty"`
	LostReason string `json:"lost_reason,omitempty"`
	VisibleTo  int    `json:"visible_to,omitempty"`
	CloseTime  *Time  `json:"close_time,omitempty"`
	WonTime    *Time  `json:"won_time,omitempty"`
	LostTime   *Time  `json:"lost_time,omitempty"`
	// ExpectedCloseDate is YYYY-MM-DD.
	ExpectedCloseDate string `json:"expected_close_date,omitempty"`
	LabelIDs          []int  `json:"label_ids,omitempty"`
	// CustomFields is keyed by field key; a nil value clears the field.
	CustomFields map[string]any `json:"custom_fields,omitempty"`
}

// DealListOptions filters ListDeals; zero ids do not filter.
type DealListOptions struct {
	ListOptions
	PipelineID int
	StageID    int
}

// CreateDeal creates a deal. A dropped connection after sending gives
// *OutcomeUnknownError.
func (c *Client) CreateDeal(ctx context.Context, in DealInput) (Deal, error) {
	return createV2[Deal](ctx, c, dealsPath, in)
}

// UpdateDeal changes the set fields of deal id (PATCH).
func (c *Client) UpdateDeal(ctx context.Context, id int, in DealInput) (Deal, error) {
	return updateV2[Deal](ctx, c, dealsPath, id, in)
}

// GetDeal returns deal id, or *NotFoundError.
func (c *Client) GetDeal(ctx context.Context, id int) (Deal, error) {
	return getOne[Deal](ctx, c, dealsPath, id, nil)
}

// DeleteDeal deletes deal id.
func (c *Client) DeleteDeal(ctx context.Context, id int) error {
	return deleteOne(ctx, c, itemPath(dealsPath, id))
}

// ListDeals calls fn with every deal (of a pipeline or stage, if set),
// page by page.
func (c *Client) ListDeals(ctx context.Context, opt DealListOptions, fn func(Deal) error) error {
	q := url.Values{}
	if opt.PipelineID != 0 {
		q.Set("pipeline_id", strconv.Itoa(opt.PipelineID))
	}
	if opt.StageID != 0 {
		q.Set("stage_id", strconv.Itoa(opt.StageID))
	}
	return listV2(ctx, c, dealsPath, q, opt.limit(MaxPageSize), fn)
}
