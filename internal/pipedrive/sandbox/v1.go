package sandbox

import (
	"encoding/base64"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The v1 operations Conveyor needs: notes, files, deal participants, users
// and activity types. v1 times are "2019-02-04 13:58:03" in UTC.

func v1time(t time.Time) string { return t.UTC().Format(v1Time) }

var noteProps = map[string]prop{
	"content": {t: pString, required: true}, "lead_id": {t: pString}, "deal_id": {t: pRef, ref: kDeals},
	"person_id": {t: pRef, ref: kPersons}, "org_id": {t: pRef, ref: kOrgs}, "project_id": {t: pInt},
	"task_id": {t: pInt}, "user_id": {t: pRef, ref: kUsers}, "add_time": {t: pDateTime},
	"pinned_to_lead_flag": {t: pInt}, "pinned_to_deal_flag": {t: pInt}, "pinned_to_organization_flag": {t: pInt},
	"pinned_to_person_flag": {t: pInt}, "pinned_to_project_flag": {t: pInt}, "pinned_to_task_flag": {t: pInt},
}

var pinFlags = []string{"pinned_to_deal_flag", "pinned_to_organization_flag", "pinned_to_person_flag", "pinned_to_project_flag", "pinned_to_task_flag"}

func (s *Sandbox) renderNote(n *Entity) map[string]any {
	out := map[string]any{
		"id": n.ID, "active_flag": !n.Deleted, "add_time": v1time(n.AddTime), "update_time": v1time(n.UpdateTime),
		"content": attrString(n, "content"),
	}
	for _, f := range pinFlags {
		out[f] = n.Attrs[f] == true
	}
	uid := mustInt(n, "user_id")
	out["user_id"], out["last_update_user_id"] = uid, uid
	if u := s.st.Items[kUsers][uid]; u != nil {
		out["user"] = map[string]any{"email": attrString(u, "email"), "name": attrString(u, "name"), "is_you": uid == adminID, "icon_url": ""}
	}
	for _, rel := range []struct{ attr, kind, obj, name string }{
		{"deal_id", kDeals, "deal", "title"}, {"person_id", kPersons, "person", "name"}, {"org_id", kOrgs, "organization", "name"},
	} {
		if id, has := attrInt(n, rel.attr); has {
			out[rel.attr] = id
			if e := s.st.Items[rel.kind][id]; e != nil {
				out[rel.obj] = map[string]any{rel.name: attrString(e, rel.name)}
			}
		}
	}
	for _, k := range []string{"lead_id", "project_id", "task_id"} {
		if v, has := n.Attrs[k]; has {
			out[k] = v
		}
	}
	return out
}

func addNote(s *Sandbox, c *call) *reply {
	vals, rep := checkBody(s.st, c.body, noteProps, true)
	if rep != nil {
		return rep
	}
	if vals["deal_id"] == nil && vals["person_id"] == nil && vals["org_id"] == nil && vals["lead_id"] == nil && vals["project_id"] == nil {
		return badRequest("A note needs one of deal_id, person_id, org_id, lead_id or project_id")
	}
	attrs := map[string]any{"user_id": int64(adminID)}
	addTime := c.now
	for k, v := range vals {
		switch {
		case v == nil:
		case k == "add_time":
			addTime, _ = parseDateTime(v.(string))
		case strings.HasPrefix(k, "pinned_to_"):
			n := v.(int64)
			if n != 0 && n != 1 {
				return badRequest("Parameter %s must be 0 or 1", k)
			}
			attrs[k] = n == 1
		default:
			attrs[k] = v
		}
	}
	n := s.st.add(kNotes, c.now, attrs)
	n.AddTime = addTime
	return ok(s.renderNote(n))
}

// v1Sort orders a v1 list by "field ASC|DESC" (id, add_time or update_time).
func v1Sort(c *call, items []*Entity) *reply {
	spec := strings.Fields(c.q("sort"))
	if len(spec) == 0 {
		return nil
	}
	field := spec[0]
	desc := len(spec) > 1 && strings.EqualFold(spec[1], "DESC")
	if field != "id" && field != "add_time" && field != "update_time" {
		return badRequest("Parameter sort must be id, add_time or update_time, then ASC or DESC")
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		va, vb := sortValue(a, field), sortValue(b, field)
		if field == "id" {
			va, vb = fmt.Sprintf("%020d", a.ID), fmt.Sprintf("%020d", b.ID)
		}
		if va == vb {
			return (a.ID < b.ID) != desc
		}
		return (va < vb) != desc
	})
	return nil
}

