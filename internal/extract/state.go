package extract

import (
	"fmt"
	"sort"
	"strings"

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
// It is kept to 32 bytes: a million-row export holds hundreds of thousands.
type entry struct {
	hash  uint64 // fingerprint of the row's values
	stamp int64  // updated_at in Unix nanoseconds (0 when absent); documents: size in bytes
	line  int32
	// status is where the row stands; links counts a matter's accepted
	// client links (saturating).
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
	// or another client (a shared email); resolved to a line at the end.
	intoID    string
	intoTable string
}

// tableState holds one table's pass-one results.
type tableState struct {
	name     string
	spec     pp.TableSpec
	file     pp.TableFile
	present  bool
	read     int
	ids      map[string]entry
	outcomes map[int32]outcome
	// allQuarantined is set when the whole file is unusable (checksum,
	// row count, missing required column, unreadable): every row read is
	// quarantined for that reason.
	allQuarantined string
	allCode        string
	// pairs dedupes link tables: a hash of the link -> first line.
	pairs map[uint64]int32
}

func newTableState(spec pp.TableSpec) *tableState {
	return &tableState{name: spec.Name, spec: spec, ids: map[string]entry{}, outcomes: map[int32]outcome{}, pairs: map[uint64]int32{}}
}

// setOutcome records the fate of the row at line, replacing an earlier one
// only when the row had been accepted (a duplicate that lost later).
func (t *tableState) setOutcome(line int32, o outcome) {
	if prev, ok := t.outcomes[line]; ok && prev.status != Accepted {
		return
	}
	t.outcomes[line] = o
}

// put stores an entry under a copy of id: ids read from a row share the
// memory of the whole record, which the index must not keep alive (nor may
// a map update, which replaces a string key with the one given).
func (t *tableState) put(id string, e entry) {
	t.ids[strings.Clone(id)] = e
}

// lookup resolves a reference to a row of this table by id.
func (t *tableState) lookup(id string) (entry, bool) {
	e, ok := t.ids[id]
	return e, ok
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
func (t *tableState) outcomeFlags(lineOf func(table, id string) int32) []pp.Flag {
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
			into := lineOf(o.intoTable, o.intoID)
			msg = fmt.Sprintf("%s; merged into %s %s (line %d)", o.message, o.intoTable, o.intoID, into)
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
