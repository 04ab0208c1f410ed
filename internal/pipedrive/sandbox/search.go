package sandbox

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// searchTerms reads term, exact_match and fields. Pipedrive wants at least
// two characters, or one with an exact match.
func searchTerms(c *call, allowed []string) (term string, exact bool, fields []string, rep *reply) {
	term = strings.TrimSpace(c.q("term"))
	if e := c.q("exact_match"); e != "" {
		b, err := strconv.ParseBool(e)
		if err != nil {
			return "", false, nil, badRequest("Parameter exact_match must be true or false")
		}
		exact = b
	}
	switch {
	case term == "":
		return "", false, nil, badRequest("Parameter term is required")
	case !exact && len([]rune(term)) < 2:
		return "", false, nil, badRequest("Parameter term must be at least 2 characters long")
	}
	fields = allowed
	if f := c.q("fields"); f != "" {
		fields = nil
		for _, x := range strings.Split(f, ",") {
			x = strings.TrimSpace(x)
			if !slices.Contains(allowed, x) {
				return "", false, nil, badRequest("Parameter fields must be among %s", strings.Join(allowed, ", "))
			}
			fields = append(fields, x)
		}
	}
	return term, exact, fields, nil
}

func matches(term string, exact bool, values []string) bool {
	for _, v := range values {
		if exact && strings.EqualFold(strings.TrimSpace(v), term) {
			return true
		}
		if !exact && strings.Contains(strings.ToLower(v), strings.ToLower(term)) {
			return true
		}
	}
	return false
}

func contactValues(e *Entity, k string) []string {
	var out []string
	arr, _ := e.Attrs[k].([]any)
	for _, x := range arr {
		if m, ok := x.(map[string]any); ok {
			if v, ok := m["value"].(string); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// customStrings are an entity's custom values that search looks in.
func (s *Sandbox) customStrings(ent string, e *Entity) []string {
	out := []string{}
	for _, f := range s.st.Fields[ent] {
		switch v := e.Custom[f.Key].(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			if a, ok := v["value"].(string); ok {
				out = append(out, a)
			}
		}
	}
	return out
}

func searchPage(c *call, items []any) *reply {
	start, limit, rep := cursorParams(c)
	if rep != nil {
		return rep
	}
	start = min(start, len(items))
	end := min(start+limit, len(items))
	var next any
	if end < len(items) {
		next = encodeCursor(fmt.Sprintf("o:%d", end))
	}
	return okWith(map[string]any{"items": items[start:end]}, map[string]any{"next_cursor": next})
}

func searchPersons(s *Sandbox, c *call) *reply {
	term, exact, fields, rep := searchTerms(c, []string{"custom_fields", "email", "notes", "phone", "name"})
	if rep != nil {
		return rep
	}
	orgID, byOrg, rep := intFilter(c, "organization_id")
	if rep != nil {
		return rep
	}
	var items []any
	for _, p := range s.st.sorted(kPersons, false) {
		if byOrg && mustInt(p, "org_id") != orgID {
			continue
		}
		hit := false
		for _, f := range fields {
			var vals []string
			switch f {
			case "name":
				vals = []string{attrString(p, "name")}
			case "email":
				vals = contactValues(p, "emails")
			case "phone":
				vals = contactValues(p, "phones")
			case "notes":
				vals = []string{attrString(p, "notes")}
			case "custom_fields":
				vals = s.customStrings("person", p)
			}
			hit = hit || matches(term, exact, vals)
		}
		if !hit {
			continue
		}
		item := map[string]any{
			"id": p.ID, "type": "person", "name": attrString(p, "name"),
			"phones": nonNil(contactValues(p, "phones")), "emails": nonNil(contactValues(p, "emails")),
			"visible_to": p.Attrs["visible_to"], "owner": map[string]any{"id": p.Attrs["owner_id"]},
			"custom_fields": s.customStrings("person", p), "notes": nonNil(nonEmpty(attrString(p, "notes"))),
		}
		if org := s.st.live(kOrgs, mustInt(p, "org_id")); org != nil {
			item["organization"] = map[string]any{"id": org.ID, "name": attrString(org, "name")}
		}
		items = append(items, map[string]any{"result_score": 1.0, "item": item})
	}
	return searchPage(c, nonNil(items))
}

func searchOrganizations(s *Sandbox, c *call) *reply {
	term, exact, fields, rep := searchTerms(c, []string{"address", "custom_fields", "notes", "name"})
	if rep != nil {
		return rep
	}
	var items []any
	for _, o := range s.st.sorted(kOrgs, false) {
		addr := ""
		if a, ok := o.Attrs["address"].(map[string]any); ok {
			addr, _ = a["value"].(string)
		}
		hit := false
		for _, f := range fields {
			var vals []string
			switch f {
			case "name":
				vals = []string{attrString(o, "name")}
			case "address":
				vals = []string{addr}
			case "notes":
				vals = []string{attrString(o, "notes")}
			case "custom_fields":
				vals = s.customStrings("organization", o)
			}
			hit = hit || matches(term, exact, vals)
		}
		if !hit {
			continue
		}
		item := map[string]any{
			"id": o.ID, "type": "organization", "name": attrString(o, "name"),
			"visible_to": o.Attrs["visible_to"], "owner": map[string]any{"id": o.Attrs["owner_id"]},
			"custom_fields": s.customStrings("organization", o), "notes": []string{},
		}
		if addr != "" {
			item["address"] = addr
		}
		items = append(items, map[string]any{"result_score": 1.0, "item": item})
	}
	return searchPage(c, nonNil(items))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