func listNotes(s *Sandbox, c *call) *reply {
	items, rep := filterEq(c, s.st.sorted(kNotes, false), "deal_id", "person_id", "org_id", "user_id")
	if rep != nil {
		return rep
	}
	if v := c.q("updated_since"); v != "" {
		t, ok := parseDateTime(v)
		if !ok {
			return badRequest("Parameter updated_since must be a date and time")
		}
		items = slices.DeleteFunc(items, func(e *Entity) bool { return e.UpdateTime.Before(t) })
	}
	if rep := v1Sort(c, items); rep != nil {
		return rep
	}
	page, pg, rep := pageV1(c, items, maxLimit)
	if rep != nil {
		return rep
	}
	data := make([]any, 0, len(page))
	for _, n := range page {
		data = append(data, s.renderNote(n))
	}
	return okWith(data, map[string]any{"pagination": pg})
}

func getNote(s *Sandbox, c *call) *reply {
	id, _ := idParam(c, 2)
	n := s.st.Items[kNotes][id]
	if n == nil {
		return notFound("Note")
	}
	return ok(s.renderNote(n))
}

// updateNote changes a live note's content, links, author or add_time;
// the parameters left out keep their values.
func updateNote(s *Sandbox, c *call) *reply {
	id, _ := idParam(c, 2)
	n := s.st.live(kNotes, id)
	if n == nil {
		return notFound("Note")
	}
	vals, rep := checkBody(s.st, c.body, noteProps, false)
	if rep != nil {
		return rep
	}
	if v, has := vals["content"]; has && strings.TrimSpace(fmt.Sprint(v)) == "" {
		return badRequest("Parameter content must not be empty")
	}
	// Every check before the first change: a refused update leaves the note as it was.
	for k, v := range vals {
		if x, isInt := v.(int64); isInt && strings.HasPrefix(k, "pinned_to_") && x != 0 && x != 1 {
			return badRequest("Parameter %s must be 0 or 1", k)
		}
	}
	for k, v := range vals {
		switch {
		case v == nil:
			delete(n.Attrs, k)
		case k == "add_time":
			t, _ := parseDateTime(v.(string))
			n.AddTime = t
		case strings.HasPrefix(k, "pinned_to_"):
			n.Attrs[k] = v.(int64) == 1
		default:
			n.Attrs[k] = v
		}
	}
	n.UpdateTime = c.now
	return ok(s.renderNote(n))
}

func deleteNote(s *Sandbox, c *call) *reply {
	id, _ := idParam(c, 2)
	n := s.st.live(kNotes, id)
	if n == nil {
		return notFound("Note")
	}
	now := c.now
	n.Deleted, n.DeleteTime, n.UpdateTime = true, &now, now
	return ok(true)
}

var fileLinks = []struct{ attr, kind, name, title string }{
	{"deal_id", kDeals, "deal_name", "title"}, {"person_id", kPersons, "person_name", "name"},
	{"org_id", kOrgs, "org_name", "name"}, {"activity_id", kActivities, "", "subject"},
}

func (s *Sandbox) renderFile(f *Entity) map[string]any {
	name := attrString(f, "file_name")
	out := map[string]any{
		"id": f.ID, "user_id": mustInt(f, "user_id"), "add_time": v1time(f.AddTime), "update_time": v1time(f.UpdateTime),
		"file_name": name, "name": name, "file_type": attrString(f, "file_type"), "file_size": mustInt(f, "file_size"),
		"active_flag": !f.Deleted, "inline_flag": false, "remote_location": "s3",
		"remote_id": fmt.Sprintf("sandbox/%d", f.ID), "url": fmt.Sprintf("https://sandbox.invalid/v1/files/%d/download", f.ID),
	}
	for _, l := range fileLinks {
		if id, has := attrInt(f, l.attr); has {
			out[l.attr] = id
			if e := s.st.Items[l.kind][id]; e != nil && l.name != "" {
				out[l.name] = attrString(e, l.title)
			}
		}
	}
	return out
}

