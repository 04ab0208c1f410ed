package pipedrive

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// PatchFields sends a v2 PATCH with exactly the given body, for the
// record of kind ("person", "organization", "deal" or "activity") with
// that id. Unlike the typed Update calls, whose empty values are left out,
// it can send null and empty lists: it is how rollback clears a field the
// migration filled, and how a delta run sends exactly the fields that
// changed. It returns the record's update_time as Pipedrive answered, and
// the client's usual errors.
func (c *Client) PatchFields(ctx context.Context, kind string, id int, fields map[string]json.RawMessage) (Time, error) {
	collection, ok := map[string]string{"person": personsPath, "organization": organizationsPath, "deal": dealsPath, "activity": activitiesPath}[kind]
	if !ok {
		return Time{}, fmt.Errorf("pipedrive: PatchFields: no v2 collection for %q", kind)
	}
	if id <= 0 {
		return Time{}, fmt.Errorf("pipedrive: PatchFields: id %d", id)
	}
	var out one[struct {
		UpdateTime Time `json:"update_time"`
	}]
	err := c.do(ctx, call{method: http.MethodPatch, path: itemPath(collection, id), body: fields}, &out)
	return out.Data.UpdateTime, err
}
