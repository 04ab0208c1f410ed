package migrate

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/transform"
)

// MetaWatermarks is the ledger meta value listing a migration's finished
// full and delta runs with their watermarks (JSON, oldest first): the
// latest updated_at (or created_at) of the export each loaded, RFC 3339.
// The last is where the next delta run starts; rolling a run back takes
// it off the list.
const MetaWatermarks = "watermarks"

// RunMark is one finished run and its watermark.
type RunMark struct {
	Run       string `json:"run"`
	Mode      string `json:"mode"`
	Watermark string `json:"watermark"`
}

// runMarks reads the list of finished runs.
func (e *Env) runMarks(ctx context.Context, migrationID string) ([]RunMark, error) {
	v, err := e.Ledger.GetMeta(ctx, migrationID, MetaWatermarks)
	if errors.Is(err, ledger.ErrNotFound) || (err == nil && len(v) == 0) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: read the watermarks: %w", err)
	}
	var marks []RunMark
	if err := json.Unmarshal(v, &marks); err != nil {
		return nil, fmt.Errorf("ledger: the watermarks of %s: %w", migrationID, err)
	}
	return marks, nil
}

// putRunMarks saves the list of finished runs.
func (e *Env) putRunMarks(ctx context.Context, migrationID string, marks []RunMark) error {
	data, err := json.Marshal(marks)
	if err != nil {
		return err
	}
	if err := e.Ledger.PutMeta(ctx, migrationID, MetaWatermarks, data); err != nil {
		return fmt.Errorf("ledger: save the watermarks: %w", err)
	}
	return nil
}

// forgetRuns takes rolled-back runs (every run when run is "") off the list.
func (e *Env) forgetRuns(ctx context.Context, migrationID, run string) error {
	marks, err := e.runMarks(ctx, migrationID)
	if err != nil || len(marks) == 0 {
		return err
	}
	kept := marks[:0]
	for _, m := range marks {
		if run != "" && m.Run != run {
			kept = append(kept, m)
		}
	}
	return e.putRunMarks(ctx, migrationID, kept)
}

// FinishInput is the Finish step's input: a full or delta run that loaded
// and verified.
type FinishInput struct {
	MigrationID string `json:"migration_id"`
	Run         string `json:"run"`
	Manifest    string `json:"manifest"`
	// Mode is "full" or "delta".
	Mode string `json:"mode"`
}

// FinishOutput is what Finish hands on.
type FinishOutput struct {
	MigrationID string `json:"migration_id"`
	Run         string `json:"run"`
	// Watermark is the new watermark; a later delta run starts from it.
	Watermark string `json:"watermark"`
	// Report is the key of the run's DeltaReport (delta runs only).
	Report string `json:"report,omitempty"`
	// Gone counts records the migration wrote that the export no longer
	// holds; Updated the records the run updated; Conflicts the changed
	// records left alone because they were edited (or deleted) in Pipedrive.
	Gone      int `json:"gone,omitempty"`
	Updated   int `json:"updated,omitempty"`
	Conflicts int `json:"conflicts,omitempty"`
}

// DeltaReport is runs/<run>/delta.json: what a delta run found.
type DeltaReport struct {
	MigrationID string `json:"migration_id"`
	Run         string `json:"run"`
	// Since is the watermark the run started from; Watermark the new one.
	Since     string `json:"since,omitempty"`
	Watermark string `json:"watermark"`
	// Updated lists the records the run updated, with the fields it sent.
	Updated []DeltaRecord `json:"updated"`
	// Conflicts lists changed records the run left alone, and why.
	Conflicts []DeltaRecord `json:"conflicts"`
	// Gone lists records the migration wrote that the newer export no
	// longer holds. They stay in Pipedrive: a delta run never deletes.
	Gone []DeltaRecord `json:"gone"`
	// GoneByKind counts Gone per Pipedrive kind.
	GoneByKind map[string]int `json:"gone_by_kind"`
}

// DeltaRecord names one record of a DeltaReport, by key and ids, never by
// its values.
type DeltaRecord struct {
	Key      string   `json:"key"`
	Kind     string   `json:"kind"`
	TargetID int64    `json:"target_id,omitempty"`
	Fields   []string `json:"fields,omitempty"`
	Reason   string   `json:"reason,omitempty"`
}

