package sandbox

import (
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	defaultLimit = 100
	maxLimit     = 500
)

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeCursor(c string) (kind string, n int, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", 0, false
	}
	k, v, found := strings.Cut(string(b), ":")
	if !found {
		return "", 0, false
	}
	n, err = strconv.Atoi(v)
	if err != nil || n < 0 {
		return "", 0, false
	}
	return k, n, true
}

func (c *call) q(name string) string {
	if v := c.query[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// limitParam reads limit: 1 to most, default 100.
func limitParam(c *call, most int) (int, *reply) {
	s := c.q("limit")
	if s == "" {
		return min(defaultLimit, most), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, badRequest("Parameter limit must be an integer from 1 to %d", most)
	}
	return n, nil
}

// cursorParams reads an offset cursor and limit, for lists that are not of
// entities (fields, search results).
func cursorParams(c *call) (start, limit int, rep *reply) {
	limit, rep = limitParam(c, maxLimit)
	if rep != nil {
		return 0, 0, rep
	}
	if cur := c.q("cursor"); cur != "" {
		k, n, ok := decodeCursor(cur)
		if !ok || k != "o" {
			return 0, 0, badRequest("Invalid cursor")
		}
		start = n
	}
	return start, limit, nil
}

// intFilter reads an optional integer query parameter.
func intFilter(c *call, name string) (int, bool, *reply) {
	s := c.q(name)
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false, badRequest("Parameter %s must be an integer", name)
	}
	return n, true, nil
}

// filterEq keeps the entities whose integer attribute equals the query
// parameter of the same name, when it is given.
func filterEq(c *call, items []*Entity, names ...string) ([]*Entity, *reply) {
	for _, name := range names {
		want, given, rep := intFilter(c, name)
		if rep != nil {
			return nil, rep
		}
		if !given {
			continue
		}
		items = slices.DeleteFunc(slices.Clone(items), func(e *Entity) bool {
			got, ok := attrInt(e, name)
			return !ok || got != want
		})
	}
	return items, nil
}

// filterTimes applies updated_since and updated_until (RFC 3339).
func filterTimes(c *call, items []*Entity) ([]*Entity, *reply) {
	for _, name := range []string{"updated_since", "updated_until"} {
		s := c.q(name)
		if s == "" {
			continue
		}
		t, ok := parseDateTime(s)
		if !ok {
			return nil, badRequest("Parameter %s must be an RFC 3339 date and time", name)
		}
		since := name == "updated_since"
		items = slices.DeleteFunc(slices.Clone(items), func(e *Entity) bool {
			if since {
				return e.UpdateTime.Before(t)
			}
			return !e.UpdateTime.Before(t)
		})
	}
	return items, nil
}

func idsFilter(c *call, items []*Entity) ([]*Entity, *reply) {
	s := c.q("ids")
	if s == "" {
		return items, nil
	}
	want := map[int]bool{}
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, badRequest("Parameter ids must be comma-separated integers")
		}
		want[n] = true
	}
	return slices.DeleteFunc(slices.Clone(items), func(e *Entity) bool { return !want[e.ID] }), nil
}

func sortValue(e *Entity, key string) string {
	switch key {
	case "add_time":
		return e.AddTime.Format(time.RFC3339Nano)
	case "update_time":
		return e.UpdateTime.Format(time.RFC3339Nano)
	default:
		if n, ok := attrInt(e, key); ok {
			return fmt.Sprintf("%020d", n)
		}
		return attrString(e, key)
	}
}

// pageV2 sorts and pages entities as v2 lists do: sort_by (one of keys,
// default id), sort_direction, limit (≤ 500) and an opaque cursor. Sorting
// by id pages by key, so items added meanwhile are not skipped.
func pageV2(c *call, items []*Entity, keys ...string) ([]*Entity, any, *reply) {
	by := c.q("sort_by")
	if by == "" {
		by = "id"
	}
	if by != "id" && !slices.Contains(keys, by) {
		return nil, nil, badRequest("Parameter sort_by must be one of id, %s", strings.Join(keys, ", "))
	}
	dir := c.q("sort_direction")
	if dir == "" {
		dir = "asc"
	}
	if dir != "asc" && dir != "desc" {
		return nil, nil, badRequest("Parameter sort_direction must be asc or desc")
	}
	limit, rep := limitParam(c, maxLimit)
	if rep != nil {
		return nil, nil, rep
	}
	items = slices.Clone(items)
	desc := dir == "desc"
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if by != "id" {
			va, vb := sortValue(a, by), sortValue(b, by)
			if va != vb {
				return (va < vb) != desc
			}
		}
		return (a.ID < b.ID) != desc
	})
	start := 0
	if cur := c.q("cursor"); cur != "" {
		k, n, ok := decodeCursor(cur)
		switch {
		case !ok:
			return nil, nil, badRequest("Invalid cursor")
		case k == "i" && by == "id":
			start = sort.Search(len(items), func(i int) bool {
				if desc {
					return items[i].ID < n
				}
				return items[i].ID > n
			})
		case k == "o" && by != "id":
			start = min(n, len(items))
		default:
			return nil, nil, badRequest("Invalid cursor")
		}
	}
	end := min(start+limit, len(items))
	page := items[start:end]
	var next any
	if end < len(items) {
		if by == "id" {
			next = encodeCursor(fmt.Sprintf("i:%d", page[len(page)-1].ID))
		} else {
			next = encodeCursor(fmt.Sprintf("o:%d", end))
		}
	}
	return page, next, nil
}

// pageV1 pages a v1 list by start and limit.
func pageV1[T any](c *call, items []T, most int) ([]T, map[string]any, *reply) {
	start := 0
	if s := c.q("start"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, nil, badRequest("Parameter start must be a non-negative integer")
		}
		start = n
	}
	limit, rep := limitParam(c, most)
	if rep != nil {
		return nil, nil, rep
	}
	start = min(start, len(items))
	end := min(start+limit, len(items))
	more := end < len(items)
	p := map[string]any{"start": start, "limit": limit, "more_items_in_collection": more}
	if more {
		p["next_start"] = end
	}
	return items[start:end], p, nil
}
