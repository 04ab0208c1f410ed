package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/memledger"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/report"
	"github.com/conveyor-migrate/conveyor/internal/transform"
)

// What a hostile export might hold, in a matter's description, a
// template's body, a flag and a Key Stage name.
const (
	hostile1 = `<script>alert(1)</script>`
	hostile2 = `</script><script>alert(2)</script>`
)

const (
	fixtureMigration = "acme-2026"
	fullRun          = "r20260401T090000Z-aaaaaa"
	deltaRun         = "r20260402T090000Z-bbbbbb"
	dealKey          = "0123456789abcdef0123456789abcdef01234567"
)

// fixture is a migration as the steps leave it after a full run and a
// delta run: the staged export, the step results, the runs' plans and
// reports, and the ledger's writes. Its values are small and hand-made,
// and some are hostile.
type fixture struct {
	store *memblob.Store
	led   *memledger.Store
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{store: memblob.New(), led: memledger.New()}
	ctx := context.Background()
	p := migrate.Prefix(fixtureMigration)
	created := time.Date(2025, 9, 1, 10, 0, 0, 0, time.UTC)
	old := time.Date(2024, 1, 5, 10, 0, 0, 0, time.UTC)
	fee := pp.Money(125000)
	matters := []extract.MatterRecord{
		{Matter: pp.Matter{ID: "M1", Number: "CONV/1", Description: hostile1 + " purchase of 1 High St", Title: hostile1 + " purchase of 1 High St",
			Type: "purchase", FeeEarnerID: "FE1", Status: "open", KeyStage: "Instructed", LegalFee: &fee, Currency: "GBP", CreatedAt: &created,
			Custom: map[string]string{"Tenure": "Freehold"}},
			Clients: []pp.MatterClient{{MatterID: "M1", ClientID: "C1", IsLead: true}, {MatterID: "M1", ClientID: "C2"}},
			Stages:  []pp.KeyStage{{MatterID: "M1", Stage: "Instructed", EnteredAt: created}}},
		{Matter: pp.Matter{ID: "M2", Number: "CONV/2", Description: hostile2, Title: hostile2, Type: "sale", FeeEarnerID: "FE9", Status: "completed",
			KeyStage: "Completion", Currency: "GBP", CreatedAt: &old}},
	}
	templates := []pp.Template{
		{ID: "T1", Name: "Instructed – client email", Channel: "email", TriggerStage: "Instructed", Audience: "client",
			Subject: "Your {{matter_type}}: instructed", Body: "Dear {{client_first_name}},\n" + hostile1 + "\n" + hostile2, Active: true},
		{ID: "T2", Name: "Exchange – referrer text", Channel: "sms", TriggerStage: "Exchange", Audience: "referrer", Body: "Exchanged!", Active: false},
		{ID: "T3", Name: "Odd one", Channel: "letter", TriggerStage: "Nowhere", Audience: "client", Body: "?", Active: true},
	}
	put := func(key string, v any) {
		t.Helper()
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.Put(ctx, p+key, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	ndjson := func(key string, vs ...any) extract.Chunk {
		t.Helper()
		var b bytes.Buffer
		for _, v := range vs {
			line, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(append(line, '\n'))
		}
		if err := f.store.Put(ctx, p+key, bytes.NewReader(b.Bytes())); err != nil {
			t.Fatal(err)
		}
		return extract.Chunk{Key: strings.TrimPrefix(key, "staged/"), Records: len(vs), Bytes: int64(b.Len())}
	}
	var mr, tr []any
	for _, m := range matters {
		mr = append(mr, m)
	}
	for _, x := range templates {
		tr = append(tr, x)
	}
	manifest := extract.StageManifest{Version: 1, ExportID: "acme-export-2", ChunkMatters: 100, Audit: extract.AuditName, Kinds: map[string]extract.KindChunks{
		extract.KindMatters:    {Records: 2, Chunks: []extract.Chunk{ndjson("staged/matters/00001.ndjson", mr...)}},
		extract.KindTemplates:  {Records: 3, Chunks: []extract.Chunk{ndjson("staged/templates/00001.ndjson", tr...)}},
		extract.KindFeeEarners: {Records: 1, Chunks: []extract.Chunk{ndjson("staged/fee_earners/00001.ndjson", pp.FeeEarner{ID: "FE1", Name: "Jo Bloggs", Active: true})}},
		extract.KindClients: {Records: 2, Chunks: []extract.Chunk{ndjson("staged/clients/00001.ndjson",
			pp.Client{ID: "C1", Title: "Ms", FirstName: "Ada", LastName: hostile2, Email: "ada@example.com", Address: pp.Address{Line1: "1 High St", Town: "Leeds", Postcode: "LS1 1AA"}},
			pp.Client{ID: "C2", FirstName: "Bo", LastName: "Kay"})}},
	}}
	put("staged/manifest.json", manifest)
	put("staged/audit.json", extract.Report{
		Export: extract.ExportInfo{Location: "s3://bucket/exports/acme/2/", ExportID: "acme-export-2", ExportedAt: "2026-03-31T17:00:00Z", Firm: "Acme & Co <Conveyancing>"},
		Tables: map[string]extract.TableCounts{
			pp.TableMatters:   {File: "matters.csv", Read: 4, Accepted: 2, Merged: 1, Quarantined: 1},
			pp.TableClients:   {File: "clients.csv", Read: 3, Accepted: 2, Skipped: 1},
			pp.TableTemplates: {File: "templates.csv", Read: 3, Accepted: 3},
			pp.TableDocuments: {},
		},
		Flags: []pp.Flag{
			{Severity: pp.SeverityWarning, Code: "unknown_matter_type", Table: pp.TableMatters, File: "matters.csv", Line: 3, SourceID: hostile1, Message: "matter type " + hostile2 + " is not configured"},
			{Severity: pp.SeverityInfo, Code: "merged_duplicate", Table: pp.TableMatters, File: "matters.csv", Line: 5, SourceID: "M1", Message: "merged into M1"},
			{Severity: pp.SeverityError, Code: "quarantined", Table: pp.TableMatters, File: "matters.csv", Line: 4, SourceID: "M3", Message: "no matter_id"},
			{Severity: pp.SeverityWarning, Code: "missing_email", Table: pp.TableClients, File: "clients.csv", Line: 3, SourceID: "C2", Message: "no email"},
		},
		Volumes: extract.Volumes{MattersByType: map[string]int{"Purchase": 1, "Sale": 1}, MattersByStage: map[string]int{"Instructed": 1, hostile1: 1},
			MattersByStatus: map[string]int{"open": 1, "completed": 1}, ActivitiesByType: map[string]int{}, Persons: 2},
		Risks:   []extract.Risk{{Code: "quarantined_rows", Level: "high", Count: 1, Detail: "rows that will not be migrated until fixed"}},
		Budget:  extract.Budget{Plan: "premium", Seats: 2, DailyTokens: 300000, Tokens: 120, HistoryTokens: 20, Days: 0.01, DaysWithoutHistory: 0.01},
		Trusted: true,
	})
	put(migrate.SchemaPlanName, migrate.SchemaPlan{MigrationID: fixtureMigration, Applied: true, CustomFields: migrate.FieldBudget{Plan: "premium", Cap: 300, Existing: 4, Needed: 2},
		Items: []*migrate.PlanItem{
			{Kind: migrate.KindDealField, Name: "Matter number", Type: "varchar", Names: []string{"matter_number"}, Action: migrate.ActionCreated},
			{Kind: migrate.KindDealField, Name: "Matter type", Type: "enum", Options: []string{"Purchase", "Sale"}, Names: []string{"matter_type"}, Action: migrate.ActionExists, MissingOptions: []string{"Sale"}},
			{Kind: migrate.KindPersonField, Name: "Perfect Portal ID", Type: "varchar", Names: []string{"source_id"}, Action: migrate.ActionCreate},
			{Kind: migrate.KindPipeline, Name: "Conveyancing", Action: migrate.ActionExists},
			{Kind: migrate.KindStage, Name: "Instructed", Pipeline: "Conveyancing", Action: migrate.ActionExists},
			{Kind: migrate.KindStage, Name: "Completion", Pipeline: "Conveyancing", Action: migrate.ActionCreated},
			{Kind: migrate.KindActivityType, Name: "SMS", Icon: "bubble", Names: []string{"sms"}, Action: migrate.ActionCreated},
		}})
	put(migrate.SchemaName, migrate.SchemaMap{Version: 1, MigrationID: fixtureMigration, Fields: map[string]map[string]migrate.FieldRef{
		"deal":   {"matter_number": {Label: "Matter number", Key: dealKey, Type: "varchar"}, "custom:Tenure": {Label: "Tenure", Key: "fedcba9876543210fedcba9876543210fedcba98", Type: "varchar"}},
		"person": {"source_id": {Label: "Perfect Portal ID", Key: "1111111111111111111111111111111111111111", Type: "varchar"}},
	}, Pipelines: map[string]migrate.PipelineRef{"Conveyancing": {ID: 1, Stages: map[string]int{"Instructed": 1, "Completion": 2}}}})
	put(migrate.StageMapName, migrate.StageMap{MigrationID: fixtureMigration, Pipelines: []migrate.PipelineStages{{Pipeline: "Conveyancing", Stages: []migrate.StageMapping{
		{Source: "Instructed", Stage: "Instructed", StageID: 1, Matters: 1}, {Source: "Completion", Stage: "Completion", StageID: 2, Matters: 1}}}},
		Unmapped: []migrate.UnmappedStage{}})
	put(migrate.OwnersName, migrate.OwnerMap{MigrationID: fixtureMigration, Default: migrate.DefaultOwner{UserID: 7, Source: "token_user"},
		FeeEarners: map[string]migrate.Owner{"FE1": {UserID: 3, Resolution: migrate.ResolvedByEmail}, "FE9": {UserID: 7, Resolution: migrate.ResolvedByDefault}},
		Flagged:    []migrate.FlaggedOwner{{FeeEarnerID: "FE9", Reason: migrate.FlagNotInExport}}})
	if err := f.store.Put(ctx, p+"costs.yaml", strings.NewReader("costs:\n  perfect_portal_per_matter: 35\n  perfect_portal_monthly: 50\n")); err != nil {
		t.Fatal(err)
	}

	// The full run, then the delta run.
	run := func(id, mode string, ops map[string][]migrate.PlannedOp, finish *migrate.FinishOutput, verify *migrate.VerifyOutput) {
		t.Helper()
		start, _ := time.Parse("20060102T150405Z", id[1:17])
		sum := map[string]any{"migration_id": fixtureMigration, "run": id, "mode": mode, "kinds": map[string]*migrate.LoadOutput{},
			"reports": []string{}, "requests": 12, "tokens": 80, "finish": finish, "verify": verify,
			"timeline": []map[string]any{
				{"kind": "persons", "source": "clients", "chunk": 0, "started": start.Add(time.Second), "finished": start.Add(3 * time.Second), "requests": 4, "tokens": 30},
				{"kind": "deals", "source": "matters", "chunk": 0, "started": start.Add(3 * time.Second), "finished": start.Add(9 * time.Second), "requests": 8, "tokens": 50},
			}}
		kinds := sum["kinds"].(map[string]*migrate.LoadOutput)
		for kind, list := range ops {
			lines := make([]any, len(list))
			o := &migrate.LoadOutput{Kind: kind}
			for i, op := range list {
				lines[i] = op
				o.Planned++
				switch op.Op {
				case migrate.PlanCreate:
					o.Created++
				case migrate.PlanUpdate:
					o.Updated++
				case migrate.PlanSkip:
					o.Skipped++
				}
			}
			kinds[kind] = o
			ndjson(strings.TrimPrefix(migrate.PlanKey(fixtureMigration, id, kind, "matters", 0), p), lines...)
		}
		put("runs/"+id+"/summary.json", sum)
	}
	title := func(v string) transform.Change {
		return transform.Change{Kind: "deal", SourceID: "M1", Source: "matters.description", Field: "title", Value: v}
	}
	run(fullRun, "full", map[string][]migrate.PlannedOp{
		migrate.LoadDeals: {{Key: "matter/M1", Op: migrate.PlanCreate, TargetKind: "deal", TargetID: 11, Changes: []transform.Change{title(hostile1 + " purchase")}}},
	}, &migrate.FinishOutput{MigrationID: fixtureMigration, Run: fullRun, Watermark: "2026-03-30T12:00:00Z"}, nil)
	run(deltaRun, "delta", map[string][]migrate.PlannedOp{
		migrate.LoadDeals: {
			{Key: "matter/M1", Op: migrate.PlanUpdate, TargetKind: "deal", TargetID: 11, Reason: "changed in the newer export",
				Changes: []transform.Change{title(hostile1 + " purchase of 1 High St"),
					{Kind: "deal", SourceID: "M1", Source: "matters.legal_fee", Field: "value", Value: 1250.0},
					{Kind: "deal", SourceID: "M1", Source: "matters.matter_number", Field: "Matter number", Key: dealKey, Value: "CONV/1"},
					{Kind: "deal", SourceID: "M1", Source: "matter_clients.client_id", Field: "person_id", Value: 21},
					{Kind: "deal", SourceID: "M1", Source: "matters.custom.Tenure", Field: "Tenure", Key: "fedcba9876543210fedcba9876543210fedcba98", Value: "Freehold"}}},
			{Key: "matter/M2", Op: migrate.PlanSkip, TargetKind: "deal", TargetID: 12, Reason: "unchanged since the watermark"},
			{Key: "matter/M1/participant/client/C2", Op: migrate.PlanCreate, TargetKind: "participant", TargetID: 5, Payload: map[string]any{"deal_id": 11, "person_id": 22}},
		},
		migrate.LoadPersons: {
			{Key: "client/C1", Op: migrate.PlanLink, TargetKind: "person", TargetID: 21, Reason: "found by email", Flag: "shared_email",
				Changes: []transform.Change{{Kind: "person", SourceID: "C1", Source: "clients.title+first_name+last_name", Field: "name", Value: "Ms Ada " + hostile2},
					{Kind: "person", SourceID: "C1", Source: "clients.address_*", Field: "postal_address", Value: map[string]any{"value": "1 High St, Leeds, LS1 1AA"}}}},
			{Key: "client/C2", Op: migrate.PlanCreate, TargetKind: "person", TargetID: 22,
				Changes: []transform.Change{{Kind: "person", SourceID: "C2", Source: "clients.first_name+last_name", Field: "name", Value: "Bo Kay"}}},
		},
	}, &migrate.FinishOutput{MigrationID: fixtureMigration, Run: deltaRun, Watermark: "2026-03-31T16:00:00Z", Report: p + "runs/" + deltaRun + "/delta.json", Updated: 1, Gone: 1},
		&migrate.VerifyOutput{MigrationID: fixtureMigration, Checked: 4, Mismatches: 1, Report: p + "verify.json"})
	put("runs/"+deltaRun+"/delta.json", migrate.DeltaReport{MigrationID: fixtureMigration, Run: deltaRun, Since: "2026-03-30T12:00:00Z", Watermark: "2026-03-31T16:00:00Z",
		Updated:    []migrate.DeltaRecord{{Key: "matter/M1", Kind: "deal", TargetID: 11, Fields: []string{"title", "value"}}},
		Conflicts:  []migrate.DeltaRecord{{Key: "client/C3", Kind: "person", TargetID: 23, Reason: "edited in Pipedrive since"}},
		Gone:       []migrate.DeltaRecord{{Key: "activity/A9", Kind: "activity", TargetID: 90, Reason: "no longer in the export"}},
		GoneByKind: map[string]int{"activity": 1}})
	put("verify.json", migrate.VerifyReport{MigrationID: fixtureMigration,
		Kinds:      map[string]*migrate.KindCheck{"deal": {Expected: 2, Written: 2, Found: 2, Matching: 1}, "person": {Expected: 2, Written: 2, Found: 2, Matching: 2}},
		Mismatches: []migrate.Mismatch{{Key: "matter/M2", Field: "title", Want: hostile2, Got: ""}},
		Missing:    []string{}, Completion: map[string]migrate.Completeness{"deal.value": {Source: 1, Pipedrive: 1}}})
	put("rollback-"+deltaRun+"-dry-run.json", migrate.RollbackReport{MigrationID: fixtureMigration, Run: deltaRun,
		Totals: migrate.RollbackOutput{MigrationID: fixtureMigration, Run: deltaRun, Deleted: 2, Restored: 1, OtherRuns: 1},
		Counts: []migrate.RollbackCount{{Kind: "deal", Op: ledger.OpUpdate, Action: migrate.RollbackRestore, N: 1}, {Kind: "person", Op: ledger.OpCreate, Action: migrate.RollbackDelete, N: 1}}})

	// The ledger: the full run's create, the delta's update of it (with
	// the values it replaced), the delta's link and create.
	write := func(e ledger.Entry) {
		t.Helper()
		e.Migration, e.Status = fixtureMigration, ledger.StatusPending
		stored, err := f.led.Begin(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		stored.Status = ledger.StatusWritten
		if err := f.led.Update(ctx, ledger.StatusPending, stored); err != nil {
			t.Fatal(err)
		}
	}
	write(ledger.Entry{Key: "matter/M1", Run: fullRun, TargetKind: "deal", TargetID: 11, Op: ledger.OpCreate})
	write(ledger.Entry{Key: "matter/M1/update/0011223344556677", Run: deltaRun, TargetKind: "deal", TargetID: 11, Op: ledger.OpUpdate,
		Previous: json.RawMessage(`{"title":"Old <b>title</b> ` + hostile2 + `","value":null,"custom_fields":{"` + dealKey + `":"CONV/0"}}`)})
	write(ledger.Entry{Key: "client/C1", Run: deltaRun, TargetKind: "person", TargetID: 21, Op: ledger.OpLink, Previous: json.RawMessage(`{"postal_address":null}`)})
	write(ledger.Entry{Key: "client/C2", Run: deltaRun, TargetKind: "person", TargetID: 22, Op: ledger.OpCreate})
	write(ledger.Entry{Key: "matter/M1/participant/client/C2", Run: deltaRun, TargetKind: "participant", TargetID: 5, Op: ledger.OpCreate})
	if _, err := f.led.Begin(ctx, ledger.Entry{Migration: fixtureMigration, Key: "activity/A7", Run: deltaRun, TargetKind: "activity", Op: ledger.OpCreate, Status: ledger.StatusPending}); err != nil {
		t.Fatal(err)
	}
	return f
}

// fixedNow makes the report's generated time fixed for a test.
func fixedNow(t testing.TB) {
	t.Helper()
	saved := report.Now
	report.Now = func() time.Time { return time.Date(2026, 4, 2, 12, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { report.Now = saved })
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}
