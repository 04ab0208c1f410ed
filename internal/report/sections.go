package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
)

// fieldKinds orders the field map.
var fieldKinds = []string{"organization", "person", "deal", "activity", "note", "file", "participant"}

// logicalSources is the source column of each configured custom field, by
// kind and logical name, for fields the run's plans did not write.
var logicalSources = map[string]map[string]string{
	"deal": {"matter_number": "matters.matter_number", "matter_type": "matters.matter_type", "created_at": "matters.created_at",
		"property_address": "matters.property_address", "purchase_price": "matters.purchase_price", "mortgage_lender": "matters.mortgage_lender",
		"referring_solicitor": "matters.referring_solicitor", "source_id": "matters.matter_id", "stage_timestamps": "key_stages.entered_at"},
	"person":       {"role": "referrers.role", "source_id": "clients.client_id, referrers.referrer_id"},
	"organization": {"source_id": "organisations.organisation_id"},
}

func logicalSource(kind, name string) string {
	switch {
	case strings.HasPrefix(name, "stage_entered:"):
		return "key_stages.entered_at (" + strings.TrimPrefix(name, "stage_entered:") + ")"
	case strings.HasPrefix(name, "custom:"):
		return "matters.custom." + strings.TrimPrefix(name, "custom:")
	}
	return logicalSources[kind][name]
}

