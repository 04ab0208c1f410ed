package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob/fileblob"
	"github.com/conveyor-migrate/conveyor/internal/ledger/boltledger"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	"github.com/conveyor-migrate/conveyor/internal/migrate"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

// logName is the log a command appends to in the state directory: text,
// one line per step and per Pipedrive attempt at debug level; ids, counts
// and durations, never client data or the token.
const logName = "conveyor.log"

// target says where a command works: the local state directory and the
// Pipedrive account (the company's, or the in-process sandbox).
type target struct {
	state         string
	sandbox       bool
	pipedriveURL  string
	plan          string
	seats         int
	requireLedger bool // the command undoes a migration: the ledger must exist
}

// open builds the migration environment: the blob store and ledger under
// the state directory and a throttled Pipedrive client. The returned close
// stops the sandbox (saving its state) and closes the ledger.
func (t target) open(cfg *mapping.Config) (*migrate.Env, func(), error) {
	if !t.sandbox && t.pipedriveURL == "" {
		return nil, nil, errors.New("give --pipedrive-url (and PIPEDRIVE_API_TOKEN), or --sandbox")
	}
	ledgerPath := filepath.Join(t.state, "ledger.db")
	if t.requireLedger {
		if _, err := os.Stat(ledgerPath); err != nil {
			return nil, nil, fmt.Errorf("no ledger at %s: nothing was migrated from this state directory", ledgerPath)
		}
	}
	if err := os.MkdirAll(t.state, 0o700); err != nil {
		return nil, nil, fmt.Errorf("state %s: %w", t.state, err)
	}
	store, err := fileblob.New(filepath.Join(t.state, "store"))
	if err != nil {
		return nil, nil, err
	}
	baseURL, token := t.pipedriveURL, os.Getenv("PIPEDRIVE_API_TOKEN")
	if !t.sandbox && token == "" {
		return nil, nil, errors.New("PIPEDRIVE_API_TOKEN is not set")
	}
	led, err := boltledger.Open(ledgerPath)
	if err != nil {
		return nil, nil, err
	}
	stop := func() {}
	if t.sandbox {
		url, s, err := startRunSandbox(t.plan, t.seats, filepath.Join(t.state, "sandbox.json"))
		if err != nil {
			led.Close()
			return nil, nil, fmt.Errorf("sandbox: %w", err)
		}
		baseURL, token, stop = url, sandbox.DefaultToken, s
	}
	logFile, err := os.OpenFile(filepath.Join(t.state, logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		stop()
		led.Close()
		return nil, nil, fmt.Errorf("log: %w", err)
	}
	log := slog.New(slog.NewTextHandler(logFile, nil))
	client, err := pipedrive.New(pipedrive.Config{BaseURL: baseURL, Token: token, Plan: t.plan, Seats: t.seats, Logger: log})
	if err != nil {
		stop()
		led.Close()
		logFile.Close()
		return nil, nil, err
	}
	env := &migrate.Env{Store: store, Ledger: led, Pipedrive: client, Config: cfg, Now: time.Now, Log: log}
	return env, func() { stop(); led.Close(); logFile.Close() }, nil
}

// startRunSandbox serves an in-process sandbox on loopback, loading and
// saving its state so that successive runs (and rollback) see one account.
func startRunSandbox(plan string, seats int, path string) (string, func(), error) {
	sb, err := sandbox.New(sandbox.Options{Plan: plan, Seats: seats, Seed: 1})
	if err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(path); err == nil {
		if err := sb.Load(path); err != nil {
			return "", nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	stop := func() {
		srv.Close()
		sb.Save(path)
	}
	return "http://" + ln.Addr().String(), stop, nil
}
