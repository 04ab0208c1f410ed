package sandbox

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// The custom field types Pipedrive lets a company create. There is no
// datetime type.
var fieldTypes = []string{
	"varchar", "varchar_auto", "text", "double", "monetary", "date", "daterange", "time", "timerange",
	"set", "enum", "user", "org", "people", "phone", "address",
}

// fieldEntity maps a fields collection to its entity and kind.
var fieldEntity = map[string]struct{ ent, kind string }{
	"dealFields":         {"deal", kDeals},
	"personFields":       {"person", kPersons},
	"organizationFields": {"organization", kOrgs},
}

type systemField struct{ code, name, typ string }

// systemFields are the built-in fields the field lists start with.
var systemFields = map[string][]systemField{
	"deal": {
		{"id", "ID", "int"}, {"title", "Title", "varchar"}, {"value", "Value", "monetary"},
		{"person_id", "Contact person", "people"}, {"org_id", "Organization", "org"}, {"stage_id", "Stage", "stage"},
		{"status", "Status", "status"}, {"owner_id", "Owner", "user"}, {"expected_close_date", "Expected close date", "date"},
	},
	"person": {
		{"id", "ID", "int"}, {"name", "Name", "varchar"}, {"org_id", "Organization", "org"},
		{"emails", "Email", "varchar"}, {"phones", "Phone", "phone"}, {"owner_id", "Owner", "user"},
	},
	"organization": {
		{"id", "ID", "int"}, {"name", "Name", "varchar"}, {"address", "Address", "address"}, {"owner_id", "Owner", "user"},
	},
}

var fieldProps = map[string]prop{
	"field_name":       {t: pString, required: true, max: 255},
	"field_type":       {t: pString, required: true},
	"options":          {t: pArray},
	"ui_visibility":    {t: pObject},
	"important_fields": {t: pObject},
	"required_fields":  {t: pObject},
}

func (s *Sandbox) customFieldCount() int {
	n := 0
	for _, fs := range s.st.Fields {
		n += len(fs)
	}
	return n
}

func renderField(f *Field) map[string]any {
	out := map[string]any{
		"field_name": f.Name, "field_code": f.Key, "field_type": f.Type, "options": nil, "subfields": nil,
		"is_custom_field": true, "is_optional_response_field": false,
	}
	if f.Type == "enum" || f.Type == "set" {
		opts := make([]any, 0, len(f.Options))
		for _, o := range f.Options {
			opts = append(opts, map[string]any{"id": o.ID, "label": o.Label})
		}
		out["options"] = opts
	}
	for k, v := range f.Extra {
		out[k] = v
	}
	return out
}

func renderSystemField(f systemField) map[string]any {
	return map[string]any{
		"field_name": f.name, "field_code": f.code, "field_type": f.typ, "options": nil, "subfields": nil,
		"is_custom_field": false, "is_optional_response_field": false,
	}
}

// fieldList is every field of an entity, the built-in ones first.
func (s *Sandbox) fieldList(ent string) []map[string]any {
	var out []map[string]any
	for _, f := range systemFields[ent] {
		out = append(out, renderSystemField(f))
	}
	for _, f := range s.st.Fields[ent] {
		out = append(out, renderField(f))
	}
	return out
}

func getFields(s *Sandbox, c *call) *reply {
	ent := fieldEntity[c.path[2]].ent
	all := s.fieldList(ent)
	start, limit, rep := cursorParams(c)
	if rep != nil {
		return rep
	}
	start = min(start, len(all)) // before adding: a cursor's offset may be near the largest int
	end := min(start+limit, len(all))
	page := all[start:end]
	var next any
	if end < len(all) {
		next = encodeCursor(fmt.Sprintf("o:%d", end))
	}
	return okWith(page, map[string]any{"next_cursor": next})
}

func getField(s *Sandbox, c *call) *reply {
	ent := fieldEntity[c.path[2]].ent
	code := c.path[3]
	for _, f := range s.st.Fields[ent] {
		if f.Key == code {
			return ok(renderField(f))
		}
	}
	for _, f := range systemFields[ent] {
		if f.code == code {
			return ok(renderSystemField(f))
		}
	}
	return notFound("Field")
}

func addField(s *Sandbox, c *call) *reply {
	ent := fieldEntity[c.path[2]].ent
	vals, rep := checkBody(s.st, c.body, fieldProps, true)
	if rep != nil {
		return rep
	}
	typ := vals["field_type"].(string)
	if !slices.Contains(fieldTypes, typ) {
		return badRequest("Parameter field_type must be one of %s; %q is not a field type", strings.Join(fieldTypes, ", "), typ)
	}
	var opts []Option
	if raw, ok := vals["options"].([]any); ok {
		if typ != "enum" && typ != "set" {
			return badRequest("Only enum and set fields have options")
		}
		for _, o := range raw {
			m := o.(map[string]any)
			label, ok := m["label"].(string)
			if !ok || strings.TrimSpace(label) == "" {
				return badRequest("Each option needs a label")
			}
			opts = append(opts, Option{Label: label})
		}
	}
	if (typ == "enum" || typ == "set") && len(opts) == 0 {
		return badRequest("An %s field needs options", typ)
	}
	if s.customFieldCount() >= s.plan.fieldCap {
		b := errorBody("Couldn't add the custom field. Custom fields limit reached.", "")
		b["code"] = "feature_capping_custom_fields_limit"
		return &reply{status: http.StatusForbidden, body: b}
	}
	for i := range opts {
		s.st.LastOptionID++
		opts[i].ID = s.st.LastOptionID
	}
	s.st.LastFieldID++
	f := &Field{
		ID: s.st.LastFieldID, Key: fieldKey(s.st.Seed, s.st.LastFieldID), Name: vals["field_name"].(string), Type: typ,
		Options: opts, AddTime: c.now, UpdateTime: c.now,
	}
	for _, k := range []string{"ui_visibility", "important_fields", "required_fields"} {
		if v, ok := vals[k]; ok && v != nil {
			if f.Extra == nil {
				f.Extra = map[string]any{}
			}
			f.Extra[k] = v
		}
	}
	s.st.Fields[ent] = append(s.st.Fields[ent], f)
	return ok(renderField(f))
}

