package pipedrive

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

const ppKey = "8f1e6c2d9a0b4e7f1c3d5a6b7e8f9a0b1c2d3e4f" // a custom field key, as the company made it

const personJSON = `{"id":7,"name":"Jane Doe","first_name":"Jane","last_name":"Doe","owner_id":1,"org_id":3,
 "add_time":"2021-01-01T00:00:00Z","update_time":"2021-01-02T00:00:00Z",
 "emails":[{"value":"jane@example.com","primary":true,"label":"work"}],"phones":[{"value":"+44 20 7946 0000","primary":true,"label":"work"}],
 "is_deleted":false,"visible_to":3,"label_ids":[],"custom_fields":{"` + ppKey + `":"PP-1001"}}`

const orgJSON = `{"id":3,"name":"Acme Estates","owner_id":1,"add_time":"2021-01-01T00:00:00Z","update_time":"2021-01-01T00:00:00Z",
 "is_deleted":false,"visible_to":3,"label_ids":[],"custom_fields":{"` + ppKey + `":"PP-C-9"}}`

const dealJSON = `{"id":11,"title":"12 High St purchase","owner_id":1,"person_id":7,"org_id":3,"pipeline_id":1,"stage_id":2,
 "value":250000,"currency":"GBP","add_time":"2021-01-01T00:00:00Z","update_time":"2021-01-01T00:00:00Z",
 "stage_change_time":"2021-01-01T00:00:00Z","is_deleted":false,"status":"open","visible_to":3,"label_ids":[],
 "custom_fields":{"` + ppKey + `":"M-42"}}`

const activityJSON = `{"id":21,"subject":"Call client","type":"call","owner_id":1,"deal_id":11,"person_id":7,"org_id":3,
 "due_date":"2021-01-01","due_time":"15:00:00","duration":"01:00:00","busy":false,"done":true,
 "add_time":"2021-01-01T00:00:00Z","update_time":"2021-01-01T00:00:00Z","is_deleted":false,
 "participants":[{"person_id":7,"primary":true}],"note":"Spoke about searches"}`

const pipelineJSON = `{"id":1,"name":"Conveyancing","order_nr":1,"is_deleted":false,"is_deal_probability_enabled":false,
 "add_time":"2021-01-01T00:00:00Z","update_time":"2021-01-01T00:00:00Z"}`

const stageJSON = `{"id":2,"order_nr":1,"name":"Searches","is_deleted":false,"deal_probability":100,"pipeline_id":1,
 "is_deal_rot_enabled":false,"days_to_rotten":null,"add_time":"2021-01-01T00:00:00Z","update_time":"2021-01-01T00:00:00Z"}`

const fieldJSON = `{"field_name":"Matter type","field_code":"` + ppKey + `","description":"","field_type":"enum",
 "options":[{"id":31,"label":"Purchase","color":null},{"id":32,"label":"Sale","color":null}],"subfields":null,
 "is_custom_field":true,"is_optional_response_field":false}`

const userJSON = `{"id":1,"name":"Ada Admin","default_currency":"GBP","locale":"en_GB","lang":1,"email":"ada@example.com",
 "phone":null,"activated":true,"last_login":"2021-01-01 00:00:00","created":"2020-01-01 00:00:00","modified":null,
 "has_created_company":true,"access":[{"app":"sales","admin":true,"permission_set_id":"abc"}],"active_flag":true,
 "timezone_name":"Europe/London","timezone_offset":"+00:00","role_id":1,"icon_url":null,"is_you":true,"is_deleted":false}`

const activityTypeJSON = `{"id":5,"name":"Completion","icon_key":"finish","color":"FFD700","order_nr":9,"key_string":"completion",
 "active_flag":true,"is_custom_flag":true,"add_time":"2021-01-01 00:00:00","update_time":"2021-01-01 00:00:00"}`

const noteJSON = `{"id":41,"active_flag":true,"add_time":"2019-12-09 13:59:21","content":"<p>Exchanged</p>","deal_id":11,
 "person_id":7,"org_id":3,"update_time":"2019-12-09 13:59:21","user_id":1}`

const fileJSON = `{"id":51,"user_id":1,"deal_id":11,"add_time":"2020-02-20 14:36:35","update_time":"2020-02-20 14:36:31",
 "file_name":"contract_51.pdf","file_type":"pdf","file_size":11,"active_flag":true,"inline_flag":false,"name":"contract.pdf"}`

