package sampleexport

// A newer export (Options.Newer = N) is the original export evolved N
// times, a day apart. Level L (1..N) is the export taken at Now + L days;
// its changes are dated between export L-1 and export L. Each level picks
// its own records, never one an earlier level picked, so export N is
// export N-1 with level N's changes on top.
//
// The bundle is written in two passes. The first runs the generator
// writing nothing, to learn every original matter (status, stage, planted
// problems, the ids of its clients, activities and documents); the changes
// of every level are then chosen and their values drawn from a random
// stream of their own. The second pass runs the generator exactly as for
// the original export, so that every record comes out the same, and edits
// or drops rows on their way to the files. The new matters and activities
// are generated last, from the generator's stream as it stands after the
// original matters, so they too are the same in export N-1 and export N.
//
// Clients and organisations of a removed matter stay in the export,
// unchanged: deleting a matter does not delete its client.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// DeltaSummary says, by id, what a newer export (Options.Newer = N) holds
// that export N-1 did not, or holds differently. Every list is sorted.
// Every record not listed (and not a row of a listed matter) is, value for
// value, the same in both exports.
type DeltaSummary struct {
	// Since is export N-1's time (Options.Now for N = 1); ExportedAt is
	// this export's. Every change is dated between them.
	Since, ExportedAt time.Time
	// ChangedMatters advanced their key_stage (one more key_stages row
	// says when) and may have completed, or, when no matter was open or
	// on hold, only had their legal fee revised; their legal_fee and
	// updated_at changed.
	ChangedMatters []string
	// ChangedClients have a new phone and updated_at.
	ChangedClients []string
	// ChangedOrganisations moved office (address_line1) and have a new
	// updated_at.
	ChangedOrganisations []string
	// ChangedReferrers have a new phone and updated_at.
	ChangedReferrers []string
	// NewMatters were opened since export N-1, with their new clients,
	// organisations, activities and documents (listed below) and their
	// matter_clients, matter_referrers and key_stages rows.
	NewMatters       []string
	NewClients       []string
	NewOrganisations []string
	// RemovedMatters are gone with their matter_clients, matter_referrers,
	// key_stages, activities and documents rows and document files; their
	// clients and organisations stay.
	RemovedMatters []string
	// NewActivities are the activities and notes written since export
	// N-1: those of the new matters and those added to existing ones.
	NewActivities []string
	// ChangedActivities had their body edited (activities have no
	// updated_at: only their content tells).
	ChangedActivities []string
	// NewDocuments are the new matters' documents.
	NewDocuments []string
	// ChangedDocuments have the same id and path and new content: a
	// different size_bytes and sha256.
	ChangedDocuments []string
	// RemovedActivities and RemovedDocuments are the removed matters'.
	RemovedActivities []string
	RemovedDocuments  []string
}

// Changes is the number of records the export added, changed or removed.
func (s DeltaSummary) Changes() int {
	n := 0
	for _, l := range [][]string{s.ChangedMatters, s.ChangedClients, s.ChangedOrganisations, s.ChangedReferrers,
		s.NewMatters, s.NewClients, s.NewOrganisations, s.RemovedMatters, s.NewActivities, s.ChangedActivities,
		s.NewDocuments, s.ChangedDocuments, s.RemovedActivities, s.RemovedDocuments} {
		n += len(l)
	}
	return n
}

// exportTime is the time of export n: Now plus n days.
func (o Options) exportTime(n int) time.Time { return o.Now.AddDate(0, 0, n) }

// How much of each kind a level changes: a few percent, at least one.
const (
	removedPercent   = 2
	changedPercent   = 4
	newMatterPercent = 3
	notedPercent     = 3
	clientPercent    = 3
	// maxNewMatters keeps the new matters' ids (after the last original
	// one) clear of those a messy bundle's orphans point at (1,000 after).
	maxNewMatters = 150
)

func percent(n, p int) int { return max(1, n*p/100) }

// clientPlants are the problems planted on a matter's new client.
var clientPlants = []string{"missing_email", "invalid_email", "shared_email", "duplicate_conflict", "invalid_phone"}

// matterFacts is what the planning pass learns about an original matter.
type matterFacts struct {
	id     string
	status string
	stage  int // the last stage's place in stages
	// due holds the problems planted on the matter (messy mode): a matter
	// with any is never removed, nor is a record changed that a change
	// would rid of its problem, so that the export keeps every one.
	due              map[string]bool
	large, ambiguous bool
	// The counters before and after the matter: its new clients are
	// clients[0]..clients[1]-1, and so on.
	clients, orgs, activities, documents [2]int
}