func (st *State) field(ent, key string) *Field {
	for _, f := range st.Fields[ent] {
		if f.Key == key {
			return f
		}
	}
	return nil
}

// checkCustom validates a custom_fields object by each field's type and
// returns the values to store (nil clears).
func checkCustom(st *State, ent string, raw any) (map[string]any, *reply) {
	if raw == nil {
		return nil, nil
	}
	m, isObj := raw.(map[string]any)
	if !isObj {
		return nil, badRequest("Parameter custom_fields must be an object keyed by custom field key")
	}
	out := map[string]any{}
	for key, v := range m {
		f := st.field(ent, key)
		if f == nil {
			return nil, badRequest("Unknown custom field key %s for %s", key, ent)
		}
		if v == nil {
			out[key] = nil
			continue
		}
		nv, msg := checkCustomValue(st, f, v)
		if msg != "" {
			return nil, badRequest("Custom field %s (%s, type %s) %s", key, f.Name, f.Type, msg)
		}
		out[key] = nv
	}
	return out, nil
}

func checkCustomValue(st *State, f *Field, v any) (any, string) {
	switch f.Type {
	case "varchar", "varchar_auto", "text", "phone":
		p := prop{t: pString}
		if f.Type != "text" {
			p.max = 255
		}
		return checkValue(st, v, p)
	case "double":
		return checkValue(st, v, prop{t: pNumber})
	case "monetary":
		if m, isObj := v.(map[string]any); isObj {
			amount, ok := asFloat(m["value"])
			if !ok {
				return nil, "needs a numeric value"
			}
			cur, _ := m["currency"].(string)
			if cur == "" {
				cur = currency
			}
			return map[string]any{"value": amount, "currency": cur}, ""
		}
		amount, ok := asFloat(v)
		if !ok {
			return nil, "must be a number or {value, currency}"
		}
		return map[string]any{"value": amount, "currency": currency}, ""
	case "date":
		return checkValue(st, v, prop{t: pDate})
	case "time":
		return checkValue(st, v, prop{t: pClock})
	case "daterange", "timerange":
		t := pDate
		if f.Type == "timerange" {
			t = pClock
		}
		m, isObj := v.(map[string]any)
		if !isObj {
			return nil, "must be {start, end}"
		}
		out := map[string]any{}
		for _, k := range []string{"start", "end"} {
			x, msg := checkValue(st, m[k], prop{t: t})
			if msg != "" {
				return nil, k + " " + msg
			}
			out[k] = x
		}
		return out, ""
	case "enum":
		id, ok := asInt(v)
		if !ok {
			return nil, "must be an option id (integer)"
		}
		if !hasOption(f, id) {
			return nil, fmt.Sprintf("has no option %d", id)
		}
		return int64(id), ""
	case "set":
		arr, isArr := v.([]any)
		if !isArr {
			return nil, "must be an array of option ids"
		}
		out := make([]any, 0, len(arr))
		for _, x := range arr {
			id, ok := asInt(x)
			if !ok {
				return nil, "must be an array of option ids (integers)"
			}
			if !hasOption(f, id) {
				return nil, fmt.Sprintf("has no option %d", id)
			}
			out = append(out, int64(id))
		}
		return out, ""
	case "user":
		return checkValue(st, v, prop{t: pRef, ref: kUsers})
	case "org":
		return checkValue(st, v, prop{t: pRef, ref: kOrgs})
	case "people":
		return checkValue(st, v, prop{t: pRef, ref: kPersons})
	case "address":
		switch a := v.(type) {
		case string:
			return map[string]any{"value": a}, ""
		case map[string]any:
			if _, ok := a["value"].(string); !ok {
				return nil, "needs a string value"
			}
			n, ok := normalise(a)
			if !ok {
				return nil, outOfRange
			}
			return n, ""
		}
		return nil, "must be a string or {value, …}"
	}
	return nil, "has a type the sandbox cannot store"
}

func hasOption(f *Field, id int) bool {
	return slices.ContainsFunc(f.Options, func(o Option) bool { return o.ID == id })
}

// renderCustom is an entity's custom_fields object: every custom field of
// its entity, null where unset.
func (s *Sandbox) renderCustom(ent string, e *Entity) map[string]any {
	out := map[string]any{}
	for _, f := range s.st.Fields[ent] {
		out[f.Key] = e.Custom[f.Key]
	}
	return out
}

// applyCustom merges checked custom values into an entity.
func applyCustom(e *Entity, vals map[string]any) {
	if len(vals) == 0 {
		return
	}
	if e.Custom == nil {
		e.Custom = map[string]any{}
	}
	apply(e.Custom, vals)
}
