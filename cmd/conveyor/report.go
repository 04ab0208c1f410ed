package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/conveyor-migrate/conveyor/internal/blob/fileblob"
	"github.com/conveyor-migrate/conveyor/internal/ledger"
	"github.com/conveyor-migrate/conveyor/internal/ledger/boltledger"
	"github.com/conveyor-migrate/conveyor/internal/report"
)

func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("report", "--migration ID [--run ID] [--state DIR] [--out FILE] [--json] [--costs FILE]", stderr)
	migration := fs.String("migration", "", "migration id (required)")
	run := fs.String("run", "", "the run to report on (default: the latest)")
	state := fs.String("state", ".conveyor", "local state: the blob store and the ledger")
	out := fs.String("out", "", "the file to write (default: <state>/reports/<migration>-<run>.html, or stdout with --json)")
	asJSON := fs.Bool("json", false, "write the report's data as JSON instead of HTML")
	costsPath := fs.String("costs", "", "a YAML file of cost figures (a costs: section) for the cost worksheet")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if !migrationIDPattern.MatchString(*migration) {
		fmt.Fprintln(stderr, "conveyor report: --migration is required (letters, digits, '.', '_' and '-')")
		return exitUsage
	}
	if *run != "" && !migrationIDPattern.MatchString(*run) {
		fmt.Fprintf(stderr, "conveyor report: --run %q: use letters, digits, '.', '_' and '-'\n", *run)
		return exitUsage
	}
	var overrides []report.CostOverrides
	if *costsPath != "" {
		data, err := os.ReadFile(*costsPath)
		if err != nil {
			fmt.Fprintf(stderr, "conveyor report: --costs: %v\n", err)
			return exitUsage
		}
		o, ok, err := report.ParseCosts(*costsPath, data)
		if err != nil || !ok {
			if err == nil {
				err = errors.New("no cost figures in it")
			}
			fmt.Fprintf(stderr, "conveyor report: --costs %s: %v\n", *costsPath, err)
			return exitUsage
		}
		overrides = append(overrides, o)
	}
	storeDir := filepath.Join(*state, "store")
	if _, err := os.Stat(storeDir); err != nil {
		fmt.Fprintf(stderr, "conveyor report: no state at %s: run a migration with --state %s first\n", storeDir, *state)
		return exitUsage
	}
	store, err := fileblob.New(storeDir)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor report: %v\n", err)
		return exitUsage
	}
	led, closeLedger, ledgerNote := openLedgerReadOnly(filepath.Join(*state, "ledger.db"))
	defer closeLedger()
	d, err := report.Build(ctx, store, led, *migration, *run)
	switch {
	case errors.Is(err, report.ErrMigrationNotFound):
		fmt.Fprintf(stderr, "conveyor report: migration %s: nothing in %s\n", *migration, storeDir)
		return exitUsage
	case errors.Is(err, report.ErrRunNotFound):
		fmt.Fprintf(stderr, "conveyor report: migration %s has no run %s\n", *migration, *run)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "conveyor report: %v\n", err)
		return exitUntrusted
	}
	if ledgerNote != "" {
		d.Notes[report.SectionRollback] = append(d.Notes[report.SectionRollback], ledgerNote)
	}
	for _, o := range overrides {
		d.AddCosts(o)
	}

	write := func(w io.Writer) error {
		if *asJSON {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(d)
		}
		return report.Render(w, d)
	}
	if *asJSON && *out == "" {
		if err := write(stdout); err != nil {
			fmt.Fprintf(stderr, "conveyor report: %v\n", err)
			return exitUntrusted
		}
		return exitOK
	}
	path := *out
	if path == "" {
		name := d.Identity.Migration
		if d.Identity.Run != "" {
			name += "-" + d.Identity.Run
		}
		path = filepath.Join(*state, "reports", name+".html")
	}
	if err := writePrivate(path, write); err != nil {
		fmt.Fprintf(stderr, "conveyor report: %v\n", err)
		return exitUntrusted
	}
	fmt.Fprintln(stdout, path)
	return exitOK
}

// writePrivate writes a file owner-only (0600), whole or not at all: the
// report is the firm's client data.
func writePrivate(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".report-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// openLedgerReadOnly opens the state directory's ledger for reading without
// changing it: the file is opened read-only (a shared lock, so a running
// migration is never blocked or written under) and copied, consistently,
// into a private temporary file that boltledger then opens. A missing or
// busy ledger gives nil and a note for the report.
func openLedgerReadOnly(path string) (ledger.Store, func(), string) {
	none := func() {}
	if _, err := os.Stat(path); err != nil {
		return nil, none, ""
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return nil, none, fmt.Sprintf("The ledger (%s) could not be opened (%v): another conveyor command may be using it; run the report again when it has finished.", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-ledger-*")
	if err != nil {
		db.Close()
		return nil, none, fmt.Sprintf("The ledger could not be read: %v", err)
	}
	name := tmp.Name()
	cleanup := func() { os.Remove(name) }
	err = db.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(tmp)
		return err
	})
	db.Close()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return nil, none, fmt.Sprintf("The ledger could not be read: %v", err)
	}
	led, err := boltledger.Open(name)
	if err != nil {
		cleanup()
		return nil, none, fmt.Sprintf("The ledger could not be read: %v", err)
	}
	return led, func() { led.Close(); cleanup() }, ""
}
