package extract

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

var update = flag.Bool("update", false, "rewrite golden files")

func hexSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// rulesBundle is a small export that breaks every rule once, with the fate
// of each row written beside it.
func rulesBundle() map[string]string {
	contract := "%PDF-1.4 contract"
	idDoc := "%PDF id"
	big := strings.Repeat("x", 2048)
	return map[string]string{
		"fee_earners.csv": "fee_earner_id,name,email,active\n" +
			"FE1,Alice Fee,alice@example-law.co.uk,yes\n" + // 2 accepted
			"FE2,Bob Fee,bob@example-law.co.uk,no\n", // 3 accepted
		"organisations.csv": "organisation_id,name,company_number,created_at,updated_at\n" +
			"O1,Acme Ltd,01234567,2025-01-01T00:00:00Z,2025-01-02T00:00:00Z\n" + // 2 accepted
			"O2,,0999,,\n", // 3 quarantined: no name
		"clients.csv": "client_id,first_name,last_name,email,phone,organisation_id,updated_at\n" +
			"C1,Ann,Smith,ann@example.com,07700 900123,,2026-01-01T00:00:00Z\n" + // 2 accepted
			"C2,Ann,Smith, ANN@Example.com ,,,2026-01-01T00:00:00Z\n" + // 3 merged: shares C1's email
			"C3,Ben,Jones,,,,\n" + // 4 accepted, warning: no email
			"C4,Cat,Lee,cat@example,0123,,\n" + // 5 accepted, warnings: invalid email and phone
			"C5,Dan,Ray,dan@example.com,,O9,\n" + // 6 quarantined: O9 does not exist
			"C6,Eve,Kay,eve@example.com,,O2,\n" + // 7 quarantined: O2 is quarantined
			"C7,Fay,Day,fay@example.com,,O1,2026-01-01T00:00:00Z\n" + // 8 merged: older duplicate of C7
			"C7,Fay,Day,fay@example.com,07700 900999,O1,2026-02-01T00:00:00Z\n" + // 9 accepted
			"C1,Ann,Smith,ann@example.com,07700 900123,,2026-01-01T00:00:00Z\n", // 10 merged: identical duplicate
		"referrers.csv": "referrer_id,role,first_name,last_name,company_name,email\n" +
			"R1,estate agent,Gus,Hart,Hart & Co,gus@example.org\n", // 2 accepted
		"matters.csv": "matter_id,matter_number,description,matter_type,fee_earner_id,status,key_stage,property_address,purchase_price,legal_fee,created_at,custom.Tenure\n" +
			"M1,CONV/1,Purchase of 1 High St,purchase,FE1,open,Searches,\"1 High St, Leeds LS1 1AA\",\"£250,000.00\",1200,01/03/2026 09:30,Freehold\n" + // 2 accepted
			"M2,CONV/2,,sale,FE9,Completed,Completion,\"2 Low Rd, York\",0,\"1,000.50\",2026-03-01,Leasehold\n" + // 3 accepted, warnings: no title, unknown fee earner
			"M3,CONV/3,Remortgage,remortgage,FE1,open,Valuation,,0,900,2026-03-01T09:00:00Z,\n" + // 4 accepted, warning: unmapped stage
			"M4,CONV/4,Probate thing,probate,FE1,paused?,Instructed,,,,bad-date,\n", // 5 accepted, warnings: type, status, timestamp
		"matter_clients.csv": "matter_id,client_id,is_lead\n" +
			"M1,C1,yes\n" + // 2 accepted
			"M1,C2,no\n" + // 3 merged: C2 is C1, the link repeats line 2
			"M2,C3,y\n" + // 4 accepted
			"M9,C1,y\n" + // 5 quarantined: no matter M9
			"M3,C5,y\n" + // 6 quarantined: client quarantined
			"M3,C99,y\n" + // 7 quarantined: no client C99
			"M4,C4,1\n", // 8 accepted
		"matter_referrers.csv": "matter_id,referrer_id,role,referral_fee\n" +
			"M1,R1,estate agent,£150\n" + // 2 accepted
			"M1,R2,broker,\n", // 3 quarantined: no referrer R2
		"key_stages.csv": "matter_id,stage,entered_at\n" +
			"M1,Instructed,01/03/2026 09:30\n" + // 2 accepted
			"M1,Searches,15/04/2026 10:00\n" + // 3 accepted
			"M1,Searches,15/04/2026 10:00\n" + // 4 merged: repeats line 3
			"M2,Exchange,2026-05-01T10:00:00Z\n" + // 5 accepted
			"M5,Instructed,2026-05-01T10:00:00Z\n" + // 6 quarantined: no matter M5
			"M3,Instructed,\n", // 7 quarantined: no entered_at
		"activities.csv": "activity_id,matter_id,type,subject,body,occurred_at,fee_earner_id,done\n" +
			"A1,M1,call,Intro call,,01/03/2026 10:00,FE1,yes\n" + // 2 accepted
			"A2,M1,Phone Call,Follow up,,02/03/2026 10:00,FE1,yes\n" + // 3 accepted (alias of call)
			"A3,M1,letter,Letter sent,\"Dear Sir,\nRegards\",03/03/2026 10:00,FE1,yes\n" + // 4-5 accepted, warning: unknown type
			"A4,M404,note,Orphan,,2026-03-01T10:00:00Z,FE1,yes\n" + // 6 quarantined: no matter
			"A5,M2,note,Note,\"multi\nline\",2026-03-01T10:00:00Z,FE7,no\n" + // 7-8 accepted, warning: unknown fee earner
			"A6,M1,email,,,,FE1,yes\n", // 9 quarantined: no occurred_at
		"documents.csv": "document_id,matter_id,file_name,path,size_bytes,sha256,content_type\n" +
			"D1,M1,contract.pdf,documents/M1/contract.pdf,17," + hexSum(contract) + ",application/pdf\n" + // 2 accepted
			"D2,M1,missing.pdf,documents/M1/missing.pdf,10,,application/pdf\n" + // 3 quarantined: file missing
			"D3,M2,id.pdf,documents/M2/id.pdf,7," + hexSum("other") + ",application/pdf\n" + // 4 quarantined: checksum
			"D4,M2,passwd,../../etc/passwd,,,\n" + // 5 quarantined: path leaves the bundle
			"D5,M2,big.bin,documents/M2/big.bin,,,application/octet-stream\n", // 6 accepted, over the limit, no checksum
		"templates.csv": "template_id,name,channel,trigger_stage,audience,subject,body,active\n" +
			"T1,Searches update,email,Searches,client,Update,\"Hi {{client_first_name}}\",true\n", // 2 accepted
		"documents/M1/contract.pdf": contract,
		"documents/M2/id.pdf":       idDoc,
		"documents/M2/big.bin":      big,
		"notes.txt":                 "stray",
	}
}

