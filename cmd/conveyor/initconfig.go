package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/conveyor-migrate/conveyor/internal/mapping"
)

func cmdInitConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlags("init-config", "[--out FILE] [--force]", stderr)
	out := fl.String("out", "", "file to write (default: standard output)")
	force := fl.Bool("force", false, "overwrite the file if it exists")
	if code := parse(fl, args); code >= 0 {
		return code
	}
	if *out == "" {
		stdout.Write(mapping.DefaultYAML())
		return exitOK
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(*out, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		fmt.Fprintf(stderr, "conveyor init-config: %s exists; use --force to overwrite it\n", *out)
		return exitUsage
	}
	if err == nil {
		_, err = f.Write(mapping.DefaultYAML())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "conveyor init-config: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "Wrote %s: edit it, then pass it with --config.\n", *out)
	return exitOK
}
