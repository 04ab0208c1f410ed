package sandbox

import (
	"slices"
)

// The deletes of schema items: custom fields, pipelines, stages and
// activity types. The documents say each "marks ... as deleted": like
// every other delete here they are soft, the item kept (Pipedrive keeps
// deleted items for 30 days), no longer listed, fetched or usable, and a
// second delete of it answers 404.

// addDeleteRoutes registers them; routes.go's init calls it.
func addDeleteRoutes() {
	for coll := range fieldEntity {
		routes["DELETE /api/v2/"+coll+"/{field_code}"] = deleteField
	}
	routes["DELETE /api/v2/"+kPipelines+"/{id}"] = deleteV2
	routes["DELETE /api/v2/"+kStages+"/{id}"] = deleteV2
	routes["DELETE /v1/"+kActivityTypes+"/{id}"] = deleteActivityType
}

// deleteField marks a custom field deleted. State.Fields holds the live
// definitions, the ones listed, counted against the plan's cap and taken
// in custom_fields, and Field has no deleted mark; so a deleted field moves
// to Items under its collection's name ("dealFields"), as an Entity marked
// deleted like any other. Records keep their values for it, no longer
// rendered. A built-in field cannot be deleted (400).
func deleteField(s *Sandbox, c *call) *reply {
	coll := c.path[2]
	ent := fieldEntity[coll].ent
	code := c.path[3]
	i := slices.IndexFunc(s.st.Fields[ent], func(f *Field) bool { return f.Key == code })
	if i < 0 {
		if slices.ContainsFunc(systemFields[ent], func(f systemField) bool { return f.code == code }) {
			return badRequest("Field %s is a built-in field; only custom fields can be deleted", code)
		}
		return notFound("Field")
	}
	f := s.st.Fields[ent][i]
	s.st.Fields[ent] = slices.Delete(s.st.Fields[ent], i, i+1)

	attrs := map[string]any{}
	for k, v := range renderField(f) {
		if v != nil {
			attrs[k] = v
		}
	}
	now := c.now
	if s.st.Items[coll] == nil {
		s.st.Items[coll] = map[int]*Entity{}
	}
	s.st.Items[coll][f.ID] = &Entity{ID: f.ID, Attrs: attrs, AddTime: f.AddTime, UpdateTime: now, Deleted: true, DeleteTime: &now}
	delete(s.st.byID, coll) // an entity of that id may have been there: sorted reads the map again
	return ok(renderField(f))
}

// deleteActivityType marks an activity type deleted and inactive.
func deleteActivityType(s *Sandbox, c *call) *reply {
	id, valid := idParam(c, 2)
	if !valid {
		return badRequest("Parameter id must be a positive integer")
	}
	t := s.st.live(kActivityTypes, id)
	if t == nil {
		return notFound("Activity type")
	}
	now := c.now
	t.Deleted, t.DeleteTime, t.UpdateTime = true, &now, now
	t.Attrs["active_flag"] = false
	return ok(renderActivityType(t))
}
