package sandbox

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"time"
)

// Entity kinds, as State.Items names them.
const (
	kPersons       = "persons"
	kOrgs          = "organizations"
	kDeals         = "deals"
	kActivities    = "activities"
	kPipelines     = "pipelines"
	kStages        = "stages"
	kNotes         = "notes"
	kFiles         = "files"
	kParticipants  = "participants"
	kUsers         = "users"
	kActivityTypes = "activityTypes"
)

var allKinds = []string{kPersons, kOrgs, kDeals, kActivities, kPipelines, kStages, kNotes, kFiles, kParticipants, kUsers, kActivityTypes}

// State is every entity of a sandbox company. It is JSON-serialisable: it
// is what Snapshot returns, /_sandbox/snapshot answers, /_sandbox/compare
// takes and --state files hold.
type State struct {
	// Seed derives the custom field keys.
	Seed int64 `json:"seed"`
	// LastID is the highest id given, per kind.
	LastID map[string]int `json:"last_id"`
	// Items holds the entities by kind ("persons", "deals", …) and id.
	// Deleted entities stay, marked, as Pipedrive keeps them for 30 days.
	Items map[string]map[int]*Entity `json:"items"`
	// Fields holds the custom fields by entity ("deal", "person", "organization").
	Fields map[string][]*Field `json:"fields"`
	// LastFieldID and LastOptionID number fields and enum/set options.
	LastFieldID  int `json:"last_field_id"`
	LastOptionID int `json:"last_option_id"`

	// byID caches each kind's entities in id order for sorted, so that a
	// listing does not sort the whole kind for every page. Entities are
	// never removed, so a kind's cache is stale exactly when its count
	// differs; the one place that replaces an entity drops it.
	byID map[string][]*Entity
}

// Entity is one Pipedrive item. Attrs holds its properties with the
// names of Pipedrive's documents; relations are ids.
type Entity struct {
	ID         int            `json:"id"`
	Attrs      map[string]any `json:"attrs"`
	Custom     map[string]any `json:"custom_fields,omitempty"`
	AddTime    time.Time      `json:"add_time"`
	UpdateTime time.Time      `json:"update_time"`
	Deleted    bool           `json:"deleted,omitempty"`
	DeleteTime *time.Time     `json:"delete_time,omitempty"`
}

