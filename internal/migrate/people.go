package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pdindex"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/transform"
)

// Flags the people load puts on a planned operation (PlannedOp.Flag);
// several are joined with "; ".
const (
	// peopleFlagNoEmail: a client with no email; nobody can match it.
	peopleFlagNoEmail = "no_email"
	// peopleFlagSharedEmail: several persons have the email; linked to the oldest.
	peopleFlagSharedEmail = "shared_email"
	// peopleFlagSharedName: several organizations have the name; linked to the oldest.
	peopleFlagSharedName = "shared_name"
	// peopleFlagNoOrganisation: the organisation (or referrer's firm) the
	// person belongs to has no written ledger entry, so it is not linked.
	peopleFlagNoOrganisation = "organisation_not_written"
	// peopleFlagRejected: Pipedrive refused the write; nothing was written.
	peopleFlagRejected = "rejected"
)

// Ledger source kinds of the people load.
const (
	peopleSourceOrganisation = "organisation"
	peopleSourceFirm         = "referrer_firm"
	peopleSourceClient       = "client"
	peopleSourceReferrer     = "referrer"
	peopleTargetPerson       = "person"
	peopleTargetOrganization = "organization"
)

// LoadPeople is the load step of organizations and persons, one staged
// chunk at a time:
//
//   - Kind LoadOrganisations, Source extract.KindOrganisations: client
//     organisations (ledger key OrganisationKey);
//   - Kind LoadOrganisations, Source extract.KindReferrers: the firms the
//     referrers work for, one per normalised company name (ReferrerFirmKey);
//   - Kind LoadPersons, Source extract.KindClients or extract.KindReferrers:
//     persons (ClientKey, ReferrerKey), linked to the organization the
//     organisations step wrote for them.
//
// Each record gets one planned operation in the chunk's plan (PlanKey):
// skip when the ledger has it written; link when Pipedrive already has it
// (persons by email, organizations by normalised name; the oldest when
// several match, flagged), filling only the fields the existing record has
// empty and keeping what they held in the ledger entry's Previous (a JSON
// object shaped like the PATCH body: each filled field with its former
// value, custom fields under "custom_fields" by key); create otherwise.
// With Apply every operation goes through Once. The account is listed once
// per call (when a record needs it) and once more when an interrupted write
// is reconciled; nothing is searched record by record. With Matters set,
// only the people those matters need are loaded.
//
// A write Pipedrive refuses as invalid is counted in Failed, flagged in
// the plan and abandoned in the ledger; the step goes on. It returns
// *InputError for a bad input, a missing manifest or chunk, or a schema
// step not applied; Pipedrive's other named errors (BudgetExhaustedError,
// OutcomeUnknownError, BlockedError…) as they are, stopping the step (an
// OutcomeUnknownError leaves a pending entry that the next attempt
// reconciles); *transform.MissingFieldsError when the schema lacks a field;
// and wrapped errors of the store and the ledger, which are worth retrying.
func (e *Env) LoadPeople(ctx context.Context, in LoadInput) (LoadOutput, error) {
	if err := checkInput(in.MigrationID, in.Manifest); err != nil {
		return LoadOutput{}, err
	}
	target, ok := peopleTarget(in.Kind, in.Source)
	if !ok {
		return LoadOutput{}, &InputError{Msg: fmt.Sprintf("LoadPeople: kind %q with source %q: want organisations from organisations or referrers, or persons from clients or referrers", in.Kind, in.Source)}
	}
	if e.Pipedrive == nil {
		return LoadOutput{}, errors.New("migrate: LoadPeople needs a Pipedrive client")
	}
	if in.Apply && e.Ledger == nil {
		return LoadOutput{}, errors.New("migrate: LoadPeople with Apply needs a ledger")
	}
	st, err := openStaged(ctx, e.Store, in.Manifest)
	if err != nil {
		return LoadOutput{}, err
	}
	chunks := st.manifest.Kinds[in.Source].Chunks
	if in.Chunk < 0 || in.Chunk >= len(chunks) {
		return LoadOutput{}, &InputError{Msg: fmt.Sprintf("chunk %d of %s: the manifest lists %d", in.Chunk, in.Source, len(chunks))}
	}
	sm, err := loadSchemaFor(ctx, e, in)
	if errors.Is(err, blob.ErrNotFound) {
		return LoadOutput{}, &InputError{Msg: "no schema.json for migration " + in.MigrationID + ": apply the schema step first"}
	}
	if err != nil {
		return LoadOutput{}, err
	}

	l := &peopleLoader{env: e, in: in, target: target, plan: newPlanWriter(in),
		mapper:  transform.Mapper{Config: e.config(), Schema: TransformSchema(sm)},
		seen:    map[string]bool{},
		planned: map[string]string{}}
	l.personKey = sm.Fields[string(transform.Person)][transform.FieldSourceID].Key
	l.orgKey = sm.Fields[string(transform.Organization)][transform.FieldSourceID].Key
	if e.Ledger != nil {
		l.refs = &LedgerRefs{Ledger: e.Ledger, Migration: in.MigrationID, Ctx: ctx}
	}
	if len(in.Matters) > 0 {
		if l.want, err = e.samplePeople(ctx, st, in); err != nil {
			return LoadOutput{}, err
		}
	}

	key := st.prefix + chunks[in.Chunk].Key
	switch {
	case in.Source == extract.KindOrganisations:
		err = eachInChunk(ctx, e.Store, key, func(o *pp.Organisation) error { return l.organisation(ctx, o) })
	case in.Kind == LoadOrganisations:
		err = eachInChunk(ctx, e.Store, key, func(r *pp.Referrer) error { return l.referrerFirm(ctx, r) })
	case in.Source == extract.KindClients:
		err = eachInChunk(ctx, e.Store, key, func(c *pp.Client) error { return l.client(ctx, c) })
	default:
		err = eachInChunk(ctx, e.Store, key, func(r *pp.Referrer) error { return l.referrer(ctx, r) })
	}
	if err != nil {
		return LoadOutput{}, err
	}
	out, err := l.plan.save(ctx, e)
	if err != nil {
		return LoadOutput{}, err
	}
	e.log().InfoContext(ctx, "people loaded", "migration", in.MigrationID, "kind", in.Kind, "source", in.Source,
		"chunk", in.Chunk, "apply", in.Apply, "planned", out.Planned, "created", out.Created, "linked", out.Linked,
		"skipped", out.Skipped, "failed", out.Failed, "flags", out.Flags)
	return out, nil
}

