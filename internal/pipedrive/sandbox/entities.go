package sandbox

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// v2kind describes one v2 entity collection: its documented body
// properties, defaults, list filters and the rules a write must keep.
type v2kind struct {
	kind     string
	ent      string // the custom field entity; "" for none
	props    map[string]prop
	defaults func() map[string]any
	sortKeys []string
	filters  []string
	// check enforces the kind's rules on a write, given the entity as it
	// would be stored; it may set derived attributes. create tells POST.
	check func(s *Sandbox, c *call, e *Entity, vals map[string]any, old *Entity) *reply
	// list narrows a list by the kind's own query parameters.
	list func(s *Sandbox, c *call) ([]*Entity, *reply)
}

var personProps = map[string]prop{
	"name": {t: pString, required: true}, "owner_id": {t: pRef, ref: kUsers}, "org_id": {t: pRef, ref: kOrgs, nullable: true},
	"add_time": {t: pDateTime}, "emails": {t: pContacts}, "phones": {t: pContacts}, "visible_to": {t: pInt},
	"label_ids": {t: pIntList}, "postal_address": {t: pObject}, "notes": {t: pString}, "im": {t: pContacts},
	"birthday": {t: pDate}, "job_title": {t: pString},
	"marketing_status": {t: pString, enum: []string{"no_consent", "unsubscribed", "subscribed", "archived"}},
}

var orgProps = map[string]prop{
	"name": {t: pString, required: true}, "owner_id": {t: pRef, ref: kUsers}, "add_time": {t: pDateTime},
	"visible_to": {t: pInt}, "label_ids": {t: pIntList}, "address": {t: pObject},
	"website": {t: pString, nullable: true}, "linkedin": {t: pString, nullable: true}, "industry": {t: pInt, nullable: true},
	"annual_revenue": {t: pInt, nullable: true}, "employee_count": {t: pInt, nullable: true},
}

// Deals take no add_time in v2: it is not a documented property, so a body
// carrying one is refused.
var dealProps = map[string]prop{
	"title": {t: pString, required: true}, "owner_id": {t: pRef, ref: kUsers},
	"person_id": {t: pRef, ref: kPersons, nullable: true}, "org_id": {t: pRef, ref: kOrgs, nullable: true},
	"pipeline_id": {t: pRef, ref: kPipelines}, "stage_id": {t: pRef, ref: kStages}, "value": {t: pNumber},
	"currency": {t: pString}, "is_archived": {t: pBool}, "archive_time": {t: pDateTime},
	"status": {t: pString, enum: []string{"open", "won", "lost"}}, "probability": {t: pNumber, nullable: true},
	"lost_reason": {t: pString, nullable: true}, "visible_to": {t: pInt}, "close_time": {t: pDateTime, nullable: true},
	"won_time": {t: pDateTime}, "lost_time": {t: pDateTime}, "expected_close_date": {t: pDate, nullable: true},
	"label_ids": {t: pIntList},
}

// Activities' add time cannot be set: add_time is not a property.
var activityProps = map[string]prop{
	"subject": {t: pString}, "type": {t: pString}, "owner_id": {t: pRef, ref: kUsers},
	"deal_id": {t: pRef, ref: kDeals, nullable: true}, "lead_id": {t: pString, nullable: true},
	"person_id": {t: pRef, ref: kPersons, nullable: true}, "org_id": {t: pRef, ref: kOrgs, nullable: true},
	"project_id": {t: pInt, nullable: true}, "due_date": {t: pDate, nullable: true}, "due_time": {t: pClock, nullable: true},
	"duration": {t: pClock, nullable: true}, "busy": {t: pBool}, "done": {t: pBool}, "location": {t: pObject},
	"participants": {t: pArray}, "attendees": {t: pArray}, "public_description": {t: pString},
	"priority": {t: pInt}, "note": {t: pString},
}

var pipelineProps = map[string]prop{
	"name": {t: pString, required: true}, "is_deal_probability_enabled": {t: pBool},
}

var stageProps = map[string]prop{
	"name": {t: pString, required: true}, "pipeline_id": {t: pRef, ref: kPipelines, required: true},
	"deal_probability": {t: pInt}, "is_deal_rot_enabled": {t: pBool}, "days_to_rotten": {t: pInt, nullable: true},
}

