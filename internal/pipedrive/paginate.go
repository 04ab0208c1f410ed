package pipedrive

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
)

// MaxPageSize is the largest page v2 lists (and most v1 lists) return.
const MaxPageSize = 500

// ListOptions controls paging of a list call.
type ListOptions struct {
	// Limit is the page size; zero means MaxPageSize (100 for files, v1's
	// maximum there).
	Limit int
}

func (o ListOptions) limit(def int) int {
	if o.Limit <= 0 || o.Limit > def {
		return def
	}
	return o.Limit
}

// v2Page is a v2 list response: cursor pagination.
type v2Page[T any] struct {
	Data           []T `json:"data"`
	AdditionalData *struct {
		NextCursor *string `json:"next_cursor"`
	} `json:"additional_data"`
}

// listV2 calls fn with every item of a v2 list, following next_cursor
// page by page until there is none.
func listV2[T any](ctx context.Context, c *Client, path string, query url.Values, limit int, fn func(T) error) error {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", strconv.Itoa(limit))
	for {
		var page v2Page[T]
		if err := c.do(ctx, call{method: "GET", path: path, query: q}, &page); err != nil {
			return err
		}
		for _, item := range page.Data {
			if err := fn(item); err != nil {
				return err
			}
		}
		if page.AdditionalData == nil || page.AdditionalData.NextCursor == nil || *page.AdditionalData.NextCursor == "" {
			return nil
		}
		q.Set("cursor", *page.AdditionalData.NextCursor)
	}
}

// v1Pagination is v1's offset pagination block.
type v1Pagination struct {
	Start                 int  `json:"start"`
	Limit                 int  `json:"limit"`
	MoreItemsInCollection bool `json:"more_items_in_collection"`
	NextStart             *int `json:"next_start"`
}

// v1Page is a v1 list response. Most lists put the pagination block
// under additional_data.pagination; deal participants document it flat in
// additional_data, so both are read.
type v1Page[T any] struct {
	Data           []T `json:"data"`
	AdditionalData *struct {
		Pagination *v1Pagination `json:"pagination"`
		v1Pagination
	} `json:"additional_data"`
}

func (p v1Page[T]) next(start int) (int, bool) {
	if p.AdditionalData == nil {
		return 0, false
	}
	pg := p.AdditionalData.Pagination
	if pg == nil {
		pg = &p.AdditionalData.v1Pagination
	}
	if !pg.MoreItemsInCollection || len(p.Data) == 0 {
		return 0, false
	}
	if pg.NextStart != nil && *pg.NextStart > start {
		return *pg.NextStart, true
	}
	return start + len(p.Data), true
}

// listV1 calls fn with every item of a v1 list, following start/limit
// while more_items_in_collection says there are more.
func listV1[T any](ctx context.Context, c *Client, path string, query url.Values, limit int, fn func(T) error) error {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", strconv.Itoa(limit))
	start := 0
	for {
		q.Set("start", strconv.Itoa(start))
		var page v1Page[T]
		if err := c.do(ctx, call{method: "GET", path: path, query: q}, &page); err != nil {
			return err
		}
		for _, item := range page.Data {
			if err := fn(item); err != nil {
				return err
			}
		}
		next, more := page.next(start)
		if !more {
			return nil
		}
		start = next
	}
}

// one is a single-object response.
type one[T any] struct {
	Data T `json:"data"`
}

// idOnly is a delete response: {data: {id}}.
type idOnly struct {
	ID int `json:"id"`
}

// collect gathers a list into a slice.
func collect[T any](list func(func(T) error) error) ([]T, error) {
	var out []T
	err := list(func(t T) error { out = append(out, t); return nil })
	return out, err
}

// rawIsNull reports whether a JSON value is absent or null.
func rawIsNull(b json.RawMessage) bool { return len(b) == 0 || string(b) == "null" }