// peopleTarget is the Pipedrive kind a people load writes, and whether the
// kind and source go together.
func peopleTarget(kind, source string) (string, bool) {
	switch {
	case kind == LoadOrganisations && (source == extract.KindOrganisations || source == extract.KindReferrers):
		return peopleTargetOrganization, true
	case kind == LoadPersons && (source == extract.KindClients || source == extract.KindReferrers):
		return peopleTargetPerson, true
	}
	return "", false
}

// samplePeople lists the ledger keys a sample run's matters need (see
// peopleWanted), organisations included. Finding them reads every matters
// chunk, so the first people step of the run writes the list to
// runs/<run>/sample-people-<hash of the manifest and matters>.json and the
// others read it: a sample of a large export costs one pass over the
// matters, not one per people chunk. The list is the same whoever writes it,
// so two steps writing it at once is harmless.
func (e *Env) samplePeople(ctx context.Context, st *staged, in LoadInput) (map[string]bool, error) {
	matters := slices.Sorted(slices.Values(in.Matters))
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s", in.Manifest, strings.Join(matters, "\n"))
	key := RunPrefix(in.MigrationID, in.Run) + "sample-people-" + hex.EncodeToString(h.Sum(nil)[:8]) + ".json"
	var keys []string
	err := getJSON(ctx, e.Store, key, &keys)
	if err == nil {
		want := make(map[string]bool, len(keys))
		for _, k := range keys {
			want[k] = true
		}
		return want, nil
	}
	if !errors.Is(err, blob.ErrNotFound) {
		return nil, err
	}
	want, err := peopleWanted(ctx, st, matters, true)
	if err != nil {
		return nil, err
	}
	keys = slices.Sorted(maps.Keys(want))
	if err := e.putJSON(ctx, key, keys); err != nil {
		return nil, err
	}
	return want, nil
}

