package sampleexport

// plantGroups are the problems messy mode plants. A matter takes at most
// one problem of each group, so that problems of one kind never hide each
// other (a client with no email cannot also have an invalid one).
var plantGroups = [][]string{
	{"duplicate_identical", "missing_title", "unknown_fee_earner"},
	{"missing_email", "invalid_email", "shared_email", "duplicate_conflict", "invalid_phone"},
	{"unknown_activity_type", "orphan_activity"},
	{"orphan_matter_client", "orphan_key_stage"},
	{"document_missing", "document_checksum"},
	{"stage_synonym"},
	{"undeclared_cp1252"},
}

// planter spreads each planted problem evenly over the matters: a problem
// planted n times falls due every Matters/n matters and stays due until a
// matter takes it.
type planter struct {
	next, left, step map[string]int
	counts           map[string]int
}

func newPlanter(matters int) *planter {
	p := &planter{next: map[string]int{}, left: map[string]int{}, step: map[string]int{}, counts: map[string]int{}}
	for _, group := range plantGroups {
		for j, code := range group {
			n := max(1, matters/400)
			switch code {
			case "invalid_email":
				n = max(2, n) // both spellings: "jane.smith@example" and "jane@@example.com"
			case "stage_synonym":
				n = max(1, matters/10)
			case "undeclared_cp1252":
				n = 1
			}
			p.left[code] = n
			p.step[code] = max(1, matters/n)
			p.next[code] = j * matters / (n * len(group))
		}
	}
	return p
}

// due returns the problems matter i should take; shared_email is never due
// before there is a client to share an email with.
func (p *planter) due(i int, haveClients bool) map[string]bool {
	due := map[string]bool{}
	for _, group := range plantGroups {
		for _, code := range group {
			if p.left[code] > 0 && p.next[code] <= i && (code != "shared_email" || haveClients) {
				due[code] = true
				break
			}
		}
	}
	return due
}

// pickOf returns the first of codes that is due, or "".
func (p *planter) pickOf(due map[string]bool, codes ...string) string {
	if p == nil {
		return ""
	}
	for _, c := range codes {
		if due[c] {
			return c
		}
	}
	return ""
}

// take reports whether code is due and, if so, counts it as planted.
func (p *planter) take(due map[string]bool, code string) bool {
	if p == nil || !due[code] {
		return false
	}
	p.done(code)
	return true
}

// done counts code as planted.
func (p *planter) done(code string) {
	p.counts[code]++
	p.advance(code)
}

// skip gives up one planting of code that the options make impossible.
func (p *planter) skip(code string) { p.advance(code) }

func (p *planter) advance(code string) {
	p.left[code]--
	p.next[code] += p.step[code]
}
