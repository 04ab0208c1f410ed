package migrate

import (
	"context"
	"fmt"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

// checkFiles checks that every staged document is on its deal once: as it
// is, or as name.zip, or as its ordered parts; and that the sample had one
// document zipped and one split.
func (d *dealsEnv) checkFiles(t *testing.T, deals map[string]int) {
	t.Helper()
	files := map[int]map[string]int{}
	for _, f := range dealsLive(d.sb.Snapshot(), "files") {
		deal := attrInt(f, "deal_id")
		if files[deal] == nil {
			files[deal] = map[string]int{}
		}
		files[deal][fmt.Sprint(f.Attrs["file_name"])]++
	}
	total, zipped, split := 0, 0, 0
	for _, rec := range d.stagedMatters(t) {
		deal := deals[rec.Matter.ID]
		for _, doc := range rec.Documents {
			base := path.Base(doc.FileName)
			switch {
			case doc.SizeBytes <= dealsLimit:
				total++
				if files[deal][base] < 1 {
					t.Errorf("document %s is not on deal %d", doc.ID, deal)
				}
			case files[deal][base+".zip"] > 0:
				total++
				zipped++
			default:
				n := int((doc.SizeBytes + dealsLimit - 1) / dealsLimit)
				for p := 1; p <= n; p++ {
					total++
					if files[deal][fmt.Sprintf("%s.part%dof%d", base, p, n)] != 1 {
						t.Errorf("document %s: part %d of %d is not on deal %d once: %v", doc.ID, p, n, deal, files[deal])
					}
				}
				split++
			}
		}
	}
	if zipped == 0 || split == 0 {
		t.Errorf("%d documents zipped and %d split; the sample should have one of each", zipped, split)
	}
	if got := len(dealsLive(d.sb.Snapshot(), "files")); got != total {
		t.Errorf("%d files in Pipedrive; want %d", got, total)
	}
}

func TestLoadDocuments(t *testing.T) {
	d := newDealsEnv(t)
	d.mustLoad(t, dealsStepDeals, true, "r1")

	// Plan mode, with and without the bundle: nothing written, large
	// documents flagged.
	before := writes(d.sb.Meter())
	plan := d.mustLoad(t, dealsStepDocuments, false, "plan")
	ctx := context.Background()
	for c := 0; c < d.chunks; c++ {
		in := LoadInput{MigrationID: testMigration, Manifest: d.manifest, Source: "matters", Chunk: c}
		if _, err := d.LoadDocuments(ctx, in, nil); err != nil {
			t.Fatalf("plan without the bundle: %v", err)
		}
	}
	if !reflect.DeepEqual(writes(d.sb.Meter()), before) {
		t.Errorf("plan mode wrote: %v", writes(d.sb.Meter()))
	}
	if plan.Flags != 2 || plan.Created != 0 || plan.Failed != 0 {
		t.Errorf("plan %+v; want 2 flagged", plan)
	}
	flagged := 0
	d.run = "" // the calls above name no run
	for _, op := range d.plan(t, LoadDocuments) {
		if strings.HasPrefix(op.Flag, "over the attachment size limit") {
			flagged++
		}
	}
	if flagged != 2 {
		t.Errorf("plan without the bundle flags %d documents; want 2", flagged)
	}

	out := d.mustLoad(t, dealsStepDocuments, true, "r1")
	if out.Failed != 0 || out.Flags != 2 {
		t.Errorf("apply: %+v", out)
	}
	var flags []string
	for _, op := range d.plan(t, LoadDocuments) {
		if op.Flag != "" {
			flags = append(flags, op.Flag)
		}
	}
	all := strings.Join(flags, "; ")
	if len(flags) != 2 || !strings.Contains(all, "compressed to zip") || !strings.Contains(all, fmt.Sprintf("split into %d parts", dealsLargeBytes/dealsLimit)) {
		t.Errorf("flags %q; want one compressed to zip and one split into %d parts", flags, dealsLargeBytes/dealsLimit)
	}
	d.checkFiles(t, d.checkDeals(t))
	d.checkLedgerWritten(t)

	// A second run writes nothing.
	before = writes(d.sb.Meter())
	again := d.mustLoad(t, dealsStepDocuments, true, "r2")
	if !reflect.DeepEqual(writes(d.sb.Meter()), before) || again.Created != 0 || again.Skipped != out.Created {
		t.Errorf("second run: %+v (first %+v)", again, out)
	}
	d.checkNoPersonalData(t)
}

// TestLoadDocumentsCrash drops the answer to an upload, among them a part
// of the split document; the next run uploads nothing twice.
func TestLoadDocumentsCrash(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int // -1: the second part of the split document
	}{{"after 3", 3}, {"on a split part", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			d := newDealsEnv(t)
			d.mustLoad(t, dealsStepDeals, true, "r1")
			n := tc.n
			if n < 0 {
				n = d.secondPart(t)
			}
			if err := d.sb.SetFaults(sandbox.Faults{FailAfterWrites: n}); err != nil {
				t.Fatal(err)
			}
			_, err := d.load(ctx, dealsStepDocuments, true, "r2")
			if _, ok := err.(*pipedrive.OutcomeUnknownError); !ok {
				t.Fatalf("err = %T %v; want *pipedrive.OutcomeUnknownError", err, err)
			}
			pending := 0
			for _, en := range d.entries(t) {
				if en.Status == ledger.StatusPending {
					pending++
					if tc.n < 0 && !strings.HasSuffix(en.Key, "/part/2") {
						t.Errorf("pending %s; want a second part", en.Key)
					}
				}
			}
			if pending != 1 {
				t.Errorf("%d pending entries; want 1", pending)
			}
			if _, err := d.load(ctx, dealsStepDocuments, true, "r3"); err != nil {
				t.Fatalf("resume: %v", err)
			}
			d.checkFiles(t, d.checkDeals(t))
			d.checkLedgerWritten(t)
		})
	}
}

// secondPart is how many uploads the documents step makes before the
// second part of the split document.
func (d *dealsEnv) secondPart(t *testing.T) int {
	t.Helper()
	i := 0
	for _, rec := range d.stagedMatters(t) {
		for _, doc := range rec.Documents {
			if doc.SizeBytes > dealsLimit && strings.Contains(doc.FileName, "scanned") {
				return i + 1
			}
			i++ // the file, or its zip
		}
	}
	t.Fatal("the sample has no incompressible large document")
	return 0
}
