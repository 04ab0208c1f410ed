package migrate

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// OwnersInput is the owners step's input.
type OwnersInput struct {
	MigrationID string `json:"migration_id"`
	// Manifest is the key of the staged chunk manifest.
	Manifest string `json:"manifest"`
}

// OwnersOutput is what the owners step hands on.
type OwnersOutput struct {
	MigrationID string `json:"migration_id"`
	// Owners is the key of owners.json (an OwnerMap).
	Owners string `json:"owners"`
	// FeeEarners counts the fee earners resolved, by resolution.
	FeeEarners int `json:"fee_earners"`
	ByEmail    int `json:"by_email"`
	ByMap      int `json:"by_map"`
	ByDefault  int `json:"by_default"`
	// Flagged counts fee earners that went to the default owner, or whose
	// mapping could not be followed.
	Flagged       int `json:"flagged"`
	DefaultUserID int `json:"default_user_id"`
}

// Resolutions: how a fee earner found its Pipedrive user.
const (
	ResolvedByEmail   = "email"
	ResolvedByMap     = "map"
	ResolvedByDefault = "default"
)

// Reasons a fee earner is flagged.
const (
	FlagNoEmail          = "no_email"           // the fee earner has no email and no owners.map entry
	FlagNoUser           = "no_user"            // no Pipedrive user has the fee earner's email
	FlagUserInactive     = "user_inactive"      // the user with that email is deactivated
	FlagMapTargetMissing = "map_target_missing" // owners.map names an email no active user has
	FlagNotInExport      = "not_in_export"      // records name a fee_earner_id the fee_earners table lacks
)

// OwnerMap is owners.json: the Pipedrive user that owns each fee earner's
// records. It holds ids only, no names or emails.
type OwnerMap struct {
	MigrationID string `json:"migration_id"`
	// Default is the owner of what resolves to no user.
	Default DefaultOwner `json:"default"`
	// FeeEarners are by fee_earner_id.
	FeeEarners map[string]Owner `json:"fee_earners"`
	Flagged    []FlaggedOwner   `json:"flagged"`
}

// DefaultOwner is the default owner's user id and where it came from:
// "config" (owners.default) or "token_user" (the API token's user).
type DefaultOwner struct {
	UserID int    `json:"user_id"`
	Source string `json:"source"`
}

// Owner is the user a fee earner resolved to, and how.
type Owner struct {
	UserID     int    `json:"user_id"`
	Resolution string `json:"resolution"`
}

// FlaggedOwner is a fee earner to look at, and why.
type FlaggedOwner struct {
	FeeEarnerID string `json:"fee_earner_id"`
	Reason      string `json:"reason"`
}

// UserID returns the owner of a fee earner's records: its user, or the
// default owner for an unknown or empty fee_earner_id.
func (m *OwnerMap) UserID(feeEarnerID string) int {
	if o, ok := m.FeeEarners[feeEarnerID]; ok {
		return o.UserID
	}
	return m.Default.UserID
}