func addFile(s *Sandbox, c *call) *reply {
	up := c.file
	if up == nil {
		return badRequest("Upload the file as multipart/form-data with a part named \"file\"")
	}
	attrs := map[string]any{
		"user_id": int64(adminID), "file_name": path.Base(up.name), "file_size": up.size, "sha256": up.sha256,
		"head":      base64.StdEncoding.EncodeToString(up.head),
		"file_type": strings.TrimPrefix(strings.ToLower(path.Ext(up.name)), "."),
	}
	if up.name == "" {
		return badRequest("The file part needs a file name")
	}
	linked := false
	for k, v := range up.fields {
		l := slices.IndexFunc(fileLinks, func(l struct{ attr, kind, name, title string }) bool { return l.attr == k })
		if l < 0 {
			if k == "product_id" || k == "lead_id" || k == "project_id" {
				attrs[k] = v
				linked = true
				continue
			}
			return badRequest("Unknown parameter: %s", k)
		}
		id, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return badRequest("Parameter %s must be an integer", k)
		}
		if s.st.live(fileLinks[l].kind, id) == nil {
			return badRequest("Parameter %s refers to %s %d, which does not exist", k, singular[fileLinks[l].kind], id)
		}
		attrs[k] = int64(id)
		linked = true
	}
	if !linked {
		return badRequest("A file needs one of deal_id, person_id, org_id, activity_id, product_id, lead_id or project_id")
	}
	f := s.st.add(kFiles, c.now, attrs)
	return ok(s.renderFile(f))
}

func listFiles(s *Sandbox, c *call) *reply {
	items := s.st.sorted(kFiles, false)
	if rep := v1Sort(c, items); rep != nil {
		return rep
	}
	page, pg, rep := pageV1(c, items, 100)
	if rep != nil {
		return rep
	}
	data := make([]any, 0, len(page))
	for _, f := range page {
		data = append(data, s.renderFile(f))
	}
	return okWith(data, map[string]any{"pagination": pg})
}

// getFile answers a file, a deleted one too (with active_flag false), as
// GET /v1/files/{id} (GetFileResponse) does.
func getFile(s *Sandbox, c *call) *reply {
	id, _ := idParam(c, 2)
	f := s.st.Items[kFiles][id]
	if f == nil {
		return notFound("File")
	}
	return ok(s.renderFile(f))
}

func deleteFile(s *Sandbox, c *call) *reply {
	id, _ := idParam(c, 2)
	f := s.st.live(kFiles, id)
	if f == nil {
		return notFound("File")
	}
	now := c.now
	f.Deleted, f.DeleteTime, f.UpdateTime = true, &now, now
	return ok(map[string]any{"id": f.ID})
}

func (s *Sandbox) renderParticipant(p *Entity) map[string]any {
	dealID, personID := mustInt(p, "deal_id"), mustInt(p, "person_id")
	out := map[string]any{
		"id": p.ID, "add_time": v1time(p.AddTime), "active_flag": !p.Deleted,
		"related_item_type": "deal", "related_item_id": dealID,
	}
	if d := s.st.Items[kDeals][dealID]; d != nil {
		out["related_item_data"] = map[string]any{"deal_id": dealID, "title": attrString(d, "title")}
	}
	if per := s.st.Items[kPersons][personID]; per != nil {
		emails, phones := per.Attrs["emails"], per.Attrs["phones"]
		if emails == nil {
			emails = []any{}
		}
		if phones == nil {
			phones = []any{}
		}
		name := attrString(per, "name")
		out["person_id"] = map[string]any{
			"active_flag": !per.Deleted, "name": name, "email": emails, "phone": phones,
			"owner_id": mustInt(per, "owner_id"), "value": personID,
		}
		first := ""
		if r, _ := utf8.DecodeRuneInString(name); name != "" {
			first = strings.ToLower(string(r)) // the first letter, not its first byte
		}
		person := map[string]any{
			"id": personID, "company_id": 1, "active_flag": !per.Deleted, "name": name, "email": emails, "phone": phones,
			"first_char": first, "add_time": v1time(per.AddTime), "update_time": v1time(per.UpdateTime),
			"visible_to": strconv.Itoa(mustInt(per, "visible_to")), "label_ids": per.Attrs["label_ids"],
			"owner_name": attrString(s.st.Items[kUsers][mustInt(per, "owner_id")], "name"),
		}
		if person["label_ids"] == nil {
			person["label_ids"] = []any{}
		}
		out["person"] = person
	}
	return out
}