// Field is a custom field definition.
type Field struct {
	ID         int            `json:"id"`
	Key        string         `json:"key"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Options    []Option       `json:"options,omitempty"`
	Extra      map[string]any `json:"extra,omitempty"`
	AddTime    time.Time      `json:"add_time"`
	UpdateTime time.Time      `json:"update_time"`
}

// Option is one choice of an enum or set field.
type Option struct {
	ID    int    `json:"id"`
	Label string `json:"label"`
}

// The seeded admin: the token's user.
const (
	adminID    = 1
	adminName  = "Sandbox Admin"
	adminEmail = "admin@sandbox.example"
	currency   = "GBP"
)

func newState(now time.Time, seed int64) *State {
	st := &State{Seed: seed, LastID: map[string]int{}, Items: map[string]map[int]*Entity{}, Fields: map[string][]*Field{}}
	for _, k := range allKinds {
		st.Items[k] = map[int]*Entity{}
	}
	st.add(kUsers, now, map[string]any{
		"name": adminName, "email": adminEmail, "is_admin": true, "active_flag": true, "activated": true,
		"default_currency": currency, "locale": "en_GB", "lang": int64(1), "timezone_name": "Europe/London",
		"timezone_offset": "+00:00", "role_id": int64(1), "has_created_company": true,
		"access": []any{map[string]any{"app": "global", "admin": true}, map[string]any{"app": "sales", "admin": true}},
	})
	pl := st.add(kPipelines, now, map[string]any{"name": "Pipeline", "order_nr": int64(0), "is_deal_probability_enabled": false})
	for i, name := range []string{"Qualified", "Contact Made", "Demo Scheduled", "Proposal Made", "Negotiations Started"} {
		st.add(kStages, now, map[string]any{
			"name": name, "pipeline_id": int64(pl.ID), "order_nr": int64(i + 1), "deal_probability": int64(100),
			"is_deal_rot_enabled": false,
		})
	}
	for i, t := range []string{"call", "meeting", "task", "deadline", "email", "lunch"} {
		st.add(kActivityTypes, now, map[string]any{
			"name": activityTypeNames[t], "key_string": t, "icon_key": t, "color": "", "order_nr": int64(i + 1),
			"active_flag": true, "is_custom_flag": false,
		})
	}
	return st
}

var activityTypeNames = map[string]string{
	"call": "Call", "meeting": "Meeting", "task": "Task", "deadline": "Deadline", "email": "Email", "lunch": "Lunch",
}

// add stores a new entity with the next id of its kind.
func (st *State) add(kind string, now time.Time, attrs map[string]any) *Entity {
	st.LastID[kind]++
	e := &Entity{ID: st.LastID[kind], Attrs: attrs, AddTime: now, UpdateTime: now}
	st.Items[kind][e.ID] = e
	return e
}

// live returns a kind's entity unless it is unknown or deleted.
func (st *State) live(kind string, id int) *Entity {
	e := st.Items[kind][id]
	if e == nil || e.Deleted {
		return nil
	}
	return e
}

// sorted returns a kind's entities by id, deleted ones too if asked.
// The slice is the caller's to keep and reorder.
func (st *State) sorted(kind string, withDeleted bool) []*Entity {
	items := st.Items[kind]
	all := st.byID[kind]
	if len(all) != len(items) {
		all = make([]*Entity, 0, len(items))
		for _, e := range items {
			all = append(all, e)
		}
		sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
		if st.byID == nil {
			st.byID = map[string][]*Entity{}
		}
		st.byID[kind] = all
	}
	out := make([]*Entity, 0, len(all))
	for _, e := range all {
		if withDeleted || !e.Deleted {
			out = append(out, e)
		}
	}
	return out
}

// fieldKey derives a custom field's 40-hex key from the seed and the
// field's number: random-looking and different per company, as Pipedrive's
// are, yet the same for the same seed.
func fieldKey(seed int64, n int) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(seed))
	binary.BigEndian.PutUint64(b[8:], uint64(n))
	sum := sha1.Sum(append([]byte("conveyor-sandbox-field:"), b[:]...))
	return hex.EncodeToString(sum[:])
}

func (st *State) clone() State {
	b, err := json.Marshal(st)
	if err != nil {
		panic(fmt.Sprintf("sandbox: state does not encode: %v", err))
	}
	var c State
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("sandbox: state does not decode: %v", err))
	}
	c.fill()
	return c
}

// fill makes the maps of a decoded state usable.
func (st *State) fill() {
	if st.LastID == nil {
		st.LastID = map[string]int{}
	}
	if st.Items == nil {
		st.Items = map[string]map[int]*Entity{}
	}
	if st.Fields == nil {
		st.Fields = map[string][]*Field{}
	}
	for _, k := range allKinds {
		if st.Items[k] == nil {
			st.Items[k] = map[int]*Entity{}
		}
	}
	for _, items := range st.Items {
		for _, e := range items {
			if e.Attrs == nil {
				e.Attrs = map[string]any{}
			}
		}
	}
}

// Save writes the state to path, readable by its owner only.
func (s *Sandbox) Save(path string) error {
	s.mu.Lock()
	b, err := json.MarshalIndent(s.st, "", " ")
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("save sandbox state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sandbox-state-*")
	if err != nil {
		return fmt.Errorf("save sandbox state %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save sandbox state %s: %w", path, err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save sandbox state %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save sandbox state %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save sandbox state %s: %w", path, err)
	}
	return nil
}

// Load replaces the state with the one Save wrote to path.
func (s *Sandbox) Load(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("load sandbox state: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("load sandbox state %s: %w", path, err)
	}
	st.fill()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = &st
	return nil
}

// Difference is one way two states differ. Field is "" when the whole
// entity is missing (Want set) or unexpected (Got set).
type Difference struct {
	Kind  string `json:"kind"`
	ID    int    `json:"id,omitempty"`
	Key   string `json:"key,omitempty"` // a custom field definition's key
	Field string `json:"field,omitempty"`
	Want  any    `json:"want,omitempty"`
	Got   any    `json:"got,omitempty"`
}

// Compare lists how got differs from want, entity by entity and property
// by property, in a stable order.
func Compare(want, got State) []Difference {
	var out []Difference
	kinds := map[string]bool{}
	for k := range want.Items {
		kinds[k] = true
	}
	for k := range got.Items {
		kinds[k] = true
	}
	for _, kind := range slices.Sorted(mapKeys(kinds)) {
		ids := map[int]bool{}
		for id := range want.Items[kind] {
			ids[id] = true
		}
		for id := range got.Items[kind] {
			ids[id] = true
		}
		for _, id := range slices.Sorted(mapKeys(ids)) {
			w, g := want.Items[kind][id], got.Items[kind][id]
			switch {
			case g == nil:
				out = append(out, Difference{Kind: kind, ID: id, Want: flat(w)})
			case w == nil:
				out = append(out, Difference{Kind: kind, ID: id, Got: flat(g)})
			default:
				out = append(out, diffMaps(Difference{Kind: kind, ID: id}, flat(w), flat(g))...)
			}
		}
	}
	ents := map[string]bool{}
	for k := range want.Fields {
		ents[k] = true
	}
	for k := range got.Fields {
		ents[k] = true
	}
	for _, ent := range slices.Sorted(mapKeys(ents)) {
		wf, gf := fieldsByKey(want.Fields[ent]), fieldsByKey(got.Fields[ent])
		keys := map[string]bool{}
		for k := range wf {
			keys[k] = true
		}
		for k := range gf {
			keys[k] = true
		}
		for _, k := range slices.Sorted(mapKeys(keys)) {
			d := Difference{Kind: ent + "Fields", Key: k}
			switch {
			case gf[k] == nil:
				d.Want = wf[k]
				out = append(out, d)
			case wf[k] == nil:
				d.Got = gf[k]
				out = append(out, d)
			default:
				out = append(out, diffMaps(d, wf[k], gf[k])...)
			}
		}
	}
	return out
}

func mapKeys[K comparable](m map[K]bool) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// flat turns a value into its JSON form as a map, so that values decoded
// from a file and values built in memory compare alike.
func flat(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	json.Unmarshal(b, &m)
	if e, ok := m["attrs"].(map[string]any); ok {
		delete(m, "attrs")
		for k, v := range e {
			m[k] = v
		}
	}
	return m
}

func fieldsByKey(fs []*Field) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, f := range fs {
		out[f.Key] = flat(f)
	}
	return out
}

func diffMaps(base Difference, w, g map[string]any) []Difference {
	keys := map[string]bool{}
	for k := range w {
		keys[k] = true
	}
	for k := range g {
		keys[k] = true
	}
	var out []Difference
	for _, k := range slices.Sorted(mapKeys(keys)) {
		if !reflect.DeepEqual(w[k], g[k]) {
			d := base
			d.Field, d.Want, d.Got = k, w[k], g[k]
			out = append(out, d)
		}
	}
	return out
}
