package sampleexport

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/London must not depend on the host's zoneinfo

	"github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// recentClients is how many recent clients are remembered for repeat
// instructions and planted duplicates; it bounds the generator's memory.
const recentClients = 512

type feeEarner struct {
	id, first, last, email string
	active                 bool
}

type referrer struct {
	id, role, first, last, company, email, phone string
}

type client struct {
	id, title, first, last, email, phone, mobile string
	addr                                         address
	orgID                                        string
	created, updated                             time.Time
}

type address struct {
	line1, line2, town, county, postcode string
	place                                int
}

// short is the address as a matter's description uses it.
func (a address) short() string { return a.line1 + ", " + a.town + " " + a.postcode }

// full is the property address of a matter.
func (a address) full() string {
	if a.line2 == "" {
		return a.line1 + ", " + a.town
	}
	return a.line1 + ", " + a.line2 + ", " + a.town
}

type stageEntry struct {
	name string
	at   time.Time
}

// gen generates a bundle matter by matter.
type gen struct {
	opt        Options
	r          *rand.Rand
	b          *bundle
	lon        *time.Location
	start, now time.Time

	feeEarners []feeEarner
	inactiveFE int
	referrers  []referrer
	byRole     map[string][]int

	recent    []*client
	recentPos int

	nClients, nOrgs, nActivities, nDocuments int
	large                                    map[int]int // matter index → large document number
	plant                                    *planter
	ambiguous                                time.Time // the planted time in the autumn repeated hour
	ambiguousDone                            bool

	// A newer export (see newer.go): floor, when set, is the previous
	// export's time, after which new records are created; onMatter sees
	// each matter once its rows are written; d is the delta being applied.
	floor    time.Time
	onMatter func(m *matterState) error
	d        *delta
}

func write(dir string, opt Options) (Summary, error) {
	lon, err := time.LoadLocation("Europe/London")
	if err != nil {
		return Summary{}, fmt.Errorf("load Europe/London: %w", err)
	}
	var d *delta
	if opt.Newer > 0 {
		if d, err = planDelta(opt, lon); err != nil {
			return Summary{}, err
		}
	}
	bopt := opt
	bopt.Now = opt.exportTime(opt.Newer) // the manifest's and the workbook's time
	b, err := openBundle(dir, bopt)
	if err != nil {
		return Summary{}, err
	}
	g := newGen(opt, b, lon)
	if d != nil {
		d.attach(g)
	}
	if err := g.run(); err != nil {
		b.abort()
		return b.sum, err
	}
	if d != nil {
		if err := d.extend(g); err != nil {
			b.abort()
			return b.sum, err
		}
	}
	sum, err := b.close()
	if err != nil {
		return sum, err
	}
	if g.plant != nil {
		for code, n := range g.plant.counts {
			sum.Planted[code] += n
		}
		if g.ambiguousDone {
			sum.Planted["ambiguous_hour"]++
		}
	}
	if d != nil {
		sum.Delta = d.summary()
	}
	return sum, nil
}

// newGen returns a generator of the original export (Options.Now) into b.
func newGen(opt Options, b *bundle, lon *time.Location) *gen {
	g := &gen{
		opt: opt, b: b, lon: lon,
		r:     rand.New(rand.NewPCG(uint64(opt.Seed), 0x636f6e7665796f72)),
		now:   opt.Now,
		start: opt.Now.AddDate(0, -18, 0),
		large: make(map[int]int),
	}
	for k := range opt.LargeDocuments {
		g.large[(k+1)*opt.Matters/(opt.LargeDocuments+1)] = k
	}
	if opt.Messy {
		g.plant = newPlanter(opt.Matters)
		g.ambiguous = autumnRepeatedHour(opt.Now, lon)
	}
	return g
}

func (g *gen) run() error {
	if err := g.writeFeeEarners(); err != nil {
		return err
	}
	if err := g.writeTemplates(); err != nil {
		return err
	}
	if err := g.writeReferrers(); err != nil {
		return err
	}
	for i := range g.opt.Matters {
		if err := g.matter(i); err != nil {
			return fmt.Errorf("matter %d: %w", i+1, err)
		}
	}
	return nil
}

// Random helpers.