func participantDeal(s *Sandbox, c *call) (*Entity, *reply) {
	id, valid := idParam(c, 2)
	if !valid {
		return nil, badRequest("Parameter id must be a positive integer")
	}
	d := s.st.live(kDeals, id)
	if d == nil {
		return nil, notFound("Deal")
	}
	return d, nil
}

func (s *Sandbox) participants(dealID int) []*Entity {
	return slices.DeleteFunc(s.st.sorted(kParticipants, false), func(p *Entity) bool { return mustInt(p, "deal_id") != dealID })
}

func listParticipants(s *Sandbox, c *call) *reply {
	d, rep := participantDeal(s, c)
	if rep != nil {
		return rep
	}
	page, pg, rep := pageV1(c, s.participants(d.ID), maxLimit)
	if rep != nil {
		return rep
	}
	data := make([]any, 0, len(page))
	for _, p := range page {
		data = append(data, s.renderParticipant(p))
	}
	// The document puts start, limit and more_items_in_collection directly
	// in additional_data; Pipedrive's other v1 lists nest them in pagination.
	// Both are sent.
	add := map[string]any{"pagination": pg}
	for k, v := range pg {
		if k != "next_start" {
			add[k] = v
		}
	}
	return okWith(data, add)
}

func addParticipant(s *Sandbox, c *call) *reply {
	d, rep := participantDeal(s, c)
	if rep != nil {
		return rep
	}
	vals, rep := checkBody(s.st, c.body, map[string]prop{"person_id": {t: pRef, ref: kPersons, required: true}}, true)
	if rep != nil {
		return rep
	}
	pid := int(vals["person_id"].(int64))
	for _, p := range s.participants(d.ID) {
		if mustInt(p, "person_id") == pid {
			return badRequest("Person %d is already a participant of deal %d", pid, d.ID)
		}
	}
	p := s.st.add(kParticipants, c.now, map[string]any{"deal_id": int64(d.ID), "person_id": int64(pid), "added_by_user_id": int64(adminID)})
	return ok(s.renderParticipant(p))
}

func deleteParticipant(s *Sandbox, c *call) *reply {
	d, rep := participantDeal(s, c)
	if rep != nil {
		return rep
	}
	id, _ := idParam(c, 4)
	p := s.st.live(kParticipants, id)
	if p == nil || mustInt(p, "deal_id") != d.ID {
		return notFound("Participant")
	}
	now := c.now
	p.Deleted, p.DeleteTime, p.UpdateTime = true, &now, now
	return ok(map[string]any{"id": p.ID})
}

func (s *Sandbox) renderUser(u *Entity) map[string]any {
	out := map[string]any{
		"id": u.ID, "created": v1time(u.AddTime), "modified": v1time(u.UpdateTime), "last_login": v1time(u.AddTime),
		"is_you": u.ID == adminID, "is_deleted": u.Deleted,
	}
	for k, v := range u.Attrs {
		if k != "is_admin" && v != nil {
			out[k] = v
		}
	}
	return out
}

func listUsers(s *Sandbox, _ *call) *reply {
	var data []any
	for _, u := range s.st.sorted(kUsers, false) {
		data = append(data, s.renderUser(u))
	}
	return ok(nonNil(data))
}

