// Command conveyor migrates a conveyancing firm's Perfect Portal export
// into Pipedrive. This is the local command: it runs every step on one
// machine with embedded defaults.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// Exit codes.
const (
	exitOK        = 0
	exitUntrusted = 1 // the command ran, but what it found cannot be trusted
	exitUsage     = 2 // bad usage, or input that cannot be read at all
)

var commands = []struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}{
	{"audit", "read an export bundle, check every row and report what will happen to it", cmdAudit},
	{"extract", "audit an export and stage its accepted rows as canonical chunks", cmdExtract},
	{"run", "migrate an export into Pipedrive: plan, a reviewed sample, or the full run, verified", cmdRun},
	{"rollback", "undo a migration in Pipedrive, newest write first, from the ledger", cmdRollback},
	{"report", "write a run's report: one self-contained HTML file to approve it by, and proof afterwards", cmdReport},
	{"approve", "answer a migration's waiting approval on AWS: approve (or reject) the run it holds", cmdApprove},
	{"sample-export", "write a realistic, deterministic sample export bundle", cmdSampleExport},
	{"init-config", "write the default mapping configuration, with comments", cmdInitConfig},
	{"sandbox", "run a Pipedrive-compatible sandbox server for tests and rehearsals", cmdSandbox},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "conveyor: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Conveyor moves a conveyancing firm from Perfect Portal to Pipedrive: verified, throttled, reversible.")
	fmt.Fprintln(w, "\nUsage: conveyor <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'conveyor <command> -h' for a command's flags.")
}

// newFlags makes a flag set that reports errors to stderr without exiting.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: conveyor %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; it returns the exit code to stop with, or -1 to go on.
func parse(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "conveyor %s: unexpected argument %q\n", fs.Name(), strings.Join(fs.Args(), " "))
		fs.Usage()
		return exitUsage
	}
	return -1
}