// peopleWanted lists the ledger keys the given matters need: their clients
// and referrers and, with orgs, their clients' organisations (which the
// matters' client links carry since staging version 2).
func peopleWanted(ctx context.Context, st *staged, matters []string, orgs bool) (map[string]bool, error) {
	if orgs {
		if err := st.needsClientOrgs(); err != nil {
			return nil, err
		}
	}
	sample := map[string]bool{}
	for _, m := range matters {
		sample[m] = true
	}
	want := map[string]bool{}
	err := st.eachMatter(ctx, func(r *extract.MatterRecord) error {
		if !sample[r.Matter.ID] {
			return nil
		}
		for _, c := range r.Clients {
			want[ClientKey(c.ClientID)] = true
			if orgs && c.OrganisationID != "" {
				want[OrganisationKey(c.OrganisationID)] = true
			}
		}
		for _, ref := range r.Referrers {
			want[ReferrerKey(ref.ReferrerID)] = true
		}
		return nil
	})
	return want, err
}

// peopleLoader plans, and with Apply makes, the writes of one chunk.
type peopleLoader struct {
	env    *Env
	in     LoadInput
	target string
	mapper transform.Mapper
	refs   *LedgerRefs
	plan   *planWriter
	// personKey and orgKey are the Perfect Portal ID fields' keys.
	personKey, orgKey string
	// want, when set, holds the keys the sample needs.
	want map[string]bool
	// seen holds the keys this call has planned (referrers share firms).
	seen map[string]bool
	// planned takes an email or normalised name to the key of the record
	// planned to be created with it, so that a plan links what Apply will.
	planned map[string]string

	ix        *pdindex.Index
	refreshed bool
}

// peopleItem is one record to write: its key, payload and how it matches.
type peopleItem struct {
	key, sourceKind, sourceID string
	person                    *pipedrive.PersonInput
	org                       *pipedrive.OrganizationInput
	changes                   []transform.Change
	// email (persons) and name (organizations) match existing records.
	email, name string
	flag        string
	// updatedAt is the source record's, for a delta run's watermark.
	updatedAt *time.Time
}

func (it *peopleItem) payload() any {
	if it.person != nil {
		return *it.person
	}
	return *it.org
}

func (l *peopleLoader) wanted(key string) bool { return l.want == nil || l.want[key] }

// organization returns the organization written for key, if any.
func (l *peopleLoader) organization(key string) (int, bool) {
	if l.refs == nil {
		return 0, false
	}
	return l.refs.Organization(key)
}

func (l *peopleLoader) organisation(ctx context.Context, o *pp.Organisation) error {
	key := OrganisationKey(o.ID)
	if !l.wanted(key) {
		return nil
	}
	in, changes, err := l.mapper.Organisation(*o)
	if err != nil {
		return err
	}
	return l.handle(ctx, &peopleItem{key: key, sourceKind: peopleSourceOrganisation, sourceID: o.ID, org: &in,
		changes: changes, name: o.Name, updatedAt: o.UpdatedAt})
}

func (l *peopleLoader) referrerFirm(ctx context.Context, r *pp.Referrer) error {
	if !l.wanted(ReferrerKey(r.ID)) {
		return nil
	}
	in, changes, ok := l.mapper.ReferrerFirm(*r)
	norm := pdindex.NormalizeOrgName(r.CompanyName)
	if !ok || norm == "" {
		return nil
	}
	return l.handle(ctx, &peopleItem{key: ReferrerFirmKey(r.CompanyName), sourceKind: peopleSourceFirm, sourceID: norm,
		org: &in, changes: changes, name: r.CompanyName, updatedAt: r.UpdatedAt})
}

func (l *peopleLoader) client(ctx context.Context, c *pp.Client) error {
	key := ClientKey(c.ID)
	if !l.wanted(key) {
		return nil
	}
	var flags []string
	orgID := 0
	if c.OrganisationID != "" {
		if id, ok := l.organization(OrganisationKey(c.OrganisationID)); ok {
			orgID = id
		} else if l.in.Apply {
			flags = append(flags, peopleFlagNoOrganisation)
		}
	}
	if strings.TrimSpace(c.Email) == "" {
		flags = append(flags, peopleFlagNoEmail)
	}
	in, changes, err := l.mapper.Client(*c, orgID)
	if err != nil {
		return err
	}
	return l.handle(ctx, &peopleItem{key: key, sourceKind: peopleSourceClient, sourceID: c.ID, person: &in,
		changes: changes, email: pp.NormalizeEmail(c.Email), flag: strings.Join(flags, "; "), updatedAt: c.UpdatedAt})
}

