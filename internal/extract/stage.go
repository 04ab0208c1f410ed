package extract

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// StageManifestName is the staged chunk manifest's key under the prefix.
const StageManifestName = "manifest.json"

// AuditName is the audit report's key under the staging prefix.
const AuditName = "audit.json"

// recordsPerChunk is the chunk size of the kinds that are not matters.
const recordsPerChunk = 1000

// Staged kinds: each is a folder of NDJSON chunks under the prefix.
const (
	KindFeeEarners    = "fee_earners"
	KindOrganisations = "organisations"
	KindClients       = "clients"
	KindReferrers     = "referrers"
	KindMatters       = "matters"
	KindTemplates     = "templates"
)

// StageVersion is the staged layout this package writes. Version 2 puts
// each matter client's organisation on its link (MatterClient's
// OrganisationID); version 1 chunks lack it, and the deals step then reads
// the staged clients for it.
const StageVersion = 2

// StageManifest lists the staged chunks. Steps pass its key, never records.
type StageManifest struct {
	Version      int                   `json:"version"`
	ExportID     string                `json:"export_id,omitempty"`
	ChunkMatters int                   `json:"chunk_matters"`
	Kinds        map[string]KindChunks `json:"kinds"`
	Audit        string                `json:"audit"`
}

// KindChunks lists the chunks of one kind, in order.
type KindChunks struct {
	Records int     `json:"records"`
	Chunks  []Chunk `json:"chunks"`
}

// Chunk is one staged NDJSON file.
type Chunk struct {
	Key     string `json:"key"`
	Records int    `json:"records"`
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
}

// MatterRecord is one line of a matters chunk: a matter with everything
// that hangs off it, so that a chunk can be loaded on its own.
type MatterRecord struct {
	Matter     pp.Matter           `json:"matter"`
	Clients    []pp.MatterClient   `json:"clients"`
	Referrers  []pp.MatterReferrer `json:"referrers"`
	Stages     []pp.KeyStage       `json:"stages"`
	Activities []pp.Activity       `json:"activities"`
	Documents  []pp.Document       `json:"documents"`
}

// spill kinds of a matters chunk's parts, in MatterRecord order.
const (
	spillMatter byte = iota
	spillClient
	spillReferrer
	spillStage
	spillActivity
	spillDocument
	spillKinds
)

var spillField = [spillKinds]string{"matter", "clients", "referrers", "stages", "activities", "documents"}

// chunkWriter cuts a stream of records into chunks in the blob store.
type chunkWriter struct {
	r       *runner
	kind    string
	perFile int
	buf     bytes.Buffer
	n       int
	out     KindChunks
}

func (w *chunkWriter) add(line []byte) error {
	w.buf.Write(line)
	w.buf.WriteByte('\n')
	w.n++
	if w.n >= w.perFile {
		return w.flush()
	}
	return nil
}

func (w *chunkWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	key := fmt.Sprintf("%s/%05d.ndjson", w.kind, len(w.out.Chunks)+1)
	sum := sha256.Sum256(w.buf.Bytes())
	c := Chunk{Key: key, Records: w.n, Bytes: int64(w.buf.Len()), SHA256: hex.EncodeToString(sum[:])}
	if err := w.r.opt.Stage.Put(w.r.ctx, w.r.opt.StagePrefix+key, bytes.NewReader(w.buf.Bytes())); err != nil {
		return fmt.Errorf("stage %s: %w", key, err)
	}
	w.out.Chunks = append(w.out.Chunks, c)
	w.out.Records += w.n
	w.buf.Reset()
	w.n = 0
	return nil
}

