package pipedrive

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// User is a Pipedrive user (v1).
type User struct {
	ID              int    `json:"id"`
	Name            string `json:"name"`
	Email           string `json:"email"`
	ActiveFlag      bool   `json:"active_flag"`
	IsYou           bool   `json:"is_you"`
	IsDeleted       bool   `json:"is_deleted"`
	RoleID          int    `json:"role_id"`
	DefaultCurrency string `json:"default_currency"`
	Locale          string `json:"locale"`
	TimezoneName    string `json:"timezone_name"`
	// The company fields are set by Me only.
	CompanyID     int    `json:"company_id,omitempty"`
	CompanyName   string `json:"company_name,omitempty"`
	CompanyDomain string `json:"company_domain,omitempty"`
}

// ListUsers returns every user of the company (one v1 call; the list is
// not paginated).
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var out struct {
		Data []User `json:"data"`
	}
	err := c.do(ctx, call{method: http.MethodGet, path: v1 + "/users"}, &out)
	return out.Data, err
}

// Me returns the user the API token belongs to, with the company's id,
// name and domain; it is the cheapest check that a token works
// (*UnauthorizedError if not).
func (c *Client) Me(ctx context.Context) (User, error) {
	var out one[User]
	err := c.do(ctx, call{method: http.MethodGet, path: v1 + "/users/me"}, &out)
	return out.Data, err
}

// ActivityType is a type of activity (call, meeting, ...).
type ActivityType struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	IconKey string `json:"icon_key"`
	Color   string `json:"color,omitempty"`
	OrderNr int    `json:"order_nr"`
	// KeyString is what an activity's Type holds.
	KeyString    string `json:"key_string"`
	ActiveFlag   bool   `json:"active_flag"`
	IsCustomFlag bool   `json:"is_custom_flag"`
	AddTime      Time   `json:"add_time"`
	UpdateTime   Time   `json:"update_time"`
}

// ActivityTypeInput is an activity type to create; IconKey is one of
// ActivityIconKeys, Color a 6-digit hex colour without '#' (optional).
type ActivityTypeInput struct {
	Name    string `json:"name"`
	IconKey string `json:"icon_key"`
	Color   string `json:"color,omitempty"`
}

// ActivityIconKeys are the icons an activity type may have.
var ActivityIconKeys = []string{"task", "email", "meeting", "deadline", "call", "lunch", "calendar", "downarrow",
	"document", "smartphone", "camera", "scissors", "cogs", "bubble", "uparrow", "checkbox", "signpost", "shuffle",
	"addressbook", "linegraph", "picture", "car", "world", "search", "clip", "sound", "brush", "key", "padlock",
	"pricetag", "suitcase", "finish", "plane", "loop", "wifi", "truck", "cart", "bulb", "bell", "presentation"}

// ListActivityTypes returns every activity type (one v1 call).
func (c *Client) ListActivityTypes(ctx context.Context) ([]ActivityType, error) {
	var out struct {
		Data []ActivityType `json:"data"`
	}
	err := c.do(ctx, call{method: http.MethodGet, path: v1 + "/activityTypes"}, &out)
	return out.Data, err
}

// CreateActivityType creates an activity type. It refuses, without a
// request, an empty name or an unknown icon. A dropped connection after
// sending gives *OutcomeUnknownError.
func (c *Client) CreateActivityType(ctx context.Context, in ActivityTypeInput) (ActivityType, error) {
	if strings.TrimSpace(in.Name) == "" {
		return ActivityType{}, fmt.Errorf("pipedrive: create activity type: empty name")
	}
	if !slices.Contains(ActivityIconKeys, in.IconKey) {
		return ActivityType{}, fmt.Errorf("pipedrive: create activity type %q: unknown icon key %q", in.Name, in.IconKey)
	}
	var out one[ActivityType]
	err := c.do(ctx, call{method: http.MethodPost, path: v1 + "/activityTypes", body: in}, &out)
	return out.Data, err
}