func (b *builder) mappingSection() {
	m := &Mapping{ConfigSource: "the embedded default configuration (conveyor init-config shows it)", Pipelines: []migrate.PipelineStages{},
		Unmapped: []migrate.UnmappedStage{}, MatterTypes: []MatterTypeRoute{}, Fields: []FieldRow{}, Owners: []OwnerRow{}, Policies: []Policy{}}
	if _, ok := b.stat(configKey); ok {
		m.ConfigSource = "the migration's " + configKey + " (" + b.prefix + configKey + "), the configuration the latest run was given"
	}
	if b.stageMap != nil {
		m.Pipelines, m.Unmapped = b.stageMap.Pipelines, b.stageMap.Unmapped
		if m.Pipelines == nil {
			m.Pipelines = []migrate.PipelineStages{}
		}
		if m.Unmapped == nil {
			m.Unmapped = []migrate.UnmappedStage{}
		}
	} else {
		b.note(SectionMapping, "No stage map: the stage mapping step has not run.")
	}
	for _, t := range b.cfg.MatterTypes {
		r := MatterTypeRoute{Type: t.Name, Aliases: t.Aliases}
		if pl := b.cfg.PipelineFor(t.Name); pl != nil {
			r.Pipeline = pl.Name
		}
		if r.Aliases == nil {
			r.Aliases = []string{}
		}
		m.MatterTypes = append(m.MatterTypes, r)
	}

	// The field map: what the run's plans wrote, then the schema's fields
	// they did not.
	types := map[string]string{}
	seen := map[string]bool{}
	if b.schema != nil {
		for kind, byName := range b.schema.Fields {
			for _, f := range byName {
				if f.Key != "" {
					types[f.Key] = f.Type
				}
				types[kind+"\x00"+f.Label] = f.Type
			}
		}
	}
	for u, n := range b.fieldUses {
		typ := types[u.key]
		if typ == "" && u.key != "" {
			typ = types[u.kind+"\x00"+u.field]
		}
		m.Fields = append(m.Fields, FieldRow{Kind: u.kind, Source: u.source, Field: u.field, Key: u.key, Type: typ, Writes: n})
		seen[u.kind+"\x00"+u.field] = true
	}
	if b.schema != nil {
		for kind, byName := range b.schema.Fields {
			for name, f := range byName {
				if seen[kind+"\x00"+f.Label] {
					continue
				}
				seen[kind+"\x00"+f.Label] = true
				m.Fields = append(m.Fields, FieldRow{Kind: kind, Source: logicalSource(kind, name), Field: f.Label, Key: f.Key, Type: f.Type})
			}
		}
	}
	sort.Slice(m.Fields, func(i, j int) bool {
		a, c := m.Fields[i], m.Fields[j]
		if rank(fieldKinds, a.Kind) != rank(fieldKinds, c.Kind) {
			return rank(fieldKinds, a.Kind) < rank(fieldKinds, c.Kind)
		}
		if a.Source != c.Source {
			return a.Source < c.Source
		}
		return a.Field < c.Field
	})
	if b.fieldUses == nil && b.schema == nil {
		b.note(SectionMapping, "No field map yet: the schema step and a plan run make it.")
	}

	// Owners.
	names := map[string]int{}
	for i, f := range b.feeEarners {
		names[f.ID] = i
	}
	if b.owners != nil {
		flags := map[string]string{}
		for _, f := range b.owners.Flagged {
			flags[f.FeeEarnerID] = f.Reason
		}
		def := b.owners.Default
		m.DefaultOwner = &def
		for _, id := range sortedKeys(b.owners.FeeEarners, nil) {
			o := b.owners.FeeEarners[id]
			row := OwnerRow{FeeEarnerID: id, UserID: o.UserID, How: o.Resolution, Flag: flags[id]}
			if i, ok := names[id]; ok {
				fe := b.feeEarners[i]
				active := fe.Active
				row.Name, row.Active = fe.Name, &active
			}
			m.Owners = append(m.Owners, row)
		}
	} else {
		b.note(SectionMapping, "No owner map: the owners step has not run.")
	}
	b.note(SectionMapping, "Pipedrive users are named by their id: owners.json keeps no user names or emails.")

	// Policies.
	p := b.cfg.Policies
	m.Policies = append(m.Policies,
		Policy{"missing_email", p.MissingEmail, map[string]string{"migrate": "a client with no email is migrated, flagged: it cannot be matched to an existing person or to later exports",
			"skip": "a client with no email is not migrated (listed in the audit)"}[p.MissingEmail]},
		Policy{"missing_title", p.MissingTitle, map[string]string{"fallback": "a matter with no description is titled \"<matter number> <property address>\"",
			"skip": "a matter with no description is not migrated (listed in the audit)"}[p.MissingTitle]},
		Policy{"fallback_activity_type", p.FallbackActivityType, "an activity of a type the configuration does not know becomes this type"},
		Policy{"attachment_size_limit", p.AttachmentSizeLimit.String(), "files over it are compressed, or else split into ordered parts, and flagged"},
	)
	def := b.cfg.Owners.Default
	if def == "" {
		def = "(the API token's user)"
	}
	m.Policies = append(m.Policies, Policy{"owners.default", def, "owns the records of fee earners no Pipedrive user matches"},
		Policy{"owners.map", fmt.Sprintf("%d entries", len(b.cfg.Owners.Map)), "fee earners matched to users by hand rather than by email"})
	for _, pl := range b.cfg.Pipelines {
		v, meaning := pl.FallbackStage, "a source stage no stage lists goes to this stage"
		if v == "" {
			v, meaning = "(none)", "a source stage no stage lists stops the run for review"
		}
		m.Policies = append(m.Policies, Policy{"fallback_stage (" + pl.Name + ")", v, meaning})
	}
	m.Policies = append(m.Policies, Policy{"staging.chunk_matters", fmt.Sprint(b.cfg.Staging.ChunkMatters), "matters, with everything on them, per staged chunk and load step"})
	b.d.Mapping = m
}