// stage runs pass two: every accepted row, as a canonical record, into
// chunks; then the manifest and the audit.
func (r *runner) stage() (*StageManifest, error) {
	if r.opt.StagePrefix != "" && !strings.HasSuffix(r.opt.StagePrefix, "/") {
		r.opt.StagePrefix += "/"
	}
	chunkMatters := r.cfg.Staging.ChunkMatters
	if chunkMatters <= 0 {
		chunkMatters = 100
	}
	m := &StageManifest{Version: StageVersion, ChunkMatters: chunkMatters, Kinds: map[string]KindChunks{}, Audit: AuditName}
	if r.b.Manifest != nil {
		m.ExportID = r.b.Manifest.ExportID
	}
	orgIDs := map[string]string{} // interned: one string per organisation
	simple := []struct {
		kind, table string
		encode      func(*pp.Row) (any, bool)
	}{
		{KindFeeEarners, pp.TableFeeEarners, func(row *pp.Row) (any, bool) { x, _ := pp.DecodeFeeEarner(row); return x, true }},
		{KindOrganisations, pp.TableOrganisations, func(row *pp.Row) (any, bool) { x, _ := pp.DecodeOrganisation(row); return x, true }},
		{KindClients, pp.TableClients, func(row *pp.Row) (any, bool) {
			x, _ := pp.DecodeClient(row)
			x.MergedIDs = r.clientMerged[x.ID]
			if x.OrganisationID != "" {
				org, ok := orgIDs[x.OrganisationID]
				if !ok {
					org = x.OrganisationID
					orgIDs[org] = org
				}
				r.clientOrg[idKey(x.ID)] = org
			}
			return x, true
		}},
		{KindReferrers, pp.TableReferrers, func(row *pp.Row) (any, bool) { x, _ := pp.DecodeReferrer(row); return x, true }},
		{KindTemplates, pp.TableTemplates, func(row *pp.Row) (any, bool) { x, _ := pp.DecodeTemplate(row); return x, true }},
	}
	for _, s := range simple {
		w := &chunkWriter{r: r, kind: s.kind, perFile: recordsPerChunk}
		err := r.eachAccepted(s.table, func(row *pp.Row) error {
			v, _ := s.encode(row)
			line, err := json.Marshal(v)
			if err != nil {
				return err
			}
			return w.add(line)
		})
		if err == nil {
			err = w.flush()
		}
		if err != nil {
			return nil, fmt.Errorf("stage %s: %w", s.kind, err)
		}
		m.Kinds[s.kind] = w.out
	}
	matters, err := r.stageMatters(chunkMatters)
	if err != nil {
		return nil, err
	}
	m.Kinds[KindMatters] = matters
	if err := r.putJSON(AuditName, r.report()); err != nil {
		return nil, err
	}
	if err := r.putJSON(StageManifestName, m); err != nil {
		return nil, err
	}
	return m, r.removeStale(m)
}

func (r *runner) putJSON(key string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("stage %s: %w", key, err)
	}
	if err := r.opt.Stage.Put(r.ctx, r.opt.StagePrefix+key, bytes.NewReader(append(data, '\n'))); err != nil {
		return fmt.Errorf("stage %s: %w", key, err)
	}
	return nil
}

// removeStale deletes chunks a previous staging left under the prefix
// that this one did not write, so the prefix holds exactly the manifest's.
func (r *runner) removeStale(m *StageManifest) error {
	keep := map[string]bool{StageManifestName: true, AuditName: true}
	for _, k := range m.Kinds {
		for _, c := range k.Chunks {
			keep[c.Key] = true
		}
	}
	infos, err := r.opt.Stage.List(r.ctx, r.opt.StagePrefix)
	if err != nil {
		return fmt.Errorf("stage: list %s: %w", r.opt.StagePrefix, err)
	}
	for _, in := range infos {
		rel := strings.TrimPrefix(in.Key, r.opt.StagePrefix)
		if keep[rel] || !strings.HasSuffix(rel, ".ndjson") {
			continue
		}
		if err := r.opt.Stage.Delete(r.ctx, in.Key); err != nil {
			return fmt.Errorf("stage: remove stale %s: %w", in.Key, err)
		}
	}
	return nil
}

// eachAccepted streams the accepted rows of a table.
func (r *runner) eachAccepted(table string, fn func(*pp.Row) error) error {
	t := r.tables[table]
	if !t.present || t.allQuarantined != "" {
		return nil
	}
	_, err := r.b.Scan(r.ctx, t.file, r.cfg.HeaderAliases(table), func(row *pp.Row) error {
		if row.Problem != "" || row.Blank || !t.accepted(row.Line) {
			return nil
		}
		return fn(row)
	})
	return err
}

