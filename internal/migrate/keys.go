package migrate

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pdindex"
	"github.com/conveyor-migrate/conveyor/internal/transform"
)

// Ledger keys of record writes, one scheme for every step: the source kind
// and id, and a part for a record that makes several writes.
//
//	organisation/<organisation_id>               organization
//	referrer-firm/<normalised firm name>         organization
//	client/<client_id>                           person
//	referrer/<referrer_id>                       person
//	matter/<matter_id>                           deal
//	matter/<matter_id>/participant/<person key>  deal participant (ParentID: the deal)
//	activity/<activity_id>                       activity or note
//	document/<document_id>/part/<n>              file (n from 1; 1 for a single file)
func OrganisationKey(id string) string { return "organisation/" + id }

// ReferrerFirmKey is the key of the organization made for a referrer's firm.
func ReferrerFirmKey(name string) string { return "referrer-firm/" + pdindex.NormalizeOrgName(name) }

// ClientKey is the key of a client's person.
func ClientKey(id string) string { return "client/" + id }

// ReferrerKey is the key of a referrer's person.
func ReferrerKey(id string) string { return "referrer/" + id }

// MatterKey is the key of a matter's deal.
func MatterKey(id string) string { return "matter/" + id }

// ParticipantKey is the key of a person added to a matter's deal; person is
// the person's own key (ClientKey or ReferrerKey).
func ParticipantKey(matterID, person string) string {
	return MatterKey(matterID) + "/participant/" + person
}

// ActivityKey is the key of an activity or note.
func ActivityKey(id string) string { return "activity/" + id }

// DocumentKey is the key of a document's file, or of part n of a split one.
func DocumentKey(id string, part int) string { return "document/" + id + "/part/" + strconv.Itoa(part) }

// schemaAdapter lets transform read the schema step's map.
type schemaAdapter struct{ m *SchemaMap }

var _ transform.Schema = schemaAdapter{}

// TransformSchema adapts a SchemaMap to what transform needs.
func TransformSchema(m *SchemaMap) transform.Schema { return schemaAdapter{m} }

func (a schemaAdapter) FieldKey(kind transform.Kind, logical string) (string, bool) {
	f, ok := a.m.Field(string(kind), logical)
	if !ok || f.Key == "" {
		return "", false
	}
	return f.Key, true
}

func (a schemaAdapter) OptionID(kind transform.Kind, logical, option string) (int, bool) {
	f, ok := a.m.Field(string(kind), logical)
	if !ok {
		return 0, false
	}
	return f.Option(option)
}

func (a schemaAdapter) PipelineID(pipeline string) (int, bool) {
	p, ok := a.m.Pipelines[pipeline]
	return p.ID, ok && p.ID != 0
}

func (a schemaAdapter) StageID(pipeline, stage string) (int, bool) { return a.m.Stage(pipeline, stage) }

func (a schemaAdapter) ActivityType(canonical string) (string, bool) {
	k, ok := a.m.ActivityTypes[canonical]
	return k, ok && k != ""
}

// LedgerRefs resolves source records to the Pipedrive records the ledger
// says were written for them, and fee earners to owners.
type LedgerRefs struct {
	Ledger    ledger.Store
	Migration string
	Owners    *OwnerMap
	// ClientOrgs maps a client id to its organisation id (from the staged clients).
	ClientOrgs map[string]string
	// Ctx is used for the ledger reads; transform's interface has none.
	Ctx context.Context
}

var _ transform.Refs = (*LedgerRefs)(nil)

func (r *LedgerRefs) written(key string) (int, bool) {
	e, err := r.Ledger.Get(r.Ctx, r.Migration, key)
	if err != nil || e.Status != ledger.StatusWritten || e.TargetID == 0 {
		return 0, false
	}
	return int(e.TargetID), true
}

// Person returns the person written for "client/<id>" or "referrer/<id>".
func (r *LedgerRefs) Person(source string) (int, bool) { return r.written(source) }

// Organization returns the organization written for an organisation key.
func (r *LedgerRefs) Organization(source string) (int, bool) { return r.written(source) }

// ClientOrganisation returns the organisation a client belongs to.
func (r *LedgerRefs) ClientOrganisation(clientID string) (string, bool) {
	o, ok := r.ClientOrgs[clientID]
	return o, ok && o != ""
}

// Owner returns the Pipedrive user for a fee earner (the default owner
// when unresolved).
func (r *LedgerRefs) Owner(feeEarnerID string) int { return r.Owners.UserID(feeEarnerID) }

// Written returns the Pipedrive id the ledger holds for a written key, or
// ErrNotWritten.
func Written(ctx context.Context, l ledger.Store, migration, key string) (int64, error) {
	e, err := l.Get(ctx, migration, key)
	if errors.Is(err, ledger.ErrNotFound) {
		return 0, fmt.Errorf("%s: %w", key, ErrNotWritten)
	}
	if err != nil {
		return 0, err
	}
	if e.Status != ledger.StatusWritten {
		return 0, fmt.Errorf("%s is %s: %w", key, e.Status, ErrNotWritten)
	}
	return e.TargetID, nil
}

// ErrNotWritten: the ledger holds no written entry for the key.
var ErrNotWritten = errors.New("not written yet")
