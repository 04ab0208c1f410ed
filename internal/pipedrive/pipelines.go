package pipedrive

import (
	"context"
	"net/url"
	"strconv"
)

const (
	pipelinesPath = v2 + "/pipelines"
	stagesPath    = v2 + "/stages"
)

// Pipeline is a v2 pipeline.
type Pipeline struct {
	ID                       int    `json:"id"`
	Name                     string `json:"name"`
	OrderNr                  int    `json:"order_nr"`
	IsDeleted                bool   `json:"is_deleted"`
	IsDealProbabilityEnabled bool   `json:"is_deal_probability_enabled"`
	AddTime                  Time   `json:"add_time"`
	UpdateTime               Time   `json:"update_time"`
}

// PipelineInput is the body of a pipeline create.
type PipelineInput struct {
	Name                     string `json:"name"`
	IsDealProbabilityEnabled bool   `json:"is_deal_probability_enabled,omitempty"`
}

// Stage is a v2 stage.
type Stage struct {
	ID               int    `json:"id"`
	OrderNr          int    `json:"order_nr"`
	Name             string `json:"name"`
	IsDeleted        bool   `json:"is_deleted"`
	DealProbability  int    `json:"deal_probability"`
	PipelineID       int    `json:"pipeline_id"`
	IsDealRotEnabled bool   `json:"is_deal_rot_enabled"`
	DaysToRotten     *int   `json:"days_to_rotten"`
	AddTime          Time   `json:"add_time"`
	UpdateTime       Time   `json:"update_time"`
}

// StageInput is the body of a stage create; Name and PipelineID are required.
type StageInput struct {
	Name             string `json:"name"`
	PipelineID       int    `json:"pipeline_id"`
	DealProbability  *int   `json:"deal_probability,omitempty"`
	IsDealRotEnabled bool   `json:"is_deal_rot_enabled,omitempty"`
	DaysToRotten     int    `json:"days_to_rotten,omitempty"`
}

// ListPipelines returns every pipeline.
func (c *Client) ListPipelines(ctx context.Context) ([]Pipeline, error) {
	return collect(func(fn func(Pipeline) error) error {
		return listV2(ctx, c, pipelinesPath, nil, MaxPageSize, fn)
	})
}

// CreatePipeline creates a pipeline. A dropped connection after sending
// gives *OutcomeUnknownError.
func (c *Client) CreatePipeline(ctx context.Context, in PipelineInput) (Pipeline, error) {
	return createV2[Pipeline](ctx, c, pipelinesPath, in)
}

// ListStages returns every stage of pipelineID, or of all pipelines if it is 0.
func (c *Client) ListStages(ctx context.Context, pipelineID int) ([]Stage, error) {
	q := url.Values{}
	if pipelineID != 0 {
		q.Set("pipeline_id", strconv.Itoa(pipelineID))
	}
	return collect(func(fn func(Stage) error) error {
		return listV2(ctx, c, stagesPath, q, MaxPageSize, fn)
	})
}

// CreateStage creates a stage. A dropped connection after sending gives
// *OutcomeUnknownError.
func (c *Client) CreateStage(ctx context.Context, in StageInput) (Stage, error) {
	return createV2[Stage](ctx, c, stagesPath, in)
}
