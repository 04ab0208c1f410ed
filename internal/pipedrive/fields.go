package pipedrive

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// FieldKind is the kind of object whose fields are meant.
type FieldKind string

// The kinds of object Conveyor gives custom fields to.
const (
	DealFields         FieldKind = "deal"
	PersonFields       FieldKind = "person"
	OrganizationFields FieldKind = "organization"
)

func (k FieldKind) path() (string, error) {
	switch k {
	case DealFields:
		return v2 + "/dealFields", nil
	case PersonFields:
		return v2 + "/personFields", nil
	case OrganizationFields:
		return v2 + "/organizationFields", nil
	}
	return "", fmt.Errorf("pipedrive: unknown field kind %q: want deal, person or organization", string(k))
}

// FieldTypes are the types a custom field can be created with. Pipedrive
// has no datetime type: a timestamp needs a date field (and a time one).
var FieldTypes = []string{"varchar", "varchar_auto", "text", "double", "monetary", "date", "daterange",
	"time", "timerange", "set", "enum", "user", "org", "people", "phone", "address"}

// FieldOption is one choice of an enum or set field.
type FieldOption struct {
	ID    int    `json:"id"`
	Label string `json:"label"`
	Color string `json:"color,omitempty"`
}

// UnmarshalJSON reads an option whose id Pipedrive may give as a number or
// a numeric string.
func (o *FieldOption) UnmarshalJSON(b []byte) error {
	var raw struct {
		ID    json.RawMessage `json:"id"`
		Label string          `json:"label"`
		Color *string         `json:"color"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	o.Label = raw.Label
	if raw.Color != nil {
		o.Color = *raw.Color
	}
	o.ID = 0
	if rawIsNull(raw.ID) {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(raw.ID, &n); err == nil {
		if id, err := strconv.Atoi(n.String()); err == nil {
			o.ID = id
			return nil
		}
	}
	var s string
	if err := json.Unmarshal(raw.ID, &s); err == nil {
		if id, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			o.ID = id
			return nil
		}
	}
	return fmt.Errorf("pipedrive: field option id %s is not a number", raw.ID)
}

// Field is a deal, person or organization field.
type Field struct {
	// Name is the label shown in Pipedrive.
	Name string `json:"field_name"`
	// Code is the key custom_fields are keyed by: a 40-hex hash for a
	// custom field, different in every company.
	Code          string        `json:"field_code"`
	Description   string        `json:"description,omitempty"`
	Type          string        `json:"field_type"`
	Options       []FieldOption `json:"options"`
	IsCustomField bool          `json:"is_custom_field"`
}

// FieldInput is a custom field to create. Options are the choices of an
// enum or set field.
type FieldInput struct {
	Name    string
	Type    string
	Options []string
}

type fieldBody struct {
	FieldName string        `json:"field_name"`
	FieldType string        `json:"field_type"`
	Options   []optionLabel `json:"options,omitempty"`
}

type optionLabel struct {
	Label string `json:"label"`
}

// ListFields returns every field of kind, built-in and custom.
func (c *Client) ListFields(ctx context.Context, kind FieldKind) ([]Field, error) {
	p, err := kind.path()
	if err != nil {
		return nil, err
	}
	return collect(func(fn func(Field) error) error {
		return listV2(ctx, c, p, nil, MaxPageSize, fn)
	})
}

// CreateField creates a custom field of kind. It refuses, without a
// request, an empty name, a type Pipedrive does not take, or options on a
// field that is not enum or set. A dropped connection after sending gives
// *OutcomeUnknownError.
func (c *Client) CreateField(ctx context.Context, kind FieldKind, in FieldInput) (Field, error) {
	p, err := kind.path()
	if err != nil {
		return Field{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return Field{}, fmt.Errorf("pipedrive: create %s field: empty name", kind)
	}
	if !slices.Contains(FieldTypes, in.Type) {
		return Field{}, fmt.Errorf("pipedrive: create %s field %q: type %q is not one of %s", kind, name, in.Type, strings.Join(FieldTypes, ", "))
	}
	body := fieldBody{FieldName: name, FieldType: in.Type}
	if len(in.Options) > 0 {
		if in.Type != "enum" && in.Type != "set" {
			return Field{}, fmt.Errorf("pipedrive: create %s field %q: options need type enum or set, not %q", kind, name, in.Type)
		}
		for _, o := range in.Options {
			body.Options = append(body.Options, optionLabel{Label: o})
		}
	}
	return createV2[Field](ctx, c, p, body)
}

// FieldSet resolves field labels to keys and back for one kind of object
// in one company, where custom field keys are random.
type FieldSet struct {
	Kind   FieldKind
	Fields []Field
	byName map[string]int // normalised label → index into Fields
	byCode map[string]int
}

// ResolveFields lists the fields of kind and indexes them (one list call).
func (c *Client) ResolveFields(ctx context.Context, kind FieldKind) (*FieldSet, error) {
	fields, err := c.ListFields(ctx, kind)
	if err != nil {
		return nil, fmt.Errorf("resolve %s fields: %w", kind, err)
	}
	return NewFieldSet(kind, fields), nil
}

// NewFieldSet indexes fields. Labels are compared trimmed and without
// regard to case. When several fields share a label, a custom field wins
// over a built-in one, and among custom fields the first listed (the
// oldest) wins, so that a find-or-create by label keeps finding the same
// field.
func NewFieldSet(kind FieldKind, fields []Field) *FieldSet {
	fs := &FieldSet{Kind: kind, Fields: fields, byName: map[string]int{}, byCode: map[string]int{}}
	for i, f := range fields {
		if _, dup := fs.byCode[f.Code]; !dup {
			fs.byCode[f.Code] = i
		}
		k := normLabel(f.Name)
		if j, seen := fs.byName[k]; !seen || (f.IsCustomField && !fields[j].IsCustomField) {
			fs.byName[k] = i
		}
	}
	return fs
}

func normLabel(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Field returns the field labelled label.
func (fs *FieldSet) Field(label string) (Field, bool) {
	i, ok := fs.byName[normLabel(label)]
	if !ok {
		return Field{}, false
	}
	return fs.Fields[i], true
}

// Key returns the key (field_code) of the field labelled label.
func (fs *FieldSet) Key(label string) (string, bool) {
	f, ok := fs.Field(label)
	return f.Code, ok
}

// Label returns the label of the field whose key is key.
func (fs *FieldSet) Label(key string) (string, bool) {
	i, ok := fs.byCode[key]
	if !ok {
		return "", false
	}
	return fs.Fields[i].Name, true
}

// Option returns the id of the option labelled optionLabel of the enum or
// set field labelled label (both compared trimmed, without regard to case).
func (fs *FieldSet) Option(label, optionLabel string) (int, bool) {
	f, ok := fs.Field(label)
	if !ok {
		return 0, false
	}
	want := normLabel(optionLabel)
	for _, o := range f.Options {
		if normLabel(o.Label) == want {
			return o.ID, true
		}
	}
	return 0, false
}
