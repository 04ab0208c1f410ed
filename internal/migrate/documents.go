package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/attach"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
)

// documentsPayload is what one file write sends, and what its ledger
// entry's hash covers: everything known before the document is read, so
// that a finished document is recognised without reading it again.
type documentsPayload struct {
	DealID int64  `json:"deal_id"`
	Name   string `json:"name"`
	Part   int    `json:"part"`
	Parts  int    `json:"parts"`
	// How is attach's as_is, compressed or split.
	How string `json:"how"`
	// SourceSize and SHA256 are the document's, as exported.
	SourceSize int64  `json:"source_size"`
	SHA256     string `json:"sha256,omitempty"`
}

// documentsLoader is the state of one LoadDocuments call.
type documentsLoader struct {
	env    *Env
	in     LoadInput
	bundle *pp.Bundle
	limit  int64
	pw     *planWriter
	// files are the account's files by deal, listed once, only to
	// reconcile a pending entry.
	files map[int][]pipedrive.File
}

// LoadDocuments plans and, with Apply, uploads the documents of one
// matters chunk to their matters' deals, reading each from the export
// bundle (its Path is relative to the bundle root). A document within the
// configured attachment size limit goes as it is; one over it is
// compressed to a zip, or, still too big, split into ordered parts
// ("name.part1of3"…), each a file on the deal under its own ledger key
// (DocumentKey(id, part)); both are flagged in the plan. A document whose
// matter has no written deal is skipped ("deal not migrated"); one the
// bundle does not hold is counted Failed and flagged.
//
// bundle may be nil for a plan-only call: the plan then tells from the
// staged size whether a document will be compressed or split, without
// reading it. With Apply, a nil bundle is an error.
//
// Errors are as LoadDeals returns them; failures reading the bundle other
// than a missing file stop the step, wrapped.
func (e *Env) LoadDocuments(ctx context.Context, in LoadInput, bundle *pp.Bundle) (LoadOutput, error) {
	c, err := e.dealsOpenChunk(ctx, &in, LoadDocuments)
	if err != nil {
		return LoadOutput{}, err
	}
	if in.Apply && bundle == nil {
		return LoadOutput{}, errors.New("migrate: LoadDocuments with Apply needs the export bundle")
	}
	limit := int64(e.config().Policies.AttachmentSizeLimit)
	if limit <= 0 {
		return LoadOutput{}, &InputError{Msg: "policies.attachment_size_limit must be positive"}
	}
	l := &documentsLoader{env: e, in: in, bundle: bundle, limit: limit, pw: newPlanWriter(in)}
	if err := c.each(ctx, e, func(r *extract.MatterRecord) error { return l.matter(ctx, r) }); err != nil {
		return *l.pw.out, err
	}
	out, err := l.pw.save(ctx, e)
	if err != nil {
		return out, err
	}
	e.log().InfoContext(ctx, "documents loaded", "migration", in.MigrationID, "chunk", in.Chunk, "apply", in.Apply,
		"planned", out.Planned, "created", out.Created, "skipped", out.Skipped, "failed", out.Failed, "flagged", out.Flags)
	return out, nil
}

// maxParts is how many files a document may become: parts of the limit
// when split, one otherwise.
func (l *documentsLoader) maxParts(size int64) int {
	if size <= l.limit {
		return 1
	}
	return int((size + l.limit - 1) / l.limit)
}

// matter plans and uploads one matter's documents.
func (l *documentsLoader) matter(ctx context.Context, rec *extract.MatterRecord) error {
	if len(rec.Documents) == 0 {
		return nil
	}
	dealID, err := activitiesDeal(ctx, l.env, l.in.MigrationID, rec.Matter.ID)
	if err != nil {
		return err
	}
	var keys []string
	for _, d := range rec.Documents {
		for p := 1; p <= l.maxParts(d.SizeBytes); p++ {
			keys = append(keys, DocumentKey(d.ID, p))
		}
	}
	claim := &activitiesClaims{env: l.env, migration: l.in.MigrationID, keys: keys}
	for i := range rec.Documents {
		if err := l.document(ctx, rec.Documents[i], int64(dealID), claim); err != nil {
			return err
		}
	}
	return nil
}

// payload is what piece part of parts of document d sends.
func (l *documentsLoader) payload(d pp.Document, dealID int64, how, name string, part, parts int) documentsPayload {
	return documentsPayload{DealID: dealID, Name: name, Part: part, Parts: parts, How: how, SourceSize: d.SizeBytes, SHA256: d.SHA256}
}

// documentsVersion fingerprints the version of a document the export
// holds: its size and checksum (a file's entry keeps it as SourceHash).
func documentsVersion(d pp.Document) string {
	return PayloadHash(struct {
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	}{d.SizeBytes, d.SHA256})
}

// DocumentRevisionKey is the key of part n of a newer version of a
// document, which a delta run uploads beside the earlier one (rev is
// documentsRev's).
func DocumentRevisionKey(id, rev string, part int) string {
	return "document/" + id + "/rev/" + rev + "/part/" + strconv.Itoa(part)
}