func (l *peopleLoader) referrer(ctx context.Context, r *pp.Referrer) error {
	key := ReferrerKey(r.ID)
	if !l.wanted(key) {
		return nil
	}
	flag := ""
	orgID := 0
	if pdindex.NormalizeOrgName(r.CompanyName) != "" {
		if id, ok := l.organization(ReferrerFirmKey(r.CompanyName)); ok {
			orgID = id
		} else if l.in.Apply {
			flag = peopleFlagNoOrganisation
		}
	}
	in, changes, err := l.mapper.Referrer(*r, orgID)
	if err != nil {
		return err
	}
	return l.handle(ctx, &peopleItem{key: key, sourceKind: peopleSourceReferrer, sourceID: r.ID, person: &in,
		changes: changes, email: pp.NormalizeEmail(r.Email), flag: flag, updatedAt: r.UpdatedAt})
}

// handle plans one record and, with Apply, writes it.
func (l *peopleLoader) handle(ctx context.Context, it *peopleItem) error {
	if l.seen[it.key] {
		return nil
	}
	l.seen[it.key] = true
	op := PlannedOp{Key: it.key, TargetKind: l.target, Flag: it.flag}
	stored, found, err := l.entry(ctx, it.key)
	if err != nil {
		return err
	}
	if found && stored.Status == ledger.StatusWritten && l.in.Delta {
		op.Changes = it.changes
		return l.env.deltaWritten(ctx, l.in, l.plan, deltaItem{op: op, entry: stored, payload: it.payload(),
			updatedAt: it.updatedAt, sourceKind: it.sourceKind, sourceID: it.sourceID})
	}
	if found && stored.Status == ledger.StatusWritten {
		op.Op, op.TargetID, op.Reason = PlanSkip, stored.TargetID, "already migrated"
		l.plan.done(PlanSkip, Done)
		return l.plan.add(op)
	}
	w := Write{Migration: l.in.MigrationID, Run: l.in.Run, Key: it.key, SourceKind: it.sourceKind,
		SourceID: it.sourceID, TargetKind: l.target}
	rejected := false
	if found && stored.Status == ledger.StatusPending {
		err = l.resume(it, stored, &op, &w, &rejected)
	} else {
		err = l.decide(ctx, it, &op, &w, &rejected)
	}
	if err != nil {
		return err
	}
	w.Op = ledgerOp(op.Op)
	if !l.in.Apply {
		if op.Op == PlanCreate {
			if k := l.matchKey(it); k != "" {
				l.planned[k] = it.key
			}
		}
		return l.plan.add(op)
	}

	id, outcome, err := l.env.Once(ctx, w)
	if err != nil && rejected {
		if err := l.abandon(ctx, it.key); err != nil {
			return err
		}
		l.plan.out.Failed++
		op.Flag = peopleJoinFlag(op.Flag, peopleFlagRejected+": "+err.Error())
		return l.plan.add(op)
	}
	if err != nil {
		return err
	}
	op.TargetID = id
	l.plan.done(op.Op, outcome)
	return l.plan.add(op)
}

// matchKey is what a planned create is matched on within the plan.
func (l *peopleLoader) matchKey(it *peopleItem) string {
	if l.target == peopleTargetPerson {
		if it.email == "" {
			return ""
		}
		return "email:" + it.email
	}
	if n := pdindex.NormalizeOrgName(it.name); n != "" {
		return "name:" + n
	}
	return ""
}

// entry returns the ledger entry for key, and whether there is one.
func (l *peopleLoader) entry(ctx context.Context, key string) (ledger.Entry, bool, error) {
	if l.env.Ledger == nil {
		return ledger.Entry{}, false, nil
	}
	e, err := l.env.Ledger.Get(ctx, l.in.MigrationID, key)
	if errors.Is(err, ledger.ErrNotFound) {
		return ledger.Entry{}, false, nil
	}
	if err != nil {
		return ledger.Entry{}, false, fmt.Errorf("ledger get %s: %w", key, err)
	}
	return e, true, nil
}