// Finish records a finished full or delta run: the new watermark (the
// latest updated_at, or created_at where it is missing, of the export's
// organisations, clients, referrers and matters) and the last run, in the
// ledger's meta values. For a delta run it writes the DeltaReport: the
// records updated and left alone (from the run's plans) and the records
// gone from the export (from the ledger). It writes nothing to Pipedrive.
func (e *Env) Finish(ctx context.Context, in FinishInput) (FinishOutput, error) {
	if err := checkInput(in.MigrationID, in.Manifest); err != nil {
		return FinishOutput{}, err
	}
	if in.Mode != "full" && in.Mode != "delta" {
		return FinishOutput{}, &InputError{Msg: fmt.Sprintf("mode %q: Finish records full and delta runs", in.Mode)}
	}
	if e.Ledger == nil {
		return FinishOutput{}, errors.New("migrate: Finish needs a ledger")
	}
	st, err := openStaged(ctx, e.Store, in.Manifest)
	if err != nil {
		return FinishOutput{}, err
	}
	present, mark, err := exportKeys(ctx, st, in.Mode == "delta")
	if err != nil {
		return FinishOutput{}, err
	}
	out := FinishOutput{MigrationID: in.MigrationID, Run: in.Run}
	if !mark.IsZero() {
		out.Watermark = mark.UTC().Format(time.RFC3339Nano)
	}
	if in.Mode == "delta" {
		rep := DeltaReport{MigrationID: in.MigrationID, Run: in.Run, Watermark: out.Watermark, GoneByKind: map[string]int{},
			Updated: []DeltaRecord{}, Conflicts: []DeltaRecord{}, Gone: []DeltaRecord{}}
		if rep.Since, err = e.Watermark(ctx, in.MigrationID); err != nil {
			return FinishOutput{}, err
		}
		if err := e.deltaPlans(ctx, in, &rep); err != nil {
			return FinishOutput{}, err
		}
		if err := e.Ledger.List(ctx, in.MigrationID, func(en ledger.Entry) error {
			if r, ok := goneRecord(en, present); ok {
				rep.Gone = append(rep.Gone, r)
				rep.GoneByKind[r.Kind]++
			}
			return nil
		}); err != nil {
			return FinishOutput{}, fmt.Errorf("finish: list the ledger: %w", err)
		}
		sort.Slice(rep.Gone, func(i, j int) bool { return rep.Gone[i].Key < rep.Gone[j].Key })
		out.Report = RunPrefix(in.MigrationID, in.Run) + "delta.json"
		if err := e.putJSON(ctx, out.Report, rep); err != nil {
			return FinishOutput{}, err
		}
		out.Gone, out.Updated, out.Conflicts = len(rep.Gone), len(rep.Updated), len(rep.Conflicts)
	}
	marks, err := e.runMarks(ctx, in.MigrationID)
	if err != nil {
		return FinishOutput{}, err
	}
	kept := marks[:0]
	for _, m := range marks {
		if m.Run != in.Run {
			kept = append(kept, m)
		}
	}
	if err := e.putRunMarks(ctx, in.MigrationID, append(kept, RunMark{Run: in.Run, Mode: in.Mode, Watermark: out.Watermark})); err != nil {
		return FinishOutput{}, err
	}
	e.log().InfoContext(ctx, "run finished", "migration", in.MigrationID, "run", in.Run, "mode", in.Mode,
		"updated", out.Updated, "conflicts", out.Conflicts, "gone", out.Gone)
	return out, nil
}

// Watermark returns the watermark of a migration's last finished run, or
// "" when no full run has finished (or every one was rolled back).
func (e *Env) Watermark(ctx context.Context, migrationID string) (string, error) {
	marks, err := e.runMarks(ctx, migrationID)
	if err != nil || len(marks) == 0 {
		return "", err
	}
	return marks[len(marks)-1].Watermark, nil
}

