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