// abandon marks the pending entry of a refused write as never made.
func (l *peopleLoader) abandon(ctx context.Context, key string) error {
	e, found, err := l.entry(ctx, key)
	if err != nil || !found || e.Status != ledger.StatusPending {
		return err
	}
	e.Status, e.Run, e.UpdatedAt = ledger.StatusAbandoned, l.in.Run, l.env.now()
	if err := l.env.Ledger.Update(ctx, ledger.StatusPending, e); err != nil {
		return fmt.Errorf("ledger abandon %s: %w", key, err)
	}
	return nil
}

// decide matches a record not yet in the ledger (or rolled back) against
// the account: link to what is there, else create.
func (l *peopleLoader) decide(ctx context.Context, it *peopleItem, op *PlannedOp, w *Write, rejected *bool) error {
	ix, err := l.index(ctx)
	if err != nil {
		return err
	}
	var ids []int
	var shared, reason string
	if l.target == peopleTargetPerson {
		if it.email != "" {
			ids, shared, reason = ix.PersonsByEmail(it.email), peopleFlagSharedEmail, "matches an existing person by email"
		}
	} else {
		ids, shared, reason = ix.OrganizationsByName(it.name), peopleFlagSharedName, "matches an existing organization by name"
	}
	if len(ids) == 0 {
		if k := l.matchKey(it); k != "" && l.planned[k] != "" {
			op.Op, op.Reason = PlanLink, "the same as "+l.planned[k]+", created by this plan"
			return nil
		}
		op.Op, op.Payload, op.Changes = PlanCreate, it.payload(), it.changes
		w.Payload, w.Call, w.Find = it.payload(), l.create(it, rejected), l.find(it)
		return nil
	}
	target := slices.Min(ids)
	if len(ids) > 1 {
		op.Flag = peopleJoinFlag(op.Flag, shared)
	}
	var have any
	if l.target == peopleTargetPerson {
		have = ix.Persons[target]
	} else {
		have = ix.Organizations[target]
	}
	patch, prev, err := peopleFill(have, it.payload())
	if err != nil {
		return fmt.Errorf("link %s: %w", it.key, err)
	}
	op.Op, op.TargetID, op.Reason = PlanLink, int64(target), reason
	w.TargetID, w.SourceHash = int64(target), PayloadHash(it.payload())
	if len(patch) == 0 {
		return nil
	}
	if w.Previous, err = json.Marshal(prev); err != nil {
		return fmt.Errorf("link %s: %w", it.key, err)
	}
	op.Payload, op.Changes = patch, peopleFilledChanges(it.changes, patch)
	w.Payload, w.Call = patch, l.update(target, patch, rejected)
	return nil
}

// resume carries on a write an interrupted attempt left pending, as that
// attempt decided it: a create is looked for before it is sent again; a
// link fills the fields its Previous names.
func (l *peopleLoader) resume(it *peopleItem, stored ledger.Entry, op *PlannedOp, w *Write, rejected *bool) error {
	op.Reason = "resuming an interrupted write"
	if stored.Op != ledger.OpLink {
		op.Op, op.Payload, op.Changes = PlanCreate, it.payload(), it.changes
		w.Payload, w.Call, w.Find = it.payload(), l.create(it, rejected), l.find(it)
		return nil
	}
	op.Op, op.TargetID, w.TargetID, w.SourceHash = PlanLink, stored.TargetID, stored.TargetID, PayloadHash(it.payload())
	patch, err := peopleRefill(it.payload(), stored.Previous)
	if err != nil {
		return fmt.Errorf("resume link %s: %w", it.key, err)
	}
	if len(patch) == 0 {
		return nil
	}
	op.Payload, op.Changes = patch, peopleFilledChanges(it.changes, patch)
	w.Payload, w.Previous, w.Call = patch, stored.Previous, l.update(int(stored.TargetID), patch, rejected)
	return nil
}

// index lists the account's persons or organizations, once per call.
func (l *peopleLoader) index(ctx context.Context) (*pdindex.Index, error) {
	if l.ix != nil {
		return l.ix, nil
	}
	ix, err := l.loadIndex(ctx)
	if err != nil {
		return nil, err
	}
	l.ix = ix
	return ix, nil
}