const participantJSON = `{"id":61,"person_id":{"active_flag":true,"name":"Jane Doe","value":7},"add_time":"2020-07-07 10:29:47",
 "active_flag":true,"related_item_data":{"deal_id":11,"title":"12 High St purchase"},"person":{"id":7,"active_flag":true},
 "related_item_type":"deal","related_item_id":11}`

func ok(data string) string { return `{"success":true,"data":` + data + `}` }
func okList2(items string) string {
	return `{"success":true,"data":[` + items + `],"additional_data":{"next_cursor":null}}`
}
func okList1(items string) string {
	return `{"success":true,"data":[` + items + `],"additional_data":{"pagination":{"start":0,"limit":500,"more_items_in_collection":false}}}`
}

func wantPerson() Person {
	return Person{ID: 7, Name: "Jane Doe", FirstName: "Jane", LastName: "Doe", OwnerID: 1, OrgID: 3,
		AddTime: Time{time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)}, UpdateTime: Time{time.Date(2021, 1, 2, 0, 0, 0, 0, time.UTC)},
		Emails:    []ContactValue{{Value: "jane@example.com", Primary: true, Label: "work"}},
		Phones:    []ContactValue{{Value: "+44 20 7946 0000", Primary: true, Label: "work"}},
		VisibleTo: 3, LabelIDs: []int{}, CustomFields: map[string]any{ppKey: "PP-1001"}}
}

