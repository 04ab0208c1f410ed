package pipedrive

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
)

// Participant is a person taking part in a deal (v1).
type Participant struct {
	// ID is the participation's id, which DeleteParticipant takes.
	ID         int
	PersonID   int
	DealID     int
	ActiveFlag bool
	AddTime    Time
}

// UnmarshalJSON reads v1's participant, whose person_id is the person
// object (with its id in "value") and whose deal is in related_item_data.
func (p *Participant) UnmarshalJSON(b []byte) error {
	var raw struct {
		ID       int             `json:"id"`
		PersonID json.RawMessage `json:"person_id"`
		Person   *struct {
			ID int `json:"id"`
		} `json:"person"`
		RelatedItemData *struct {
			DealID int `json:"deal_id"`
		} `json:"related_item_data"`
		RelatedItemType string `json:"related_item_type"`
		RelatedItemID   int    `json:"related_item_id"`
		ActiveFlag      bool   `json:"active_flag"`
		AddTime         Time   `json:"add_time"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*p = Participant{ID: raw.ID, ActiveFlag: raw.ActiveFlag, AddTime: raw.AddTime}
	if raw.Person != nil {
		p.PersonID = raw.Person.ID
	}
	if p.PersonID == 0 && !rawIsNull(raw.PersonID) {
		var n int
		if json.Unmarshal(raw.PersonID, &n) == nil {
			p.PersonID = n
		} else {
			var obj struct {
				Value int `json:"value"`
			}
			if json.Unmarshal(raw.PersonID, &obj) == nil {
				p.PersonID = obj.Value
			}
		}
	}
	if raw.RelatedItemData != nil {
		p.DealID = raw.RelatedItemData.DealID
	}
	if p.DealID == 0 && raw.RelatedItemType == "deal" {
		p.DealID = raw.RelatedItemID
	}
	return nil
}

func participantsPath(dealID int) string {
	return v1 + "/deals/" + strconv.Itoa(dealID) + "/participants"
}

// AddParticipant adds person personID to deal dealID. A dropped
// connection after sending gives *OutcomeUnknownError.
func (c *Client) AddParticipant(ctx context.Context, dealID, personID int) (Participant, error) {
	var out one[Participant]
	body := struct {
		PersonID int `json:"person_id"`
	}{personID}
	err := c.do(ctx, call{method: http.MethodPost, path: participantsPath(dealID), body: body}, &out)
	if err == nil && out.Data.DealID == 0 {
		out.Data.DealID = dealID
	}
	return out.Data, err
}

// ListParticipants calls fn with every participant of deal dealID.
func (c *Client) ListParticipants(ctx context.Context, dealID int, opt ListOptions, fn func(Participant) error) error {
	return listV1(ctx, c, participantsPath(dealID), nil, opt.limit(MaxPageSize), func(p Participant) error {
		if p.DealID == 0 {
			p.DealID = dealID
		}
		return fn(p)
	})
}

// DeleteParticipant removes participation participantID (Participant.ID,
// not the person's id) from deal dealID.
func (c *Client) DeleteParticipant(ctx context.Context, dealID, participantID int) error {
	return deleteOne(ctx, c, participantsPath(dealID)+"/"+strconv.Itoa(participantID))
}
