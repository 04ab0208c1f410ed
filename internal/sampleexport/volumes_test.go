package sampleexport_test

import (
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

// TestFixedVolumes: with the per-matter volumes set, every matter has
// exactly that many activities, notes and documents (the reference
// migration's 20, 10 and 5), deterministically; unset, the usual volumes.
func TestFixedVolumes(t *testing.T) {
	opt := sampleexport.Options{Matters: 40, Seed: 2, LargeDocuments: -1, ActivitiesPerMatter: 20, NotesPerMatter: 10, DocumentsPerMatter: 5}
	dir, sum := mustWrite(t, opt)
	if got, want := sum.Rows["activities"], 40*30; got != want {
		t.Errorf("%d activity rows; want %d", got, want)
	}
	if got, want := sum.Rows["documents"], 40*5; got != want || sum.Documents != want {
		t.Errorf("%d document rows, %d files; want %d", got, sum.Documents, want)
	}
	h, recs := readCSV(t, dir, "activities.csv")
	notes, others := map[string]int{}, map[string]int{}
	matters, types := column(t, h, recs, "matter_id"), column(t, h, recs, "type")
	for i, m := range matters {
		if types[i] == "note" {
			notes[m]++
		} else {
			others[m]++
		}
	}
	for m, n := range others {
		if n != 20 || notes[m] != 10 {
			t.Errorf("matter %s: %d activities and %d notes; want 20 and 10", m, n, notes[m])
		}
	}
	if len(others) != 40 {
		t.Errorf("%d matters with activities; want 40", len(others))
	}
	h, recs = readCSV(t, dir, "documents.csv")
	perMatter := map[string]int{}
	for _, m := range column(t, h, recs, "matter_id") {
		perMatter[m]++
	}
	for m, n := range perMatter {
		if n != 5 {
			t.Errorf("matter %s: %d documents; want 5", m, n)
		}
	}
	again, _ := mustWrite(t, opt)
	a, b := fileHashes(t, dir), fileHashes(t, again)
	for name, h := range a {
		if b[name] != h {
			t.Errorf("%s differs between two writes with the same options", name)
		}
	}

	// Messy mode plants its problems on fixed volumes too.
	if _, err := sampleexport.Write(t.TempDir(), sampleexport.Options{Matters: 60, Seed: 3, Messy: true, LargeDocuments: -1,
		NotesPerMatter: 1, DocumentsPerMatter: sampleexport.MaxDocumentsPerMatter}); err != nil {
		t.Fatalf("messy, fixed volumes: %v", err)
	}
	for _, bad := range []sampleexport.Options{{ActivitiesPerMatter: -1}, {NotesPerMatter: -1}, {DocumentsPerMatter: -1},
		{DocumentsPerMatter: sampleexport.MaxDocumentsPerMatter + 1}} {
		if _, err := sampleexport.Write(t.TempDir(), bad); err == nil {
			t.Errorf("Write(%+v) = nil error", bad)
		}
	}
}