// documentsRev names a document's version in its revision keys.
func documentsRev(d pp.Document) string { return documentsVersion(d)[:12] }

// key is the ledger key of part of document d: DocumentKey, or with rev
// DocumentRevisionKey.
func documentsKey(d pp.Document, rev string, part int) string {
	if rev == "" {
		return DocumentKey(d.ID, part)
	}
	return DocumentRevisionKey(d.ID, rev, part)
}

// sameVersion reports whether a written first file of d is of the version
// the export holds now. An entry from before versions were kept is taken
// to be.
func sameVersion(first ledger.Entry, d pp.Document) bool {
	return first.SourceHash == "" || first.SourceHash == first.PayloadHash || first.SourceHash == documentsVersion(d)
}

// written reports whether every file of document d (of version rev, ""
// for the first) is written, from the ledger alone: one entry for a
// document within the limit or compressed (its hash says which), else one
// for every part.
func (l *documentsLoader) written(ctx context.Context, d pp.Document, rev string) (bool, []ledger.Entry, error) {
	first, has, err := dealsEntry(ctx, l.env.Ledger, l.in.MigrationID, documentsKey(d, rev, 1))
	if err != nil || !has || first.Status != ledger.StatusWritten {
		return false, nil, err
	}
	base := path.Base(d.FileName)
	if d.SizeBytes <= l.limit {
		return true, []ledger.Entry{first}, nil
	}
	if first.PayloadHash == PayloadHash(l.payload(d, int64(first.ParentID), attach.Compressed, base+".zip", 1, 1)) {
		return true, []ledger.Entry{first}, nil
	}
	out := []ledger.Entry{first}
	for p := 2; p <= l.maxParts(d.SizeBytes); p++ {
		en, has, err := dealsEntry(ctx, l.env.Ledger, l.in.MigrationID, documentsKey(d, rev, p))
		if err != nil || !has || en.Status != ledger.StatusWritten {
			return false, nil, err
		}
		out = append(out, en)
	}
	return true, out, nil
}

// documentsFlag says why a prepared document needs a look.
func documentsFlag(p *attach.Prepared, size int64) string {
	switch p.How {
	case attach.Compressed:
		return fmt.Sprintf("compressed to zip (%d bytes to %d)", size, p.Pieces[0].Size)
	case attach.Split:
		return fmt.Sprintf("split into %d parts", len(p.Pieces))
	}
	return ""
}

// document plans and uploads one document.
func (l *documentsLoader) document(ctx context.Context, d pp.Document, dealID int64, claim *activitiesClaims) error {
	base := path.Base(d.FileName)
	op := PlannedOp{Key: DocumentKey(d.ID, 1), TargetKind: "file"}
	done, entries, err := l.written(ctx, d, "")
	if err != nil {
		return err
	}
	rev, revFlag := "", ""
	if done && l.in.Delta && !sameVersion(entries[0], d) {
		// A newer version: Pipedrive cannot replace a file's content, so
		// it goes beside the earlier one, which is kept.
		rev, revFlag = documentsRev(d), "a newer version of the document: uploaded beside the earlier one, which is kept"
		op.Key = documentsKey(d, rev, 1)
		if done, entries, err = l.written(ctx, d, rev); err != nil {
			return err
		}
	}
	if done {
		for _, en := range entries {
			op.Key, op.Op, op.Reason, op.TargetID = en.Key, PlanSkip, dealsReasonWritten, en.TargetID
			if err := l.pw.add(op); err != nil {
				return err
			}
			l.pw.out.Skipped++
		}
		return nil
	}
	if dealID == 0 && l.in.Apply {
		op.Op, op.Reason = PlanSkip, dealsReasonDealMissing
		if err := l.pw.add(op); err != nil {
			return err
		}
		l.pw.out.Skipped++
		return nil
	}
	if l.bundle == nil {
		return l.predict(d, dealID, rev, revFlag)
	}

	var modTime time.Time
	if d.UploadedAt != nil {
		modTime = *d.UploadedAt
	}
	open := func() (io.ReadCloser, error) { return l.bundle.OpenFile(ctx, d.Path) }
	prep, err := attach.Prepare(ctx, d.FileName, d.SizeBytes, modTime, open, l.limit, "")
	if errors.Is(err, fs.ErrNotExist) {
		op.Payload = l.payload(d, dealID, attach.AsIs, base, 1, 1)
		return dealsFailed(l.pw, op, errors.New("the document is not in the export bundle"))
	}
	if err != nil {
		return fmt.Errorf("load documents: prepare %s: %w", d.ID, err)
	}
	defer prep.Close()
	flag := revFlag
	if f := documentsFlag(prep, d.SizeBytes); f != "" {
		flag = peopleJoinFlag(flag, f)
	}
	for i, piece := range prep.Pieces {
		op := PlannedOp{Key: documentsKey(d, rev, piece.Part), Op: PlanCreate, TargetKind: "file",
			Payload: l.payload(d, dealID, prep.How, piece.Name, piece.Part, piece.Parts)}
		if i == 0 {
			op.Flag = flag
		}
		if dealID == 0 {
			op.Reason = dealsReasonDealLater
		}
		if err := l.piece(ctx, d, dealID, piece, op, claim); err != nil {
			return err
		}
	}
	return nil
}

