package migrate

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

// migrateAll runs every step of a full migration in dependency order, the
// way the state machine does, and returns the staged manifest.
func migrateAll(t *testing.T, e *testEnv, bundle *pp.Bundle, apply bool) map[string]LoadOutput {
	t.Helper()
	ctx := context.Background()
	if _, err := e.Schema(ctx, SchemaInput{MigrationID: testMigration, Run: "r1", Manifest: e.manifest, Apply: true}); err != nil {
		t.Fatalf("schema: %v", err)
	}
	if _, err := e.ResolveOwners(ctx, OwnersInput{MigrationID: testMigration, Manifest: e.manifest}); err != nil {
		t.Fatalf("owners: %v", err)
	}
	st, err := openStaged(ctx, e.store, e.manifest)
	if err != nil {
		t.Fatal(err)
	}
	totals := map[string]LoadOutput{}
	steps := []struct{ kind, source string }{
		{LoadOrganisations, extract.KindOrganisations},
		{LoadOrganisations, extract.KindReferrers},
		{LoadPersons, extract.KindClients},
		{LoadPersons, extract.KindReferrers},
		{LoadDeals, extract.KindMatters},
		{LoadActivities, extract.KindMatters},
		{LoadDocuments, extract.KindMatters},
	}
	for _, s := range steps {
		for i := range st.manifest.Kinds[s.source].Chunks {
			in := LoadInput{MigrationID: testMigration, Run: "r1", Manifest: e.manifest, Kind: s.kind, Source: s.source, Chunk: i, Apply: apply}
			var out LoadOutput
			var err error
			switch s.kind {
			case LoadOrganisations, LoadPersons:
				out, err = e.LoadPeople(ctx, in)
			case LoadDeals:
				out, err = e.LoadDeals(ctx, in)
			case LoadActivities:
				out, err = e.LoadActivities(ctx, in)
			case LoadDocuments:
				out, err = e.LoadDocuments(ctx, in, bundle)
			}
			if err != nil {
				t.Fatalf("%s %s chunk %d: %v", s.kind, s.source, i, err)
			}
			tot := totals[s.kind]
			tot.Planned += out.Planned
			tot.Created += out.Created
			tot.Skipped += out.Skipped
			tot.Linked += out.Linked
			tot.Failed += out.Failed
			totals[s.kind] = tot
		}
	}
	return totals
}

func openSampleBundle(t *testing.T, matters int) *pp.Bundle {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "export")
	if _, err := sampleexport.Write(dir, sampleexport.Options{Matters: matters, Seed: 1, LargeDocuments: -1}); err != nil {
		t.Fatal(err)
	}
	b, err := pp.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestEndToEndVerify migrates a sample export into the sandbox, reads it
// all back with Verify (clean), then changes one deal in Pipedrive and
// checks that Verify names the field.
func TestEndToEndVerify(t *testing.T) {
	e := newTestEnv(t, envOptions{matters: 12})
	bundle := openSampleBundle(t, 12) // the same seed and size as the staged one
	totals := migrateAll(t, e, bundle, true)
	for kind, tot := range totals {
		if tot.Failed != 0 {
			t.Errorf("%s: %d failed", kind, tot.Failed)
		}
	}
	ctx := context.Background()
	out, err := e.Verify(ctx, VerifyInput{MigrationID: testMigration, Manifest: e.manifest})
	if err != nil {
		var rep VerifyReport
		e.getJSON(t, Prefix(testMigration)+"verify.json", &rep)
		max := min(10, len(rep.Mismatches))
		t.Fatalf("verify after a clean migration: %v\nmissing %v\nmismatches %+v", err, rep.Missing[:min(10, len(rep.Missing))], rep.Mismatches[:max])
	}
	if out.Checked == 0 {
		t.Fatalf("verify checked nothing")
	}
	var clean VerifyReport
	e.getJSON(t, out.Report, &clean)
	for _, kind := range []string{"organization", "person", "deal", "activity", "note", "file"} {
		k := clean.Kinds[kind]
		if k == nil || k.Expected == 0 || k.Written != k.Expected || k.Found != k.Written || k.Matching != k.Found {
			t.Errorf("%s: %+v; want every expected record written, found and matching", kind, k)
		}
	}

	// Someone edits a deal's title in Pipedrive: verify fails and says where.
	var dealID int
	for id := range e.sb.Snapshot().Items["deals"] {
		dealID = id
		break
	}
	if _, err := e.Pipedrive.UpdateDeal(ctx, dealID, pipedrive.DealInput{Title: "Edited by hand"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.Verify(ctx, VerifyInput{MigrationID: testMigration, Manifest: e.manifest})
	var vm *VerifyMismatchError
	if !errors.As(err, &vm) || vm.Mismatches != 1 {
		t.Fatalf("verify after an edit: %v; want one mismatch", err)
	}
	var rep VerifyReport
	e.getJSON(t, vm.Report, &rep)
	if len(rep.Mismatches) != 1 || rep.Mismatches[0].Field != "title" || rep.Mismatches[0].Got != "Edited by hand" {
		t.Errorf("mismatches = %+v; want the title", rep.Mismatches)
	}
}
