package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
	"github.com/conveyor-migrate/conveyor/internal/clock"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/memledger"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/contract"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

// rollbackEnv is an Env on a sandbox company whose traffic is checked
// against Pipedrive's documents both ways, with a memory store and ledger,
// all on one virtual clock the test moves.
type rollbackEnv struct {
	*Env
	t     *testing.T
	sb    *sandbox.Sandbox
	vc    *clock.Virtual
	url   string
	httpc *http.Client
	led   *memledger.Store
	store *memblob.Store
	logs  *bytes.Buffer
}

func newRollbackEnv(t *testing.T) *rollbackEnv {
	t.Helper()
	v := contract.ForTest(t)
	vc := clock.NewVirtual(epoch)
	sb, err := sandbox.New(sandbox.Options{Plan: "growth", Token: testToken, Now: vc.Now})
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	srv := httptest.NewServer(v.Middleware(t, sb))
	t.Cleanup(srv.Close)
	re := &rollbackEnv{t: t, sb: sb, vc: vc, url: srv.URL, led: memledger.New(), store: memblob.New(), logs: &bytes.Buffer{},
		httpc: &http.Client{Transport: v.Transport(t, http.DefaultTransport), Timeout: 10 * time.Second}}
	re.Env = &Env{Store: re.store, Ledger: re.led, Pipedrive: re.client(0), Now: vc.Now,
		Log: slog.New(slog.NewJSONHandler(re.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	return re
}

// client is a Pipedrive client of the sandbox; maxRetries < 0 means none,
// so that a dropped connection stops the caller as a crash would.
func (re *rollbackEnv) client(maxRetries int) *pipedrive.Client {
	re.t.Helper()
	c, err := pipedrive.New(pipedrive.Config{BaseURL: re.url, Token: testToken, Plan: "growth", HTTPClient: re.httpc,
		Now: re.vc.Now, Sleep: re.vc.Sleep, MaxRetries: maxRetries})
	if err != nil {
		re.t.Fatalf("pipedrive.New: %v", err)
	}
	return c
}

// rollbackFixture is a migration written by hand, as the steps write one,
// and what Pipedrive held before it.
type rollbackFixture struct {
	before sandbox.State
	// existing is a person that was there before, whose empty Perfect
	// Portal id field (sourceField) the migration filled (a link).
	existing    int
	sourceField string
	// person, deal: created by the migration.
	person, deal int
	entries      int
}

func stamp(t pipedrive.Time) string { return t.UTC().Format(time.RFC3339) }

// migrate writes the fixture's migration, run r1: a deal field, a
// pipeline, a stage and an activity type as the schema step records them,
// then an organization, a person, a deal, the link, a participant, an
// activity, a note and a file through Once, a second apart.
func (re *rollbackEnv) migrate() rollbackFixture {
	t := re.t
	t.Helper()
	ctx := context.Background()
	pd := re.Pipedrive
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	src, err := pd.CreateField(ctx, pipedrive.PersonFields, pipedrive.FieldInput{Name: "Perfect Portal id", Type: "varchar"})
	must("create person field", err)
	existing, err := pd.CreatePerson(ctx, pipedrive.PersonInput{Name: "Existing Client", Emails: []pipedrive.ContactValue{{Value: "existing@example.com", Primary: true}}})
	must("create existing person", err)
	fx := rollbackFixture{before: re.sb.Snapshot(), existing: existing.ID, sourceField: src.Code}
	re.vc.Advance(time.Minute)

	// The schema step's entries: a field keeps its field_code in Previous.
	schema := func(key, kind string, parent int64, create func() (id int, code string)) int {
		t.Helper()
		e, err := re.led.Begin(ctx, ledger.Entry{Migration: testMigration, Key: key, Run: "r1", TargetKind: kind, Op: ledger.OpCreate, Status: ledger.StatusPending})
		must("begin "+key, err)
		id, code := create()
		e.Status, e.ParentID = ledger.StatusWritten, parent
		if code != "" {
			e.Previous, _ = json.Marshal(fieldTarget{FieldCode: code})
		} else {
			e.TargetID = int64(id)
		}
		must("commit "+key, re.led.Update(ctx, ledger.StatusPending, e))
		fx.entries++
		return id
	}
	var dealField string
	schema("schema/deal_field/Matter number", KindDealField, 0, func() (int, string) {
		f, err := pd.CreateField(ctx, pipedrive.DealFields, pipedrive.FieldInput{Name: "Matter number", Type: "varchar"})
		must("create deal field", err)
		dealField = f.Code
		return 0, f.Code
	})
	pipeline := schema("schema/pipeline/Conveyancing", KindPipeline, 0, func() (int, string) {
		p, err := pd.CreatePipeline(ctx, pipedrive.PipelineInput{Name: "Conveyancing"})
		must("create pipeline", err)
		return p.ID, ""
	})
	stage := schema("schema/stage/Conveyancing/Instructed", KindStage, int64(pipeline), func() (int, string) {
		s, err := pd.CreateStage(ctx, pipedrive.StageInput{Name: "Instructed", PipelineID: pipeline})
		must("create stage", err)
		return s.ID, ""
	})
	var sms string
	schema("schema/activity_type/SMS", KindActivityType, 0, func() (int, string) {
		at, err := pd.CreateActivityType(ctx, pipedrive.ActivityTypeInput{Name: "SMS", IconKey: "smartphone"})
		must("create activity type", err)
		sms = at.KeyString
		return at.ID, ""
	})

	once := func(w Write) int {
		t.Helper()
		w.Migration, w.Run = testMigration, "r1"
		id, _, err := re.Once(ctx, w)
		must("write "+w.Key, err)
		re.vc.Advance(time.Second)
		fx.entries++
		return int(id)
	}
	org := once(Write{Key: OrganisationKey("O1"), SourceKind: "organisation", SourceID: "O1", TargetKind: "organization", Op: ledger.OpCreate,
		Call: func(ctx context.Context) (int64, string, error) {
			o, err := pd.CreateOrganization(ctx, pipedrive.OrganizationInput{Name: "Acme Holdings Ltd"})
			return int64(o.ID), stamp(o.UpdateTime), err
		}})
	fx.person = once(Write{Key: ClientKey("C1"), SourceKind: "client", SourceID: "C1", TargetKind: "person", Op: ledger.OpCreate,
		Call: func(ctx context.Context) (int64, string, error) {
			p, err := pd.CreatePerson(ctx, pipedrive.PersonInput{Name: "New Client", OrgID: org,
				CustomFields: map[string]any{src.Code: "C1"}})
			return int64(p.ID), stamp(p.UpdateTime), err
		}})
	fx.deal = once(Write{Key: MatterKey("M1"), SourceKind: "matter", SourceID: "M1", TargetKind: "deal", Op: ledger.OpCreate,
		Call: func(ctx context.Context) (int64, string, error) {
			d, err := pd.CreateDeal(ctx, pipedrive.DealInput{Title: "M1 purchase", PersonID: fx.person, OrgID: org,
				PipelineID: pipeline, StageID: stage, CustomFields: map[string]any{dealField: "M1"}})
			return int64(d.ID), stamp(d.UpdateTime), err
		}})
	once(Write{Key: ClientKey("C2"), SourceKind: "client", SourceID: "C2", TargetKind: "person", Op: ledger.OpLink,
		TargetID: int64(existing.ID), Previous: json.RawMessage(`{"custom_fields":{"` + src.Code + `":null}}`),
		Call: func(ctx context.Context) (int64, string, error) {
			p, err := pd.UpdatePerson(ctx, existing.ID, pipedrive.PersonInput{CustomFields: map[string]any{src.Code: "C2"}})
			return int64(p.ID), stamp(p.UpdateTime), err
		}})
	once(Write{Key: ParticipantKey("M1", ClientKey("C2")), SourceKind: "matter", SourceID: "M1", TargetKind: "participant",
		Op: ledger.OpCreate, ParentID: int64(fx.deal),
		Call: func(ctx context.Context) (int64, string, error) {
			p, err := pd.AddParticipant(ctx, fx.deal, existing.ID)
			return int64(p.ID), "", err
		}})
	once(Write{Key: ActivityKey("A1"), SourceKind: "activity", SourceID: "A1", TargetKind: "activity", Op: ledger.OpCreate, ParentID: int64(fx.deal),
		Call: func(ctx context.Context) (int64, string, error) {
			a, err := pd.CreateActivity(ctx, pipedrive.ActivityInput{Subject: "Text the client", Type: sms, DealID: fx.deal})
			return int64(a.ID), stamp(a.UpdateTime), err
		}})
	once(Write{Key: ActivityKey("A2"), SourceKind: "activity", SourceID: "A2", TargetKind: "note", Op: ledger.OpCreate, ParentID: int64(fx.deal),
		Call: func(ctx context.Context) (int64, string, error) {
			n, err := pd.CreateNote(ctx, pipedrive.NoteInput{Content: "Searches ordered", DealID: fx.deal})
			return int64(n.ID), stamp(n.UpdateTime), err
		}})
	once(Write{Key: DocumentKey("D1", 1), SourceKind: "document", SourceID: "D1", TargetKind: "file", Op: ledger.OpCreate, ParentID: int64(fx.deal),
		Call: func(ctx context.Context) (int64, string, error) {
			body := "%PDF-1.4 contract"
			f, err := pd.UploadFile(ctx, pipedrive.FileInput{Name: "contract.pdf", Body: strings.NewReader(body), Size: int64(len(body)), DealID: fx.deal})
			return int64(f.ID), stamp(f.UpdateTime), err
		}})
	return fx
}

// rollbackDiffs is how after differs from before in what a user of
// Pipedrive sees. Pipedrive keeps deleted items for 30 days, so "the state
// before" means the live records, custom field definitions and their
// values: a record created and then deleted (kept, marked deleted) is no
// difference. Nor is the update_time of the records named in restored,
// which the restoring PATCH stamps as any PATCH does (nor a deal's
// stage_change_time, which moving it back to its stage stamps).
func rollbackDiffs(before, after sandbox.State, restored ...string) []sandbox.Difference {
	var out []sandbox.Difference
	for _, d := range sandbox.Compare(before, after) {
		if d.ID != 0 {
			w, g := before.Items[d.Kind][d.ID], after.Items[d.Kind][d.ID]
			if w == nil && g != nil && g.Deleted {
				continue
			}
			name := fmt.Sprintf("%s/%d", d.Kind, d.ID)
			if (d.Field == "update_time" || d.Field == "stage_change_time") && w != nil && g != nil && !g.Deleted && strings.Contains(" "+strings.Join(restored, " ")+" ", " "+name+" ") {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

func (re *rollbackEnv) rollback(in RollbackInput) RollbackOutput {
	re.t.Helper()
	in.MigrationID = testMigration
	out, err := re.Rollback(context.Background(), in)
	if err != nil {
		re.t.Fatalf("Rollback(%+v): %v", in, err)
	}
	return out
}

func (re *rollbackEnv) entries() []ledger.Entry {
	re.t.Helper()
	var out []ledger.Entry
	if err := re.led.List(context.Background(), testMigration, func(e ledger.Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		re.t.Fatal(err)
	}
	return out
}

func (re *rollbackEnv) report(key string) RollbackReport {
	re.t.Helper()
	var rep RollbackReport
	if err := getJSON(context.Background(), re.store, key, &rep); err != nil {
		re.t.Fatal(err)
	}
	return rep
}

func TestRollback(t *testing.T) {
	re := newRollbackEnv(t)
	fx := re.migrate()
	re.vc.Advance(time.Hour)

	out := re.rollback(RollbackInput{Apply: true})
	want := RollbackOutput{MigrationID: testMigration, Applied: true, Report: "migrations/m1/rollback-all.json", Deleted: fx.entries - 1, Restored: 1}
	if out != want {
		t.Errorf("out = %+v\nwant %+v", out, want)
	}
	existing := fmt.Sprintf("persons/%d", fx.existing)
	if d := rollbackDiffs(fx.before, re.sb.Snapshot(), existing); len(d) != 0 {
		t.Errorf("after the rollback Pipedrive differs from before the migration: %+v", d)
	}
	st := re.sb.Snapshot()
	if p := st.Items["persons"][fx.existing]; p == nil || p.Deleted || p.Custom[fx.sourceField] != nil {
		t.Errorf("the existing person was not restored: %+v", p)
	}
	for _, e := range re.entries() {
		if e.Status != ledger.StatusRolledBack {
			t.Errorf("%s is %s, want rolled_back", e.Key, e.Status)
		}
	}

	rep := re.report(out.Report)
	if rep.Totals != out || !rep.Applied || len(rep.Flagged) != 0 || len(rep.Unknown) != 0 {
		t.Errorf("report = %+v", rep)
	}
	wantCounts := []RollbackCount{
		{"activity", ledger.OpCreate, RollbackDelete, 1}, {"activity_type", ledger.OpCreate, RollbackDelete, 1},
		{"deal", ledger.OpCreate, RollbackDelete, 1}, {"deal_field", ledger.OpCreate, RollbackDelete, 1},
		{"file", ledger.OpCreate, RollbackDelete, 1}, {"note", ledger.OpCreate, RollbackDelete, 1},
		{"organization", ledger.OpCreate, RollbackDelete, 1}, {"participant", ledger.OpCreate, RollbackDelete, 1},
		{"person", ledger.OpCreate, RollbackDelete, 1}, {"person", ledger.OpLink, RollbackRestore, 1},
		{"pipeline", ledger.OpCreate, RollbackDelete, 1}, {"stage", ledger.OpCreate, RollbackDelete, 1},
	}
	if !reflect.DeepEqual(rep.Counts, wantCounts) {
		t.Errorf("report counts = %+v\nwant %+v", rep.Counts, wantCounts)
	}

	// No personal data in the logs: counts and ids only.
	for _, s := range []string{"Existing Client", "existing@example.com", "New Client", "Acme", "Searches ordered", "contract.pdf", "M1 purchase"} {
		if strings.Contains(re.logs.String(), s) {
			t.Errorf("the log holds %q:\n%s", s, re.logs)
		}
	}

	// Again: nothing is written, nothing even read.
	meter := re.sb.Meter()
	again := re.rollback(RollbackInput{Apply: true})
	if want := (RollbackOutput{MigrationID: testMigration, Applied: true, Report: out.Report, AlreadyRolledBack: fx.entries}); again != want {
		t.Errorf("second rollback = %+v\nwant %+v", again, want)
	}
	if m := re.sb.Meter(); m.Requests != meter.Requests {
		t.Errorf("second rollback sent %d requests", m.Requests-meter.Requests)
	}
}

func TestRollbackDryRun(t *testing.T) {
	re := newRollbackEnv(t)
	fx := re.migrate()
	mid, entries, meter := re.sb.Snapshot(), re.entries(), re.sb.Meter()

	out := re.rollback(RollbackInput{})
	want := RollbackOutput{MigrationID: testMigration, Report: "migrations/m1/rollback-all-dry-run.json", Deleted: fx.entries - 1, Restored: 1}
	if out != want {
		t.Errorf("out = %+v\nwant %+v", out, want)
	}
	if d := sandbox.Compare(mid, re.sb.Snapshot()); len(d) != 0 {
		t.Errorf("a dry run changed Pipedrive: %+v", d)
	}
	if got := re.entries(); !reflect.DeepEqual(got, entries) {
		t.Errorf("a dry run changed the ledger")
	}
	if w, w0 := writes(re.sb.Meter()), writes(meter); !reflect.DeepEqual(w, w0) {
		t.Errorf("a dry run wrote to Pipedrive: %v, before %v", w, w0)
	}
	if rep := re.report(out.Report); rep.Applied || rep.Totals != out {
		t.Errorf("dry-run report = %+v", rep)
	}
	if _, err := re.store.Get(context.Background(), "migrations/m1/rollback-all.json"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("a dry run wrote the rollback's report: %v", err)
	}
}

// TestRollbackEdited: a record edited in Pipedrive after the migration
// wrote it is flagged and left alone; with Force it is rolled back.
func TestRollbackEdited(t *testing.T) {
	re := newRollbackEnv(t)
	fx := re.migrate()
	ctx := context.Background()
	re.vc.Advance(time.Hour)
	if _, err := re.Pipedrive.UpdatePerson(ctx, fx.person, pipedrive.PersonInput{JobTitle: "Buyer"}); err != nil {
		t.Fatal(err)
	}
	re.vc.Advance(time.Minute)

	out := re.rollback(RollbackInput{Apply: true})
	if out.Flagged != 1 || out.Deleted != fx.entries-2 || out.Restored != 1 || out.Forced != 0 {
		t.Errorf("out = %+v", out)
	}
	rep := re.report(out.Report)
	if len(rep.Flagged) != 1 {
		t.Fatalf("flagged = %+v", rep.Flagged)
	}
	f := rep.Flagged[0]
	if f.Key != ClientKey("C1") || !f.LeftAlone || f.TargetID != int64(fx.person) || !strings.Contains(f.Reason, "edited") ||
		f.CurrentUpdateTime != "2026-11-23T10:01:08Z" || f.WrittenUpdateTime == "" || f.WrittenUpdateTime >= f.CurrentUpdateTime {
		t.Errorf("flagged = %+v", f)
	}
	if p := re.sb.Snapshot().Items["persons"][fx.person]; p == nil || p.Deleted || p.Attrs["job_title"] != "Buyer" {
		t.Errorf("the edited person was not left alone: %+v", p)
	}
	if e, _ := re.led.Get(ctx, testMigration, ClientKey("C1")); e.Status != ledger.StatusWritten {
		t.Errorf("the edited person's entry is %s, want written", e.Status)
	}

	forced := re.rollback(RollbackInput{Apply: true, Force: true})
	if forced.Deleted != 1 || forced.Forced != 1 || forced.Flagged != 0 || forced.AlreadyRolledBack != fx.entries-1 {
		t.Errorf("forced = %+v", forced)
	}
	if rep := re.report(forced.Report); len(rep.Flagged) != 1 || rep.Flagged[0].LeftAlone || !rep.Force {
		t.Errorf("forced report flagged = %+v", rep.Flagged)
	}
	if d := rollbackDiffs(fx.before, re.sb.Snapshot(), fmt.Sprintf("persons/%d", fx.existing)); len(d) != 0 {
		t.Errorf("after the forced rollback: %+v", d)
	}
}

// TestRollbackCrash stops a rollback by dropping the connection of a
// write Pipedrive applied (the client does not retry, as if the process
// died), then runs it again: it finishes, and Pipedrive is as before.
// Writes of the rollback, newest entry first: file, note, activity,
// participant, the link's restore (5), deal, person, organization,
// activity type, stage, pipeline, deal field (12).
func TestRollbackCrash(t *testing.T) {
	for _, after := range []int{1, 4, 5, 8, 11} {
		t.Run(fmt.Sprintf("after %d writes", after), func(t *testing.T) {
			re := newRollbackEnv(t)
			fx := re.migrate()
			re.vc.Advance(time.Hour)
			steady := re.Pipedrive
			re.Pipedrive = re.client(-1)
			if err := re.sb.SetFaults(sandbox.Faults{FailAfterWrites: after}); err != nil {
				t.Fatal(err)
			}
			_, err := re.Rollback(context.Background(), RollbackInput{MigrationID: testMigration, Apply: true})
			var trans *pipedrive.TransportError
			if !errors.As(err, &trans) || err != error(trans) {
				t.Fatalf("err = %T %v; want *pipedrive.TransportError, unwrapped", err, err)
			}
			rolled := 0
			for _, e := range re.entries() {
				if e.Status == ledger.StatusRolledBack {
					rolled++
				}
			}
			if rolled != after {
				t.Errorf("%d entries rolled back before the crash, want %d", rolled, after)
			}

			if err := re.sb.SetFaults(sandbox.Faults{}); err != nil {
				t.Fatal(err)
			}
			re.Pipedrive = steady
			out := re.rollback(RollbackInput{Apply: true})
			if out.AlreadyRolledBack != after || out.Flagged != 0 || out.Unknown != 0 ||
				out.Deleted+out.Restored+out.AlreadyGone+out.Unchanged != fx.entries-after {
				t.Errorf("rerun = %+v", out)
			}
			if out.AlreadyGone+out.Unchanged != 1 {
				t.Errorf("rerun found %d gone and %d unchanged; want the crashed write's record found undone", out.AlreadyGone, out.Unchanged)
			}
			if d := rollbackDiffs(fx.before, re.sb.Snapshot(), fmt.Sprintf("persons/%d", fx.existing)); len(d) != 0 {
				t.Errorf("after the rerun: %+v", d)
			}
			for _, e := range re.entries() {
				if e.Status != ledger.StatusRolledBack {
					t.Errorf("%s is %s", e.Key, e.Status)
				}
			}
		})
	}
}

// TestRollbackRunsAndPending: a rollback of one run leaves the other runs'
// writes; a pending write is marked abandoned and reported for a check by hand.
func TestRollbackRunsAndPending(t *testing.T) {
	re := newRollbackEnv(t)
	fx := re.migrate()
	ctx := context.Background()
	pd := re.Pipedrive
	var r2 int
	for _, key := range []string{ClientKey("C3"), ClientKey("C4")} {
		id, _, err := re.Once(ctx, Write{Migration: testMigration, Run: "r2", Key: key, TargetKind: "person", Op: ledger.OpCreate,
			Call: func(ctx context.Context) (int64, string, error) {
				p, err := pd.CreatePerson(ctx, pipedrive.PersonInput{Name: "Second Run"})
				return int64(p.ID), stamp(p.UpdateTime), err
			}})
		if err != nil {
			t.Fatal(err)
		}
		r2 = int(id)
	}
	if _, err := re.led.Begin(ctx, ledger.Entry{Migration: testMigration, Key: ClientKey("C5"), Run: "r2", TargetKind: "person",
		Op: ledger.OpCreate, Status: ledger.StatusPending}); err != nil {
		t.Fatal(err)
	}

	dry := re.rollback(RollbackInput{Run: "r2"})
	if dry.Unknown != 1 || dry.Deleted != 2 || dry.OtherRuns != fx.entries || dry.Report != "migrations/m1/rollback-r2-dry-run.json" {
		t.Errorf("dry run = %+v", dry)
	}
	if e, _ := re.led.Get(ctx, testMigration, ClientKey("C5")); e.Status != ledger.StatusPending {
		t.Errorf("a dry run changed the pending entry to %s", e.Status)
	}

	out := re.rollback(RollbackInput{Run: "r2", Apply: true})
	if out.Unknown != 1 || out.Deleted != 2 || out.OtherRuns != fx.entries || out.Report != "migrations/m1/rollback-r2.json" {
		t.Errorf("out = %+v", out)
	}
	if e, _ := re.led.Get(ctx, testMigration, ClientKey("C5")); e.Status != ledger.StatusAbandoned {
		t.Errorf("the pending entry is %s, want abandoned", e.Status)
	}
	rep := re.report(out.Report)
	if len(rep.Unknown) != 1 || rep.Unknown[0].Key != ClientKey("C5") || !strings.Contains(rep.Unknown[0].Reason, "check by hand") {
		t.Errorf("unknown = %+v", rep.Unknown)
	}
	st := re.sb.Snapshot()
	if !st.Items["persons"][r2].Deleted || st.Items["persons"][fx.person].Deleted {
		t.Errorf("run r2's person deleted: %v; run r1's: %v", st.Items["persons"][r2].Deleted, st.Items["persons"][fx.person].Deleted)
	}
	for _, e := range re.entries() {
		if want := ledger.StatusWritten; e.Run == "r1" && e.Status != want {
			t.Errorf("run r1's %s is %s", e.Key, e.Status)
		}
	}

	if out := re.rollback(RollbackInput{Apply: true}); out.Deleted != fx.entries-1 || out.Restored != 1 || out.AlreadyRolledBack != 3 {
		t.Errorf("rollback of every run = %+v", out)
	}
	if d := rollbackDiffs(fx.before, re.sb.Snapshot(), fmt.Sprintf("persons/%d", fx.existing)); len(d) != 0 {
		t.Errorf("after rolling back every run: %+v", d)
	}
}

// TestRollbackBuiltInFieldCannotBeCleared: a link that filled an empty
// built-in field (here phones) cannot be undone through the client's typed
// update calls, which do not send empty values: it is flagged and left
// alone, not half restored, and stays written.
func TestRollbackClearsBuiltInFields(t *testing.T) {
	re := newRollbackEnv(t)
	ctx := context.Background()
	pd := re.Pipedrive
	p, err := pd.CreatePerson(ctx, pipedrive.PersonInput{Name: "Existing Client"})
	if err != nil {
		t.Fatal(err)
	}
	re.vc.Advance(time.Minute)
	if _, _, err := re.Once(ctx, Write{Migration: testMigration, Run: "r1", Key: ClientKey("C1"), TargetKind: "person", Op: ledger.OpLink,
		TargetID: int64(p.ID), Previous: json.RawMessage(`{"phones":[],"job_title":null}`),
		Call: func(ctx context.Context) (int64, string, error) {
			got, err := pd.UpdatePerson(ctx, p.ID, pipedrive.PersonInput{Phones: []pipedrive.ContactValue{{Value: "01632 960000"}}, JobTitle: "Buyer"})
			return int64(got.ID), stamp(got.UpdateTime), err
		}}); err != nil {
		t.Fatal(err)
	}
	out := re.rollback(RollbackInput{Apply: true})
	if out.Flagged != 0 || out.Restored != 1 {
		t.Errorf("out = %+v; want the link restored", out)
	}
	got, err := pd.GetPerson(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Phones) != 0 || got.JobTitle != "" || got.Name != "Existing Client" {
		t.Errorf("person after rollback = %+v; want the phone and job title the migration filled cleared, the name kept", got)
	}
	if e, _ := re.led.Get(ctx, testMigration, ClientKey("C1")); e.Status != ledger.StatusRolledBack {
		t.Errorf("entry is %s, want rolled_back", e.Status)
	}
}
