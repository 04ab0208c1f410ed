package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/pipedrive/sandbox"
)

func cmdSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sandbox", "--addr HOST:PORT [--plan lite|growth|premium|ultimate] [--seats N] [--seed N] [--token T] [--state FILE] [--public]", stderr)
	addr := fs.String("addr", "127.0.0.1:8765", "address to listen on (port 0 picks a free port)")
	plan := fs.String("plan", "growth", "Pipedrive plan: lite, growth, premium or ultimate (burst limit, token budget, custom field cap)")
	seats := fs.Int("seats", 1, "seats: the daily token budget is 30,000 × plan multiplier × seats")
	seed := fs.Int64("seed", 1, "seed for custom field keys and injected faults")
	token := fs.String("token", sandbox.DefaultToken, "the API token the sandbox accepts")
	state := fs.String("state", "", "file to load the sandbox's data from at start and save it to on SIGINT/SIGTERM")
	public := fs.Bool("public", false, "allow listening on an address other than loopback")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if !*public && !isLoopback(*addr) {
		fmt.Fprintf(stderr, "conveyor sandbox: %s is not a loopback address; pass --public to listen on it anyway\n", *addr)
		return exitUsage
	}
	sb, err := sandbox.New(sandbox.Options{Plan: *plan, Seats: *seats, Seed: *seed, Token: *token})
	if err != nil {
		fmt.Fprintf(stderr, "conveyor sandbox: %v\n", err)
		return exitUsage
	}
	if *state != "" {
		switch err := sb.Load(*state); {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			fmt.Fprintf(stderr, "conveyor sandbox: %v\n", err)
			return exitUsage
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor sandbox: listen: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	shown := "token from --token"
	if *token == sandbox.DefaultToken {
		shown = "token " + sandbox.DefaultToken
	}
	fmt.Fprintf(stdout, "Pipedrive sandbox on http://%s (%s, %d seats, %s)\n", ln.Addr(), *plan, *seats, shown)

	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		fmt.Fprintf(stderr, "conveyor sandbox: serve: %v\n", err)
		return exitUntrusted
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	if *state != "" {
		if err := sb.Save(*state); err != nil {
			fmt.Fprintf(stderr, "conveyor sandbox: %v\n", err)
			return exitUntrusted
		}
		fmt.Fprintf(stdout, "Saved the sandbox's data to %s\n", *state)
	}
	return exitOK
}

// isLoopback tells whether addr's host is a loopback address or name.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
