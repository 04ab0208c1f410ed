package extract

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// The tables no other row refers to (activities, documents, templates) do
// not keep their ids while they are read, nor do the link tables keep their
// links: each row's bearing on its id (or link) is recorded as a 24-byte
// event, sorted by id in runs of deferredRun events that go to a temporary
// file once there is more than one, and the duplicates are settled when the
// table has been read, one id at a time, exactly as register, reject and a
// check of each link against the links before it would have settled them
// row by row. So the memory these tables take does not grow with them.

// deferredTables are the tables settled that way.
var deferredTables = map[string]bool{pp.TableActivities: true, pp.TableDocuments: true, pp.TableTemplates: true}

// deferredRun is how many events are held in memory, sorted and written
// out as a run when there are more.
var deferredRun = 1 << 17

// Kinds of event, in the order they are settled for an id: the rows, then
// (documents) what checking their files found.
const (
	opReject uint8 = iota
	opRegister
	opPair // a link; val is the place of its stage aggregate plus one
	opResult
)

// event is one row's bearing on its id.
type event struct {
	key  uint64 // idKey of the id
	val  uint64 // register: the row's fingerprint; result: the file's size
	line int32
	op   uint8
	st   uint8  // reject: the status; result: a docStatus
	v0   uint16 // register: an activity's interned type
}

const eventSize = 24

func cmpEvent(a, b event) int {
	if c := cmp.Compare(a.key, b.key); c != 0 {
		return c
	}
	if (a.op == opResult) != (b.op == opResult) {
		if a.op == opResult {
			return 1
		}
		return -1
	}
	return cmp.Compare(a.line, b.line)
}

// deferred collects a table's events.
type deferred struct {
	dir  string
	buf  []event
	runs []*os.File
	err  error
}

func newDeferred(dir string) *deferred { return &deferred{dir: dir} }

func (d *deferred) add(ev event) {
	if d.err != nil {
		return
	}
	d.buf = append(d.buf, ev)
	if len(d.buf) >= deferredRun {
		d.err = d.spill()
	}
}

