package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

// TestLogsCarryNoClientData runs a whole migration of a sample export (plan,
// full, delta, rollback) and finds none of its clients', referrers' or
// organisations' names, emails or phone numbers, nor the API token, in
// anything the commands printed or logged, while the log does hold the run's ids and counts.
func TestLogsCarryNoClientData(t *testing.T) {
	dir := t.TempDir()
	export, newer, state := filepath.Join(dir, "export"), filepath.Join(dir, "newer"), filepath.Join(dir, "state")
	for _, args := range [][]string{
		{"sample-export", "--out", export, "--matters", "12", "--seed", "9", "--large-doc-bytes", "4096", "--messy"},
		{"sample-export", "--out", newer, "--matters", "12", "--seed", "9", "--large-doc-bytes", "4096", "--messy", "--newer", "1"},
	} {
		if code, _, stderr := conveyor(t, args...); code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
	}
	var printed strings.Builder
	for _, args := range [][]string{
		{"audit", "--export", export},
		{"run", "--export", export, "--migration", "m", "--mode", "plan", "--sandbox", "--plan", "ultimate", "--state", state},
		{"run", "--export", export, "--migration", "m", "--mode", "full", "--sandbox", "--plan", "ultimate", "--state", state, "--yes"},
		{"run", "--export", newer, "--migration", "m", "--mode", "delta", "--sandbox", "--plan", "ultimate", "--state", state, "--yes"},
		{"rollback", "--migration", "m", "--sandbox", "--plan", "ultimate", "--state", state, "--yes"},
	} {
		code, stdout, stderr := conveyor(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args[:2], code, stderr)
		}
		printed.WriteString(stdout + stderr)
	}
	logData, err := os.ReadFile(filepath.Join(state, logName))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(state, logName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v (%v); want 0600", fi.Mode(), err)
	}
	logs := string(logData)
	for _, want := range []string{"migration=m", "msg=load", "created=", "msg=verify", "msg=rollback"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q: it should say what the run did", want)
		}
	}
	secrets := clientValues(t, export)
	secrets = append(secrets, clientValues(t, newer)...)
	secrets = append(secrets, sandbox.DefaultToken) // the API token the run used
	for _, v := range secrets {
		if strings.Contains(logs, v) {
			t.Errorf("the log carries client data %q", v)
		}
		if strings.Contains(printed.String(), v) {
			t.Errorf("the output carries client data %q", v)
		}
	}
	t.Logf("%d values of client data looked for in %d bytes of log and %d of output", len(secrets), len(logs), printed.Len())
}

// clientValues are the export's personal data: emails, full names and
// phone numbers of clients and referrers, organisations' names.
func clientValues(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	read := func(file string, cols ...[]string) {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s: %d rows, %v", file, len(rows), err)
		}
		idx := map[string]int{}
		for i, h := range rows[0] {
			idx[h] = i
		}
		for _, r := range rows[1:] {
			for _, c := range cols {
				var parts []string
				for _, name := range c {
					if i, ok := idx[name]; ok && strings.TrimSpace(r[i]) != "" {
						parts = append(parts, strings.TrimSpace(r[i]))
					}
				}
				if v := strings.Join(parts, " "); len(parts) == len(c) && len(v) > 5 {
					out = append(out, v)
				}
			}
		}
	}
	read("clients.csv", []string{"email"}, []string{"first_name", "last_name"}, []string{"phone"}, []string{"mobile"})
	read("referrers.csv", []string{"email"}, []string{"first_name", "last_name"}, []string{"phone"})
	read("organisations.csv", []string{"name"})
	if len(out) < 20 {
		t.Fatalf("only %d values of client data found in %s", len(out), dir)
	}
	return out
}
