package extract

import (
	"fmt"
	"sort"

	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// Status is where a source row ends up.
type Status uint8

// Every row of every table ends in exactly one of these.
const (
	Accepted Status = iota
	Merged
	Skipped
	Quarantined
)

func (s Status) String() string {
	switch s {
	case Accepted:
		return "accepted"
	case Merged:
		return "merged"
	case Skipped:
		return "skipped"
	case Quarantined:
		return "quarantined"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// entry is what is remembered of one id between passes: enough to resolve
// duplicates and references, and to count volumes, without the row itself.
// It is the unpacked form of an idIndex slot (see index.go), which keeps
// only what the table needs.
type entry struct {
	hash  uint64 // fingerprint of the row's values (its top 30 bits once indexed)
	stamp int64  // updated_at in Unix nanoseconds (0 when absent); documents: size in bytes
	line  int32
	// status is where the row stands; links counts a matter's accepted
	// client links (only whether it is 0 is kept).
	status Status
	links  uint16
	// v holds interned volume keys: matters' type, stage, status and
	// pipeline; activities' type. Clients keep their email hash here.
	v [4]uint16
}

// withEmail returns the entry holding a client's email hash.
func (e entry) withEmail(h uint64) entry {
	e.v = [4]uint16{uint16(h), uint16(h >> 16), uint16(h >> 32), uint16(h >> 48)}
	return e
}

// email returns a client's email hash, 0 when it has none.
func (e entry) email() uint64 {
	return uint64(e.v[0]) | uint64(e.v[1])<<16 | uint64(e.v[2])<<32 | uint64(e.v[3])<<48
}

// outcome is the fate of a row that was not accepted.
type outcome struct {
	status   Status
	code     string
	sourceID string
	message  string
	severity pp.Severity
	// intoID names the row a merged row went into: same id (a duplicate)
	// or another client (a shared email); intoLine is its line, resolved
	// when the table is settled.
	intoID    string
	intoTable string
	intoLine  int32
}

// tableState holds one table's pass-one results.
type tableState struct {
	name     string
	spec     pp.TableSpec
	file     pp.TableFile
	present  bool
	read     int
	ids      *idIndex
	outcomes map[int32]outcome
	// allQuarantined is set when the whole file is unusable (checksum,
	// row count, missing required column, unreadable): every row read is
	// quarantined for that reason.
	allQuarantined string
	allCode        string
	// deferred collects the rows of a table whose ids (or links) are
	// settled once it has been read (see dedupe.go); ids is then unused.
	deferred *deferred
	// layout is what the table's index keeps besides line and status.
	layout indexLayout
}

// layouts say what each table's ids keep (see idIndex): updated_at to
// settle conflicting duplicates, a document's size, a matter's volume keys
// and client links, a client's email hash, an activity's type.
var layouts = map[string]indexLayout{
	pp.TableOrganisations: withStamps,
	pp.TableClients:       withStamps | withAux,
	pp.TableReferrers:     withStamps,
	pp.TableMatters:       withStamps | withAux | withLinks,
	pp.TableActivities:    withSmall,
	pp.TableDocuments:     withStamps,
}

// linkTables are the tables whose rows are links, deduplicated by pair.
var linkTables = map[string]bool{pp.TableMatterClients: true, pp.TableMatterReferrers: true, pp.TableKeyStages: true}

func newTableState(spec pp.TableSpec) *tableState {
	return &tableState{name: spec.Name, spec: spec, layout: layouts[spec.Name], ids: newIDIndex(0, layouts[spec.Name]),
		outcomes: map[int32]outcome{}}
}

// sizeFor makes the indexes big enough for the rows the manifest gives
// (bounded by the file's size, so that a manifest cannot make it allocate
// what the file could not hold), saving their growth.
func (t *tableState) sizeFor(tf pp.TableFile) {
	if tf.ManifestRows == nil || *tf.ManifestRows <= 0 {
		return
	}
	n := min(*tf.ManifestRows, 1<<28)
	if tf.Size > 0 {
		n = int(min(int64(n), tf.Size/4+1))
	}
	if !deferredTables[t.name] && !linkTables[t.name] {
		t.ids = newIDIndex(n, t.layout)
	}
}

// setOutcome records the fate of the row at line, replacing an earlier one
// only when the row had been accepted (a duplicate that lost later).
func (t *tableState) setOutcome(line int32, o outcome) {
	if prev, ok := t.outcomes[line]; ok && prev.status != Accepted {
		return
	}
	t.outcomes[line] = o
}

// put stores an entry under id (its hash: the index keeps no strings).
func (t *tableState) put(id string, e entry) {
	t.ids.put(idKey(id), e)
}

// lookup resolves a reference to a row of this table by id.
func (t *tableState) lookup(id string) (entry, bool) {
	return t.ids.get(idKey(id))
}

// counts sums the table's rows by status.
func (t *tableState) counts() TableCounts {
	c := TableCounts{File: t.file.File, Read: t.read}
	if t.allQuarantined != "" {
		c.Quarantined = t.read
		return c
	}
	for _, o := range t.outcomes {
		switch o.status {
		case Merged:
			c.Merged++
		case Skipped:
			c.Skipped++
		case Quarantined:
			c.Quarantined++
		}
	}
	c.Accepted = t.read - c.Merged - c.Skipped - c.Quarantined
	return c
}

// accepted reports whether the row at line was accepted.
func (t *tableState) accepted(line int) bool {
	if t.allQuarantined != "" {
		return false
	}
	_, bad := t.outcomes[int32(line)]
	return !bad
}

// outcomeFlags turns the non-accepted rows into flags, in line order.
func (t *tableState) outcomeFlags() []pp.Flag {
	lines := make([]int32, 0, len(t.outcomes))
	for l := range t.outcomes {
		lines = append(lines, l)
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i] < lines[j] })
	flags := make([]pp.Flag, 0, len(lines))
	for _, l := range lines {
		o := t.outcomes[l]
		msg := o.message
		if o.status == Merged && o.intoID != "" {
			msg = fmt.Sprintf("%s; merged into %s %s (line %d)", o.message, o.intoTable, o.intoID, o.intoLine)
		}
		flags = append(flags, pp.Flag{Severity: o.severity, Code: o.code, Table: t.name, File: t.file.File, Line: int(l), SourceID: o.sourceID, Message: msg})
	}
	return flags
}

// interner gives small numbers to the few distinct values a volume is counted by.
type interner struct {
	ids   map[string]uint16
	names []string
}

func (in *interner) id(s string) uint16 {
	if in.ids == nil {
		in.ids = map[string]uint16{}
	}
	if i, ok := in.ids[s]; ok {
		return i
	}
	if len(in.names) >= 1<<16-1 {
		return 0
	}
	in.names = append(in.names, s)
	in.ids[s] = uint16(len(in.names) - 1)
	return in.ids[s]
}

func (in *interner) name(i uint16) string {
	if int(i) < len(in.names) {
		return in.names[i]
	}
	return ""
}