// TestTypedCalls runs every typed call against a fake that checks the
// request's method, path, query, headers and body and answers as
// Pipedrive's documents show.
func TestTypedCalls(t *testing.T) {
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name      string
		call      func(ctx context.Context, c *Client) (any, error)
		method    string
		path      string
		query     map[string]string // subset that must be present
		body      string            // JSON the request must carry ("" for none)
		multipart bool
		reply     string
		want      any
	}{
		{
			name: "CreatePerson",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreatePerson(ctx, PersonInput{Name: "Jane Doe", OrgID: 3, AddTime: At(created),
					Emails:       []ContactValue{{Value: "jane@example.com", Primary: true, Label: "work"}},
					CustomFields: map[string]any{ppKey: "PP-1001"}})
			},
			method: "POST", path: "/api/v2/persons",
			body:  `{"name":"Jane Doe","org_id":3,"add_time":"2024-05-06T07:08:09Z","emails":[{"value":"jane@example.com","primary":true,"label":"work"}],"custom_fields":{"` + ppKey + `":"PP-1001"}}`,
			reply: ok(personJSON), want: wantPerson(),
		},
		{
			name: "UpdatePerson",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdatePerson(ctx, 7, PersonInput{JobTitle: "Buyer", CustomFields: map[string]any{ppKey: nil}})
			},
			method: "PATCH", path: "/api/v2/persons/7",
			body:  `{"job_title":"Buyer","custom_fields":{"` + ppKey + `":null}}`,
			reply: ok(personJSON), want: wantPerson(),
		},
		{
			name:   "GetPerson",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.GetPerson(ctx, 7) },
			method: "GET", path: "/api/v2/persons/7", reply: ok(personJSON), want: wantPerson(),
		},
		{
			name:   "DeletePerson",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.DeletePerson(ctx, 7) },
			method: "DELETE", path: "/api/v2/persons/7", reply: ok(`{"id":7}`),
		},
		{
			name: "ListPersons",
			call: func(ctx context.Context, c *Client) (any, error) {
				return collect(func(fn func(Person) error) error { return c.ListPersons(ctx, ListOptions{}, fn) })
			},
			method: "GET", path: "/api/v2/persons", query: map[string]string{"limit": "500"},
			reply: okList2(personJSON), want: []Person{wantPerson()},
		},
		{
			name: "SearchPersonsByEmail",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SearchPersonsByEmail(ctx, " jane@example.com ")
			},
			method: "GET", path: "/api/v2/persons/search",
			query: map[string]string{"term": "jane@example.com", "fields": "email", "exact_match": "true"},
			reply: `{"success":true,"data":{"items":[{"result_score":1,"item":{"id":7,"type":"person","name":"Jane Doe","phones":["+44 20 7946 0000"],"emails":["jane@example.com"],"visible_to":3,"owner":{"id":1},"organization":{"id":3,"name":"Acme Estates"},"custom_fields":[],"notes":[]}}]},"additional_data":{"next_cursor":null}}`,
			want: []Person{{ID: 7, Name: "Jane Doe", OwnerID: 1, OrgID: 3, VisibleTo: 3,
				Emails: []ContactValue{{Value: "jane@example.com"}}, Phones: []ContactValue{{Value: "+44 20 7946 0000"}}}},
		},
		{
			name: "CreateOrganization",
			call: func(ctx context.Context, c *Client) (any, error) {
				o, err := c.CreateOrganization(ctx, OrganizationInput{Name: "Acme Estates", CustomFields: map[string]any{ppKey: "PP-C-9"}})
				return o.ID, err
			},
			method: "POST", path: "/api/v2/organizations",
			body: `{"name":"Acme Estates","custom_fields":{"` + ppKey + `":"PP-C-9"}}`, reply: ok(orgJSON), want: 3,
		},
		{
			name: "UpdateOrganization",
			call: func(ctx context.Context, c *Client) (any, error) {
				o, err := c.UpdateOrganization(ctx, 3, OrganizationInput{Website: "https://acme.example"})
				return o.Name, err
			},
			method: "PATCH", path: "/api/v2/organizations/3", body: `{"website":"https://acme.example"}`,
			reply: ok(orgJSON), want: "Acme Estates",
		},
		{
			name: "GetOrganization",
			call: func(ctx context.Context, c *Client) (any, error) {
				o, err := c.GetOrganization(ctx, 3)
				return o.CustomFields[ppKey], err
			},
			method: "GET", path: "/api/v2/organizations/3", reply: ok(orgJSON), want: "PP-C-9",
		},
		{
			name:   "DeleteOrganization",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteOrganization(ctx, 3) },
			method: "DELETE", path: "/api/v2/organizations/3", reply: ok(`{"id":3}`),
		},
		{
			name: "ListOrganizations",
			call: func(ctx context.Context, c *Client) (any, error) {
				var ids []int
				err := c.ListOrganizations(ctx, ListOptions{Limit: 50}, func(o Organization) error { ids = append(ids, o.ID); return nil })
				return ids, err
			},
			method: "GET", path: "/api/v2/organizations", query: map[string]string{"limit": "50"},
			reply: okList2(orgJSON), want: []int{3},
		},
		{
			name: "CreateDeal",
			call: func(ctx context.Context, c *Client) (any, error) {
				v := 250000.0
				d, err := c.CreateDeal(ctx, DealInput{Title: "12 High St purchase", PersonID: 7, OrgID: 3, PipelineID: 1, StageID: 2,
					Value: &v, Currency: "GBP", CustomFields: map[string]any{ppKey: "M-42"}})
				return d.StageID, err
			},
			method: "POST", path: "/api/v2/deals",
			body:  `{"title":"12 High St purchase","person_id":7,"org_id":3,"pipeline_id":1,"stage_id":2,"value":250000,"currency":"GBP","custom_fields":{"` + ppKey + `":"M-42"}}`,
			reply: ok(dealJSON), want: 2,
		},
		{
			name: "UpdateDeal",
			call: func(ctx context.Context, c *Client) (any, error) {
				d, err := c.UpdateDeal(ctx, 11, DealInput{StageID: 2, Status: "won", WonTime: At(created)})
				return d.Value, err
			},
			method: "PATCH", path: "/api/v2/deals/11", body: `{"stage_id":2,"status":"won","won_time":"2024-05-06T07:08:09Z"}`,
			reply: ok(dealJSON), want: 250000.0,
		},
		{
			name: "GetDeal",
			call: func(ctx context.Context, c *Client) (any, error) {
				d, err := c.GetDeal(ctx, 11)
				return d.Title, err
			},
			method: "GET", path: "/api/v2/deals/11", reply: ok(dealJSON), want: "12 High St purchase",
		},
		{
			name:   "DeleteDeal",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteDeal(ctx, 11) },
			method: "DELETE", path: "/api/v2/deals/11", reply: ok(`{"id":11}`),
		},
		{
			name: "ListDeals by pipeline and stage",
			call: func(ctx context.Context, c *Client) (any, error) {
				var ids []int
				err := c.ListDeals(ctx, DealListOptions{PipelineID: 1, StageID: 2}, func(d Deal) error { ids = append(ids, d.ID); return nil })
				return ids, err
			},
			method: "GET", path: "/api/v2/deals", query: map[string]string{"pipeline_id": "1", "stage_id": "2", "limit": "500"},
			reply: okList2(dealJSON), want: []int{11},
		},
		{
			name: "CreateActivity",
			call: func(ctx context.Context, c *Client) (any, error) {
				done := true
				a, err := c.CreateActivity(ctx, ActivityInput{Subject: "Call client", Type: "call", DealID: 11, PersonID: 7,
					DueDate: "2021-01-01", DueTime: "15:00", Duration: "01:00", Done: &done, Note: "Spoke about searches"})
				return a.ID, err
			},
			method: "POST", path: "/api/v2/activities",
			body:  `{"subject":"Call client","type":"call","deal_id":11,"person_id":7,"due_date":"2021-01-01","due_time":"15:00","duration":"01:00","done":true,"note":"Spoke about searches"}`,
			reply: ok(activityJSON), want: 21,
		},
		{
			name: "UpdateActivity",
			call: func(ctx context.Context, c *Client) (any, error) {
				a, err := c.UpdateActivity(ctx, 21, ActivityInput{Subject: "Call back"})
				return a.Done, err
			},
			method: "PATCH", path: "/api/v2/activities/21", body: `{"subject":"Call back"}`, reply: ok(activityJSON), want: true,
		},
		{
			name: "GetActivity",
			call: func(ctx context.Context, c *Client) (any, error) {
				a, err := c.GetActivity(ctx, 21)
				return a.Participants, err
			},
			method: "GET", path: "/api/v2/activities/21", reply: ok(activityJSON),
			want: []ActivityParticipant{{PersonID: 7, Primary: true}},
		},
		{
			name:   "DeleteActivity",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteActivity(ctx, 21) },
			method: "DELETE", path: "/api/v2/activities/21", reply: ok(`{"id":21}`),
		},
		{
			name: "ListActivities by deal",
			call: func(ctx context.Context, c *Client) (any, error) {
				var ids []int
				err := c.ListActivities(ctx, ActivityListOptions{DealID: 11}, func(a Activity) error { ids = append(ids, a.ID); return nil })
				return ids, err
			},
			method: "GET", path: "/api/v2/activities", query: map[string]string{"deal_id": "11"},
			reply: okList2(activityJSON), want: []int{21},
		},
		{
			name: "ListPipelines",
			call: func(ctx context.Context, c *Client) (any, error) {
				p, err := c.ListPipelines(ctx)
				return len(p), err
			},
			method: "GET", path: "/api/v2/pipelines", reply: okList2(pipelineJSON), want: 1,
		},
		{
			name: "CreatePipeline",
			call: func(ctx context.Context, c *Client) (any, error) {
				p, err := c.CreatePipeline(ctx, PipelineInput{Name: "Conveyancing"})
				return p.ID, err
			},
			method: "POST", path: "/api/v2/pipelines", body: `{"name":"Conveyancing"}`, reply: ok(pipelineJSON), want: 1,
		},
		{
			name: "ListStages of a pipeline",
			call: func(ctx context.Context, c *Client) (any, error) {
				s, err := c.ListStages(ctx, 1)
				return s[0].Name, err
			},
			method: "GET", path: "/api/v2/stages", query: map[string]string{"pipeline_id": "1"}, reply: okList2(stageJSON), want: "Searches",
		},
		{
			name: "CreateStage",
			call: func(ctx context.Context, c *Client) (any, error) {
				s, err := c.CreateStage(ctx, StageInput{Name: "Searches", PipelineID: 1})
				return s.ID, err
			},
			method: "POST", path: "/api/v2/stages", body: `{"name":"Searches","pipeline_id":1}`, reply: ok(stageJSON), want: 2,
		},
		{
			name: "ListFields",
			call: func(ctx context.Context, c *Client) (any, error) {
				f, err := c.ListFields(ctx, PersonFields)
				return f, err
			},
			method: "GET", path: "/api/v2/personFields", reply: okList2(fieldJSON),
			want: []Field{{Name: "Matter type", Code: ppKey, Type: "enum", IsCustomField: true,
				Options: []FieldOption{{ID: 31, Label: "Purchase"}, {ID: 32, Label: "Sale"}}}},
		},
		{
			name: "CreateField with options",
			call: func(ctx context.Context, c *Client) (any, error) {
				f, err := c.CreateField(ctx, DealFields, FieldInput{Name: " Matter type ", Type: "enum", Options: []string{"Purchase", "Sale"}})
				return f.Code, err
			},
			method: "POST", path: "/api/v2/dealFields",
			body:  `{"field_name":"Matter type","field_type":"enum","options":[{"label":"Purchase"},{"label":"Sale"}]}`,
			reply: ok(fieldJSON), want: ppKey,
		},
		{
			name: "CreateField for organizations",
			call: func(ctx context.Context, c *Client) (any, error) {
				f, err := c.CreateField(ctx, OrganizationFields, FieldInput{Name: "Perfect Portal id", Type: "varchar"})
				return f.Name, err
			},
			method: "POST", path: "/api/v2/organizationFields", body: `{"field_name":"Perfect Portal id","field_type":"varchar"}`,
			reply: ok(fieldJSON), want: "Matter type",
		},
		{
			name: "ListUsers",
			call: func(ctx context.Context, c *Client) (any, error) {
				u, err := c.ListUsers(ctx)
				return u[0].Email, err
			},
			method: "GET", path: "/v1/users", reply: ok(`[` + userJSON + `]`), want: "ada@example.com",
		},
		{
			name: "Me",
			call: func(ctx context.Context, c *Client) (any, error) {
				u, err := c.Me(ctx)
				return u.ID, err
			},
			method: "GET", path: "/v1/users/me", reply: ok(userJSON), want: 1,
		},
		{
			name: "ListActivityTypes",
			call: func(ctx context.Context, c *Client) (any, error) {
				a, err := c.ListActivityTypes(ctx)
				return a[0].KeyString, err
			},
			method: "GET", path: "/v1/activityTypes", reply: ok(`[` + activityTypeJSON + `]`), want: "completion",
		},
		{
			name: "CreateActivityType",
			call: func(ctx context.Context, c *Client) (any, error) {
				a, err := c.CreateActivityType(ctx, ActivityTypeInput{Name: "Completion", IconKey: "finish", Color: "FFD700"})
				return a.ID, err
			},
			method: "POST", path: "/v1/activityTypes", body: `{"name":"Completion","icon_key":"finish","color":"FFD700"}`,
			reply: ok(activityTypeJSON), want: 5,
		},
		{
			name: "CreateNote",
			call: func(ctx context.Context, c *Client) (any, error) {
				n, err := c.CreateNote(ctx, NoteInput{Content: "<p>Exchanged</p>", DealID: 11, AddTime: created.In(time.FixedZone("BST", 3600))})
				return n.AddTime.Time, err
			},
			method: "POST", path: "/v1/notes", body: `{"content":"<p>Exchanged</p>","deal_id":11,"add_time":"2024-05-06 07:08:09"}`,
			reply: ok(noteJSON), want: time.Date(2019, 12, 9, 13, 59, 21, 0, time.UTC),
		},
		{
			name: "ListNotes of a deal",
			call: func(ctx context.Context, c *Client) (any, error) {
				var ids []int
				err := c.ListNotes(ctx, NoteListOptions{DealID: 11}, func(n Note) error { ids = append(ids, n.ID); return nil })
				return ids, err
			},
			method: "GET", path: "/v1/notes", query: map[string]string{"deal_id": "11", "start": "0"}, reply: okList1(noteJSON), want: []int{41},
		},
		{
			name:   "DeleteNote",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteNote(ctx, 41) },
			method: "DELETE", path: "/v1/notes/41", reply: ok(`true`),
		},
		{
			name: "UploadFile",
			call: func(ctx context.Context, c *Client) (any, error) {
				f, err := c.UploadFile(ctx, FileInput{Name: "contract.pdf", Body: strings.NewReader("%PDF-1.7..."), Size: 11, DealID: 11})
				return f.ID, err
			},
			method: "POST", path: "/v1/files", multipart: true, reply: ok(fileJSON), want: 51,
		},
		{
			name: "ListFiles",
			call: func(ctx context.Context, c *Client) (any, error) {
				var ids []int
				err := c.ListFiles(ctx, ListOptions{}, func(f File) error { ids = append(ids, f.ID); return nil })
				return ids, err
			},
			method: "GET", path: "/v1/files", query: map[string]string{"limit": "100"}, reply: okList1(fileJSON), want: []int{51},
		},
		{
			name: "GetFile",
			call: func(ctx context.Context, c *Client) (any, error) {
				f, err := c.GetFile(ctx, 51)
				return f, err
			},
			method: "GET", path: "/v1/files/51", reply: ok(fileJSON),
			want: File{ID: 51, Name: "contract.pdf", FileName: "contract_51.pdf", FileSize: 11, FileType: "pdf", DealID: 11, ActiveFlag: true,
				AddTime: Time{time.Date(2020, 2, 20, 14, 36, 35, 0, time.UTC)}, UpdateTime: Time{time.Date(2020, 2, 20, 14, 36, 31, 0, time.UTC)}},
		},
		{
			name:   "DeleteFile",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteFile(ctx, 51) },
			method: "DELETE", path: "/v1/files/51", reply: ok(`{"id":51}`),
		},
		{
			name: "AddParticipant",
			call: func(ctx context.Context, c *Client) (any, error) {
				p, err := c.AddParticipant(ctx, 11, 7)
				return p, err
			},
			method: "POST", path: "/v1/deals/11/participants", body: `{"person_id":7}`, reply: ok(participantJSON),
			want: Participant{ID: 61, PersonID: 7, DealID: 11, ActiveFlag: true, AddTime: Time{time.Date(2020, 7, 7, 10, 29, 47, 0, time.UTC)}},
		},
		{
			name: "ListParticipants",
			call: func(ctx context.Context, c *Client) (any, error) {
				var got []int
				err := c.ListParticipants(ctx, 11, ListOptions{}, func(p Participant) error { got = append(got, p.ID, p.PersonID); return nil })
				return got, err
			},
			method: "GET", path: "/v1/deals/11/participants", reply: okList1(participantJSON), want: []int{61, 7},
		},
		{
			name:   "DeleteParticipant",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteParticipant(ctx, 11, 61) },
			method: "DELETE", path: "/v1/deals/11/participants/61", reply: ok(`{"id":61}`),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int, body []byte) {
				writeJSON(w, http.StatusOK, tc.reply)
			})
			env := newTestClient(t, f)
			got, err := tc.call(context.Background(), env.c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v\nwant %#v", got, tc.want)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tc.method || r.Path != tc.path {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, tc.method, tc.path)
			}
			if got := r.Header.Get("x-api-token"); got != testToken {
				t.Errorf("x-api-token = %q, want the token", got)
			}
			for k, v := range tc.query {
				if got := r.Query[k]; len(got) != 1 || got[0] != v {
					t.Errorf("query %s = %q, want %q", k, got, v)
				}
			}
			if _, ok := r.Query["api_token"]; ok {
				t.Errorf("token sent in the query")
			}
			switch {
			case tc.multipart:
				checkMultipart(t, r)
			case tc.body != "":
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				if !jsonEqual(t, r.Body, tc.body) {
					t.Errorf("body %s\nwant %s", r.Body, tc.body)
				}
			default:
				if len(r.Body) != 0 {
					t.Errorf("unexpected body %s", r.Body)
				}
			}
		})
	}
}

func checkMultipart(t *testing.T, r seen) {
	t.Helper()
	req, _ := http.NewRequest(r.Method, "http://x"+r.Path, strings.NewReader(string(r.Body)))
	req.Header = r.Header
	mr, err := req.MultipartReader()
	if err != nil {
		t.Fatalf("multipart: %v", err)
	}
	parts := map[string]string{}
	names := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("part: %v", err)
		}
		b, _ := io.ReadAll(p)
		parts[p.FormName()] = string(b)
		names[p.FormName()] = p.FileName()
	}
	want := map[string]string{"deal_id": "11", "file": "%PDF-1.7..."}
	if !reflect.DeepEqual(parts, want) {
		t.Errorf("parts %q, want %q", parts, want)
	}
	if names["file"] != "contract.pdf" {
		t.Errorf("file name %q", names["file"])
	}
	if r.Header.Get("Content-Length") == "" && len(r.Header.Values("Transfer-Encoding")) == 0 {
		// httptest strips Content-Length into the request; nothing to check here.
		_ = r
	}
}
