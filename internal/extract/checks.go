package extract

import (
	"fmt"
	"math"

	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

func (r *runner) feeEarner(t *tableState, row *pp.Row) {
	fe, issues := pp.DecodeFeeEarner(row)
	if !r.check(t, row, fe.ID, issues) {
		return
	}
	r.register(t, fe.ID, entry{line: int32(row.Line), hash: row.Hash()})
}

func (r *runner) organisation(t *tableState, row *pp.Row) {
	o, issues := pp.DecodeOrganisation(row)
	if !r.check(t, row, o.ID, issues) {
		return
	}
	r.register(t, o.ID, entry{line: int32(row.Line), hash: row.Hash(), stamp: unixNano(o.UpdatedAt)})
}

func (r *runner) client(t *tableState, row *pp.Row) {
	c, issues := pp.DecodeClient(row)
	if !r.check(t, row, c.ID, issues) {
		return
	}
	if c.OrganisationID != "" {
		if _, ok := r.follow(t, row, c.ID, "organisation_id", pp.TableOrganisations, c.OrganisationID); !ok {
			return
		}
	}
	if c.Email == "" {
		if r.cfg.Policies.MissingEmail == "skip" {
			r.reject(t, row, c.ID, Skipped, "missing_email", "the client has no email; skipped by policy missing_email: skip", pp.SeverityWarning)
			return
		}
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityWarning, Code: "missing_email", Table: t.name, File: row.File, Line: row.Line, SourceID: c.ID,
			Message: "the client has no email: migrated as a person of its own, which later exports cannot match by email"})
	}
	r.register(t, c.ID, entry{line: int32(row.Line), hash: row.Hash(), stamp: unixNano(c.UpdatedAt)}.withEmail(hashString(c.Email)))
}

func (r *runner) referrer(t *tableState, row *pp.Row) {
	x, issues := pp.DecodeReferrer(row)
	if !r.check(t, row, x.ID, issues) {
		return
	}
	if x.Email == "" {
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityInfo, Code: "missing_email", Table: t.name, File: row.File, Line: row.Line, SourceID: x.ID,
			Message: "the third party has no email"})
	}
	r.register(t, x.ID, entry{line: int32(row.Line), hash: row.Hash(), stamp: unixNano(x.UpdatedAt)})
}

func (r *runner) matter(t *tableState, row *pp.Row) {
	m, issues := pp.DecodeMatter(row)
	if !r.check(t, row, m.ID, issues) {
		return
	}
	if m.Description == "" {
		if r.cfg.Policies.MissingTitle == "skip" {
			r.reject(t, row, m.ID, Skipped, "missing_title", "the matter has no description; skipped by policy missing_title: skip", pp.SeverityWarning)
			return
		}
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityWarning, Code: "missing_title", Table: t.name, File: row.File, Line: row.Line, SourceID: m.ID,
			Message: "the matter has no description; the deal is titled \"<matter_number> <property_address>\""})
	}
	if m.FeeEarnerID == "" {
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityWarning, Code: "missing_fee_earner", Table: t.name, File: row.File, Line: row.Line, SourceID: m.ID,
			Message: "the matter has no fee earner; the deal goes to the default owner"})
	} else if fe := r.tables[pp.TableFeeEarners]; fe.present {
		if e, ok := fe.lookup(m.FeeEarnerID); !ok || e.status != Accepted {
			r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityWarning, Code: "unknown_fee_earner", Table: t.name, File: row.File, Line: row.Line, SourceID: m.ID,
				Message: fmt.Sprintf("fee earner %q is not in fee_earners; the deal goes to the default owner", m.FeeEarnerID)})
		}
	}
	typeName, ok := r.cfg.MatterType(m.Type)
	if !ok {
		typeName = m.Type
		raw := m.Type
		r.aggregate("matter_type\x00"+raw, pp.Flag{Severity: pp.SeverityWarning, Code: "unknown_matter_type", Table: t.name, File: row.File, Line: row.Line, SourceID: m.ID},
			func(n int) string {
				return fmt.Sprintf("matter type %q is not in the mapping configuration (%s, the first at this line); they go to the default pipeline: add it under matter_types", raw, plural(n, "matter", "matters"))
			})
	}
	status, ok := r.cfg.Status(m.Status)
	if !ok {
		status = m.Status
		raw := m.Status
		r.aggregate("status\x00"+raw, pp.Flag{Severity: pp.SeverityWarning, Code: "unknown_status", Table: t.name, File: row.File, Line: row.Line, SourceID: m.ID},
			func(n int) string {
				return fmt.Sprintf("status %q is not one the mapping configuration knows (%s, the first at this line); they stay open: add it under statuses", raw, plural(n, "matter", "matters"))
			})
	}
	pl := r.cfg.PipelineFor(typeName)
	if m.KeyStage != "" {
		r.stageMapped(pl.Name, m.KeyStage, t, row, m.ID)
	}
	r.register(t, m.ID, entry{line: int32(row.Line), hash: row.Hash(), stamp: unixNano(m.UpdatedAt),
		v: [4]uint16{r.types.id(typeName), r.stages.id(m.KeyStage), r.statuses.id(status), r.pipelines.id(pl.Name)}})
}

