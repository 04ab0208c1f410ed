package extract

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/memblob"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

// plantedFlag is the flag each planted problem must raise.
var plantedFlag = map[string]struct{ table, code string }{
	"duplicate_identical":   {pp.TableMatters, "duplicate_identical"},
	"duplicate_conflict":    {pp.TableClients, "duplicate_conflict"},
	"shared_email":          {pp.TableClients, "shared_email"},
	"orphan_activity":       {pp.TableActivities, "missing_reference"},
	"orphan_matter_client":  {pp.TableMatterClients, "missing_reference"},
	"orphan_key_stage":      {pp.TableKeyStages, "missing_reference"},
	"missing_title":         {pp.TableMatters, "missing_title"},
	"missing_email":         {pp.TableClients, "missing_email"},
	"invalid_email":         {pp.TableClients, "invalid_email"},
	"invalid_phone":         {pp.TableClients, "invalid_phone"},
	"unknown_activity_type": {pp.TableActivities, "unknown_activity_type"},
	"unknown_fee_earner":    {pp.TableMatters, "unknown_fee_earner"},
	"document_missing":      {pp.TableDocuments, "document_missing"},
	"document_checksum":     {pp.TableDocuments, "document_checksum"},
	"undeclared_cp1252":     {pp.TableOrganisations, "undeclared_encoding"},
}

// Planted problems the reader absorbs without a flag: they are the
// spellings and encodings it must simply read right.
var absorbed = map[string]bool{"bom": true, "crlf": true, "declared_cp1252": true, "ambiguous_hour": true, "stage_synonym": true}

type sampleCase struct {
	name string
	opt  sampleexport.Options
	zip  bool
}

var sampleCases = []sampleCase{
	{"clean csv", sampleexport.Options{Matters: 40, Seed: 1}, false},
	{"messy csv", sampleexport.Options{Matters: 40, Seed: 2, Messy: true}, false},
	{"clean ndjson", sampleexport.Options{Matters: 25, Seed: 3, Format: sampleexport.FormatNDJSON}, false},
	{"messy ndjson", sampleexport.Options{Matters: 25, Seed: 4, Format: sampleexport.FormatNDJSON, Messy: true}, false},
	{"clean xlsx", sampleexport.Options{Matters: 25, Seed: 5, Format: sampleexport.FormatXLSX}, false},
	{"messy xlsx", sampleexport.Options{Matters: 25, Seed: 6, Format: sampleexport.FormatXLSX, Messy: true}, false},
	{"messy mixed", sampleexport.Options{Matters: 30, Seed: 7, Format: sampleexport.FormatMixed, Messy: true}, false},
	{"messy zip", sampleexport.Options{Matters: 30, Seed: 8, Messy: true}, true},
	{"one matter", sampleexport.Options{Matters: 1, Seed: 9, Messy: true}, false},
}

// writeSample writes a sample bundle with small large-documents and
// returns its location.
func writeSample(t testing.TB, c sampleCase) (string, sampleexport.Summary) {
	t.Helper()
	opt := c.opt
	if opt.LargeDocumentBytes == 0 {
		opt.LargeDocumentBytes = 40 << 10
	}
	dir := t.TempDir()
	var sum sampleexport.Summary
	var err error
	loc := filepath.Join(dir, "export")
	if c.zip {
		loc += ".zip"
		sum, err = sampleexport.WriteZip(loc, opt)
	} else {
		sum, err = sampleexport.Write(loc, opt)
	}
	if err != nil {
		t.Fatal(err)
	}
	return loc, sum
}

