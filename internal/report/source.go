package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// sourceIndex holds the export's values of the records the diff shows, by
// table and source id, flattened to the column names the diff's changes
// name ("matters.legal_fee", "clients.address_*", "matters.custom.Tenure").
type sourceIndex struct {
	need map[string]bool
	vals map[string]map[string]string
}

func newSourceIndex() *sourceIndex {
	return &sourceIndex{need: map[string]bool{}, vals: map[string]map[string]string{}}
}

func sourceKey(table, id string) string { return table + "\x00" + id }

// want asks for the record a change's source names.
func (s *sourceIndex) want(source, id string) {
	if source == "" || id == "" {
		return
	}
	table, _, _ := strings.Cut(source, ".")
	s.need[sourceKey(table, id)] = true
}

func (s *sourceIndex) wanted(table, id string) bool { return s.need[sourceKey(table, id)] }

// value is the export's value of a change's source: its columns ("+"
// joins several) in the record of that table with the change's source id.
func (s *sourceIndex) value(source, id string) string {
	table, cols, ok := strings.Cut(source, ".")
	if !ok {
		return ""
	}
	rec := s.vals[sourceKey(table, id)]
	if rec == nil {
		return ""
	}
	var parts []string
	for _, c := range strings.Split(cols, "+") {
		if v := rec[c]; v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " ")
}

// idColumns name each table's id column, which the staged records call "id".
var idColumns = map[string]string{
	pp.TableMatters: "matter_id", pp.TableClients: "client_id", pp.TableReferrers: "referrer_id",
	pp.TableOrganisations: "organisation_id", pp.TableActivities: "activity_id", pp.TableDocuments: "document_id",
	pp.TableFeeEarners: "fee_earner_id", pp.TableTemplates: "template_id",
}

var addressParts = []string{"line1", "line2", "town", "county", "postcode", "country"}

// add flattens a staged record of table, if the diff wants it.
func (s *sourceIndex) add(table string, raw []byte) {
	var head struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &head) != nil || !s.wanted(table, head.ID) {
		return
	}
	s.vals[sourceKey(table, head.ID)] = flatten(table, raw)
}

// flatten turns a staged record into column → value.
func flatten(table string, raw []byte) map[string]string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range m {
		switch {
		case k == "source":
		case k == "id":
			out[idColumns[table]] = text(v)
		case k == "address":
			a, _ := v.(map[string]any)
			var parts []string
			for _, p := range addressParts {
				t := text(a[p])
				out["address_"+p] = t
				if t != "" {
					parts = append(parts, t)
				}
			}
			out["address_*"] = strings.Join(parts, ", ")
			out["town"], out["county"], out["postcode"], out["country"] = text(a["town"]), text(a["county"]), text(a["postcode"]), text(a["country"])
		case k == "custom":
			c, _ := v.(map[string]any)
			for ck, cv := range c {
				out["custom."+ck] = text(cv)
			}
		case table == pp.TableMatters && (k == "purchase_price" || k == "legal_fee"):
			if n, ok := v.(json.Number); ok {
				if p, err := n.Int64(); err == nil {
					out[k] = pp.Money(p).String()
					continue
				}
			}
			out[k] = text(v)
		default:
			out[k] = text(v)
		}
	}
	if table == pp.TableActivities && out["source_type"] != "" {
		out["type"] = out["source_type"]
	}
	return out
}

// text renders a decoded JSON value as the export would show it.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "yes"
		}
		return "no"
	}
	data, _ := json.Marshal(v)
	return string(data)
}

// stagedMatter is a matters chunk line, its parts left raw.
type stagedMatter struct {
	Matter     json.RawMessage   `json:"matter"`
	Clients    []pp.MatterClient `json:"clients"`
	Referrers  []json.RawMessage `json:"referrers"`
	Stages     []pp.KeyStage     `json:"stages"`
	Activities []json.RawMessage `json:"activities"`
	Documents  []json.RawMessage `json:"documents"`
}

