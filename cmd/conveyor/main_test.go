package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/blob/blobtest"
	"github.com/conveyor-migrate/conveyor/internal/blob/s3blob"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
)

// conveyor runs the command in-process and returns its exit code and output.
func conveyor(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func sample(t *testing.T, extra ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "export")
	args := append([]string{"sample-export", "--out", dir, "--matters", "25", "--seed", "3", "--large-doc-bytes", "2048"}, extra...)
	if code, _, stderr := conveyor(t, args...); code != 0 {
		t.Fatalf("sample-export: exit %d: %s", code, stderr)
	}
	if len(extra) > 0 && extra[0] == "--zip" {
		return dir + ".zip"
	}
	return dir
}

func TestAuditJSON(t *testing.T) {
	dir := sample(t, "--messy")
	code, stdout, stderr := conveyor(t, "audit", "--export", dir, "--json")
	if code != exitOK {
		t.Fatalf("exit %d; want 0: %s", code, stderr)
	}
	var rep struct {
		Tables  map[string]map[string]any `json:"tables"`
		Flags   []map[string]any          `json:"flags"`
		Volumes struct {
			MattersByType    map[string]int `json:"matters_by_type"`
			MattersByStage   map[string]int `json:"matters_by_stage"`
			MattersByStatus  map[string]int `json:"matters_by_status"`
			ActivitiesByType map[string]int `json:"activities_by_type"`
			Documents        map[string]any `json:"documents"`
		} `json:"volumes"`
		Risks []map[string]any `json:"risks"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--json output is not one JSON object: %v", err)
	}
	tables := []string{"fee_earners", "clients", "organisations", "referrers", "matters", "matter_clients", "matter_referrers", "key_stages", "activities", "documents", "templates"}
	for _, name := range tables {
		c, ok := rep.Tables[name]
		if !ok {
			t.Errorf("tables.%s missing", name)
			continue
		}
		for _, k := range []string{"read", "accepted", "merged", "skipped", "quarantined"} {
			if _, ok := c[k]; !ok {
				t.Errorf("tables.%s.%s missing", name, k)
			}
		}
		n := func(k string) float64 { f, _ := c[k].(float64); return f }
		if n("read") != n("accepted")+n("merged")+n("skipped")+n("quarantined") {
			t.Errorf("tables.%s does not add up: %v", name, c)
		}
	}
	if len(rep.Flags) == 0 {
		t.Fatal("a messy export raised no flags")
	}
	for _, f := range rep.Flags {
		for _, k := range []string{"severity", "code", "table", "line", "source_id", "message"} {
			if _, ok := f[k]; !ok {
				t.Errorf("flag %v lacks %s", f, k)
			}
		}
		switch f["severity"] {
		case "info", "warning", "error":
		default:
			t.Errorf("flag severity %v", f["severity"])
		}
	}
	if len(rep.Volumes.MattersByType) == 0 || len(rep.Volumes.ActivitiesByType) == 0 || rep.Volumes.Documents["count"] == nil {
		t.Errorf("volumes incomplete: %+v", rep.Volumes)
	}
	if len(rep.Risks) == 0 {
		t.Errorf("no risk register")
	}
}

func TestAuditText(t *testing.T) {
	code, stdout, _ := conveyor(t, "audit", "--export", sample(t, "--messy"))
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Rows per table", "quarantined", "Risk register", "Flags:", "every row is accounted for"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text report lacks %q", want)
		}
	}
}

func TestAuditExitCodes(t *testing.T) {
	tampered := sample(t)
	if err := os.WriteFile(filepath.Join(tampered, "clients.csv"), []byte("client_id,email\nX1,x@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(badConfig, []byte("version: 1\npolicies:\n  missing_email: maybe\n"), 0o644)
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr string
	}{
		{"clean bundle", []string{"audit", "--export", sample(t)}, exitOK, ""},
		{"zipped bundle", []string{"audit", "--export", sample(t, "--zip")}, exitOK, ""},
		{"file disagrees with its manifest", []string{"audit", "--export", tampered}, exitUntrusted, "clients.csv"},
		{"no --export", []string{"audit"}, exitUsage, "--export is required"},
		{"missing bundle", []string{"audit", "--export", filepath.Join(t.TempDir(), "nope")}, exitUsage, "nope"},
		{"not a bundle", []string{"audit", "--export", t.TempDir()}, exitUsage, "not a Perfect Portal export bundle"},
		{"bad config names its line", []string{"audit", "--export", sample(t), "--config", badConfig}, exitUsage, "line 3"},
		{"unknown flag", []string{"audit", "--nope"}, exitUsage, "flag provided but not defined"},
		{"unknown command", []string{"migrate-everything"}, exitUsage, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := conveyor(t, tc.args...)
			if code != tc.want {
				t.Errorf("exit %d; want %d (stderr: %s)", code, tc.want, stderr)
			}
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tc.wantStderr)
			}
		})
	}
}

// TestAuditFromS3 reads a bundle from S3 over the real protocol (gofakes3).
func TestAuditFromS3(t *testing.T) {
	client, bucket := blobtest.NewS3TestServer(t)
	store := s3blob.New(client, bucket, "")
	dir := sample(t)
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return store.Put(context.Background(), "exports/m1/e1/"+filepath.ToSlash(rel), f)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONVEYOR_S3_ENDPOINT", *client.Options().BaseEndpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "eu-west-2")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	code, stdout, stderr := conveyor(t, "audit", "--export", "s3://"+bucket+"/exports/m1/e1/", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	local, localOut, _ := conveyor(t, "audit", "--export", dir, "--json")
	if local != exitOK {
		t.Fatal(local)
	}
	strip := func(s string) map[string]any {
		var m map[string]any
		json.Unmarshal([]byte(s), &m)
		delete(m["export"].(map[string]any), "location")
		return m
	}
	a, _ := json.Marshal(strip(stdout))
	b, _ := json.Marshal(strip(localOut))
	if string(a) != string(b) {
		t.Errorf("the audit of the bundle in S3 differs from the local one")
	}
}

func TestExtract(t *testing.T) {
	state := t.TempDir()
	code, stdout, stderr := conveyor(t, "extract", "--export", sample(t, "--messy"), "--state", state, "--migration", "m-1")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "matters") {
		t.Errorf("summary lacks matters: %s", stdout)
	}
	for _, f := range []string{"manifest.json", "audit.json", "matters/00001.ndjson", "clients/00001.ndjson"} {
		p := filepath.Join(state, "migrations", "m-1", "staged", filepath.FromSlash(f))
		info, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s not staged: %v", f, err)
			continue
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v; want 0600 (privileged data)", f, info.Mode().Perm())
		}
	}
	if code, _, stderr := conveyor(t, "extract", "--export", sample(t), "--migration", "../escape"); code != exitUsage || !strings.Contains(stderr, "--migration") {
		t.Errorf("bad migration id: exit %d, %s", code, stderr)
	}
}

func TestInitConfig(t *testing.T) {
	code, stdout, _ := conveyor(t, "init-config")
	if code != exitOK || stdout != string(mapping.DefaultYAML()) {
		t.Fatalf("init-config to stdout: exit %d", code)
	}
	p := filepath.Join(t.TempDir(), "conveyor.yaml")
	if code, _, stderr := conveyor(t, "init-config", "--out", p); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := mapping.Load(p); err != nil {
		t.Errorf("the written configuration does not load: %v", err)
	}
	if code, _, stderr := conveyor(t, "init-config", "--out", p); code != exitUsage || !strings.Contains(stderr, "exists") {
		t.Errorf("second write: exit %d %q; want a refusal", code, stderr)
	}
	if code, _, _ := conveyor(t, "init-config", "--out", p, "--force"); code != exitOK {
		t.Errorf("--force: exit %d", code)
	}
}

func TestSampleExportIsDeterministic(t *testing.T) {
	read := func(dir string) map[string]string {
		out := map[string]string{}
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				data, _ := os.ReadFile(p)
				out[rel] = string(data)
			}
			return nil
		})
		return out
	}
	a, b := read(sample(t, "--messy")), read(sample(t, "--messy"))
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("file counts %d, %d", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s differs between two runs with the same seed", k)
		}
	}
	if code, _, _ := conveyor(t, "sample-export"); code != exitUsage {
		t.Errorf("no --out: exit %d; want 2", code)
	}
}