// spill sorts the events held and writes them out as a run.
func (d *deferred) spill() error {
	slices.SortFunc(d.buf, cmpEvent)
	f, err := os.CreateTemp(d.dir, "conveyor-dedupe-*")
	if err != nil {
		return fmt.Errorf("dedupe: %w", err)
	}
	d.runs = append(d.runs, f)
	w := bufio.NewWriterSize(f, 64<<10)
	var rec [eventSize]byte
	for _, ev := range d.buf {
		encodeEvent(rec[:], ev)
		if _, err := w.Write(rec[:]); err != nil {
			return fmt.Errorf("dedupe: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("dedupe: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("dedupe: %w", err)
	}
	d.buf = d.buf[:0]
	return nil
}

func encodeEvent(b []byte, ev event) {
	binary.LittleEndian.PutUint64(b[0:], ev.key)
	binary.LittleEndian.PutUint64(b[8:], ev.val)
	binary.LittleEndian.PutUint32(b[16:], uint32(ev.line))
	b[20], b[21] = ev.op, ev.st
	binary.LittleEndian.PutUint16(b[22:], ev.v0)
}

func decodeEvent(b []byte) event {
	return event{key: binary.LittleEndian.Uint64(b[0:]), val: binary.LittleEndian.Uint64(b[8:]),
		line: int32(binary.LittleEndian.Uint32(b[16:])), op: b[20], st: b[21], v0: binary.LittleEndian.Uint16(b[22:])}
}

// close removes the runs.
func (d *deferred) close() {
	for _, f := range d.runs {
		f.Close()
		os.Remove(f.Name())
	}
	d.runs, d.buf = nil, nil
}

// groups calls fn with the events of each id in turn, in cmpEvent order.
func (d *deferred) groups(fn func([]event) error) error {
	if d.err != nil {
		return d.err
	}
	var next func() (event, bool, error)
	if len(d.runs) == 0 {
		slices.SortFunc(d.buf, cmpEvent)
		i := 0
		next = func() (event, bool, error) {
			if i == len(d.buf) {
				return event{}, false, nil
			}
			i++
			return d.buf[i-1], true, nil
		}
	} else {
		if len(d.buf) > 0 {
			if err := d.spill(); err != nil {
				return err
			}
		}
		d.buf = nil
		m := &merger{}
		for _, f := range d.runs {
			src := &runReader{r: bufio.NewReaderSize(f, 32<<10)}
			if ok, err := src.advance(); err != nil {
				return err
			} else if ok {
				m.srcs = append(m.srcs, src)
			}
		}
		heap.Init(m)
		next = func() (event, bool, error) {
			if len(m.srcs) == 0 {
				return event{}, false, nil
			}
			src := m.srcs[0]
			ev := src.cur
			ok, err := src.advance()
			if err != nil {
				return event{}, false, err
			}
			if ok {
				heap.Fix(m, 0)
			} else {
				heap.Pop(m)
			}
			return ev, true, nil
		}
	}
	var group []event
	for {
		ev, ok, err := next()
		if err != nil {
			return fmt.Errorf("dedupe: %w", err)
		}
		if !ok || (len(group) > 0 && ev.key != group[0].key) {
			if len(group) > 0 {
				if err := fn(group); err != nil {
					return err
				}
			}
			group = group[:0]
		}
		if !ok {
			return nil
		}
		group = append(group, ev)
	}
}

// runReader reads a run back, one event at a time.
type runReader struct {
	r   *bufio.Reader
	cur event
	rec [eventSize]byte
}

func (s *runReader) advance() (bool, error) {
	if _, err := io.ReadFull(s.r, s.rec[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, err
	}
	s.cur = decodeEvent(s.rec[:])
	return true, nil
}

// merger is a heap of runs by their current event.
type merger struct{ srcs []*runReader }

func (m *merger) Len() int           { return len(m.srcs) }
func (m *merger) Less(i, j int) bool { return cmpEvent(m.srcs[i].cur, m.srcs[j].cur) < 0 }
func (m *merger) Swap(i, j int)      { m.srcs[i], m.srcs[j] = m.srcs[j], m.srcs[i] }
func (m *merger) Push(x any)         { m.srcs = append(m.srcs, x.(*runReader)) }
func (m *merger) Pop() any {
	x := m.srcs[len(m.srcs)-1]
	m.srcs = m.srcs[:len(m.srcs)-1]
	return x
}

// settleDeferred settles a deferred table's ids once it has been read: for
// each id, its rows in line order as register and reject would have (a
// duplicate of these tables never has an updated_at to weigh), then, for
// documents, what checking the files found, as finishDocuments did. The
// ids of merged rows are read again from the file for their flags.
func (r *runner) settleDeferred(t *tableState) error {
	d := t.deferred
	t.deferred = nil
	defer d.close()
	if linkTables[t.name] {
		return r.settleLinks(t, d)
	}
	flagged := r.docFlagged
	r.docFlagged = nil
	if t.name == pp.TableActivities {
		r.actVolumes = map[string]int{}
	}
	if t.allQuarantined != "" {
		return d.err // every row is quarantined and nothing else is said of them
	}
	limit := int64(r.cfg.Policies.AttachmentSizeLimit)
	staging := r.opt.Stage != nil && t.name == pp.TableDocuments
	into := map[int32]int32{} // merged row's line -> the line it went into
	var losers []int32
	err := d.groups(func(g []event) error {
		var h entry
		has := false
		losers = losers[:0]
		merge := func(line int32, code string, sev pp.Severity, msg string) {
			if _, had := t.outcomes[line]; had {
				return
			}
			t.setOutcome(line, outcome{status: Merged, code: code, severity: sev, message: msg, intoTable: t.name})
			losers = append(losers, line)
		}
		i := 0
		for ; i < len(g) && g[i].op != opResult; i++ {
			ev := g[i]
			if ev.op == opReject {
				if !has || (h.status != Accepted && h.status != Merged) {
					h, has = entry{line: ev.line, status: Status(ev.st)}, true
				}
				continue
			}
			e := entry{line: ev.line, hash: ev.val, v: [4]uint16{ev.v0}}
			switch {
			case !has || h.status != Accepted:
				h, has = e, true
			case h.hash == e.hash:
				merge(e.line, "duplicate_identical", pp.SeverityInfo, "an identical row with the same id appears earlier")
			default:
				loser := h.line
				h = e
				merge(loser, "duplicate_conflict", pp.SeverityWarning, "another row has the same id and different values; neither has a newer updated_at, so the later row is kept")
			}
		}
		for _, l := range losers {
			into[l] = h.line
		}
		for ; i < len(g); i++ {
			r.settleDocument(t, &h, g[i], flagged[g[i].line], limit)
		}
		if !has || h.status != Accepted {
			return nil
		}
		switch t.name {
		case pp.TableActivities:
			r.actVolumes[r.actTypes.name(h.v[0])]++
		case pp.TableDocuments:
			v := &r.docVolumes
			v.Count++
			v.Bytes += h.stamp
			v.LargestBytes = max(v.LargestBytes, h.stamp)
			if limit > 0 && h.stamp > limit {
				v.OverLimit++
				v.OverLimitBytes += h.stamp
			}
			if staging {
				r.docSizes = append(r.docSizes, lineSize{h.line, h.stamp})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(r.docSizes, func(a, b lineSize) int { return cmp.Compare(a.line, b.line) })
	if len(into) == 0 {
		return nil
	}
	ids := make(map[int32]string, len(into))
	for l := range into {
		ids[l] = ""
	}
	if err := r.idsAt(t, ids, idOf[t.name]); err != nil {
		return err
	}
	for l, to := range into {
		o := t.outcomes[l]
		o.sourceID, o.intoID, o.intoLine = ids[l], ids[l], to
		t.outcomes[l] = o
	}
	return nil
}

// settleLinks merges each repeat of a link into its first row, and uncounts
// it from the aggregate of unmapped stages it was counted in (a repeat is
// only ever counted where its first row was).
func (r *runner) settleLinks(t *tableState, d *deferred) error {
	return d.groups(func(g []event) error {
		first := g[0].line
		for _, ev := range g[1:] {
			t.setOutcome(ev.line, outcome{status: Merged, code: "duplicate_link", severity: pp.SeverityInfo,
				message: fmt.Sprintf("the same link appears at line %d; merged into it", first)})
			if ev.val != 0 {
				r.aggs[r.aggSeq[ev.val-1]].count--
			}
		}
		return nil
	})
}

// idOf reads the id of a deferred table's row.
var idOf = map[string]func(*pp.Row) string{
	pp.TableActivities: func(row *pp.Row) string { x, _ := pp.DecodeActivity(row); return x.ID },
	pp.TableDocuments:  func(row *pp.Row) string { x, _ := pp.DecodeDocument(row); return x.ID },
	pp.TableTemplates:  func(row *pp.Row) string { x, _ := pp.DecodeTemplate(row); return x.ID },
}

// lineSize is an accepted document's size, by line, for staging.
type lineSize struct {
	line int32
	size int64
}

// docSize returns the size of the accepted document at line.
func (r *runner) docSize(line int) (int64, bool) {
	i, ok := slices.BinarySearchFunc(r.docSizes, int32(line), func(s lineSize, l int32) int { return cmp.Compare(s.line, l) })
	if !ok {
		return 0, false
	}
	return r.docSizes[i].size, true
}