func (g *gen) intn(n int) int         { return g.r.IntN(n) }
func (g *gen) chance(p float64) bool  { return g.r.Float64() < p }
func pick[T any](g *gen, xs []T) T    { return xs[g.r.IntN(len(xs))] }
func (g *gen) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }
func (g *gen) days(lo, hi int) time.Duration {
	return time.Duration(g.between(lo*24*60, hi*24*60)) * time.Minute
}

// Value formatting: clean mode writes the format's canonical forms, messy
// mode what spreadsheets produce.

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// localTime is a matter's or activity's timestamp.
func (g *gen) localTime(t time.Time) string {
	if g.opt.Messy {
		return t.In(g.lon).Format("02/01/2006 15:04")
	}
	return rfc3339(t)
}

func (g *gen) date(t time.Time) string {
	if g.opt.Messy {
		return t.In(g.lon).Format("02/01/2006")
	}
	return t.In(g.lon).Format("2006-01-02")
}

// money formats an amount in pence.
func (g *gen) money(pence int64) string {
	plain := strconv.FormatInt(pence/100, 10) + "." + fmt.Sprintf("%02d", pence%100)
	if !g.opt.Messy {
		return plain
	}
	switch g.intn(3) {
	case 0:
		return "£" + thousands(pence/100) + plain[len(plain)-3:]
	case 1:
		return thousands(pence/100) + plain[len(plain)-3:]
	}
	return plain
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

var messyBools = [][2]string{{"yes", "no"}, {"Y", "N"}, {"1", "0"}, {"Yes", "No"}}

func (g *gen) boolean(v bool) string {
	pair := [2]string{"true", "false"}
	if g.opt.Messy {
		pair = pick(g, messyBools)
	}
	if v {
		return pair[0]
	}
	return pair[1]
}

// workTime moves t to a random minute of office hours (08:30–17:59 UK
// time) on the same day, or the Monday after a weekend.
func (g *gen) workTime(t time.Time) time.Time {
	l := t.In(g.lon)
	y, m, d := l.Date()
	switch l.Weekday() {
	case time.Saturday:
		d += 2
	case time.Sunday:
		d++
	}
	h, min := g.between(8, 17), g.intn(60)
	if h == 8 && min < 30 {
		min += 30
	}
	return time.Date(y, m, d, h, min, 0, 0, g.lon).UTC()
}

// beforeNow keeps t before the export time.
func (g *gen) beforeNow(t time.Time) time.Time {
	if t.Before(g.now) {
		return t
	}
	return g.now.Add(-time.Duration(g.between(1, 90)) * time.Minute)
}

// autumnRepeatedHour is 01:30 (first time round, still BST) on the last
// Sunday of October before now: a UK local time that happens twice.
func autumnRepeatedHour(now time.Time, lon *time.Location) time.Time {
	for y := now.Year(); ; y-- {
		d := time.Date(y, time.October, 31, 0, 0, 0, 0, time.UTC)
		for d.Weekday() != time.Sunday {
			d = d.AddDate(0, 0, -1)
		}
		t := time.Date(y, time.October, d.Day(), 0, 30, 0, 0, time.UTC) // 01:30 BST
		if t.Before(now.Add(-24 * time.Hour)) {
			return t
		}
	}
}

// People and places.

func (g *gen) person() (title, first, last string) {
	if g.chance(0.5) {
		return pick(g, titlesMale), pick(g, maleNames), pick(g, surnames)
	}
	return pick(g, titlesFemale), pick(g, femaleNames), pick(g, surnames)
}

// emailLocal folds a name into the ASCII an email address uses.
var emailFold = strings.NewReplacer("ë", "e", "é", "e", "è", "e", "â", "a", "ü", "u", "ñ", "n", "ï", "i", "'", "", " ", "")

func emailLocal(first, last string) string {
	return strings.ToLower(emailFold.Replace(first) + "." + emailFold.Replace(last))
}

func (g *gen) clientEmail(first, last string, n int) string {
	local := emailLocal(first, last)
	switch g.intn(4) {
	case 0:
		local = strings.ToLower(emailFold.Replace(first[:1] + last))
	case 1:
		local = strings.ReplaceAll(local, ".", "_")
	}
	return local + strconv.Itoa(n) + "@" + pick(g, clientDomains)
}

// Ofcom's drama ranges: numbers that are never allocated.
func (g *gen) mobile() string { return fmt.Sprintf("07700 900%03d", g.intn(1000)) }

// landlineFormats are the drama ranges of the three cities' area codes.
var landlineFormats = []string{"0113 496 0%03d", "0161 496 0%03d", "020 7946 0%03d"}

// townLandline is the format of a landline number in town, "" when the
// town has no drama range of its own.
func townLandline(town string) string {
	switch town {
	case "London":
		return "020 7946 0%03d"
	case "Manchester", "Salford", "Stockport", "Bolton", "Oldham", "Altrincham", "Wilmslow":
		return "0161 496 0%03d"
	case "Leeds", "Bradford", "Wakefield", "Huddersfield", "Harrogate", "York":
		return "0113 496 0%03d"
	}
	return ""
}

func (g *gen) landline(town string) string {
	if f := townLandline(town); f != "" {
		return fmt.Sprintf(f, g.intn(1000))
	}
	return fmt.Sprintf(pick(g, landlineFormats), g.intn(1000))
}

// messyPhone respells a number the way people type them.
func (g *gen) messyPhone(p string) string {
	if !g.opt.Messy || p == "" {
		return p
	}
	switch g.intn(4) {
	case 0:
		return strings.ReplaceAll(p, " ", "")
	case 1:
		return "+44 " + p[1:]
	}
	return p
}

func (g *gen) address() address {
	pi := g.intn(len(places))
	pl := places[pi]
	a := address{place: pi, town: pl.Town, county: pl.County}
	a.line1 = strconv.Itoa(g.between(1, 180)) + " " + pick(g, streetNames) + " " + pick(g, streetKinds)
	if g.chance(0.2) {
		a.line1 = "Flat " + strconv.Itoa(g.between(1, 24)) + ", " + a.line1
	}
	if g.chance(0.5) {
		a.line2 = pick(g, pl.Areas)
	}
	a.postcode = pick(g, pl.Outward) + " " + strconv.Itoa(g.intn(10)) +
		string(inwardLetters[g.intn(len(inwardLetters))]) + string(inwardLetters[g.intn(len(inwardLetters))])
	return a
}

// Tables written before the matters.

func (g *gen) writeFeeEarners() error {
	n := g.between(6, 10)
	g.inactiveFE = g.intn(n)
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		_, first, last := g.person()
		if seen[first+last] {
			i--
			continue
		}
		seen[first+last] = true
		fe := feeEarner{id: fmt.Sprintf("FE%03d", i+1), first: first, last: last,
			email: emailLocal(first, last) + "@" + firmDomain, active: i != g.inactiveFE}
		g.feeEarners = append(g.feeEarners, fe)
		if err := g.b.row(perfectportal.TableFeeEarners, []string{fe.id, first + " " + last, fe.email, g.boolean(fe.active)}); err != nil {
			return err
		}
	}
	return nil
}