// exportKeys returns the ledger keys of the records a staged export holds
// (documents by "document/<id>/"), when withKeys (a delta run, which needs
// them to tell what is gone), and its latest updated_at. A full run needs
// only the latter, and the keys are a map of every record in the export.
func exportKeys(ctx context.Context, st *staged, withKeys bool) (map[string]bool, time.Time, error) {
	var keys map[string]bool
	if withKeys {
		keys = map[string]bool{}
	}
	add := func(key string) {
		if keys != nil {
			keys[key] = true
		}
	}
	var mark time.Time
	seen := func(updated, created *time.Time) {
		t := updated
		if t == nil {
			t = created
		}
		if t != nil && t.After(mark) {
			mark = *t
		}
	}
	if err := each(ctx, st, extract.KindOrganisations, func(o *pp.Organisation) error {
		add(OrganisationKey(o.ID))
		seen(o.UpdatedAt, o.CreatedAt)
		return nil
	}); err != nil {
		return nil, mark, err
	}
	if err := each(ctx, st, extract.KindClients, func(c *pp.Client) error {
		add(ClientKey(c.ID))
		seen(c.UpdatedAt, c.CreatedAt)
		return nil
	}); err != nil {
		return nil, mark, err
	}
	if err := each(ctx, st, extract.KindReferrers, func(r *pp.Referrer) error {
		add(ReferrerKey(r.ID))
		add(ReferrerFirmKey(r.CompanyName))
		seen(r.UpdatedAt, r.CreatedAt)
		return nil
	}); err != nil {
		return nil, mark, err
	}
	err := st.eachMatter(ctx, func(rec *extract.MatterRecord) error {
		add(MatterKey(rec.Matter.ID))
		seen(rec.Matter.UpdatedAt, rec.Matter.CreatedAt)
		for _, p := range transform.DealPeople(*rec) {
			add(ParticipantKey(rec.Matter.ID, p))
		}
		for _, a := range rec.Activities {
			add(ActivityKey(a.ID))
		}
		for _, d := range rec.Documents {
			add("document/" + d.ID + "/")
		}
		return nil
	})
	return keys, mark, err
}

// goneRecord reports a written record's entry whose source record the
// export no longer holds.
func goneRecord(en ledger.Entry, present map[string]bool) (DeltaRecord, bool) {
	if en.Status != ledger.StatusWritten || en.SourceKind == "" || strings.HasPrefix(en.Key, "schema/") {
		return DeltaRecord{}, false
	}
	if _, update := deltaBase(en.Key); update {
		return DeltaRecord{}, false
	}
	probe := en.Key
	if strings.HasPrefix(probe, "document/") {
		id, _, _ := strings.Cut(strings.TrimPrefix(probe, "document/"), "/")
		probe = "document/" + id + "/"
	}
	if present[probe] {
		return DeltaRecord{}, false
	}
	return DeltaRecord{Key: en.Key, Kind: en.TargetKind, TargetID: en.TargetID,
		Reason: "no longer in the export: left in Pipedrive"}, true
}

// deltaPlans reads the run's plans for the records it updated and the
// changed records it left alone.
func (e *Env) deltaPlans(ctx context.Context, in FinishInput, rep *DeltaReport) error {
	prefix := RunPrefix(in.MigrationID, in.Run) + "plan/"
	infos, err := e.Store.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("finish: list the run's plans: %w", err)
	}
	for _, info := range infos {
		rc, err := e.Store.Open(ctx, info.Key)
		if err != nil {
			return fmt.Errorf("finish: read plan %s: %w", info.Key, err)
		}
		sc := bufio.NewScanner(rc)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var op PlannedOp
			if err := json.Unmarshal(sc.Bytes(), &op); err != nil {
				rc.Close()
				return fmt.Errorf("finish: plan %s: %w", info.Key, err)
			}
			switch {
			case op.Op == PlanUpdate && op.Reason == deltaReasonChanged:
				rep.Updated = append(rep.Updated, DeltaRecord{Key: op.Key, Kind: op.TargetKind, TargetID: op.TargetID, Fields: patchFields(op.Payload)})
			case op.Flag == DeltaFlagEdited || op.Flag == DeltaFlagGone:
				rep.Conflicts = append(rep.Conflicts, DeltaRecord{Key: op.Key, Kind: op.TargetKind, TargetID: op.TargetID, Reason: op.Flag})
			}
		}
		rc.Close()
		if err := sc.Err(); err != nil {
			return fmt.Errorf("finish: read plan %s: %w", info.Key, err)
		}
	}
	sort.Slice(rep.Updated, func(i, j int) bool { return rep.Updated[i].Key < rep.Updated[j].Key })
	sort.Slice(rep.Conflicts, func(i, j int) bool { return rep.Conflicts[i].Key < rep.Conflicts[j].Key })
	return nil
}

// patchFields names the fields of a PATCH body (custom ones by key).
func patchFields(payload any) []string {
	m, _ := payload.(map[string]any)
	var out []string
	for k, v := range m {
		if k == "custom_fields" {
			c, _ := v.(map[string]any)
			for ck := range c {
				out = append(out, "custom_fields."+ck)
			}
			continue
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