// refreshed lists the account again, once per call, so that a pending
// write's record, made after the first listing or by an earlier attempt,
// can be found.
func (l *peopleLoader) fresh(ctx context.Context) (*pdindex.Index, error) {
	if l.refreshed {
		return l.ix, nil
	}
	ix, err := l.loadIndex(ctx)
	if err != nil {
		return nil, err
	}
	l.ix, l.refreshed = ix, true
	return ix, nil
}

func (l *peopleLoader) loadIndex(ctx context.Context) (*pdindex.Index, error) {
	ix := pdindex.New()
	if l.target == peopleTargetPerson {
		err := l.env.Pipedrive.ListPersons(ctx, pipedrive.ListOptions{}, func(p pipedrive.Person) error {
			ix.AddPerson(p, l.personKey)
			return nil
		})
		return ix, fromPipedrive("index persons", err)
	}
	err := l.env.Pipedrive.ListOrganizations(ctx, pipedrive.ListOptions{}, func(o pipedrive.Organization) error {
		ix.AddOrganization(o, l.orgKey)
		return nil
	})
	return ix, fromPipedrive("index organizations", err)
}

// create makes the record and indexes it, so that later records of the
// chunk with its email or name link to it.
func (l *peopleLoader) create(it *peopleItem, rejected *bool) func(context.Context) (int64, string, error) {
	return func(ctx context.Context) (int64, string, error) {
		if it.person != nil {
			p, err := l.env.Pipedrive.CreatePerson(ctx, *it.person)
			if err != nil {
				l.refreshed = l.refreshed && !lost(err) // Find lists the account again
				*rejected = peopleInvalid(err)
				return 0, "", fromPipedrive("create person", err)
			}
			if l.ix != nil {
				l.ix.AddPerson(p, l.personKey)
			}
			return int64(p.ID), peopleStamp(p.UpdateTime), nil
		}
		o, err := l.env.Pipedrive.CreateOrganization(ctx, *it.org)
		if err != nil {
			l.refreshed = l.refreshed && !lost(err) // Find lists the account again
			*rejected = peopleInvalid(err)
			return 0, "", fromPipedrive("create organization", err)
		}
		if l.ix != nil {
			l.ix.AddOrganization(o, l.orgKey)
		}
		return int64(o.ID), peopleStamp(o.UpdateTime), nil
	}
}

// update fills a linked record's empty fields.
func (l *peopleLoader) update(id int, patch map[string]any, rejected *bool) func(context.Context) (int64, string, error) {
	return func(ctx context.Context) (int64, string, error) {
		if l.target == peopleTargetPerson {
			var in pipedrive.PersonInput
			if err := peopleDecode(patch, &in); err != nil {
				return 0, "", err
			}
			p, err := l.env.Pipedrive.UpdatePerson(ctx, id, in)
			if err != nil {
				*rejected = peopleInvalid(err)
				return 0, "", fromPipedrive("fill person", err)
			}
			if l.ix != nil {
				l.ix.AddPerson(p, l.personKey)
			}
			return int64(p.ID), peopleStamp(p.UpdateTime), nil
		}
		var in pipedrive.OrganizationInput
		if err := peopleDecode(patch, &in); err != nil {
			return 0, "", err
		}
		o, err := l.env.Pipedrive.UpdateOrganization(ctx, id, in)
		if err != nil {
			*rejected = peopleInvalid(err)
			return 0, "", fromPipedrive("fill organization", err)
		}
		if l.ix != nil {
			l.ix.AddOrganization(o, l.orgKey)
		}
		return int64(o.ID), peopleStamp(o.UpdateTime), nil
	}
}