func (b *builder) budgetSection() {
	bu := &Budget{}
	var est migrate.Estimate
	found := false
	source := "estimate"
	if b.run != nil {
		key := migrate.RunPrefix(b.id, b.run.id) + "estimate.json"
		if s := b.run.summary; s != nil && s.Estimate != "" {
			key = s.Estimate
		}
		found = b.get(SectionBudget, key, &est)
		if !found {
			// The plan run that priced this one: the newest plan run
			// before it, with no sample, full or delta run between them.
			for _, r := range b.runs[b.runIndex()+1:] {
				if r.summary == nil || r.summary.Mode != "plan" {
					break
				}
				if b.get(SectionBudget, migrate.RunPrefix(b.id, r.id)+"estimate.json", &est) {
					found, source, bu.EstimateRun = true, "plan", r.id
					break
				}
			}
		}
	}
	switch {
	case found:
		bu.Source, bu.Plan, bu.Seats, bu.DailyTokens, bu.BurstPerSecond = source, est.Plan, est.Seats, est.DailyTokens, est.BurstPerSecond
		bu.All, bu.WithoutHistory = est.All, est.WithoutHistory
		for _, ep := range sortedKeys(est.ByEndpoint, nil) {
			bu.ByEndpoint = append(bu.ByEndpoint, EndpointCost{Endpoint: ep, Tokens: est.ByEndpoint[ep]})
		}
		if source == "estimate" {
			b.d.Identity.Plan, b.d.Identity.Seats = est.Plan, est.Seats
		}
	case b.audit != nil:
		a := b.audit.Budget
		bu.Source, bu.Plan, bu.Seats, bu.DailyTokens = "audit", a.Plan, a.Seats, a.DailyTokens
		bu.All = migrate.Cost{Tokens: a.Tokens, Days: a.Days, CalendarDays: ceilDays(a.Days)}
		bu.WithoutHistory = migrate.Cost{Tokens: a.Tokens - a.HistoryTokens, Days: a.DaysWithoutHistory, CalendarDays: ceilDays(a.DaysWithoutHistory)}
		if b.run != nil {
			b.note(SectionBudget, "This run has no estimate (only plan runs price themselves) and no plan run came just before it: the figures are the audit's rougher budget for the whole export, in tokens and days only.")
		}
	default:
		b.note(SectionBudget, "No estimate and no audit: nothing to price yet.")
		return
	}
	if b.run != nil && b.run.summary != nil {
		s := b.run.summary
		bu.Spent = &Spent{Requests: s.Requests, Tokens: s.Tokens}
		for _, t := range s.Timeline {
			bu.Timeline = append(bu.Timeline, TimelineStep{Kind: t.Kind, Source: t.Source, Chunk: t.Chunk, Started: rfc3339Nano(t.Started),
				Finished: rfc3339Nano(t.Finished), Requests: t.Requests, Tokens: t.Tokens})
		}
	}
	b.d.Budget = bu
}

// runIndex is the position of the report's run in b.runs (newest first).
func (b *builder) runIndex() int {
	for i, r := range b.runs {
		if r == b.run {
			return i
		}
	}
	return len(b.runs) - 1
}