var referrerRoles = []string{"estate agent", "estate agent", "estate agent", "estate agent", "estate agent",
	"mortgage broker", "mortgage broker", "mortgage broker", "introducer"}

func (g *gen) writeReferrers() error {
	n := max(12, g.opt.Matters/25)
	g.byRole = make(map[string][]int)
	for i := 0; i < n; i++ {
		role := referrerRoles[i%len(referrerRoles)]
		var company string
		switch role {
		case "estate agent":
			company = pick(g, agentCompanies)
		case "mortgage broker":
			company = pick(g, brokerCompanies)
		default:
			company = pick(g, introducerCompanies)
		}
		_, first, last := g.person()
		rf := referrer{id: fmt.Sprintf("REF%05d", i+1), role: role, first: first, last: last, company: company,
			email: emailLocal(first, last) + ".ref" + strconv.Itoa(i+1) + "@" + pick(g, clientDomains),
			phone: g.landline(places[g.intn(len(places))].Town)}
		g.referrers = append(g.referrers, rf)
		g.byRole[role] = append(g.byRole[role], i)
		created := g.workTime(g.start.Add(-g.days(30, 720)))
		updated := g.workTime(created.Add(g.days(0, 400)))
		if updated.After(g.now) || updated.Before(created) {
			updated = created
		}
		if err := g.b.row(perfectportal.TableReferrers, []string{rf.id, role, first, last, company, rf.email,
			g.messyPhone(rf.phone), rfc3339(created), rfc3339(updated)}); err != nil {
			return err
		}
	}
	return nil
}