var kinds = map[string]*v2kind{
	kPersons: {
		kind: kPersons, ent: "person", props: personProps, sortKeys: []string{"update_time", "add_time"},
		filters: []string{"owner_id", "org_id"},
		defaults: func() map[string]any {
			return map[string]any{"owner_id": int64(adminID), "emails": []any{}, "phones": []any{}, "visible_to": int64(3), "label_ids": []any{}}
		},
		check: checkPerson,
	},
	kOrgs: {
		kind: kOrgs, ent: "organization", props: orgProps, sortKeys: []string{"update_time", "add_time"},
		filters: []string{"owner_id"},
		defaults: func() map[string]any {
			return map[string]any{"owner_id": int64(adminID), "visible_to": int64(3), "label_ids": []any{}}
		},
	},
	kDeals: {
		kind: kDeals, ent: "deal", props: dealProps, sortKeys: []string{"update_time", "add_time"},
		filters: []string{"owner_id", "person_id", "org_id", "pipeline_id", "stage_id"},
		defaults: func() map[string]any {
			return map[string]any{
				"owner_id": int64(adminID), "value": float64(0), "currency": currency, "status": "open",
				"visible_to": int64(3), "label_ids": []any{}, "is_archived": false, "origin": "API",
			}
		},
		check: checkDeal, list: listDeals,
	},
	kActivities: {
		kind: kActivities, props: activityProps, sortKeys: []string{"update_time", "add_time", "due_date"},
		filters: []string{"owner_id", "deal_id", "person_id", "org_id"},
		defaults: func() map[string]any {
			return map[string]any{
				"owner_id": int64(adminID), "creator_user_id": int64(adminID), "busy": false, "done": false,
				"participants": []any{},
			}
		},
		check: checkActivity, list: listActivities,
	},
	kPipelines: {
		kind: kPipelines, props: pipelineProps, sortKeys: []string{"update_time", "add_time"},
		defaults: func() map[string]any { return map[string]any{"is_deal_probability_enabled": false} },
		check:    checkPipeline,
	},
	kStages: {
		kind: kStages, props: stageProps, sortKeys: []string{"update_time", "add_time", "order_nr"},
		filters: []string{"pipeline_id"},
		defaults: func() map[string]any {
			return map[string]any{"deal_probability": int64(100), "is_deal_rot_enabled": false}
		},
		check: checkStage,
	},
}

func (s *Sandbox) renderV2(k *v2kind, e *Entity) map[string]any {
	out := make(map[string]any, len(e.Attrs)+5)
	for key, v := range e.Attrs {
		if v != nil {
			out[key] = v
		}
	}
	out["id"] = e.ID
	out["add_time"] = e.AddTime.Format(v2Time)
	out["update_time"] = e.UpdateTime.Format(v2Time)
	out["is_deleted"] = e.Deleted
	if k.ent != "" {
		out["custom_fields"] = s.renderCustom(k.ent, e)
	}
	return out
}

// kindOf is the collection a v2 call is on: /api/v2/{kind}/….
func kindOf(c *call) *v2kind { return kinds[c.path[2]] }

// idParam reads the path's {id} at index i.
func idParam(c *call, i int) (int, bool) {
	n, err := strconv.Atoi(c.path[i])
	return n, err == nil && n > 0
}

func listV2(s *Sandbox, c *call) *reply {
	k := kindOf(c)
	var items []*Entity
	if k.list != nil {
		var rep *reply
		if items, rep = k.list(s, c); rep != nil {
			return rep
		}
	} else {
		items = s.st.sorted(k.kind, false)
	}
	items, rep := filterEq(c, items, k.filters...)
	if rep != nil {
		return rep
	}
	if items, rep = idsFilter(c, items); rep != nil {
		return rep
	}
	if items, rep = filterTimes(c, items); rep != nil {
		return rep
	}
	page, next, rep := pageV2(c, items, k.sortKeys...)
	if rep != nil {
		return rep
	}
	data := make([]any, 0, len(page))
	for _, e := range page {
		data = append(data, s.renderV2(k, e))
	}
	return okWith(data, map[string]any{"next_cursor": next})
}