// scanMatters reads the staged export once: the matters' creation dates
// (for the cost worksheet) and the records the diff wants.
func (b *builder) scanMatters() {
	if b.manifest == nil {
		return
	}
	s := b.sources
	var created []time.Time
	for _, kind := range []struct{ kind, table string }{{extract.KindClients, pp.TableClients}, {extract.KindReferrers, pp.TableReferrers},
		{extract.KindOrganisations, pp.TableOrganisations}} {
		if !s.wantsTable(kind.table) {
			continue
		}
		for _, c := range b.manifest.Kinds[kind.kind].Chunks {
			key := b.prefix + "staged/" + c.Key
			if err := eachLine(b, key, func(line []byte) error { s.add(kind.table, line); return nil }); err != nil {
				b.note(SectionDiff, "Staged chunk %s could not be read: %v", key, err)
			}
		}
	}
	for _, c := range b.manifest.Kinds[extract.KindMatters].Chunks {
		key := b.prefix + "staged/" + c.Key
		err := eachLine(b, key, func(line []byte) error {
			var r stagedMatter
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			var m struct {
				ID        string     `json:"id"`
				CreatedAt *time.Time `json:"created_at"`
			}
			if err := json.Unmarshal(r.Matter, &m); err != nil {
				return err
			}
			b.matters.total++
			if m.CreatedAt != nil {
				created = append(created, *m.CreatedAt)
			}
			s.add(pp.TableMatters, r.Matter)
			for _, a := range r.Activities {
				s.add(pp.TableActivities, a)
			}
			for _, d := range r.Documents {
				s.add(pp.TableDocuments, d)
			}
			if s.wanted(pp.TableKeyStages, m.ID) {
				st := append([]pp.KeyStage(nil), r.Stages...)
				sort.SliceStable(st, func(i, j int) bool { return st[i].EnteredAt.Before(st[j].EnteredAt) })
				var parts []string
				for _, k := range st {
					parts = append(parts, k.Stage+" "+k.EnteredAt.UTC().Format(time.RFC3339))
				}
				s.vals[sourceKey(pp.TableKeyStages, m.ID)] = map[string]string{"entered_at": strings.Join(parts, "; ")}
			}
			if s.wanted(pp.TableMatterClients, m.ID) {
				var ids []string
				for _, c := range r.Clients {
					if c.IsLead {
						ids = append([]string{c.ClientID + " (lead)"}, ids...)
					} else {
						ids = append(ids, c.ClientID)
					}
				}
				s.vals[sourceKey(pp.TableMatterClients, m.ID)] = map[string]string{"client_id": strings.Join(ids, ", ")}
			}
			if s.wanted(pp.TableMatterReferrers, m.ID) {
				var ids, roles []string
				for _, raw := range r.Referrers {
					f := flatten(pp.TableMatterReferrers, raw)
					ids, roles = append(ids, f["referrer_id"]), append(roles, f["role"])
				}
				s.vals[sourceKey(pp.TableMatterReferrers, m.ID)] = map[string]string{"referrer_id": strings.Join(ids, ", "), "role": strings.Join(roles, ", ")}
			}
			return nil
		})
		if err != nil {
			b.note(SectionCosts, "Staged chunk %s could not be read: %v", key, err)
		}
	}
	b.matters.reference, b.matters.basis = b.reference(created)
	from := b.matters.reference.AddDate(-1, 0, 0)
	for _, t := range created {
		if t.After(from) && !t.After(b.matters.reference) {
			b.matters.lastYear++
		}
	}
	if b.d.Diff != nil {
		for i := range b.d.Diff.Ops {
			for j := range b.d.Diff.Ops[i].Changes {
				c := &b.d.Diff.Ops[i].Changes[j]
				c.SourceValue = s.value(c.Source, c.sourceID)
			}
		}
	}
}

func (s *sourceIndex) wantsTable(table string) bool {
	for k := range s.need {
		if strings.HasPrefix(k, table+"\x00") {
			return true
		}
	}
	return false
}

// reference is the date the last 12 months of matters end on: when the
// export was taken, else the newest matter's creation.
func (b *builder) reference(created []time.Time) (time.Time, string) {
	if b.audit != nil && b.audit.Export.ExportedAt != "" {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, b.audit.Export.ExportedAt); err == nil {
				return t.UTC(), fmt.Sprintf("matters created in the 12 months before the export was taken (%s)", t.UTC().Format("2 January 2006"))
			}
		}
	}
	var latest time.Time
	for _, t := range created {
		if t.After(latest) {
			latest = t
		}
	}
	if latest.IsZero() {
		return latest, "no matter in the export has a creation date: give matters_per_year"
	}
	return latest.UTC(), fmt.Sprintf("matters created in the 12 months up to the newest matter (%s)", latest.UTC().Format("2 January 2006"))
}