// The matters.

var matterTypes = []string{"purchase", "purchase", "purchase", "purchase", "purchase", "purchase", "purchase",
	"sale", "sale", "sale", "sale", "sale", "remortgage", "remortgage", "remortgage",
	"transfer of equity", "sale and purchase", "sale and purchase", "sale and purchase", "sale and purchase"}

func matterID(i int) string { return fmt.Sprintf("M%06d", i+1) }
func clientID(i int) string { return fmt.Sprintf("C%06d", i+1) }

// matterState is what one matter's rows are made from.
type matterState struct {
	i                 int
	id, number, mtype string
	fe                feeEarner
	property          address
	sale              address // the other property of a sale and purchase
	clients           []*client
	price, fee        int64
	lender, agent     string
	created, end      time.Time
	lastActivity      time.Time
	stages            []stageEntry
	status            string
	due               map[string]bool

	// The generator's counters when the matter began: its new clients,
	// organisations, activities and documents are numbered after them.
	firstClient, firstOrg, firstActivity, firstDocument int
	// ambiguous says the matter took the activity in the repeated hour.
	ambiguous bool
}

func (g *gen) matter(i int) error {
	m := g.startMatter(i)
	span := g.now.Sub(g.start)
	m.created = g.start.Add(time.Duration((float64(i) + g.r.Float64()) / float64(g.opt.Matters) * float64(span)))
	m.created = g.beforeNow(g.workTime(m.created))
	return g.fillMatter(m)
}

// startMatter begins matter i; a newer export's new matters take no
// planted problem.
func (g *gen) startMatter(i int) *matterState {
	m := &matterState{i: i, id: matterID(i), firstClient: g.nClients, firstOrg: g.nOrgs,
		firstActivity: g.nActivities, firstDocument: g.nDocuments}
	if g.plant != nil && g.floor.IsZero() {
		m.due = g.plant.due(i, g.nClients > 0)
	}
	return m
}

// fillMatter generates and writes a matter once its creation time is set.
func (g *gen) fillMatter(m *matterState) error {
	i := m.i
	ambiguousBefore := g.ambiguousDone
	m.number = fmt.Sprintf("CONV/%d/%05d", m.created.In(g.lon).Year(), i+1)
	m.mtype = pick(g, matterTypes)
	m.property = g.address()
	if m.mtype == "sale and purchase" {
		m.sale = g.address()
	}
	m.fe = g.feeEarners[g.intn(len(g.feeEarners))]
	if !m.fe.active && i > g.opt.Matters/3 { // the inactive fee earner left a year ago
		m.fe = g.feeEarners[(g.inactiveFE+1)%len(g.feeEarners)]
	}
	switch m.mtype {
	case "purchase", "sale", "sale and purchase":
		if !g.chance(0.05) { // 0 means not known yet
			m.price = int64(g.between(19, 170)) * 5000_00
			if g.chance(0.3) {
				m.price += int64(g.between(1, 4)) * 1000_00
			}
		}
	case "transfer of equity":
		if g.chance(0.5) {
			m.price = int64(g.between(10, 60)) * 5000_00
		}
	}
	m.fee = int64(g.between(13, 37))*50_00 + int64(g.intn(2))*50
	if m.mtype != "sale" || g.chance(0.2) {
		if m.mtype != "transfer of equity" || g.chance(0.6) {
			m.lender = pick(g, lenders)
		}
	}
	if err := g.matterClients(m); err != nil {
		return err
	}
	g.matterStages(m)
	if err := g.matterReferrers(m); err != nil {
		return err
	}
	if err := g.writeStages(m); err != nil {
		return err
	}
	if err := g.matterActivities(m); err != nil {
		return err
	}
	if err := g.writeMatter(m); err != nil {
		return err
	}
	if err := g.matterDocuments(m); err != nil {
		return err
	}
	m.ambiguous = g.ambiguousDone && !ambiguousBefore
	if g.onMatter != nil {
		return g.onMatter(m)
	}
	return nil
}