// limitConfig sets the attachment limit below the samples' large documents.
func limitConfig(t testing.TB) *mapping.Config {
	t.Helper()
	cfg, err := mapping.Parse("limit.yaml", []byte("version: 1\npolicies:\n  attachment_size_limit: 32KB\n"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSampleExports(t *testing.T) {
	for _, c := range sampleCases {
		t.Run(c.name, func(t *testing.T) {
			loc, sum := writeSample(t, c)
			rep := runAudit(t, loc, Options{Config: limitConfig(t)})
			if !rep.Trusted {
				for _, f := range rep.Flags {
					if f.Severity == pp.SeverityError {
						t.Errorf("error flag: %s", f)
					}
				}
			}
			for table, n := range sum.Rows {
				if got := rep.Tables[table].Read; got != n {
					t.Errorf("%s: read %d rows; the generator wrote %d", table, got, n)
				}
			}
			for code, n := range sum.Planted {
				if absorbed[code] {
					continue
				}
				want, ok := plantedFlag[code]
				if !ok {
					t.Errorf("planted %q has no expected flag in this test; add it", code)
					continue
				}
				got := 0
				for _, f := range rep.Flags {
					if f.Table == want.table && f.Code == want.code {
						got++
					}
				}
				if got < n {
					t.Errorf("planted %d × %s; found %d %s flags on %s", n, code, got, want.code, want.table)
				}
			}
			if !c.opt.Messy {
				for _, f := range rep.Flags {
					if f.Severity != pp.SeverityInfo && f.Code != "file_over_limit" {
						t.Errorf("clean sample raised %s", f)
					}
				}
			}
			if sum.Documents > 0 && rep.Volumes.Documents.OverLimit == 0 && c.opt.Matters >= 20 {
				t.Errorf("no document over the 32KB limit; the sample has 40KB ones")
			}
		})
	}
}

func TestSampleAuditGolden(t *testing.T) {
	for _, c := range []struct {
		name   string
		sample sampleCase
	}{
		{"sample-messy-csv.audit.json", sampleCase{opt: sampleexport.Options{Matters: 30, Seed: 11, Messy: true}}},
		{"sample-clean-xlsx.audit.json", sampleCase{opt: sampleexport.Options{Matters: 12, Seed: 12, Format: sampleexport.FormatXLSX}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			loc, _ := writeSample(t, c.sample)
			golden(t, c.name, runAudit(t, loc, Options{Config: limitConfig(t)}))
		})
	}
}

// readStaged reads a staged prefix back: the manifest, and every chunk's
// lines after checking its bytes against the manifest.
func readStaged(t *testing.T, store blob.Store, prefix string) (*StageManifest, map[string][][]byte) {
	t.Helper()
	ctx := context.Background()
	data, err := store.Get(ctx, prefix+StageManifestName)
	if err != nil {
		t.Fatal(err)
	}
	var m StageManifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	lines := map[string][][]byte{}
	for kind, k := range m.Kinds {
		n := 0
		for _, c := range k.Chunks {
			body, err := store.Get(ctx, prefix+c.Key)
			if err != nil {
				t.Fatalf("chunk %s: %v", c.Key, err)
			}
			sum := sha256.Sum256(body)
			if hex.EncodeToString(sum[:]) != c.SHA256 || int64(len(body)) != c.Bytes {
				t.Errorf("chunk %s: bytes or sha256 differ from the manifest", c.Key)
			}
			sc := bufio.NewScanner(bytes.NewReader(body))
			sc.Buffer(nil, 64<<20)
			cl := 0
			for sc.Scan() {
				lines[kind] = append(lines[kind], append([]byte(nil), sc.Bytes()...))
				cl++
			}
			if cl != c.Records {
				t.Errorf("chunk %s: %d lines; manifest says %d", c.Key, cl, c.Records)
			}
			n += cl
		}
		if n != k.Records {
			t.Errorf("%s: %d records in chunks; manifest says %d", kind, n, k.Records)
		}
	}
	return &m, lines
}

func stage(t *testing.T, loc string, store blob.Store, prefix string, cfg *mapping.Config) *Result {
	t.Helper()
	b, err := pp.Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	res, err := Run(context.Background(), b, Options{Config: cfg, Stage: store, StagePrefix: prefix, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func snapshot(t *testing.T, store blob.Store, prefix string) map[string]string {
	t.Helper()
	infos, err := store.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, in := range infos {
		data, _ := store.Get(context.Background(), in.Key)
		out[in.Key] = string(data)
	}
	return out
}

func TestStaging(t *testing.T) {
	loc, _ := writeSample(t, sampleCase{opt: sampleexport.Options{Matters: 45, Seed: 21, Messy: true}})
	cfg := limitConfig(t)
	cfg.Staging.ChunkMatters = 10
	store := memblob.New()
	const prefix = "migrations/m1/staged/"
	res := stage(t, loc, store, prefix, cfg)
	rep := res.Report
	m, lines := readStaged(t, store, prefix)

	kinds := map[string]string{KindFeeEarners: pp.TableFeeEarners, KindOrganisations: pp.TableOrganisations, KindClients: pp.TableClients,
		KindReferrers: pp.TableReferrers, KindMatters: pp.TableMatters, KindTemplates: pp.TableTemplates}
	for kind, table := range kinds {
		if got, want := m.Kinds[kind].Records, rep.Tables[table].Accepted; got != want {
			t.Errorf("%s: %d staged; %d accepted", kind, got, want)
		}
	}
	if got, want := len(m.Kinds[KindMatters].Chunks), (rep.Tables[pp.TableMatters].Accepted+9)/10; got != want {
		t.Errorf("matter chunks = %d; want %d of at most 10 matters", got, want)
	}
	children := map[string]int{}
	var merged []string
	clientIDs := map[string]bool{}
	for _, line := range lines[KindClients] {
		var c pp.Client
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatal(err)
		}
		clientIDs[c.ID] = true
		merged = append(merged, c.MergedIDs...)
	}
	if len(merged) == 0 {
		t.Errorf("no staged client lists the clients merged into it by email")
	}
	for _, line := range lines[KindMatters] {
		var mr MatterRecord
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&mr); err != nil {
			t.Fatalf("matter line does not decode as MatterRecord: %v", err)
		}
		if mr.Matter.Title == "" {
			t.Errorf("matter %s has no title", mr.Matter.ID)
		}
		for _, c := range mr.Clients {
			if c.MatterID != mr.Matter.ID {
				t.Errorf("client link of %s staged under %s", c.MatterID, mr.Matter.ID)
			}
			if !clientIDs[c.ClientID] {
				t.Errorf("matter %s links client %s, which is not a staged person", mr.Matter.ID, c.ClientID)
			}
		}
		for _, a := range mr.Activities {
			if a.MatterID != mr.Matter.ID {
				t.Errorf("activity %s of %s staged under %s", a.ID, a.MatterID, mr.Matter.ID)
			}
			if a.Type == "" || a.OccurredAt.IsZero() {
				t.Errorf("activity %s: type %q, time %v", a.ID, a.Type, a.OccurredAt)
			}
		}
		children[pp.TableMatterClients] += len(mr.Clients)
		children[pp.TableMatterReferrers] += len(mr.Referrers)
		children[pp.TableKeyStages] += len(mr.Stages)
		children[pp.TableActivities] += len(mr.Activities)
		children[pp.TableDocuments] += len(mr.Documents)
	}
	for table, n := range children {
		if want := rep.Tables[table].Accepted; n != want {
			t.Errorf("%s: %d staged under their matters; %d accepted", table, n, want)
		}
	}

	// Staging again converges on the same bytes.
	before := snapshot(t, store, prefix)
	stage(t, loc, store, prefix, cfg)
	after := snapshot(t, store, prefix)
	if len(before) != len(after) {
		t.Errorf("restaging changed the object count: %d → %d", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("restaging changed %s", k)
		}
	}

	// Larger chunks leave no stale chunk behind.
	cfg.Staging.ChunkMatters = 100
	stage(t, loc, store, prefix, cfg)
	m2, _ := readStaged(t, store, prefix)
	want := []string{prefix + AuditName, prefix + StageManifestName}
	for _, k := range m2.Kinds {
		for _, c := range k.Chunks {
			want = append(want, prefix+c.Key)
		}
	}
	sort.Strings(want)
	var got []string
	for k := range snapshot(t, store, prefix) {
		got = append(got, k)
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("objects after restaging with bigger chunks:\n%s\nwant exactly:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