func currentUser(s *Sandbox, _ *call) *reply {
	u := s.st.Items[kUsers][adminID]
	out := s.renderUser(u)
	out["company_id"], out["company_name"], out["company_domain"], out["company_country"] = 1, "Sandbox Company", "sandbox", "GB"
	out["language"] = map[string]any{"language_code": "en", "country_code": "GB"}
	return ok(out)
}

var accessApps = []string{"global", "sales", "campaigns", "projects", "account_settings", "partnership", "nova"}

func addUser(s *Sandbox, c *call) *reply {
	vals, rep := checkBody(s.st, c.body, map[string]prop{
		"email": {t: pString, required: true}, "access": {t: pArray}, "active_flag": {t: pBool},
	}, true)
	if rep != nil {
		return rep
	}
	email := strings.TrimSpace(vals["email"].(string))
	if !emailRE.MatchString(email) {
		return badRequest("Parameter email must be an email address")
	}
	for _, u := range s.st.sorted(kUsers, true) {
		if strings.EqualFold(attrString(u, "email"), email) {
			return badRequest("A user with this email already exists")
		}
	}
	access := []any{map[string]any{"app": "sales", "admin": false}}
	if a, has := vals["access"].([]any); has {
		for _, x := range a {
			if app, _ := x.(map[string]any)["app"].(string); !slices.Contains(accessApps, app) {
				return badRequest("Each access item needs an app among %s", strings.Join(accessApps, ", "))
			}
		}
		access = a
	}
	active := true
	if b, has := vals["active_flag"].(bool); has {
		active = b
	}
	u := s.st.add(kUsers, c.now, map[string]any{
		"name": email, "email": email, "active_flag": active, "activated": false, "default_currency": currency,
		"locale": "en_GB", "lang": int64(1), "timezone_name": "Europe/London", "timezone_offset": "+00:00",
		"role_id": int64(1), "has_created_company": false, "access": access,
	})
	return ok(s.renderUser(u))
}

var iconKeys = []string{
	"task", "email", "meeting", "deadline", "call", "lunch", "calendar", "downarrow", "document", "smartphone",
	"camera", "scissors", "cogs", "bubble", "uparrow", "checkbox", "signpost", "shuffle", "addressbook",
	"linegraph", "picture", "car", "world", "search", "clip", "sound", "brush", "key", "padlock", "pricetag",
	"suitcase", "finish", "plane", "loop", "wifi", "truck", "cart", "bulb", "bell", "presentation",
}

func renderActivityType(t *Entity) map[string]any {
	out := map[string]any{
		"id": t.ID, "add_time": v1time(t.AddTime), "update_time": v1time(t.UpdateTime),
	}
	for k, v := range t.Attrs {
		out[k] = v
	}
	return out
}

func listActivityTypes(s *Sandbox, _ *call) *reply {
	var data []any
	for _, t := range s.st.sorted(kActivityTypes, false) {
		data = append(data, renderActivityType(t))
	}
	return ok(nonNil(data))
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func addActivityType(s *Sandbox, c *call) *reply {
	vals, rep := checkBody(s.st, c.body, map[string]prop{
		"name": {t: pString, required: true}, "icon_key": {t: pString, required: true, enum: iconKeys}, "color": {t: pString},
	}, true)
	if rep != nil {
		return rep
	}
	name := vals["name"].(string)
	base := strings.Trim(nonWord.ReplaceAllString(strings.ToLower(name), "_"), "_")
	if base == "" {
		base = "type"
	}
	key := base
	for i := 2; s.st.activityType(key) != nil; i++ {
		key = fmt.Sprintf("%s_%d", base, i)
	}
	top := 0
	for _, t := range s.st.sorted(kActivityTypes, false) {
		top = max(top, mustInt(t, "order_nr"))
	}
	color, _ := vals["color"].(string)
	t := s.st.add(kActivityTypes, c.now, map[string]any{
		"name": name, "key_string": key, "icon_key": vals["icon_key"], "color": color, "order_nr": int64(top + 1),
		"active_flag": true, "is_custom_flag": true,
	})
	return ok(renderActivityType(t))
}
