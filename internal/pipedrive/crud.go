package pipedrive

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

const (
	v2 = "/api/v2"
	v1 = "/v1"
)

func itemPath(collection string, id int) string {
	return collection + "/" + strconv.Itoa(id)
}

func createV2[T any](ctx context.Context, c *Client, collection string, in any) (T, error) {
	var out one[T]
	err := c.do(ctx, call{method: http.MethodPost, path: collection, body: in}, &out)
	return out.Data, err
}

func updateV2[T any](ctx context.Context, c *Client, collection string, id int, in any) (T, error) {
	var out one[T]
	err := c.do(ctx, call{method: http.MethodPatch, path: itemPath(collection, id), body: in}, &out)
	return out.Data, err
}

func getOne[T any](ctx context.Context, c *Client, collection string, id int, q url.Values) (T, error) {
	var out one[T]
	err := c.do(ctx, call{method: http.MethodGet, path: itemPath(collection, id), query: q}, &out)
	return out.Data, err
}

func deleteOne(ctx context.Context, c *Client, path string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: path}, nil)
}