// spill holds a matters chunk's parts on disk between reading the tables
// and assembling the chunks: bucket files (one a chunk, up to maxBuckets),
// each holding the parts of a run of chunks, so that assembling needs one
// bucket in memory at a time: a 256th of the export at most.
type spill struct {
	files   []*os.File
	writers []*bufio.Writer
	nChunks int
	scratch []byte
}

// maxBuckets bounds the spill files open at once.
const maxBuckets = 256

func newSpill(dir string, nChunks int) (*spill, error) {
	nb := nChunks
	if nb > maxBuckets {
		nb = maxBuckets
	}
	if nb < 1 {
		nb = 1
	}
	s := &spill{nChunks: nChunks}
	for i := 0; i < nb; i++ {
		f, err := os.CreateTemp(dir, "conveyor-spill-*")
		if err != nil {
			s.close()
			return nil, fmt.Errorf("stage: spill file: %w", err)
		}
		s.files = append(s.files, f)
		s.writers = append(s.writers, bufio.NewWriterSize(f, 16<<10))
	}
	return s, nil
}

func (s *spill) bucket(chunk int) int { return chunk * len(s.files) / max(s.nChunks, 1) }

// add appends one part: kind, chunk, matter id and the record's JSON.
func (s *spill) add(kind byte, chunk int, matterID string, rec []byte) error {
	b := s.scratch[:0]
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(chunk))
	b = binary.AppendUvarint(b, uint64(len(matterID)))
	b = append(b, matterID...)
	b = binary.AppendUvarint(b, uint64(len(rec)))
	s.scratch = b
	w := s.writers[s.bucket(chunk)]
	if _, err := w.Write(b); err != nil {
		return err
	}
	_, err := w.Write(rec)
	return err
}

func (s *spill) close() {
	for _, f := range s.files {
		f.Close()
		os.Remove(f.Name())
	}
}

// spilled is one part read back.
type spilled struct {
	kind     byte
	chunk    int
	matterID string
	rec      []byte
}

// readBucket reads a bucket back whole.
func (s *spill) readBucket(i int) ([]spilled, error) {
	if err := s.writers[i].Flush(); err != nil {
		return nil, err
	}
	f := s.files[i]
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	var out []spilled
	for len(data) > 0 {
		var p spilled
		p.kind = data[0]
		data = data[1:]
		c, n := binary.Uvarint(data)
		data = data[n:]
		l, n := binary.Uvarint(data)
		data = data[n:]
		p.chunk, p.matterID = int(c), string(data[:l])
		data = data[l:]
		l, n = binary.Uvarint(data)
		data = data[n:]
		p.rec = data[:l]
		data = data[l:]
		out = append(out, p)
	}
	return out, nil
}

