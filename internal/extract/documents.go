package extract

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"

	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// copyBuffers are reused across documents: a fresh 32 KiB buffer per file
// is most of what a large export would otherwise allocate.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// docJob is one document file to check.
type docJob struct {
	line     int32
	key      uint64 // idKey of id
	id       string
	path     string
	sha256   string
	declared int64
	file     string
}

// docResult is what checking a document file found; it becomes an event of
// the table (see dedupe.go), and flagged is kept by line until the table is
// settled, only for a document that will be flagged.
type docResult struct {
	key    uint64
	size   int64
	line   int32
	status docStatus
	// flagged holds what a flag needs, for a file that is missing,
	// unreadable, damaged, unchecked, of another size or over the limit.
	flagged *docFlagged
}

type docStatus uint8

const (
	docOK docStatus = iota
	docMissing
	docUnreadable
	docChecksum
)

type docFlagged struct {
	id, file string
	declared int64
	noSum    bool
	err      error
}

// docPool checksums document files on a few goroutines while pass one
// reads on.
type docPool struct {
	jobs    chan docJob
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []docResult
	spare   []docResult // the last batch drained, reused
}

func (r *runner) document(t *tableState, row *pp.Row) {
	x, issues := pp.DecodeDocument(row)
	if lp := strings.ToLower(x.Path); lp != "" && !strings.HasPrefix(lp, "documents/") {
		if r.docPaths == nil {
			r.docPaths = map[string]bool{}
		}
		// A copy: a value read from a row shares the memory of the whole record.
		r.docPaths[strings.Clone(lp)] = true
	}
	if !r.check(t, row, x.ID, issues) {
		return
	}
	if _, ok := r.matterLink(t, row, x.ID, x.MatterID); !ok {
		return
	}
	r.feeEarnerRef(t, row, x.ID, x.FeeEarnerID)
	r.register(t, x.ID, entry{line: int32(row.Line), hash: row.Hash()})
	if r.docs == nil {
		r.startDocPool()
	} else if t.deferred != nil {
		r.drainDocuments(t)
	}
	r.docs.jobs <- docJob{line: int32(row.Line), key: idKey(x.ID), id: strings.Clone(x.ID), path: strings.Clone(x.Path), sha256: strings.Clone(x.SHA256), declared: x.SizeBytes, file: row.File}
}

func (r *runner) startDocPool() {
	n := r.opt.DocumentWorkers
	if n <= 0 {
		n = 4
	}
	p := &docPool{jobs: make(chan docJob, 256)}
	for i := 0; i < n; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for j := range p.jobs {
				res := r.checkDocument(j)
				p.mu.Lock()
				p.results = append(p.results, res)
				p.mu.Unlock()
			}
		}()
	}
	r.docs = p
}

func (r *runner) checkDocument(j docJob) docResult {
	res := docResult{key: j.key, line: j.line}
	flag := func(err error) docResult {
		res.flagged = &docFlagged{id: j.id, file: j.file, declared: j.declared, noSum: j.sha256 == "", err: err}
		return res
	}
	if r.ctx.Err() != nil {
		res.status = docUnreadable
		return flag(r.ctx.Err())
	}
	rc, err := r.b.OpenFile(r.ctx, j.path)
	if errors.Is(err, fs.ErrNotExist) {
		res.status = docMissing
		return flag(nil)
	}
	if err != nil {
		res.status = docUnreadable
		return flag(err)
	}
	defer rc.Close()
	h := sha256.New()
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	// The struct hides the file's WriteTo, which would allocate a buffer
	// of its own for every document.
	n, err := io.CopyBuffer(h, struct{ io.Reader }{rc}, *buf)
	res.size = n
	var sum [sha256.Size]byte
	switch {
	case err != nil:
		res.status = docUnreadable
		return flag(err)
	case j.sha256 != "" && j.sha256 != hex.EncodeToString(h.Sum(sum[:0])):
		res.status = docChecksum
		return flag(nil)
	}
	limit := int64(r.cfg.Policies.AttachmentSizeLimit)
	if j.sha256 == "" || (j.declared > 0 && j.declared != n) || (limit > 0 && n > limit) {
		return flag(nil)
	}
	return res
}

// finishDocuments waits for the checksums; settleDeferred then settles
// each document with its rows.
func (r *runner) finishDocuments(t *tableState) {
	if r.docs == nil {
		return
	}
	close(r.docs.jobs)
	r.docs.wg.Wait()
	r.drainDocuments(t)
	r.docs = nil
}

// drainDocuments passes the checksums done so far on to the table's events.
func (r *runner) drainDocuments(t *tableState) {
	p := r.docs
	p.mu.Lock()
	results := p.results
	p.results = p.spare[:0]
	p.spare = results
	p.mu.Unlock()
	for _, res := range results {
		t.deferred.add(event{key: res.key, val: uint64(res.size), line: res.line, op: opResult, st: uint8(res.status)})
		if res.flagged != nil {
			if r.docFlagged == nil {
				r.docFlagged = map[int32]*docFlagged{}
			}
			r.docFlagged[res.line] = res.flagged
		}
	}
}

// settleDocument settles what checking a document's file found (ev), h
// being its id's entry once the rows have been settled: a missing,
// unreadable or damaged file quarantines the row; the size of an accepted
// one is kept, and it is flagged when the row gives no checksum, another
// size, or the file is over the attachment limit.
func (r *runner) settleDocument(t *tableState, h *entry, ev event, f *docFlagged, limit int64) {
	var code, msg string
	switch docStatus(ev.st) {
	case docMissing:
		code, msg = "document_missing", "the file documents.path names is not in the bundle; add it under that path or correct documents.path"
	case docUnreadable:
		code, msg = "document_unreadable", fmt.Sprintf("the file documents.path names cannot be read (%v)", f.err)
	case docChecksum:
		code, msg = "document_checksum", "the file documents.path names does not match the row's sha256: it is damaged or a different file; re-export it"
	}
	if code != "" {
		t.setOutcome(ev.line, outcome{status: Quarantined, code: code, sourceID: f.id, severity: pp.SeverityWarning, message: msg})
		if h.line == ev.line {
			h.status = Quarantined
		}
		return
	}
	size := int64(ev.val)
	if h.line == ev.line {
		h.stamp = size
	}
	if !t.accepted(int(ev.line)) || f == nil {
		return
	}
	line := int(ev.line)
	if f.noSum {
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityWarning, Code: "document_no_checksum", Table: t.name, File: f.file, Line: line, SourceID: f.id,
			Message: "the row gives no sha256, so nothing proves the file is the one exported"})
	}
	if f.declared > 0 && f.declared != size {
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityWarning, Code: "document_size", Table: t.name, File: f.file, Line: line, SourceID: f.id,
			Message: fmt.Sprintf("size_bytes says %d but the file has %d bytes", f.declared, size)})
	}
	if limit > 0 && size > limit {
		r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityInfo, Code: "file_over_limit", Table: t.name, File: f.file, Line: line, SourceID: f.id,
			Message: fmt.Sprintf("the file is %s, over the %s attachment limit: it will be compressed, or split into parts if still too big", humanBytes(size), mapping.ByteSize(limit))})
	}
}