// stageMapped checks that a source stage has a destination in the pipeline.
// It returns the place of the aggregate it counted the row in, -1 if none.
func (r *runner) stageMapped(pipeline, stage string, t *tableState, row *pp.Row, id string) int {
	pl := r.pipelineByName(pipeline)
	if pl == nil {
		return -1
	}
	if _, ok := pl.StageFor(stage); ok {
		return -1
	}
	return r.aggregate("stage\x00"+pipeline+"\x00"+stage, pp.Flag{Severity: pp.SeverityWarning, Code: "unmapped_stage", Table: t.name, File: row.File, Line: row.Line, SourceID: id},
		func(n int) string {
			return fmt.Sprintf("stage %q has no destination in pipeline %q (%s, the first at this line): the run stops for review until it is added to that pipeline's stages or a fallback_stage is set", stage, pipeline, plural(n, "row", "rows"))
		})
}

func (r *runner) matterLink(t *tableState, row *pp.Row, id, matterID string) (entry, bool) {
	if _, ok := r.follow(t, row, id, "matter_id", pp.TableMatters, matterID); !ok {
		return entry{}, false
	}
	e, _ := r.tables[pp.TableMatters].lookup(matterID)
	return e, true
}

// pair records a link row for deduplication: when the link table has been
// read, a repeat of a link is merged into its first row, and uncounted
// from the aggregate (at place agg, -1 for none) the row was counted in
// (see settleDeferred).
func (r *runner) pair(t *tableState, row *pp.Row, key string, agg int) {
	t.deferred.add(event{key: idKey(key), val: uint64(agg + 1), line: int32(row.Line), op: opPair})
}

func (r *runner) matterClient(t *tableState, row *pp.Row) {
	x, issues := pp.DecodeMatterClient(row)
	if !r.check(t, row, "", issues) {
		return
	}
	if _, ok := r.matterLink(t, row, "", x.MatterID); !ok {
		return
	}
	client, ok := r.follow(t, row, "", "client_id", pp.TableClients, x.ClientID)
	if !ok {
		return
	}
	// A repeated link counts twice here: only whether a matter has a link
	// is kept.
	r.pair(t, row, x.MatterID+"\x1f"+client, -1)
	mt := r.tables[pp.TableMatters]
	e, _ := mt.lookup(x.MatterID)
	if e.links < math.MaxUint16 {
		e.links++
	}
	mt.put(x.MatterID, e)
}

func (r *runner) matterReferrer(t *tableState, row *pp.Row) {
	x, issues := pp.DecodeMatterReferrer(row)
	if !r.check(t, row, "", issues) {
		return
	}
	if _, ok := r.matterLink(t, row, "", x.MatterID); !ok {
		return
	}
	if _, ok := r.follow(t, row, "", "referrer_id", pp.TableReferrers, x.ReferrerID); !ok {
		return
	}
	r.pair(t, row, x.MatterID+"\x1f"+x.ReferrerID, -1)
}

func (r *runner) keyStage(t *tableState, row *pp.Row) {
	x, issues := pp.DecodeKeyStage(row)
	if !r.check(t, row, "", issues) {
		return
	}
	m, ok := r.matterLink(t, row, "", x.MatterID)
	if !ok {
		return
	}
	agg := r.stageMapped(r.pipelines.name(m.v[3]), x.Stage, t, row, x.MatterID)
	r.pair(t, row, x.MatterID+"\x1f"+x.Stage+"\x1f"+x.EnteredAt.String(), agg)
}

func (r *runner) activity(t *tableState, row *pp.Row) {
	x, issues := pp.DecodeActivity(row)
	if !r.check(t, row, x.ID, issues) {
		return
	}
	if _, ok := r.matterLink(t, row, x.ID, x.MatterID); !ok {
		return
	}
	typ := r.activityType(x.SourceType)
	if typ == "" {
		typ = r.cfg.Policies.FallbackActivityType
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityWarning, Code: "unknown_activity_type", Table: t.name, File: row.File, Line: row.Line, SourceID: x.ID,
			Message: fmt.Sprintf("activity type %q is not call, email, meeting, sms, task or note; kept as %q (policies.fallback_activity_type)", x.SourceType, typ)})
	}
	r.feeEarnerRef(t, row, x.ID, x.FeeEarnerID)
	r.register(t, x.ID, entry{line: int32(row.Line), hash: row.Hash(), v: [4]uint16{r.actTypes.id(typ)}})
}

// activityType maps a source activity type to a canonical one, "" if unknown.
func (r *runner) activityType(raw string) string {
	if typ, ok := r.cfg.ActivityType(raw); ok {
		return typ
	}
	return ""
}

// feeEarnerRef checks an activity's or document's fee earner, one flag per
// unknown fee earner.
func (r *runner) feeEarnerRef(t *tableState, row *pp.Row, id, fe string) {
	ft := r.tables[pp.TableFeeEarners]
	if fe == "" || !ft.present {
		return
	}
	if e, ok := ft.lookup(fe); ok && e.status == Accepted {
		return
	}
	table := t.name
	r.aggregate("fee_earner\x00"+t.name+"\x00"+fe, pp.Flag{Severity: pp.SeverityWarning, Code: "unknown_fee_earner", Table: t.name, File: row.File, Line: row.Line, SourceID: id},
		func(n int) string {
			return fmt.Sprintf("fee earner %q is not in fee_earners (%s, the first at this line); they go to the default owner", fe, plural(n, table+" row", table+" rows"))
		})
}

func (r *runner) template(t *tableState, row *pp.Row) {
	x, issues := pp.DecodeTemplate(row)
	if !r.check(t, row, x.ID, issues) {
		return
	}
	r.register(t, x.ID, entry{line: int32(row.Line), hash: row.Hash()})
}