func getV2(s *Sandbox, c *call) *reply {
	k := kindOf(c)
	id, valid := idParam(c, 3)
	if !valid {
		return badRequest("Parameter id must be a positive integer")
	}
	e := s.st.live(k.kind, id)
	if e == nil {
		return notFound(titleCase(singular[k.kind]))
	}
	return ok(s.renderV2(k, e))
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func createV2(s *Sandbox, c *call) *reply {
	k := kindOf(c)
	return s.writeV2(k, c, nil)
}

func updateV2(s *Sandbox, c *call) *reply {
	k := kindOf(c)
	id, valid := idParam(c, 3)
	if !valid {
		return badRequest("Parameter id must be a positive integer")
	}
	e := s.st.live(k.kind, id)
	if e == nil {
		return notFound(titleCase(singular[k.kind]))
	}
	return s.writeV2(k, c, e)
}

// writeV2 creates (old nil) or merges into old. Nothing is stored unless
// every check passes.
func (s *Sandbox) writeV2(k *v2kind, c *call, old *Entity) *reply {
	create := old == nil
	vals, rep := checkBody(s.st, c.body, k.props, create)
	if rep != nil {
		return rep
	}
	var custom map[string]any
	if raw, has := c.body["custom_fields"]; has {
		if k.ent == "" {
			return badRequest("Unknown parameter: custom_fields")
		}
		if custom, rep = checkCustom(s.st, k.ent, raw); rep != nil {
			return rep
		}
	}
	next := &Entity{AddTime: c.now, UpdateTime: c.now}
	if create {
		next.Attrs = k.defaults()
	} else {
		*next = *old
		next.Attrs = maps.Clone(old.Attrs)
		next.Custom = maps.Clone(old.Custom)
		next.UpdateTime = c.now
	}
	if v, has := vals["add_time"]; has {
		delete(vals, "add_time")
		if v != nil {
			t, _ := parseDateTime(v.(string))
			next.AddTime = t
		}
	}
	apply(next.Attrs, vals)
	applyCustom(next, custom)
	if k.check != nil {
		if rep := k.check(s, c, next, vals, old); rep != nil {
			return rep
		}
	}
	if create {
		e := s.st.add(k.kind, c.now, next.Attrs)
		e.Custom, e.AddTime = next.Custom, next.AddTime
		return ok(s.renderV2(k, e))
	}
	*old = *next
	return ok(s.renderV2(k, old))
}

func deleteV2(s *Sandbox, c *call) *reply {
	k := kindOf(c)
	id, valid := idParam(c, 3)
	if !valid {
		return badRequest("Parameter id must be a positive integer")
	}
	e := s.st.live(k.kind, id)
	if e == nil {
		return notFound(titleCase(singular[k.kind]))
	}
	now := c.now
	e.Deleted, e.DeleteTime, e.UpdateTime = true, &now, now
	if k.kind == kDeals {
		e.Attrs["status"] = "deleted"
	}
	return ok(map[string]any{"id": e.ID})
}

func checkPerson(_ *Sandbox, _ *call, e *Entity, vals map[string]any, _ *Entity) *reply {
	if name, has := vals["name"].(string); has {
		first, last, _ := strings.Cut(strings.TrimSpace(name), " ")
		e.Attrs["first_name"] = first
		if last != "" {
			e.Attrs["last_name"] = strings.TrimSpace(last)
		} else {
			delete(e.Attrs, "last_name")
		}
	}
	return nil
}

// firstStage is a pipeline's stage with the lowest order.
func (st *State) firstStage(pipelineID int) *Entity {
	var best *Entity
	for _, st := range st.sorted(kStages, false) {
		if p, _ := attrInt(st, "pipeline_id"); p != pipelineID {
			continue
		}
		if o, _ := attrInt(st, "order_nr"); best == nil || o < mustInt(best, "order_nr") {
			best = st
		}
	}
	return best
}

func mustInt(e *Entity, k string) int { n, _ := attrInt(e, k); return n }

func checkDeal(s *Sandbox, c *call, e *Entity, vals map[string]any, old *Entity) *reply {
	create := old == nil
	for _, k := range []string{"stage_id", "pipeline_id"} {
		if v, has := vals[k]; has && v == nil {
			return badRequest("Parameter %s must not be null: a deal is always in a stage of a pipeline", k)
		}
	}
	if _, has := vals["stage_id"]; has {
		stage := s.st.live(kStages, mustInt(e, "stage_id"))
		pid := mustInt(stage, "pipeline_id")
		if _, hasP := vals["pipeline_id"]; hasP && mustInt(e, "pipeline_id") != pid {
			return badRequest("Stage %d is not in pipeline %d", stage.ID, mustInt(e, "pipeline_id"))
		}
		e.Attrs["pipeline_id"] = int64(pid)
	} else if _, hasP := vals["pipeline_id"]; hasP || create {
		pid := mustInt(e, "pipeline_id")
		if !hasP {
			ps := s.st.sorted(kPipelines, false)
			if len(ps) == 0 {
				return badRequest("The company has no pipeline to put the deal in")
			}
			pid = ps[0].ID
		}
		stage := s.st.firstStage(pid)
		if stage == nil {
			return badRequest("Pipeline %d has no stages", pid)
		}
		e.Attrs["pipeline_id"], e.Attrs["stage_id"] = int64(pid), int64(stage.ID)
	}
	if !create && mustInt(e, "stage_id") != mustInt(old, "stage_id") {
		e.Attrs["stage_change_time"] = c.now.Format(v2Time)
	}
	if st, has := vals["status"].(string); has {
		now := c.now.Format(v2Time)
		setIfAbsent := func(k string) {
			if _, given := vals[k]; !given {
				e.Attrs[k] = now
			}
		}
		switch st {
		case "won":
			setIfAbsent("won_time")
			setIfAbsent("close_time")
			delete(e.Attrs, "lost_time")
		case "lost":
			setIfAbsent("lost_time")
			setIfAbsent("close_time")
			delete(e.Attrs, "won_time")
		case "open":
			delete(e.Attrs, "close_time")
			delete(e.Attrs, "won_time")
			delete(e.Attrs, "lost_time")
		}
	}
	return nil
}

func listDeals(s *Sandbox, c *call) ([]*Entity, *reply) {
	status := c.q("status")
	switch status {
	case "":
		return s.st.sorted(kDeals, false), nil
	case "deleted":
		return slices.DeleteFunc(s.st.sorted(kDeals, true), func(e *Entity) bool { return !e.Deleted }), nil
	case "open", "won", "lost":
		return slices.DeleteFunc(s.st.sorted(kDeals, false), func(e *Entity) bool { return attrString(e, "status") != status }), nil
	}
	return nil, badRequest("Parameter status must be open, won, lost or deleted")
}

func (st *State) activityType(key string) *Entity {
	for _, t := range st.sorted(kActivityTypes, false) {
		if attrString(t, "key_string") == key && t.Attrs["active_flag"] != false {
			return t
		}
	}
	return nil
}

func checkActivity(s *Sandbox, c *call, e *Entity, vals map[string]any, old *Entity) *reply {
	create := old == nil
	if create && attrString(e, "type") == "" {
		e.Attrs["type"] = "task"
	}
	t := s.st.activityType(attrString(e, "type"))
	if t == nil {
		return badRequest("Parameter type must be the key_string of an active activity type; %q is not", attrString(e, "type"))
	}
	if create && attrString(e, "subject") == "" {
		e.Attrs["subject"] = attrString(t, "name")
	}
	if parts, has := vals["participants"].([]any); has {
		for _, p := range parts {
			m := p.(map[string]any)
			pid, ok := asInt(m["person_id"])
			if !ok || s.st.live(kPersons, pid) == nil {
				return badRequest("Each participant needs the person_id of an existing person")
			}
			if m["primary"] == true {
				if _, given := vals["person_id"]; !given {
					e.Attrs["person_id"] = int64(pid)
				}
			}
		}
	}
	if done, has := vals["done"].(bool); has {
		if done {
			e.Attrs["marked_as_done_time"] = c.now.Format(v2Time)
		} else {
			delete(e.Attrs, "marked_as_done_time")
		}
	}
	return nil
}

func listActivities(s *Sandbox, c *call) ([]*Entity, *reply) {
	items := s.st.sorted(kActivities, false)
	if d := c.q("done"); d != "" {
		want, err := strconv.ParseBool(d)
		if err != nil {
			return nil, badRequest("Parameter done must be true or false")
		}
		items = slices.DeleteFunc(items, func(e *Entity) bool { return e.Attrs["done"] != want })
	}
	return items, nil
}

func checkPipeline(s *Sandbox, _ *call, e *Entity, _ map[string]any, old *Entity) *reply {
	if old == nil {
		e.Attrs["order_nr"] = int64(len(s.st.sorted(kPipelines, false)))
	}
	return nil
}

func checkStage(s *Sandbox, _ *call, e *Entity, _ map[string]any, old *Entity) *reply {
	if old == nil {
		pid := mustInt(e, "pipeline_id")
		top := 0
		for _, st := range s.st.sorted(kStages, false) {
			if mustInt(st, "pipeline_id") == pid {
				top = max(top, mustInt(st, "order_nr"))
			}
		}
		e.Attrs["order_nr"] = int64(top + 1)
	}
	return nil
}