// LoadOwnerMap reads a migration's owners.json; it returns an error
// wrapping blob.ErrNotFound when the owners step has not run.
func LoadOwnerMap(ctx context.Context, store blob.Store, migrationID string) (*OwnerMap, error) {
	var m OwnerMap
	if err := getJSON(ctx, store, Prefix(migrationID)+OwnersName, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// ResolveOwners finds the Pipedrive user for every fee earner of the
// staged export: the owners.map entry for its fee_earner_id or email, else
// the active user with its email (compared without regard to case), else
// the default owner, flagged. It writes owners.json. It returns
// *InputError for a bad input or a missing manifest, *DefaultOwnerError
// when owners.default names no active user, Pipedrive's named errors as
// they are, and wrapped errors of the store.
func (e *Env) ResolveOwners(ctx context.Context, in OwnersInput) (OwnersOutput, error) {
	if err := checkInput(in.MigrationID, in.Manifest); err != nil {
		return OwnersOutput{}, err
	}
	if e.Pipedrive == nil {
		return OwnersOutput{}, errors.New("migrate: ResolveOwners needs a Pipedrive client")
	}
	st, err := openStaged(ctx, e.Store, in.Manifest)
	if err != nil {
		return OwnersOutput{}, err
	}
	cfg := e.config()
	users, err := e.Pipedrive.ListUsers(ctx)
	if err != nil {
		return OwnersOutput{}, fromPipedrive("list users", err)
	}
	active, inactive := map[string]int{}, map[string]bool{}
	for _, u := range users {
		k := fold(u.Email)
		if k == "" {
			continue
		}
		if u.ActiveFlag && !u.IsDeleted {
			if _, dup := active[k]; !dup {
				active[k] = u.ID
			}
		} else {
			inactive[k] = true
		}
	}

	om := &OwnerMap{MigrationID: in.MigrationID, FeeEarners: map[string]Owner{}, Flagged: []FlaggedOwner{}}
	if d := strings.TrimSpace(cfg.Owners.Default); d != "" {
		id, ok := active[fold(d)]
		if !ok {
			return OwnersOutput{}, &DefaultOwnerError{}
		}
		om.Default = DefaultOwner{UserID: id, Source: "config"}
	} else {
		me, err := e.Pipedrive.Me(ctx)
		if err != nil {
			return OwnersOutput{}, fromPipedrive("find the API token's user", err)
		}
		om.Default = DefaultOwner{UserID: me.ID, Source: "token_user"}
	}
	overrides := map[string]string{}
	for k, v := range cfg.Owners.Map {
		overrides[fold(k)] = v
	}

	resolve := func(fe pp.FeeEarner) (Owner, string) {
		target, mapped := overrides[fold(fe.ID)]
		if !mapped && fe.Email != "" {
			target, mapped = overrides[fold(fe.Email)]
		}
		if mapped {
			if id, ok := active[fold(target)]; ok {
				return Owner{UserID: id, Resolution: ResolvedByMap}, ""
			}
			return Owner{UserID: om.Default.UserID, Resolution: ResolvedByDefault}, FlagMapTargetMissing
		}
		switch k := fold(fe.Email); {
		case k == "":
			return Owner{UserID: om.Default.UserID, Resolution: ResolvedByDefault}, FlagNoEmail
		case active[k] != 0:
			return Owner{UserID: active[k], Resolution: ResolvedByEmail}, ""
		case inactive[k]:
			return Owner{UserID: om.Default.UserID, Resolution: ResolvedByDefault}, FlagUserInactive
		default:
			return Owner{UserID: om.Default.UserID, Resolution: ResolvedByDefault}, FlagNoUser
		}
	}
	flag := func(id, reason string) {
		if reason != "" {
			om.Flagged = append(om.Flagged, FlaggedOwner{FeeEarnerID: id, Reason: reason})
		}
	}

	err = st.eachFeeEarner(ctx, func(fe *pp.FeeEarner) error {
		if _, dup := om.FeeEarners[fe.ID]; dup || fe.ID == "" {
			return nil
		}
		o, reason := resolve(*fe)
		om.FeeEarners[fe.ID] = o
		flag(fe.ID, reason)
		return nil
	})
	if err != nil {
		return OwnersOutput{}, err
	}
	// Records may name fee earners the fee_earners table does not have;
	// owners.map may still place them.
	missing := map[string]bool{}
	note := func(id string) {
		if id = strings.TrimSpace(id); id != "" {
			if _, ok := om.FeeEarners[id]; !ok {
				missing[id] = true
			}
		}
	}
	err = st.eachMatter(ctx, func(r *extract.MatterRecord) error {
		note(r.Matter.FeeEarnerID)
		for _, a := range r.Activities {
			note(a.FeeEarnerID)
		}
		for _, d := range r.Documents {
			note(d.FeeEarnerID)
		}
		return nil
	})
	if err != nil {
		return OwnersOutput{}, err
	}
	ids := make([]string, 0, len(missing))
	for id := range missing {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		o, reason := resolve(pp.FeeEarner{ID: id})
		if reason == FlagNoEmail {
			reason = FlagNotInExport
		}
		om.FeeEarners[id] = o
		flag(id, reason)
	}
	sort.Slice(om.Flagged, func(i, j int) bool { return om.Flagged[i].FeeEarnerID < om.Flagged[j].FeeEarnerID })

	out := OwnersOutput{MigrationID: in.MigrationID, Owners: Prefix(in.MigrationID) + OwnersName,
		FeeEarners: len(om.FeeEarners), Flagged: len(om.Flagged), DefaultUserID: om.Default.UserID}
	for _, o := range om.FeeEarners {
		switch o.Resolution {
		case ResolvedByEmail:
			out.ByEmail++
		case ResolvedByMap:
			out.ByMap++
		case ResolvedByDefault:
			out.ByDefault++
		}
	}
	if err := e.putJSON(ctx, out.Owners, om); err != nil {
		return OwnersOutput{}, err
	}
	e.log().InfoContext(ctx, "owners resolved", "migration", in.MigrationID, "fee_earners", out.FeeEarners,
		"by_email", out.ByEmail, "by_map", out.ByMap, "by_default", out.ByDefault, "flagged", out.Flagged)
	return out, nil
}