// stageMatters writes the matters chunks: each matter with its clients,
// referrers, stages, activities and documents on one line.
func (r *runner) stageMatters(chunkMatters int) (KindChunks, error) {
	mt := r.tables[pp.TableMatters]
	// The accepted matters' lines, in order: a matter's chunk is its rank.
	var order []int32
	mt.ids.each(func(_ uint64, e entry) {
		if e.status == Accepted && mt.accepted(int(e.line)) {
			order = append(order, e.line)
		}
	})
	slices.Sort(order)
	chunkOf := func(matterID string) (int, bool) {
		e, ok := mt.lookup(matterID)
		if !ok || e.status != Accepted {
			return 0, false
		}
		i, ok := slices.BinarySearch(order, e.line)
		return i / chunkMatters, ok
	}
	nChunks := (len(order) + chunkMatters - 1) / chunkMatters
	w := &chunkWriter{r: r, kind: KindMatters, perFile: chunkMatters}
	if nChunks == 0 {
		return w.out, nil
	}
	sp, err := newSpill(r.opt.TempDir, nChunks)
	if err != nil {
		return w.out, err
	}
	defer sp.close()

	limit := int64(r.cfg.Policies.AttachmentSizeLimit)
	parts := []struct {
		kind  byte
		table string
		rec   func(*pp.Row) (string, any)
	}{
		{spillMatter, pp.TableMatters, func(row *pp.Row) (string, any) {
			x, _ := pp.DecodeMatter(row)
			if x.Title == "" {
				x.Title = fallbackTitle(x)
			}
			return x.ID, x
		}},
		{spillClient, pp.TableMatterClients, func(row *pp.Row) (string, any) {
			x, _ := pp.DecodeMatterClient(row)
			if s, ok := r.clientRedirect[x.ClientID]; ok {
				x.ClientID = s
			}
			x.OrganisationID = r.clientOrg[idKey(x.ClientID)]
			return x.MatterID, x
		}},
		{spillReferrer, pp.TableMatterReferrers, func(row *pp.Row) (string, any) { x, _ := pp.DecodeMatterReferrer(row); return x.MatterID, x }},
		{spillStage, pp.TableKeyStages, func(row *pp.Row) (string, any) { x, _ := pp.DecodeKeyStage(row); return x.MatterID, x }},
		{spillActivity, pp.TableActivities, func(row *pp.Row) (string, any) {
			x, _ := pp.DecodeActivity(row)
			x.Type = r.activityType(x.SourceType)
			if x.Type == "" {
				x.Type = r.cfg.Policies.FallbackActivityType
			}
			if strings.EqualFold(strings.TrimSpace(x.SourceType), x.Type) {
				x.SourceType = ""
			}
			return x.MatterID, x
		}},
		{spillDocument, pp.TableDocuments, func(row *pp.Row) (string, any) {
			x, _ := pp.DecodeDocument(row)
			if size, ok := r.docSize(row.Line); ok {
				x.SizeBytes = size
			}
			x.OverLimit = limit > 0 && x.SizeBytes > limit
			return x.MatterID, x
		}},
	}
	for _, p := range parts {
		err := r.eachAccepted(p.table, func(row *pp.Row) error {
			matterID, v := p.rec(row)
			chunk, ok := chunkOf(matterID)
			if !ok {
				return fmt.Errorf("%s line %d: matter %q was accepted in pass one but is not staged", row.File, row.Line, matterID)
			}
			data, err := json.Marshal(v)
			if err != nil {
				return err
			}
			return sp.add(p.kind, chunk, matterID, data)
		})
		if err != nil {
			return w.out, fmt.Errorf("stage %s: %w", p.table, err)
		}
	}

	for b := range sp.files {
		partsIn, err := sp.readBucket(b)
		if err != nil {
			return w.out, fmt.Errorf("stage matters: read spill: %w", err)
		}
		if err := r.assemble(w, partsIn); err != nil {
			return w.out, err
		}
	}
	return w.out, w.flush()
}

// assemble writes the matters of one bucket, in their original order.
func (r *runner) assemble(w *chunkWriter, parts []spilled) error {
	type group struct {
		matter []byte
		kids   [spillKinds][][]byte
	}
	groups := map[string]*group{}
	var order []string
	for _, p := range parts {
		g := groups[p.matterID]
		if g == nil {
			g = &group{}
			groups[p.matterID] = g
		}
		if p.kind == spillMatter {
			g.matter = p.rec
			order = append(order, p.matterID)
			continue
		}
		g.kids[p.kind] = append(g.kids[p.kind], p.rec)
	}
	var line bytes.Buffer
	for _, id := range order {
		g := groups[id]
		line.Reset()
		line.WriteString(`{"matter":`)
		line.Write(g.matter)
		for k := spillClient; k < spillKinds; k++ {
			line.WriteString(`,"`)
			line.WriteString(spillField[k])
			line.WriteString(`":[`)
			for i, rec := range g.kids[k] {
				if i > 0 {
					line.WriteByte(',')
				}
				line.Write(rec)
			}
			line.WriteByte(']')
		}
		line.WriteByte('}')
		if err := w.add(line.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// fallbackTitle is the deal title for a matter without a description.
func fallbackTitle(m pp.Matter) string {
	t := strings.TrimSpace(m.Number + " " + m.PropertyAddress)
	if t == "" {
		t = "Matter " + m.ID
	}
	return t
}