func rfc3339Nano(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func ceilDays(d float64) int {
	n := int(d)
	if float64(n) < d {
		n++
	}
	return n
}

// fieldTypeNames are the field types as Pipedrive's settings name them.
var fieldTypeNames = map[string]string{
	"varchar": "Text", "varchar_auto": "Autocomplete", "text": "Large text", "double": "Numerical",
	"monetary": "Monetary", "date": "Date", "daterange": "Date range", "time": "Time", "timerange": "Time range",
	"set": "Multiple options", "enum": "Single option", "user": "User", "org": "Organization", "people": "Person",
	"phone": "Phone", "address": "Address",
}

var schemaKindNames = map[string]string{migrate.KindDealField: "Deal", migrate.KindPersonField: "Person", migrate.KindOrganizationField: "Organization"}

func (b *builder) schemaSection() {
	var plan migrate.SchemaPlan
	if !b.get(SectionSchema, migrate.SchemaPlanName, &plan) {
		b.note(SectionSchema, "No schema plan: the schema step has not run.")
		return
	}
	s := &Schema{Applied: plan.Applied, CustomFields: plan.CustomFields, Fields: []SchemaField{}, Pipelines: []SchemaPipeline{},
		ActivityTypes: []SchemaActivity{}, Conflicts: plan.Conflicts}
	for _, kind := range []string{migrate.KindDealField, migrate.KindPersonField, migrate.KindOrganizationField} {
		for _, it := range plan.Items {
			if it == nil || it.Kind != kind {
				continue
			}
			name := fieldTypeNames[it.Type]
			if name == "" {
				name = it.Type
			}
			s.Fields = append(s.Fields, SchemaField{Kind: schemaKindNames[kind], Label: it.Name, Type: it.Type, TypeName: name,
				Options: it.Options, Action: it.Action, MissingOptions: it.MissingOptions})
		}
	}
	for _, it := range plan.Items {
		if it == nil {
			continue
		}
		switch it.Kind {
		case migrate.KindPipeline:
			s.Pipelines = append(s.Pipelines, SchemaPipeline{Name: it.Name, Action: it.Action, Stages: []SchemaStage{}})
		case migrate.KindStage:
			for i := range s.Pipelines {
				if s.Pipelines[i].Name == it.Pipeline {
					s.Pipelines[i].Stages = append(s.Pipelines[i].Stages, SchemaStage{Name: it.Name, Action: it.Action})
				}
			}
		case migrate.KindActivityType:
			s.ActivityTypes = append(s.ActivityTypes, SchemaActivity{Name: it.Name, Icon: it.Icon, For: it.Names, Action: it.Action})
		}
	}
	if !plan.Applied {
		b.note(SectionSchema, "The schema has not been applied yet: items marked \"create\" do not exist in Pipedrive.")
	}
	b.d.Schema = s
}

var verifyKinds = []string{"organization", "person", "deal", "participant", "activity", "note", "file"}

func (b *builder) verifySection() {
	if b.run == nil {
		b.note(SectionVerify, "No run yet: a sample, full or delta run ends by reading everything back.")
		return
	}
	mode := ""
	if b.run.summary != nil {
		mode = b.run.summary.Mode
	}
	if mode == "plan" {
		b.note(SectionVerify, "No verify for a plan run: it writes nothing to read back.")
		return
	}
	var rep migrate.VerifyReport
	if !b.get(SectionVerify, verifyKey, &rep) {
		b.note(SectionVerify, "No verification: the run did not reach its verify step.")
		return
	}
	v := &Verify{Kinds: []VerifyKind{}, Completeness: []CompletenessRow{}, Mismatches: []VerifyMismatch{}, Missing: rep.Missing}
	if v.Missing == nil {
		v.Missing = []string{}
	}
	if b.run.summary != nil {
		v.Output = b.run.summary.Verify
	}
	for _, k := range sortedKeys(rep.Kinds, verifyKinds) {
		c := rep.Kinds[k]
		if c == nil {
			continue
		}
		v.Kinds = append(v.Kinds, VerifyKind{Kind: k, Expected: c.Expected, Written: c.Written, Found: c.Found, Matching: c.Matching})
	}
	for _, k := range sortedKeys(rep.Completion, nil) {
		c := rep.Completion[k]
		v.Completeness = append(v.Completeness, CompletenessRow{Field: k, Source: c.Source, Pipedrive: c.Pipedrive})
	}
	for _, m := range rep.Mismatches {
		v.Mismatches = append(v.Mismatches, VerifyMismatch{Key: m.Key, Field: m.Field, Want: display(m.Want), Got: display(m.Got)})
	}
	// verify.json is one per migration: say so when it is not this run's.
	for _, r := range b.runs {
		if r == b.run {
			break
		}
		if r.hasVerify {
			b.note(SectionVerify, "A later run (%s) verified since and rewrote verify.json: the figures below are that run's read-back.", r.id)
			break
		}
	}
	if b.run.summary != nil && b.run.summary.Verify == nil && (b.run.summary.Failure == nil || b.run.summary.Failure.Error != "VerifyMismatchError") {
		b.note(SectionVerify, "This run's summary records no verify step: verify.json may be an earlier run's.")
	}
	b.d.Verify = v
}

func (b *builder) rebuildSection() {
	if b.manifest == nil {
		return
	}
	if len(b.templates) == 0 {
		b.note(SectionRebuild, "The export has no notification templates.")
	}
	b.d.Rebuild = rebuild(b.templates, b.cfg)
}

func (b *builder) costsSection() {
	c := &Costs{MattersCounted: b.matters.lastYear, MattersBasis: b.matters.basis}
	if b.manifest == nil {
		c.MattersBasis = "no staged export to count matters in: give matters_per_year"
	}
	c.RunPlan, c.RunSeats = b.d.Identity.Plan, b.d.Identity.Seats
	for _, f := range b.feeEarners {
		if f.Active {
			c.ActiveFeeEarners++
		}
	}
	b.d.Costs = c
	var overrides []CostOverrides
	for _, key := range []string{configKey, costsKey} {
		data, err := b.store.Get(b.ctx, b.prefix+key)
		if errors.Is(err, blob.ErrNotFound) {
			continue
		}
		if err != nil {
			b.note(SectionCosts, "%s could not be read: %v", key, err)
			continue
		}
		o, ok, err := ParseCosts(b.prefix+key, data)
		if err != nil {
			b.note(SectionCosts, "The cost figures in %s could not be read: %v", key, err)
			continue
		}
		if ok {
			overrides = append(overrides, o)
		}
	}
	b.d.ApplyCosts(overrides...)
}

// rollbackAction says what a rollback does with a ledger entry.
func rollbackAction(e ledger.Entry) string {
	switch e.Status {
	case ledger.StatusPending:
		return "check by hand: the write may or may not have reached Pipedrive"
	case ledger.StatusRolledBack:
		return "already rolled back"
	case ledger.StatusAbandoned:
		return "nothing: abandoned, never written"
	}
	if e.Op == ledger.OpCreate {
		return "delete"
	}
	if hasPrevious(e.Previous) {
		return "restore the previous values"
	}
	return "nothing to restore"
}

func hasPrevious(p json.RawMessage) bool {
	s := strings.TrimSpace(string(p))
	return s != "" && s != "null" && s != "{}"
}

func (b *builder) rollbackSection() {
	rb := &Rollback{Ledger: b.led != nil, Entries: []RollbackRow{}}
	run := ""
	if b.run != nil {
		run = b.run.id
	}
	runFlag := ""
	if run != "" {
		runFlag = " --run " + run
	}
	rb.Command = fmt.Sprintf("conveyor rollback --migration %s%s (--sandbox | --pipedrive-url https://<company>.pipedrive.com)", b.id, runFlag)
	rb.DryRunCommand = rb.Command + " --dry-run"
	in, _ := json.Marshal(map[string]any{"migration_id": b.id, "run": run, "force": false, "approved": false})
	rb.AWSInput = string(in)
	rb.AWSCommand = "aws stepfunctions start-execution --state-machine-arn \"$ROLLBACK\" --input '" + rb.AWSInput + "'"
	if b.run == nil {
		b.note(SectionRollback, "No run yet: nothing to roll back.")
	} else if b.run.summary != nil && b.run.summary.Mode == "plan" {
		b.note(SectionRollback, "A plan run writes nothing to Pipedrive: there is nothing of it to roll back. The commands below undo the whole migration.")
		rb.Command = fmt.Sprintf("conveyor rollback --migration %s (--sandbox | --pipedrive-url https://<company>.pipedrive.com)", b.id)
		rb.DryRunCommand = rb.Command + " --dry-run"
		in, _ := json.Marshal(map[string]any{"migration_id": b.id, "run": "", "force": false, "approved": false})
		rb.AWSInput = string(in)
		rb.AWSCommand = "aws stepfunctions start-execution --state-machine-arn \"$ROLLBACK\" --input '" + rb.AWSInput + "'"
	}
	b.previous = map[string]map[string]any{}
	if b.led == nil {
		b.note(SectionRollback, "No ledger was given: what a rollback would undo is not known here (locally it is <state>/ledger.db).")
	} else if run != "" {
		type k struct{ kind, op, status, action string }
		n := map[k]int{}
		err := b.led.List(b.ctx, b.id, func(e ledger.Entry) error {
			if e.Run != run {
				return nil
			}
			act := rollbackAction(e)
			n[k{e.TargetKind, string(e.Op), string(e.Status), act}]++
			switch {
			case act == "delete":
				rb.Totals.Delete++
			case act == "restore the previous values":
				rb.Totals.Restore++
			case act == "nothing to restore":
				rb.Totals.NothingToRestore++
			case e.Status == ledger.StatusPending:
				rb.Totals.CheckByHand++
			case e.Status == ledger.StatusRolledBack:
				rb.Totals.AlreadyRolledBack++
			}
			if (e.Op == ledger.OpUpdate || e.Op == ledger.OpLink) && hasPrevious(e.Previous) {
				base, _, _ := strings.Cut(e.Key, "/update/")
				if b.embedded[base] {
					var prev map[string]any
					if json.Unmarshal(e.Previous, &prev) == nil {
						b.previous[base] = prev
					}
				}
			}
			return nil
		})
		if err != nil {
			b.note(SectionRollback, "The ledger could not be read: %v", err)
		}
		for key, c := range n {
			rb.Entries = append(rb.Entries, RollbackRow{TargetKind: key.kind, Op: key.op, Status: key.status, Action: key.action, N: c})
		}
		sort.Slice(rb.Entries, func(i, j int) bool {
			a, c := rb.Entries[i], rb.Entries[j]
			if rank(targetKinds, a.TargetKind) != rank(targetKinds, c.TargetKind) {
				return rank(targetKinds, a.TargetKind) < rank(targetKinds, c.TargetKind)
			}
			if a.Op != c.Op {
				return rank(opOrder, a.Op) < rank(opOrder, c.Op)
			}
			return a.Status < c.Status
		})
	}
	names := []string{"rollback-all.json", "rollback-all-dry-run.json"}
	if run != "" {
		names = append([]string{"rollback-" + run + ".json", "rollback-" + run + "-dry-run.json"}, names...)
	}
	for _, name := range names {
		var rep migrate.RollbackReport
		if b.get(SectionRollback, name, &rep) {
			counts := rep.Counts
			if counts == nil {
				counts = []migrate.RollbackCount{}
			}
			rb.Done = append(rb.Done, RollbackDone{Key: b.prefix + name, Run: rep.Run, Applied: rep.Applied, Force: rep.Force, Totals: rep.Totals, Counts: counts})
		}
	}
	b.d.Rollback = rb
	b.applyPrevious()
}

// applyPrevious puts the values updates and links replaced beside the
// values they wrote.
func (b *builder) applyPrevious() {
	if b.d.Diff == nil || len(b.previous) == 0 {
		return
	}
	for i := range b.d.Diff.Ops {
		op := &b.d.Diff.Ops[i]
		prev := b.previous[op.Key]
		if prev == nil {
			continue
		}
		custom, _ := prev["custom_fields"].(map[string]any)
		for j := range op.Changes {
			c := &op.Changes[j]
			var v any
			ok := false
			if c.Key != "" {
				if v, ok = custom[c.Key]; !ok {
					v, ok = prev[c.Key]
				}
			} else {
				v, ok = prev[c.Field]
			}
			if ok {
				c.Previous, c.HasPrevious = display(v), true
			}
		}
	}
}

func (b *builder) deltaSection() {
	if b.run == nil || b.run.summary == nil || b.run.summary.Mode != "delta" {
		b.note(SectionDelta, "Not a delta run: a delta run picks up what a newer export changed since the last full or delta run.")
		return
	}
	var rep migrate.DeltaReport
	if !b.get(SectionDelta, migrate.RunPrefix(b.id, b.run.id)+"delta.json", &rep) {
		b.note(SectionDelta, "The delta run wrote no delta report: it did not finish.")
		return
	}
	d := &Delta{Since: rep.Since, Watermark: rep.Watermark, Updated: rep.Updated, Conflicts: rep.Conflicts, Gone: rep.Gone, GoneByKind: counts(rep.GoneByKind)}
	for _, p := range []*[]migrate.DeltaRecord{&d.Updated, &d.Conflicts, &d.Gone} {
		if *p == nil {
			*p = []migrate.DeltaRecord{}
		}
	}
	b.d.Delta = d
}
