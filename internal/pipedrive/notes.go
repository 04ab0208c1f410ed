package pipedrive

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const notesPath = v1 + "/notes"

// Note is a v1 note.
type Note struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	DealID     int    `json:"deal_id,omitempty"`
	PersonID   int    `json:"person_id,omitempty"`
	OrgID      int    `json:"org_id,omitempty"`
	UserID     int    `json:"user_id,omitempty"`
	ActiveFlag bool   `json:"active_flag"`
	AddTime    Time   `json:"add_time"`
	UpdateTime Time   `json:"update_time"`
}

// NoteInput is a note to create: Content (HTML) and at least one of
// DealID, PersonID, OrgID. A zero AddTime lets Pipedrive set it; a zero
// UserID makes the token's user the author (only an admin may name another).
type NoteInput struct {
	Content  string
	DealID   int
	PersonID int
	OrgID    int
	UserID   int
	AddTime  time.Time
}

type noteBody struct {
	Content  string `json:"content"`
	DealID   int    `json:"deal_id,omitempty"`
	PersonID int    `json:"person_id,omitempty"`
	OrgID    int    `json:"org_id,omitempty"`
	UserID   int    `json:"user_id,omitempty"`
	AddTime  string `json:"add_time,omitempty"`
}

// NoteListOptions filters ListNotes; zero ids do not filter.
type NoteListOptions struct {
	ListOptions
	DealID   int
	PersonID int
	OrgID    int
}

// CreateNote creates a note. It refuses, without a request, empty content
// or a note attached to nothing. A dropped connection after sending gives
// *OutcomeUnknownError.
func (c *Client) CreateNote(ctx context.Context, in NoteInput) (Note, error) {
	if strings.TrimSpace(in.Content) == "" {
		return Note{}, fmt.Errorf("pipedrive: create note: empty content")
	}
	if in.DealID == 0 && in.PersonID == 0 && in.OrgID == 0 {
		return Note{}, fmt.Errorf("pipedrive: create note: no deal, person or organization to attach it to")
	}
	body := noteBody{Content: in.Content, DealID: in.DealID, PersonID: in.PersonID, OrgID: in.OrgID, UserID: in.UserID}
	if !in.AddTime.IsZero() {
		body.AddTime = v1Time(in.AddTime)
	}
	var out one[Note]
	err := c.do(ctx, call{method: http.MethodPost, path: notesPath, body: body}, &out)
	return out.Data, err
}

// ListNotes calls fn with every note (of a deal, person or organization,
// if set), page by page.
func (c *Client) ListNotes(ctx context.Context, opt NoteListOptions, fn func(Note) error) error {
	q := url.Values{}
	for k, v := range map[string]int{"deal_id": opt.DealID, "person_id": opt.PersonID, "org_id": opt.OrgID} {
		if v != 0 {
			q.Set(k, strconv.Itoa(v))
		}
	}
	return listV1(ctx, c, notesPath, q, opt.limit(MaxPageSize), fn)
}

// DeleteNote deletes note id.
func (c *Client) DeleteNote(ctx context.Context, id int) error {
	return deleteOne(ctx, c, itemPath(notesPath, id))
}

// GetNote returns note id (a deleted one with ActiveFlag false); a missing
// one is *NotFoundError.
func (c *Client) GetNote(ctx context.Context, id int) (Note, error) {
	var out one[Note]
	err := c.do(ctx, call{method: http.MethodGet, path: itemPath(notesPath, id)}, &out)
	return out.Data, err
}

// NoteUpdate is what UpdateNote changes: the fields set (non-nil) are
// sent, the others keep their values.
type NoteUpdate struct {
	Content *string
	DealID  *int
	UserID  *int
	AddTime *time.Time
}

// UpdateNote changes note id (v1 PUT). Empty content is refused without a
// request.
func (c *Client) UpdateNote(ctx context.Context, id int, in NoteUpdate) (Note, error) {
	body := map[string]any{}
	if in.Content != nil {
		if strings.TrimSpace(*in.Content) == "" {
			return Note{}, fmt.Errorf("pipedrive: update note: empty content")
		}
		body["content"] = *in.Content
	}
	if in.DealID != nil {
		body["deal_id"] = *in.DealID
	}
	if in.UserID != nil {
		body["user_id"] = *in.UserID
	}
	if in.AddTime != nil {
		body["add_time"] = v1Time(*in.AddTime)
	}
	var out one[Note]
	err := c.do(ctx, call{method: http.MethodPut, path: itemPath(notesPath, id), body: body}, &out)
	return out.Data, err
}
