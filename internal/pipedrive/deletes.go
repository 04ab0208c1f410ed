package pipedrive

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// The deletes of what the schema step creates: custom fields, pipelines,
// stages and activity types. Pipedrive marks each deleted rather than
// erasing it. Like every delete, each answers *NotFoundError for an item
// that does not exist or is deleted already, and returns nil when a retry
// finds gone what a lost earlier attempt deleted.

// DeleteField marks the custom field fieldCode of kind deleted (DELETE
// /api/v2/{deal,person,organization}Fields/{field_code}); the values
// records held in it are hidden with it. It refuses, without a request, an
// unknown kind or an empty field code.
func (c *Client) DeleteField(ctx context.Context, kind FieldKind, fieldCode string) error {
	p, err := kind.path()
	if err != nil {
		return err
	}
	if strings.TrimSpace(fieldCode) == "" {
		return fmt.Errorf("pipedrive: delete %s field: empty field code", kind)
	}
	return deleteOne(ctx, c, p+"/"+url.PathEscape(fieldCode))
}

// DeletePipeline marks pipeline id deleted (DELETE /api/v2/pipelines/{id}).
func (c *Client) DeletePipeline(ctx context.Context, id int) error {
	if id <= 0 {
		return fmt.Errorf("pipedrive: delete pipeline: id %d is not positive", id)
	}
	return deleteOne(ctx, c, itemPath(pipelinesPath, id))
}

// DeleteStage marks stage id deleted (DELETE /api/v2/stages/{id}).
func (c *Client) DeleteStage(ctx context.Context, id int) error {
	if id <= 0 {
		return fmt.Errorf("pipedrive: delete stage: id %d is not positive", id)
	}
	return deleteOne(ctx, c, itemPath(stagesPath, id))
}

// DeleteActivityType marks activity type id deleted (DELETE
// /v1/activityTypes/{id}): activities can no longer be given its key_string.
func (c *Client) DeleteActivityType(ctx context.Context, id int) error {
	if id <= 0 {
		return fmt.Errorf("pipedrive: delete activity type: id %d is not positive", id)
	}
	return deleteOne(ctx, c, v1+"/activityTypes/"+strconv.Itoa(id))
}