// matterClients picks or creates the matter's clients and writes new ones
// and the links.
func (g *gen) matterClients(m *matterState) error {
	clientPlant := g.plant.pickOf(m.due, "missing_email", "invalid_email", "shared_email", "duplicate_conflict", "invalid_phone")
	forceOrg := m.due["undeclared_cp1252"]
	var lead *client
	if clientPlant == "" && !forceOrg && len(g.recent) > 0 && g.chance(0.1) {
		lead = g.recent[g.intn(len(g.recent))] // a repeat client
	} else {
		var err error
		if lead, err = g.newClient(m, nil, clientPlant, forceOrg); err != nil {
			return err
		}
	}
	m.clients = append(m.clients, lead)
	if g.chance(0.38) {
		second, err := g.newClient(m, lead, "", false)
		if err != nil {
			return err
		}
		m.clients = append(m.clients, second)
	}
	for j, c := range m.clients {
		if err := g.b.row(perfectportal.TableMatterClients, []string{m.id, c.id, g.boolean(j == 0)}); err != nil {
			return err
		}
	}
	if g.plant.take(m.due, "orphan_matter_client") {
		missing := clientID(2*g.opt.Matters + 1000 + g.plant.counts["orphan_matter_client"])
		if err := g.b.row(perfectportal.TableMatterClients, []string{m.id, missing, g.boolean(false)}); err != nil {
			return err
		}
	}
	return nil
}

// newClient creates and writes a client; joint is the lead client when
// this one buys with them.
func (g *gen) newClient(m *matterState, joint *client, plant string, forceOrg bool) (*client, error) {
	c := &client{id: clientID(g.nClients)}
	g.nClients++
	c.title, c.first, c.last = g.person()
	switch {
	case joint != nil:
		c.addr = joint.addr
		if g.chance(0.6) {
			c.last = joint.last
		}
	case m.mtype == "purchase":
		c.addr = g.address()
	case m.mtype == "sale and purchase":
		c.addr = m.sale
	default:
		c.addr = m.property
	}
	c.email = g.clientEmail(c.first, c.last, g.nClients)
	if g.chance(0.4) {
		c.phone = g.landline(c.addr.town)
	}
	if g.chance(0.95) {
		c.mobile = g.mobile()
	}
	c.created = g.beforeNow(g.workTime(m.created.Add(-g.days(0, 3))))
	if !g.floor.IsZero() && !c.created.After(g.floor) { // new in a newer export
		c.created = m.created
	}
	c.updated = g.beforeNow(g.workTime(c.created.Add(g.days(0, 120))))
	if c.updated.Before(c.created) {
		c.updated = c.created
	}
	if joint == nil && (forceOrg || g.chance(0.11)) {
		if err := g.newOrganisation(m, c, forceOrg); err != nil {
			return nil, err
		}
	}
	switch plant {
	case "missing_email":
		c.email = ""
	case "invalid_email":
		if g.plant.counts["invalid_email"]%2 == 0 {
			c.email = emailLocal(c.first, c.last) + "@example"
		} else {
			c.email = strings.ToLower(emailFold.Replace(c.first)) + "@@example.com"
		}
	case "invalid_phone":
		c.phone = "0123"
	case "duplicate_conflict":
		if c.phone == "" {
			c.phone = g.landline(c.addr.town)
		}
	case "shared_email":
		// The same person entered again under a new id: the email differs
		// only in case and surrounding space.
		prev := g.recent[g.intn(len(g.recent))]
		for prev.email == "" || strings.Contains(prev.email, "@@") || !strings.Contains(prev.email, ".") {
			prev = g.recent[g.intn(len(g.recent))]
		}
		c.title, c.first, c.last = prev.title, prev.first, prev.last
		c.email = " " + strings.ToUpper(prev.email[:1]) + prev.email[1:strings.IndexByte(prev.email, '@')] +
			strings.ToUpper(prev.email[strings.IndexByte(prev.email, '@'):]) + " "
	}
	later := c.updated
	if plant == "duplicate_conflict" {
		// Exported twice: the later row has another phone number.
		later = g.beforeNow(c.updated.Add(g.days(1, 20)))
		if !later.After(c.updated) {
			c.updated = later.Add(-time.Hour)
			c.created = minTime(c.created, c.updated)
		}
	}
	if err := g.writeClient(c, c.phone, c.updated); err != nil {
		return nil, err
	}
	if plant == "duplicate_conflict" {
		phone := g.landline(c.addr.town)
		for phone == c.phone {
			phone = g.landline(c.addr.town)
		}
		if err := g.writeClient(c, phone, later); err != nil {
			return nil, err
		}
	}
	if plant != "" {
		g.plant.done(plant)
	}
	if plant == "" || plant == "duplicate_conflict" || plant == "invalid_phone" {
		g.remember(c)
	}
	return c, nil
}