// find looks, in a fresh listing, for the record an interrupted create
// made: by the Perfect Portal id it carries (and, for a person, its name,
// as clients' and referrers' ids may look alike), or for a referrer's firm,
// which carries none, by its name.
func (l *peopleLoader) find(it *peopleItem) func(context.Context) (int64, string, bool, error) {
	return func(ctx context.Context) (int64, string, bool, error) {
		ix, err := l.fresh(ctx)
		if err != nil {
			return 0, "", false, err
		}
		switch {
		case it.person != nil:
			if id, ok := ix.PersonBySource(it.sourceID); ok && fold(ix.Persons[id].Name) == fold(it.person.Name) {
				return int64(id), peopleStamp(ix.Persons[id].UpdateTime), true, nil
			}
		case it.sourceKind == peopleSourceFirm:
			if ids := ix.OrganizationsByName(it.name); len(ids) > 0 {
				id := slices.Min(ids)
				return int64(id), peopleStamp(ix.Organizations[id].UpdateTime), true, nil
			}
		default:
			if id, ok := ix.OrganizationBySource(it.sourceID); ok {
				return int64(id), peopleStamp(ix.Organizations[id].UpdateTime), true, nil
			}
		}
		return 0, "", false, nil
	}
}

func peopleInvalid(err error) bool {
	var invalid *pipedrive.ValidationError
	return errors.As(err, &invalid)
}

func peopleStamp(t pipedrive.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func peopleJoinFlag(flag, more string) string {
	if flag == "" {
		return more
	}
	return flag + "; " + more
}

// peopleFill compares a record Pipedrive has with the payload the
// migration would write and returns the fields the record has empty and
// the payload sets (a PATCH body), and what the record held for them:
// null, or an empty list for emails and phones.
func peopleFill(have, want any) (patch, prev map[string]any, err error) {
	h, err := peopleObject(have)
	if err != nil {
		return nil, nil, err
	}
	w, err := peopleObject(want)
	if err != nil {
		return nil, nil, err
	}
	patch, prev = map[string]any{}, map[string]any{}
	for k, wv := range w {
		if k == "custom_fields" {
			wc, _ := wv.(map[string]any)
			hc, _ := h[k].(map[string]any)
			pc, vc := map[string]any{}, map[string]any{}
			for ck, cv := range wc {
				if !peopleEmpty(cv) && peopleEmpty(hc[ck]) {
					pc[ck], vc[ck] = cv, hc[ck]
				}
			}
			if len(pc) > 0 {
				patch[k], prev[k] = pc, vc
			}
			continue
		}
		if peopleEmpty(wv) || !peopleEmpty(h[k]) {
			continue
		}
		patch[k] = wv
		if _, list := wv.([]any); list {
			prev[k] = []any{}
		} else {
			prev[k] = h[k]
		}
	}
	return patch, prev, nil
}

// peopleRefill is the PATCH body of a resumed link: the payload's values
// of the fields the pending entry's Previous names.
func peopleRefill(want any, previous json.RawMessage) (map[string]any, error) {
	var prev map[string]any
	if len(previous) > 0 {
		if err := json.Unmarshal(previous, &prev); err != nil {
			return nil, err
		}
	}
	w, err := peopleObject(want)
	if err != nil {
		return nil, err
	}
	patch := map[string]any{}
	for k, pv := range prev {
		if k == "custom_fields" {
			names, _ := pv.(map[string]any)
			wc, _ := w[k].(map[string]any)
			pc := map[string]any{}
			for ck := range names {
				if !peopleEmpty(wc[ck]) {
					pc[ck] = wc[ck]
				}
			}
			if len(pc) > 0 {
				patch[k] = pc
			}
			continue
		}
		if !peopleEmpty(w[k]) {
			patch[k] = w[k]
		}
	}
	return patch, nil
}

// peopleFilledChanges keeps the diff's changes of the fields a link fills.
func peopleFilledChanges(changes []transform.Change, patch map[string]any) []transform.Change {
	custom, _ := patch["custom_fields"].(map[string]any)
	var out []transform.Change
	for _, c := range changes {
		if c.Key != "" {
			if _, ok := custom[c.Key]; ok {
				out = append(out, c)
			}
		} else if _, ok := patch[c.Field]; ok {
			out = append(out, c)
		}
	}
	return out
}

func peopleObject(v any) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(data, &m)
}

func peopleDecode(m map[string]any, into any) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode fill: %w", err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fmt.Errorf("decode fill: %w", err)
	}
	return nil
}

// peopleEmpty reports whether a field value holds nothing: null, blank
// text, an empty list or object, or an address whose value is blank.
func peopleEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		if len(x) == 0 {
			return true
		}
		if val, ok := x["value"]; ok {
			return peopleEmpty(val)
		}
	case float64:
		return x == 0
	}
	return false
}