type matterChange struct {
	level         int
	at            time.Time
	stage, status string // "" when unchanged
	fee           int64  // added to the legal fee, in pence
}

type phoneChange struct {
	level  int
	at     time.Time
	digits int // the last three digits of the new number
	format int // landlineFormats index when the town has no range of its own
	style  int // messy spelling when the old number is empty
}

type orgChange struct {
	level int
	at    time.Time
	unit  int
}

type dated struct {
	level int
	at    time.Time
	id    string // a document's id
}

type newActivity struct {
	level int
	typ   string
	at    time.Time
}

// level is one export after the original.
type level struct {
	n          int
	since, at  time.Time
	newMatters int
	noted      []int // original matters given new activities, ascending
}

// delta is the plan of a newer export and applies it while it is written.
type delta struct {
	opt    Options
	facts  []matterFacts
	levels []level

	removed    map[string]int // matter id -> level
	matters    map[string]matterChange
	clients    map[string]phoneChange
	orgs       map[string]orgChange
	referrers  map[string]phoneChange
	activities map[string]dated
	documents  map[string]dated // by path
	noted      map[int][]newActivity

	g    *gen
	kept map[int]*matterState // the noted matters, as generated
	cols map[string]map[string]int
	sum  DeltaSummary
}

// planDelta runs the generator once without writing, then chooses the
// changes of levels 1..opt.Newer.
func planDelta(opt Options, lon *time.Location) (*delta, error) {
	docPaths := map[string]string{}
	dry := &bundle{opt: opt, sum: Summary{Rows: map[string]int{}, Planted: map[string]int{}},
		orgsCP1252: opt.Messy && tableFormat(perfectportal.TableOrganisations, opt) == asCSV &&
			quirksFor(perfectportal.TableOrganisations, opt).cp1252 && !quirksFor(perfectportal.TableOrganisations, opt).declared,
		edit: func(table string, vals []string) ([]string, bool) {
			if table == perfectportal.TableDocuments {
				docPaths[vals[0]] = vals[3]
			}
			return nil, false
		},
		dropDoc: func(string) bool { return true },
	}
	g := newGen(opt, dry, lon)
	d := &delta{opt: opt, removed: map[string]int{}, matters: map[string]matterChange{}, clients: map[string]phoneChange{},
		orgs: map[string]orgChange{}, referrers: map[string]phoneChange{}, activities: map[string]dated{},
		documents: map[string]dated{}, noted: map[int][]newActivity{}, kept: map[int]*matterState{}}
	g.onMatter = func(m *matterState) error {
		d.facts = append(d.facts, matterFacts{id: m.id, status: m.status, stage: stageIndex(m.stages[len(m.stages)-1].name),
			due: m.due, large: hasKey(g.large, m.i), ambiguous: m.ambiguous,
			clients: [2]int{m.firstClient, g.nClients}, orgs: [2]int{m.firstOrg, g.nOrgs},
			activities: [2]int{m.firstActivity, g.nActivities}, documents: [2]int{m.firstDocument, g.nDocuments}})
		return nil
	}
	if err := g.run(); err != nil {
		return nil, fmt.Errorf("plan newer export: %w", err)
	}
	nReferrers := max(12, opt.Matters/25)
	usedMatter, usedClient, usedOrg, usedRef, usedAct, usedDoc := map[int]bool{}, map[int]bool{}, map[int]bool{}, map[int]bool{}, map[int]bool{}, map[int]bool{}
	for n := 1; n <= opt.Newer; n++ {
		lv := level{n: n, since: opt.exportTime(n - 1), at: opt.exportTime(n),
			newMatters: min(percent(opt.Matters, newMatterPercent), maxNewMatters)}
		r := rand.New(rand.NewPCG(uint64(opt.Seed), 0x6e65776572<<8|uint64(n)))
		when := func() time.Time { return changeTime(r, lv.since, lv.at) }
		gone := func(i int) bool { _, ok := d.removed[d.facts[i].id]; return ok }

		// Removed matters.
		var elig []int
		for i, f := range d.facts {
			if !usedMatter[i] && len(f.due) == 0 && !f.large && !f.ambiguous {
				elig = append(elig, i)
			}
		}
		for _, i := range sample(r, elig, percent(opt.Matters, removedPercent)) {
			usedMatter[i] = true
			d.removed[d.facts[i].id] = n
		}

		// Changed matters: a stage further on, or, if none can move on, a
		// revised fee only.
		elig = elig[:0]
		for i, f := range d.facts {
			if !usedMatter[i] && !f.due["stage_synonym"] && (f.status == "open" || f.status == "on hold") && f.stage < len(stages)-1 {
				elig = append(elig, i)
			}
		}
		feeOnly := len(elig) == 0
		if feeOnly {
			for i, f := range d.facts {
				if !usedMatter[i] && !f.due["stage_synonym"] {
					elig = append(elig, i)
				}
			}
		}
		for _, i := range sample(r, elig, percent(opt.Matters, changedPercent)) {
			usedMatter[i] = true
			f := d.facts[i]
			c := matterChange{level: n, at: when(), fee: choose(r, feeRevisions)}
			if !feeOnly {
				next := f.stage + 1
				c.stage, c.status = stages[next], "open"
				if next == len(stages)-1 {
					c.status = "completed"
				}
				if c.status == f.status {
					c.status = ""
				}
			}
			d.matters[f.id] = c
		}

		// Existing matters with new activities and notes.
		elig = elig[:0]
		for i := range d.facts {
			if !usedMatter[i] {
				elig = append(elig, i)
			}
		}
		lv.noted = sample(r, elig, percent(opt.Matters, notedPercent))
		for j, i := range lv.noted {
			usedMatter[i] = true
			types := []string{choose(r, []string{"note", "note", "call", "email", "task"})}
			if j == 0 { // at least one of each: a note, and an activity
				types = []string{choose(r, []string{"call", "email", "task"}), "note"}
			}
			var acts []newActivity
			for _, typ := range types {
				acts = append(acts, newActivity{level: n, typ: typ, at: when()})
			}
			slices.SortFunc(acts, func(a, b newActivity) int { return a.at.Compare(b.at) })
			d.noted[i] = append(d.noted[i], acts...)
		}

		// Changed clients, organisation, referrer, activity and document,
		// of matters that stay, none with a planted problem of its kind.
		// An organisation's change (its address) touches no planted
		// problem, but one without is preferred.
		var cl, org, plantedOrg, act, doc []int
		for i, f := range d.facts {
			if gone(i) {
				continue
			}
			clientPlanted := slices.ContainsFunc(clientPlants, func(code string) bool { return f.due[code] })
			for k := f.clients[0]; k < f.clients[1]; k++ {
				if !usedClient[k] && !clientPlanted {
					cl = append(cl, k)
				}
			}
			for k := f.orgs[0]; k < f.orgs[1]; k++ {
				switch {
				case usedOrg[k]:
				case len(f.due) > 0:
					plantedOrg = append(plantedOrg, k)
				default:
					org = append(org, k)
				}
			}
			if !f.ambiguous && !f.due["unknown_activity_type"] && !f.due["orphan_activity"] {
				for k := f.activities[0] + 1; k <= f.activities[1]; k++ {
					if !usedAct[k] {
						act = append(act, k)
					}
				}
			}
			if !f.large && !f.due["document_missing"] && !f.due["document_checksum"] {
				for k := f.documents[0] + 1; k <= f.documents[1]; k++ {
					if !usedDoc[k] {
						doc = append(doc, k)
					}
				}
			}
		}
		nClients := 0
		if len(d.facts) > 0 {
			nClients = d.facts[len(d.facts)-1].clients[1]
		}
		for _, k := range sample(r, cl, percent(nClients, clientPercent)) {
			usedClient[k] = true
			d.clients[clientID(k)] = phoneChange{level: n, at: when(), digits: r.IntN(1000), format: r.IntN(len(landlineFormats)), style: r.IntN(4)}
		}
		if len(org) == 0 {
			org = plantedOrg
		}
		for _, k := range sample(r, org, 1) {
			usedOrg[k] = true
			d.orgs[orgID(k)] = orgChange{level: n, at: when(), unit: 1 + r.IntN(30)}
		}
		var refs []int
		for k := range nReferrers {
			if !usedRef[k] {
				refs = append(refs, k)
			}
		}
		for _, k := range sample(r, refs, 1) {
			usedRef[k] = true
			d.referrers[referrerID(k)] = phoneChange{level: n, at: when(), digits: r.IntN(1000), format: r.IntN(len(landlineFormats)), style: r.IntN(4)}
		}
		for _, k := range sample(r, act, 1) {
			usedAct[k] = true
			d.activities[activityID(k)] = dated{level: n, at: when()}
		}
		for _, k := range sample(r, doc, 1) {
			usedDoc[k] = true
			id := documentID(k)
			d.documents[docPaths[id]] = dated{level: n, at: when(), id: id}
		}
		d.levels = append(d.levels, lv)
	}
	d.summarisePlan()
	return d, nil
}