func (g *gen) writeClient(c *client, phone string, updated time.Time) error {
	return g.b.row(perfectportal.TableClients, []string{c.id, c.title, c.first, c.last, c.email,
		g.messyPhone(phone), g.messyPhone(c.mobile), c.addr.line1, c.addr.line2, c.addr.town, c.addr.county,
		c.addr.postcode, "United Kingdom", c.orgID, rfc3339(c.created), rfc3339(updated)})
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (g *gen) remember(c *client) {
	if len(g.recent) < recentClients {
		g.recent = append(g.recent, c)
		return
	}
	g.recent[g.recentPos] = c
	g.recentPos = (g.recentPos + 1) % recentClients
}

func (g *gen) newOrganisation(m *matterState, c *client, cafe bool) error {
	id := fmt.Sprintf("ORG%05d", g.nOrgs+1)
	g.nOrgs++
	name := pick(g, orgStems) + " " + pick(g, orgKinds)
	if cafe {
		name = "Café Royal Ltd"
		if g.b.orgsCP1252 {
			g.plant.done("undeclared_cp1252")
		} else {
			g.plant.skip("undeclared_cp1252")
		}
	}
	slug := strings.ToLower(strings.NewReplacer(" ", "-", "é", "e").Replace(strings.TrimSuffix(strings.TrimSuffix(name, " Ltd"), " LLP")))
	a := g.address()
	a.line1 = "Unit " + strconv.Itoa(g.between(1, 30)) + ", " + strings.SplitN(a.line1, " ", 2)[1]
	c.orgID = id
	created := c.created.Add(-g.days(0, 30))
	if !g.floor.IsZero() && !created.After(g.floor) { // new in a newer export
		created = c.created
	}
	return g.b.row(perfectportal.TableOrganisations, []string{id, name, fmt.Sprintf("%08d", g.between(4_000_000, 15_999_999)),
		"https://www." + slug + ".example.co.uk", a.line1, a.line2, a.town, a.county, a.postcode, "United Kingdom",
		rfc3339(created), rfc3339(c.updated)})
}

// matterStages schedules the Key Stages and decides the status.
func (g *gen) matterStages(m *matterState) {
	t := m.created.Add(time.Duration(g.between(0, 90)) * time.Minute)
	sched := []stageEntry{{"Instructed", t}}
	t = g.workTime(t.Add(g.days(2, 10)))
	sched = append(sched, stageEntry{"Searches", t})
	t = g.workTime(t.Add(g.days(14, 40)))
	sched = append(sched, stageEntry{"Compliance", t})
	if g.chance(0.3) { // enquiries reopened the searches
		t = g.workTime(t.Add(g.days(5, 15)))
		sched = append(sched, stageEntry{"Searches", t})
		t = g.workTime(t.Add(g.days(5, 20)))
		sched = append(sched, stageEntry{"Compliance", t})
	}
	t = g.workTime(t.Add(g.days(14, 50)))
	sched = append(sched, stageEntry{"Completion", t})
	for len(sched) > 1 && !sched[len(sched)-1].at.Before(g.now) {
		sched = sched[:len(sched)-1]
	}
	if sched[0].at.After(g.now) {
		sched[0].at = g.beforeNow(sched[0].at)
	}
	m.status = "open"
	if len(sched) > 0 && sched[len(sched)-1].name == "Completion" {
		m.status = "completed"
	}
	switch p := g.r.Float64(); {
	case p < 0.07 && len(sched) > 1:
		m.status = "aborted"
		sched = sched[:g.between(1, len(sched)-1)]
	case p < 0.11 && len(sched) > 1:
		m.status = "on hold"
		sched = sched[:g.between(1, len(sched)-1)]
	}
	m.stages = sched
	last := sched[len(sched)-1].at
	switch m.status {
	case "completed":
		m.end = last.Add(g.days(0, 5))
	case "open":
		m.end = g.now
	default:
		m.end = last.Add(g.days(3, 40))
	}
	if m.end.After(g.now) {
		m.end = g.now
	}
	if synonyms := g.plant.take(m.due, "stage_synonym"); synonyms {
		for j := range m.stages {
			if s, ok := stageSynonyms[m.stages[j].name]; ok {
				m.stages[j].name = s
			}
		}
	}
}

func (g *gen) writeStages(m *matterState) error {
	for _, s := range m.stages {
		if err := g.b.row(perfectportal.TableKeyStages, []string{m.id, s.name, rfc3339(s.at)}); err != nil {
			return err
		}
	}
	if row, ok := g.d.stageRow(m.id); ok { // entered since the original export
		if err := g.b.row(perfectportal.TableKeyStages, row); err != nil {
			return err
		}
	}
	if g.plant.take(m.due, "orphan_key_stage") {
		missing := matterID(g.opt.Matters + 1000 + g.plant.counts["orphan_key_stage"])
		return g.b.row(perfectportal.TableKeyStages, []string{missing, "Searches", rfc3339(m.stages[0].at)})
	}
	return nil
}

func (g *gen) matterReferrers(m *matterState) error {
	var roles []string
	switch n := g.r.Float64(); {
	case n < 0.15:
	case n < 0.65:
		roles = []string{"estate agent"}
	case n < 0.98:
		roles = []string{"estate agent", "mortgage broker"}
	default:
		roles = []string{"estate agent", "mortgage broker", "introducer"}
	}
	if m.mtype == "remortgage" && len(roles) > 0 {
		roles[0] = "mortgage broker"
		if len(roles) > 1 {
			roles[1] = "introducer"
		}
	}
	for _, role := range roles {
		rf := g.referrers[pick(g, g.byRole[role])]
		if role == "estate agent" {
			m.agent = rf.company
		}
		fee := ""
		switch role {
		case "introducer":
			fee = g.money(int64(g.between(4, 10)) * 25_00)
		case "estate agent":
			if g.chance(0.4) {
				fee = g.money(int64(g.between(2, 6)) * 25_00)
			}
		default:
			fee = g.money(0)
		}
		if err := g.b.row(perfectportal.TableMatterReferrers, []string{m.id, rf.id, role, fee}); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) description(m *matterState) string {
	switch m.mtype {
	case "purchase":
		return "Purchase of " + m.property.short()
	case "sale":
		return "Sale of " + m.property.short()
	case "remortgage":
		return "Remortgage of " + m.property.short()
	case "transfer of equity":
		return "Transfer of equity, " + m.property.short()
	}
	return "Sale of " + m.sale.short() + " and purchase of " + m.property.short()
}

func (g *gen) writeMatter(m *matterState) error {
	desc := g.description(m)
	if g.plant.take(m.due, "missing_title") {
		desc = ""
	}
	fe := m.fe.id
	if g.plant.take(m.due, "unknown_fee_earner") {
		fe = fmt.Sprintf("FE%03d", 90+g.plant.counts["unknown_fee_earner"])
	}
	var price, lenderRef string
	if m.mtype != "remortgage" {
		price = g.money(m.price)
	} else {
		price = g.money(0)
	}
	if m.lender != "" {
		lenderRef = lenderCodes[slices.Index(lenders, m.lender)] + "-" + strconv.Itoa(g.between(10_000_000, 99_999_999))
	}
	tenure := "Freehold"
	if strings.HasPrefix(m.property.line1, "Flat") || g.chance(0.1) {
		tenure = "Leasehold"
	}
	solicitor := ""
	if g.chance(0.2) {
		solicitor = pick(g, otherSolicitors)
	}
	updated := m.stages[len(m.stages)-1].at
	if m.lastActivity.After(updated) {
		updated = m.lastActivity
	}
	row := []string{m.id, m.number, desc, m.mtype, pick(g, leadSources), fe, m.status,
		m.stages[len(m.stages)-1].name, m.property.full(), m.property.postcode, price, g.money(m.fee), "GBP",
		m.lender, solicitor, g.date(m.created.Add(g.days(56, 112))), g.localTime(m.created), g.localTime(updated),
		lenderRef, tenure}
	if err := g.b.row(perfectportal.TableMatters, row); err != nil {
		return err
	}
	if g.plant.take(m.due, "duplicate_identical") {
		return g.b.row(perfectportal.TableMatters, row)
	}
	return nil
}