// predict plans a document without reading it: within the limit as it
// is; over it, compressed or split, which only reading it can tell.
func (l *documentsLoader) predict(d pp.Document, dealID int64, rev, revFlag string) error {
	base := path.Base(d.FileName)
	op := PlannedOp{Key: documentsKey(d, rev, 1), Op: PlanCreate, TargetKind: "file",
		Payload: l.payload(d, dealID, attach.AsIs, base, 1, 1), Flag: revFlag}
	if dealID == 0 {
		op.Reason = dealsReasonDealLater
	}
	if d.SizeBytes > l.limit {
		op.Flag = peopleJoinFlag(revFlag, fmt.Sprintf("over the attachment size limit (%d bytes): compressed to zip, or split into %d parts if it does not compress enough",
			d.SizeBytes, l.maxParts(d.SizeBytes)))
		op.Payload = l.payload(d, dealID, attach.Compressed, base+".zip", 1, 1)
	}
	return l.pw.add(op)
}

// piece plans and uploads one file of a document.
func (l *documentsLoader) piece(ctx context.Context, d pp.Document, dealID int64, piece attach.Piece, op PlannedOp, claim *activitiesClaims) error {
	en, has, err := dealsEntry(ctx, l.env.Ledger, l.in.MigrationID, op.Key)
	if err != nil {
		return err
	}
	switch {
	case has && en.Status == ledger.StatusWritten:
		op.Op, op.Reason, op.TargetID = PlanSkip, dealsReasonWritten, en.TargetID
		if err := l.pw.add(op); err != nil {
			return err
		}
		l.pw.out.Skipped++
		return nil
	case has && en.Status == ledger.StatusPending:
		op.Reason = dealsReasonPending
	}
	if !l.in.Apply {
		return l.pw.add(op)
	}
	// Open before the ledger hears of it: a file the bundle lacks is the
	// record's failure, not a write left pending.
	body, err := piece.Open()
	if errors.Is(err, fs.ErrNotExist) {
		return dealsFailed(l.pw, op, errors.New("the document is not in the export bundle"))
	}
	if err != nil {
		return fmt.Errorf("load documents: open %s part %d: %w", d.ID, piece.Part, err)
	}
	defer func() { body.Close() }()
	sent := false
	w := Write{Migration: l.in.MigrationID, Run: l.in.Run, Key: op.Key, SourceKind: "document", SourceID: d.ID,
		TargetKind: "file", Op: ledger.OpCreate, ParentID: dealID, Payload: op.Payload, SourceHash: documentsVersion(d),
		Call: func(ctx context.Context) (int64, string, error) {
			if sent { // sent before, its answer lost: read the piece again
				again, err := piece.Open()
				if err != nil {
					return 0, "", fmt.Errorf("load documents: open %s part %d: %w", d.ID, piece.Part, err)
				}
				body.Close()
				body = again
			}
			sent = true
			f, err := l.env.Pipedrive.UploadFile(ctx, pipedrive.FileInput{Name: piece.Name, Body: body, Size: piece.Size, DealID: int(dealID)})
			if err != nil {
				if lost(err) {
					l.files = nil // Find lists the files again
				}
				return 0, "", fromPipedrive("upload file", err)
			}
			return int64(f.ID), dealsStamp(f.UpdateTime), nil
		},
		Find: func(ctx context.Context) (int64, string, bool, error) {
			return l.find(ctx, int(dealID), piece, claim)
		}}
	id, outcome, err := l.env.Once(ctx, w)
	if err != nil {
		if dealsRecordError(err) {
			return l.env.dealsRejected(ctx, l.pw, l.in.MigrationID, op, err)
		}
		return err
	}
	claim.add(id)
	op.TargetID = id
	if err := l.pw.add(op); err != nil {
		return err
	}
	l.pw.done(op.Op, outcome)
	return nil
}

// find looks on the deal for the file an interrupted upload made: the same
// name and size, not already another record's. Pipedrive lists files by
// company only, so the list is read once per call.
func (l *documentsLoader) find(ctx context.Context, dealID int, piece attach.Piece, claim *activitiesClaims) (int64, string, bool, error) {
	if l.files == nil {
		files := map[int][]pipedrive.File{}
		err := l.env.Pipedrive.ListFiles(ctx, pipedrive.ListOptions{}, func(f pipedrive.File) error {
			if f.ActiveFlag && f.DealID != 0 {
				files[f.DealID] = append(files[f.DealID], f)
			}
			return nil
		})
		if err != nil {
			return 0, "", false, fromPipedrive("list files", err)
		}
		l.files = files
	}
	claimed, err := claim.get(ctx)
	if err != nil {
		return 0, "", false, err
	}
	for _, f := range l.files[dealID] {
		name := f.FileName
		if name == "" {
			name = f.Name
		}
		if name == piece.Name && (piece.Size <= 0 || f.FileSize == piece.Size) && !claimed[int64(f.ID)] {
			return int64(f.ID), dealsStamp(f.UpdateTime), true, nil
		}
	}
	return 0, "", false, nil
}
