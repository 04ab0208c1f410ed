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
	id       string
	path     string
	sha256   string
	declared int64
	file     string
}

// docResult is what checking a document file found.
type docResult struct {
	docJob
	size    int64
	missing bool
	sum     string
	err     error
}

// docPool checksums document files on a few goroutines while pass one
// reads on.
type docPool struct {
	jobs    chan docJob
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []docResult
}

func (r *runner) document(t *tableState, row *pp.Row) {
	x, issues := pp.DecodeDocument(row)
	if x.Path != "" {
		if r.docPaths == nil {
			r.docPaths = map[string]bool{}
		}
		// Copies: a value read from a row shares the memory of the whole record.
		r.docPaths[strings.Clone(strings.ToLower(x.Path))] = true
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
	}
	r.docs.jobs <- docJob{line: int32(row.Line), id: strings.Clone(x.ID), path: strings.Clone(x.Path), sha256: strings.Clone(x.SHA256), declared: x.SizeBytes, file: row.File}
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
	res := docResult{docJob: j}
	if r.ctx.Err() != nil {
		res.err = r.ctx.Err()
		return res
	}
	rc, err := r.b.OpenFile(r.ctx, j.path)
	if errors.Is(err, fs.ErrNotExist) {
		res.missing = true
		return res
	}
	if err != nil {
		res.err = err
		return res
	}
	defer rc.Close()
	h := sha256.New()
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	// The struct hides the file's WriteTo, which would allocate a buffer
	// of its own for every document.
	n, err := io.CopyBuffer(h, struct{ io.Reader }{rc}, *buf)
	res.size, res.err = n, err
	res.sum = hex.EncodeToString(h.Sum(nil))
	return res
}

// finishDocuments waits for the checksums and settles each document.
func (r *runner) finishDocuments(t *tableState) {
	if r.docs == nil {
		return
	}
	close(r.docs.jobs)
	r.docs.wg.Wait()
	limit := int64(r.cfg.Policies.AttachmentSizeLimit)
	for _, res := range r.docs.results {
		var code, msg string
		switch {
		case res.missing:
			code, msg = "document_missing", "the file documents.path names is not in the bundle; add it under that path or correct documents.path"
		case res.err != nil:
			code, msg = "document_unreadable", fmt.Sprintf("the file documents.path names cannot be read (%v)", res.err)
		case res.sha256 != "" && res.sha256 != res.sum:
			code, msg = "document_checksum", "the file documents.path names does not match the row's sha256: it is damaged or a different file; re-export it"
		}
		if code != "" {
			t.setOutcome(res.line, outcome{status: Quarantined, code: code, sourceID: res.id, severity: pp.SeverityWarning, message: msg})
			if e, ok := t.ids[res.id]; ok && e.line == res.line {
				e.status = Quarantined
				t.put(res.id, e)
			}
			continue
		}
		if e, ok := t.ids[res.id]; ok && e.line == res.line {
			e.stamp = res.size
			t.put(res.id, e)
		}
		if !t.accepted(int(res.line)) {
			continue
		}
		if res.sha256 == "" {
			r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityWarning, Code: "document_no_checksum", Table: t.name, File: res.file, Line: int(res.line), SourceID: res.id,
				Message: "the row gives no sha256, so nothing proves the file is the one exported"})
		}
		if res.declared > 0 && res.declared != res.size {
			r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityWarning, Code: "document_size", Table: t.name, File: res.file, Line: int(res.line), SourceID: res.id,
				Message: fmt.Sprintf("size_bytes says %d but the file has %d bytes", res.declared, res.size)})
		}
		if limit > 0 && res.size > limit {
			r.flags = append(r.flags, pp.Flag{Severity: pp.SeverityInfo, Code: "file_over_limit", Table: t.name, File: res.file, Line: int(res.line), SourceID: res.id,
				Message: fmt.Sprintf("the file is %s, over the %s attachment limit: it will be compressed, or split into parts if still too big", humanBytes(res.size), mapping.ByteSize(limit))})
		}
	}
	r.docs = nil
}