func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func smallLimitConfig(t testing.TB) *mapping.Config {
	t.Helper()
	cfg, err := mapping.Parse("test.yaml", []byte("version: 1\npolicies:\n  attachment_size_limit: 1KB\n"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func runAudit(t testing.TB, dir string, opt Options) *Report {
	t.Helper()
	b, err := pp.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	res, err := Run(context.Background(), b, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkConservation(t, res.Report)
	return res.Report
}

// checkConservation asserts that every row read is accounted for exactly
// once, and that every row that was not accepted has a flag saying why.
func checkConservation(t testing.TB, rep *Report) {
	t.Helper()
	if len(rep.Tables) != len(pp.Schema) {
		t.Errorf("report has %d tables; want all %d", len(rep.Tables), len(pp.Schema))
	}
	rowFlags := map[string]int{}
	for _, f := range rep.Flags {
		switch f.Code {
		case "duplicate_identical", "duplicate_conflict", "duplicate_link", "shared_email", "missing_reference", "parent_quarantined",
			"parent_skipped", "malformed_row", "blank_row", "missing_value", "bad_path", "document_missing", "document_checksum",
			"document_unreadable", "bad_timestamp":
			if f.Line > 0 {
				rowFlags[f.Table]++
			}
		case "missing_email", "missing_title":
			if strings.Contains(f.Message, "skipped by policy") {
				rowFlags[f.Table]++
			}
		}
	}
	for _, s := range pp.Schema {
		c, ok := rep.Tables[s.Name]
		if !ok {
			t.Errorf("table %s missing from the report", s.Name)
			continue
		}
		if !c.Balanced() {
			t.Errorf("%s: read %d != accepted %d + merged %d + skipped %d + quarantined %d", s.Name, c.Read, c.Accepted, c.Merged, c.Skipped, c.Quarantined)
		}
		if c.Accepted < 0 {
			t.Errorf("%s: accepted %d < 0", s.Name, c.Accepted)
		}
		notAccepted := c.Merged + c.Skipped + c.Quarantined
		allBad := false
		for _, f := range rep.Flags {
			if f.Table == s.Name && f.Severity == pp.SeverityError && f.Line == 0 && strings.HasPrefix(f.Message, "all ") {
				allBad = true
			}
		}
		if !allBad && rowFlags[s.Name] < notAccepted {
			t.Errorf("%s: %d rows not accepted but only %d row flags say why", s.Name, notAccepted, rowFlags[s.Name])
		}
	}
}

func TestRules(t *testing.T) {
	rep := runAudit(t, writeFiles(t, rulesBundle()), Options{Config: smallLimitConfig(t)})
	wantCounts := map[string]TableCounts{
		pp.TableFeeEarners:      {Read: 2, Accepted: 2},
		pp.TableOrganisations:   {Read: 2, Accepted: 1, Quarantined: 1},
		pp.TableClients:         {Read: 9, Accepted: 4, Merged: 3, Quarantined: 2},
		pp.TableReferrers:       {Read: 1, Accepted: 1},
		pp.TableMatters:         {Read: 4, Accepted: 4},
		pp.TableMatterClients:   {Read: 7, Accepted: 3, Merged: 1, Quarantined: 3},
		pp.TableMatterReferrers: {Read: 2, Accepted: 1, Quarantined: 1},
		pp.TableKeyStages:       {Read: 6, Accepted: 3, Merged: 1, Quarantined: 2},
		pp.TableActivities:      {Read: 6, Accepted: 4, Quarantined: 2},
		pp.TableDocuments:       {Read: 5, Accepted: 2, Quarantined: 3},
		pp.TableTemplates:       {Read: 1, Accepted: 1},
	}
	for table, want := range wantCounts {
		got := rep.Tables[table]
		got.File = ""
		if got != want {
			t.Errorf("%s counts = %+v; want %+v", table, got, want)
		}
	}
	wantFlags := []struct {
		table, code, id string
		line            int
		sev             pp.Severity
		msg             string
	}{
		{pp.TableOrganisations, "missing_value", "O2", 3, pp.SeverityWarning, "name is empty"},
		{pp.TableClients, "shared_email", "C2", 3, pp.SeverityWarning, "merged into clients C1 (line 2)"},
		{pp.TableClients, "missing_email", "C3", 4, pp.SeverityWarning, ""},
		{pp.TableClients, "invalid_email", "C4", 5, pp.SeverityWarning, ""},
		{pp.TableClients, "invalid_phone", "C4", 5, pp.SeverityWarning, ""},
		{pp.TableClients, "missing_reference", "C5", 6, pp.SeverityWarning, `organisation_id "O9" does not exist`},
		{pp.TableClients, "parent_quarantined", "C6", 7, pp.SeverityWarning, "line 3"},
		{pp.TableClients, "duplicate_conflict", "C7", 8, pp.SeverityWarning, "merged into clients C7 (line 9)"},
		{pp.TableClients, "duplicate_identical", "C1", 10, pp.SeverityInfo, "merged into clients C1 (line 2)"},
		{pp.TableMatters, "missing_title", "M2", 3, pp.SeverityWarning, ""},
		{pp.TableMatters, "unknown_fee_earner", "M2", 3, pp.SeverityWarning, `"FE9"`},
		{pp.TableMatters, "unmapped_stage", "M3", 4, pp.SeverityWarning, `"Valuation"`},
		{pp.TableMatters, "unknown_matter_type", "M4", 5, pp.SeverityWarning, `"probate"`},
		{pp.TableMatters, "unknown_status", "M4", 5, pp.SeverityWarning, `"paused?"`},
		{pp.TableMatters, "bad_timestamp", "M4", 5, pp.SeverityWarning, "created_at"},
		{pp.TableMatters, "matter_without_client", "M3", 4, pp.SeverityWarning, "1 matter has"},
		{pp.TableMatterClients, "duplicate_link", "", 3, pp.SeverityInfo, "line 2"},
		{pp.TableMatterClients, "missing_reference", "", 5, pp.SeverityWarning, `matter_id "M9"`},
		{pp.TableMatterClients, "parent_quarantined", "", 6, pp.SeverityWarning, `client_id "C5"`},
		{pp.TableMatterClients, "missing_reference", "", 7, pp.SeverityWarning, `client_id "C99"`},
		{pp.TableMatterReferrers, "missing_reference", "", 3, pp.SeverityWarning, `referrer_id "R2"`},
		{pp.TableKeyStages, "duplicate_link", "", 4, pp.SeverityInfo, "line 3"},
		{pp.TableKeyStages, "missing_reference", "", 6, pp.SeverityWarning, `"M5"`},
		{pp.TableKeyStages, "missing_value", "", 7, pp.SeverityWarning, "entered_at"},
		{pp.TableActivities, "unknown_activity_type", "A3", 4, pp.SeverityWarning, `"letter"`},
		{pp.TableActivities, "missing_reference", "A4", 6, pp.SeverityWarning, `"M404"`},
		{pp.TableActivities, "unknown_fee_earner", "A5", 7, pp.SeverityWarning, `"FE7"`},
		{pp.TableActivities, "missing_value", "A6", 9, pp.SeverityWarning, "occurred_at"},
		{pp.TableDocuments, "document_missing", "D2", 3, pp.SeverityWarning, "not in the bundle"},
		{pp.TableDocuments, "document_checksum", "D3", 4, pp.SeverityWarning, ""},
		{pp.TableDocuments, "bad_path", "D4", 5, pp.SeverityWarning, "leaves the bundle"},
		{pp.TableDocuments, "document_no_checksum", "D5", 6, pp.SeverityWarning, ""},
		{pp.TableDocuments, "file_over_limit", "D5", 6, pp.SeverityInfo, "2.0 KB, over the 1KB"},
		{"", "no_manifest", "", 0, pp.SeverityWarning, ""},
		{"", "unused_file", "", 0, pp.SeverityInfo, "notes.txt"},
	}
	for _, w := range wantFlags {
		found := false
		for _, f := range rep.Flags {
			if f.Table == w.table && f.Code == w.code && f.Line == w.line && f.SourceID == w.id {
				found = true
				if f.Severity != w.sev {
					t.Errorf("%s %s line %d: severity %s; want %s", w.table, w.code, w.line, f.Severity, w.sev)
				}
				if !strings.Contains(f.Message, w.msg) {
					t.Errorf("%s %s line %d: message %q lacks %q", w.table, w.code, w.line, f.Message, w.msg)
				}
			}
		}
		if !found {
			t.Errorf("no flag %s %s line %d id %q", w.table, w.code, w.line, w.id)
		}
	}
	if !rep.Trusted {
		t.Errorf("report not trusted; only warnings were planted")
	}
	if got := rep.Volumes.ActivitiesByType; got["call"] != 2 || got["task"] != 1 || got["note"] != 1 {
		t.Errorf("activities by type = %v; want call 2, task 1, note 1", got)
	}
	if d := rep.Volumes.Documents; d.Count != 2 || d.OverLimit != 1 || d.Bytes != 17+2048 {
		t.Errorf("documents = %+v; want 2, 1 over the limit, %d bytes", d, 17+2048)
	}
	if got := rep.Volumes.MattersByType; got["Purchase"] != 1 || got["probate"] != 1 {
		t.Errorf("matters by type = %v", got)
	}
	for _, f := range rep.Flags {
		for _, personal := range []string{"Ann", "Smith", "ann@example.com", "07700", "High St", "Dear Sir"} {
			if strings.Contains(f.Message, personal) {
				t.Errorf("flag message quotes personal data %q: %s", personal, f.Message)
			}
		}
	}
	golden(t, "rules.audit.json", rep)
}

// golden compares a report with testdata/<name>, ignoring where the bundle
// was; -update rewrites it.
func golden(t *testing.T, name string, rep *Report) {
	t.Helper()
	cp := *rep
	cp.Export.Location = "<bundle>"
	got, err := json.MarshalIndent(&cp, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("audit differs from %s (go test ./internal/extract -update rewrites it after review):\n%s", path, firstDiff(string(want), string(got)))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n- " + x + "\n+ " + y
		}
	}
	return ""
}

func TestPolicies(t *testing.T) {
	cfg, err := mapping.Parse("p.yaml", []byte("version: 1\npolicies:\n  missing_email: skip\n  missing_title: skip\n  fallback_activity_type: call\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep := runAudit(t, writeFiles(t, rulesBundle()), Options{Config: cfg})
	if got := rep.Tables[pp.TableClients].Skipped; got != 1 {
		t.Errorf("clients skipped = %d; want 1 (C3 has no email)", got)
	}
	if got := rep.Tables[pp.TableMatters].Skipped; got != 1 {
		t.Errorf("matters skipped = %d; want 1 (M2 has no description)", got)
	}
	// M2's children follow it: M2-C3 link, key stage, A5, D3-D5.
	if got := rep.Tables[pp.TableMatterClients].Skipped; got != 1 {
		t.Errorf("matter_clients skipped = %d; want 1", got)
	}
	if got := rep.Tables[pp.TableActivities].Skipped; got != 1 {
		t.Errorf("activities skipped = %d; want 1", got)
	}
	if got := rep.Volumes.ActivitiesByType["call"]; got != 3 {
		t.Errorf("calls = %d; want 3 (the unknown type falls back to call)", got)
	}
}

func TestManifestErrorsMakeTheBundleUntrusted(t *testing.T) {
	files := rulesBundle()
	matters := files["matters.csv"]
	acts := files["activities.csv"]
	files["manifest.json"] = `{"format":"perfectportal-export","version":1,"export_id":"x","files":{` +
		`"matters.csv":{"sha256":"` + hexSum(matters) + `","rows":4},` +
		`"activities.csv":{"sha256":"` + hexSum(acts) + `","rows":99},` +
		`"clients.csv":{"sha256":"` + hexSum("tampered") + `","rows":9}}}`
	rep := runAudit(t, writeFiles(t, files), Options{Config: smallLimitConfig(t)})
	if rep.Trusted {
		t.Fatalf("report trusted despite manifest disagreements")
	}
	if c := rep.Tables[pp.TableActivities]; c.Quarantined != c.Read || c.Read != 6 {
		t.Errorf("activities = %+v; want all 6 quarantined (row count 6 != 99)", c)
	}
	if c := rep.Tables[pp.TableClients]; c.Quarantined != 9 {
		t.Errorf("clients = %+v; want all 9 quarantined (checksum)", c)
	}
	// Clients quarantined: every matter_clients row now points at a quarantined client or matter.
	if c := rep.Tables[pp.TableMatterClients]; c.Accepted != 0 {
		t.Errorf("matter_clients accepted = %d; want 0 once clients cannot be trusted", c.Accepted)
	}
	if c := rep.Tables[pp.TableMatters]; c.Accepted != 4 {
		t.Errorf("matters = %+v; want all 4 accepted (its manifest entry agrees)", c)
	}
	var codes []string
	for _, f := range rep.Flags {
		if f.Severity == pp.SeverityError {
			codes = append(codes, f.Table+":"+f.Code)
		}
	}
	for _, want := range []string{"clients:checksum_mismatch", "activities:row_count_mismatch"} {
		found := false
		for _, c := range codes {
			found = found || c == want
		}
		if !found {
			t.Errorf("error flags %v lack %s", codes, want)
		}
	}
}

func TestMissingRequiredColumn(t *testing.T) {
	files := rulesBundle()
	files["activities.csv"] = "activity_id,matter_id,type\nA1,M1,call\nA2,M1,call\n"
	rep := runAudit(t, writeFiles(t, files), Options{})
	if c := rep.Tables[pp.TableActivities]; c.Quarantined != 2 || c.Read != 2 {
		t.Errorf("activities = %+v; want both quarantined", c)
	}
	if rep.Trusted {
		t.Errorf("trusted; want untrusted (occurred_at missing)")
	}
}