func hasKey[K comparable, V any](m map[K]V, k K) bool { _, ok := m[k]; return ok }

func orgID(k int) string      { return fmt.Sprintf("ORG%05d", k+1) }
func referrerID(k int) string { return fmt.Sprintf("REF%05d", k+1) }
func activityID(n int) string { return fmt.Sprintf("A%07d", n) }
func documentID(n int) string { return fmt.Sprintf("D%07d", n) }

// feeRevisions are what a changed matter's legal fee moves by, in pence.
var feeRevisions = []int64{75_00, 120_00, 150_00, 200_00, 250_00, -50_00, -100_00}

func choose[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// sample returns k of xs (all when there are fewer), in their order.
func sample(r *rand.Rand, xs []int, k int) []int {
	if k >= len(xs) {
		return slices.Clone(xs)
	}
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	for i := range k {
		j := i + r.IntN(len(idx)-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	chosen := idx[:k]
	slices.Sort(chosen)
	out := make([]int, k)
	for i, j := range chosen {
		out[i] = xs[j]
	}
	return out
}

// changeTime is a whole minute strictly between since and at, at least a
// quarter of an hour from each.
func changeTime(r *rand.Rand, since, at time.Time) time.Time {
	minutes := int(at.Sub(since) / time.Minute)
	t := since.Add(time.Duration(15+r.IntN(max(1, minutes-30))) * time.Minute).Truncate(time.Minute)
	if !t.After(since) {
		t = t.Add(time.Minute)
	}
	return t
}

// summarisePlan fills the lists of the summary that the plan decides.
func (d *delta) summarisePlan() {
	n := d.opt.Newer
	s := &d.sum
	s.Since, s.ExportedAt = d.opt.exportTime(n-1), d.opt.exportTime(n)
	for _, f := range d.facts {
		if d.removed[f.id] == n {
			s.RemovedMatters = append(s.RemovedMatters, f.id)
			for k := f.activities[0] + 1; k <= f.activities[1]; k++ {
				s.RemovedActivities = append(s.RemovedActivities, activityID(k))
			}
			for k := f.documents[0] + 1; k <= f.documents[1]; k++ {
				s.RemovedDocuments = append(s.RemovedDocuments, documentID(k))
			}
		}
	}
	for id, c := range d.matters {
		if c.level == n {
			s.ChangedMatters = append(s.ChangedMatters, id)
		}
	}
	for id, c := range d.clients {
		if c.level == n {
			s.ChangedClients = append(s.ChangedClients, id)
		}
	}
	for id, c := range d.orgs {
		if c.level == n {
			s.ChangedOrganisations = append(s.ChangedOrganisations, id)
		}
	}
	for id, c := range d.referrers {
		if c.level == n {
			s.ChangedReferrers = append(s.ChangedReferrers, id)
		}
	}
	for id, c := range d.activities {
		if c.level == n {
			s.ChangedActivities = append(s.ChangedActivities, id)
		}
	}
	for _, c := range d.documents {
		if c.level == n {
			s.ChangedDocuments = append(s.ChangedDocuments, c.id)
		}
	}
	for _, l := range []*[]string{&s.ChangedMatters, &s.ChangedClients, &s.ChangedOrganisations, &s.ChangedReferrers,
		&s.RemovedMatters, &s.RemovedActivities, &s.RemovedDocuments, &s.ChangedActivities, &s.ChangedDocuments} {
		slices.Sort(*l)
	}
}

// attach makes g, writing the bundle, apply the plan.
func (d *delta) attach(g *gen) {
	d.g = g
	g.d = d
	g.onMatter = d.check
	g.b.edit = d.edit
	g.b.dropDoc = d.dropDoc
	d.cols = map[string]map[string]int{}
	for _, spec := range perfectportal.Schema {
		idx := map[string]int{}
		for i, c := range Columns(spec.Name) {
			idx[c] = i
		}
		d.cols[spec.Name] = idx
	}
}

// check makes sure the writing pass generates what the planning pass did,
// and keeps the matters that get new activities.
func (d *delta) check(m *matterState) error {
	if m.i >= len(d.facts) {
		return nil // a new matter
	}
	f := d.facts[m.i]
	if f.status != m.status || f.stage != stageIndex(m.stages[len(m.stages)-1].name) || f.activities[1] != d.g.nActivities ||
		f.clients[1] != d.g.nClients || f.documents[1] != d.g.nDocuments {
		return fmt.Errorf("sampleexport: internal error: the newer export's planning pass differs at %s", m.id)
	}
	if _, ok := d.noted[m.i]; ok {
		d.kept[m.i] = m
	}
	return nil
}

// gone reports whether a matter is removed.
func (d *delta) gone(matterID string) bool { _, ok := d.removed[matterID]; return ok }

// dropDoc reports whether a document file belongs to a removed matter.
func (d *delta) dropDoc(rel string) bool {
	parts := strings.SplitN(rel, "/", 3)
	return len(parts) == 3 && d.gone(parts[1])
}

// edit applies the plan to one row on its way to the file.
func (d *delta) edit(table string, vals []string) ([]string, bool) {
	col := d.cols[table]
	switch table {
	case perfectportal.TableMatters:
		if d.gone(vals[0]) {
			return nil, false
		}
		if c, ok := d.matters[vals[0]]; ok {
			out := slices.Clone(vals)
			if c.status != "" {
				out[col["status"]] = c.status
			}
			if c.stage != "" {
				out[col["key_stage"]] = c.stage
			}
			fee := col["legal_fee"]
			out[fee] = moneyLike(vals[fee], parsePence(vals[fee])+c.fee)
			out[col["updated_at"]] = d.g.localTime(c.at)
			return out, true
		}
	case perfectportal.TableKeyStages, perfectportal.TableMatterClients, perfectportal.TableMatterReferrers:
		if d.gone(vals[0]) {
			return nil, false
		}
	case perfectportal.TableActivities:
		if d.gone(vals[1]) {
			return nil, false
		}
		if c, ok := d.activities[vals[0]]; ok {
			out := slices.Clone(vals)
			body := col["body"]
			out[body] = vals[body] + "\n\nEdited " + c.at.In(d.g.lon).Format("02/01/2006 15:04") +
				": corrected after speaking to the client."
			return out, true
		}
	case perfectportal.TableDocuments:
		if d.gone(vals[1]) {
			return nil, false
		}
	case perfectportal.TableClients:
		if c, ok := d.clients[vals[0]]; ok {
			out := slices.Clone(vals)
			phone := col["phone"]
			out[phone] = d.newPhone(vals[phone], vals[col["town"]], c)
			out[col["updated_at"]] = rfc3339(c.at)
			return out, true
		}
	case perfectportal.TableReferrers:
		if c, ok := d.referrers[vals[0]]; ok {
			out := slices.Clone(vals)
			phone := col["phone"]
			out[phone] = d.newPhone(vals[phone], "", c)
			out[col["updated_at"]] = rfc3339(c.at)
			return out, true
		}
	case perfectportal.TableOrganisations:
		if c, ok := d.orgs[vals[0]]; ok {
			out := slices.Clone(vals)
			line1 := col["address_line1"]
			out[line1] = newUnit(vals[line1], c.unit)
			out[col["updated_at"]] = rfc3339(c.at)
			return out, true
		}
	}
	return vals, true
}

// newPhone is a new landline number, never the old one, spelt as the old
// one was.
func (d *delta) newPhone(old, town string, c phoneChange) string {
	f := townLandline(town)
	if f == "" {
		f = landlineFormats[c.format]
	}
	p := fmt.Sprintf(f, c.digits)
	if digitsOf(p) == digitsOf(old) {
		p = fmt.Sprintf(f, (c.digits+1)%1000)
	}
	if !d.opt.Messy {
		return p
	}
	style := c.style
	switch {
	case strings.HasPrefix(old, "+44 "):
		style = 1
	case old != "" && !strings.Contains(old, " "):
		style = 0
	case old != "":
		style = 2
	}
	switch style {
	case 0:
		return strings.ReplaceAll(p, " ", "")
	case 1:
		return "+44 " + p[1:]
	}
	return p
}

// digitsOf is a phone number's digits as dialled in the UK.
func digitsOf(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if strings.HasPrefix(p, "+44") {
		s = "0" + s[2:]
	}
	return s
}

// newUnit moves an organisation to another unit of its address.
func newUnit(line1 string, unit int) string {
	head, rest, ok := strings.Cut(line1, ", ")
	if !ok || !strings.HasPrefix(head, "Unit ") {
		return "Unit " + strconv.Itoa(unit) + ", " + line1
	}
	if head == "Unit "+strconv.Itoa(unit) {
		unit = unit%30 + 1
	}
	return "Unit " + strconv.Itoa(unit) + ", " + rest
}

// parsePence reads an amount as this package writes it ("1234.50",
// "1,234.50", "£1,234.50").
func parsePence(s string) int64 {
	s = strings.NewReplacer("£", "", ",", "").Replace(s)
	pounds, pence, _ := strings.Cut(s, ".")
	p, _ := strconv.ParseInt(pounds, 10, 64)
	q, _ := strconv.ParseInt(pence, 10, 64)
	return p*100 + q
}

// moneyLike writes an amount in pence the way old is written.
func moneyLike(old string, pence int64) string {
	plain := strconv.FormatInt(pence/100, 10) + "." + fmt.Sprintf("%02d", pence%100)
	switch {
	case strings.HasPrefix(old, "£"):
		return "£" + thousands(pence/100) + plain[len(plain)-3:]
	case strings.Contains(old, ","):
		return thousands(pence/100) + plain[len(plain)-3:]
	}
	return plain
}

// stageRow is the key_stages row of the stage a changed matter entered,
// if it entered one.
func (d *delta) stageRow(matterID string) ([]string, bool) {
	if d == nil {
		return nil, false
	}
	c, ok := d.matters[matterID]
	if !ok || c.stage == "" {
		return nil, false
	}
	return []string{matterID, c.stage, rfc3339(c.at)}, true
}

// revise returns a changed document's new text; any other comes back as it is.
func (d *delta) revise(rel string, text []byte) []byte {
	if d == nil {
		return text
	}
	c, ok := d.documents[rel]
	if !ok {
		return text
	}
	out := slices.Clip(text)
	return append(out, "\n\nRevised "+c.at.In(d.g.lon).Format("02/01/2006")+
		": this version replaces the one sent earlier, with the amendments the client asked for.\n"...)
}

// extend writes, after the original matters, each level's new matters and
// the new activities on existing ones, and completes the summary.
func (d *delta) extend(g *gen) error {
	next := d.opt.Matters
	for _, lv := range d.levels {
		g.floor, g.now = lv.since, lv.at
		last := lv.n == d.opt.Newer
		clients, orgs, acts, docs := g.nClients, g.nOrgs, g.nActivities, g.nDocuments
		minutes := int(lv.at.Sub(lv.since) / time.Minute)
		for range lv.newMatters {
			m := g.startMatter(next)
			m.created = lv.since.Add(time.Duration(g.between(10, max(10, minutes/3))) * time.Minute).Truncate(time.Minute)
			if err := g.fillMatter(m); err != nil {
				return fmt.Errorf("new matter %d: %w", next+1, err)
			}
			if last {
				d.sum.NewMatters = append(d.sum.NewMatters, m.id)
			}
			next++
		}
		for _, i := range lv.noted {
			m := d.kept[i]
			for _, a := range d.noted[i] {
				if a.level != lv.n {
					continue
				}
				if err := g.writeActivity(m, m.id, a.typ, a.at); err != nil {
					return err
				}
			}
		}
		if !last {
			continue
		}
		for k := clients; k < g.nClients; k++ {
			d.sum.NewClients = append(d.sum.NewClients, clientID(k))
		}
		for k := orgs; k < g.nOrgs; k++ {
			d.sum.NewOrganisations = append(d.sum.NewOrganisations, orgID(k))
		}
		for k := acts + 1; k <= g.nActivities; k++ {
			d.sum.NewActivities = append(d.sum.NewActivities, activityID(k))
		}
		for k := docs + 1; k <= g.nDocuments; k++ {
			d.sum.NewDocuments = append(d.sum.NewDocuments, documentID(k))
		}
	}
	return nil
}

// summary returns the summary of the level written.
func (d *delta) summary() DeltaSummary { return d.sum }
