package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/s3blob"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	"github.com/conveyor-migrate/conveyor/internal/mapping"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// auditFlags are the flags audit and extract share.
type auditFlags struct {
	export, config, plan string
	seats                int
}

func (a *auditFlags) register(fs interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
}) {
	fs.StringVar(&a.export, "export", "", "the export bundle: a directory, a .zip, or s3://bucket/prefix/ (required)")
	fs.StringVar(&a.config, "config", "", "mapping configuration file (default: the embedded default; see init-config)")
	fs.StringVar(&a.plan, "plan", "growth", "Pipedrive plan for the budget estimate: lite, growth, premium or ultimate")
	fs.IntVar(&a.seats, "seats", 1, "Pipedrive seats for the budget estimate")
}

// open loads the configuration and opens the bundle, printing why not.
func (a *auditFlags) open(ctx context.Context, stderr io.Writer) (*mapping.Config, *pp.Bundle, int) {
	if a.export == "" {
		fmt.Fprintln(stderr, "conveyor: --export is required: give the bundle's directory, .zip or s3:// prefix")
		return nil, nil, exitUsage
	}
	cfg := mapping.Default()
	if a.config != "" {
		var err error
		if cfg, err = mapping.Load(a.config); err != nil {
			fmt.Fprintf(stderr, "conveyor: %v\n", err)
			return nil, nil, exitUsage
		}
	}
	b, err := openBundle(ctx, a.export)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor: %v\n", err)
		return nil, nil, exitUsage
	}
	return cfg, b, -1
}

// openBundle opens a local bundle or one in S3.
func openBundle(ctx context.Context, location string) (*pp.Bundle, error) {
	if !strings.HasPrefix(location, "s3://") {
		return pp.Open(ctx, location)
	}
	_, bucket, prefix, err := blob.ParseURI(location)
	if err != nil {
		return nil, err
	}
	client, err := s3Client(ctx)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(location, "/") && prefix != "" {
		prefix += "/"
	}
	return pp.OpenStore(ctx, s3blob.New(client, bucket, ""), prefix)
}

// s3Client builds an S3 client from the usual AWS configuration.
// CONVEYOR_S3_ENDPOINT points it at an S3-compatible store (path-style).
func s3Client(ctx context.Context) (*s3.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	endpoint := os.Getenv("CONVEYOR_S3_ENDPOINT")
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	}), nil
}

func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("audit", "--export PATH [--config FILE] [--json]", stderr)
	var a auditFlags
	a.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	maxFlags := fs.Int("max-flags", 50, "flags to list in the text report (0: all)")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	cfg, b, code := a.open(ctx, stderr)
	if code >= 0 {
		return code
	}
	defer b.Close()
	res, err := extract.Run(ctx, b, extract.Options{Config: cfg, Plan: a.plan, Seats: a.seats})
	if err != nil {
		fmt.Fprintf(stderr, "conveyor: audit %s: %v\n", a.export, err)
		return exitUsage
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res.Report); err != nil {
			fmt.Fprintf(stderr, "conveyor: %v\n", err)
			return exitUsage
		}
	} else if err := res.Report.WriteText(stdout, *maxFlags); err != nil {
		fmt.Fprintf(stderr, "conveyor: %v\n", err)
		return exitUsage
	}
	if !res.Report.Trusted {
		for _, f := range res.Report.Flags {
			if f.Severity == pp.SeverityError {
				fmt.Fprintf(stderr, "conveyor: %s\n", f)
			}
		}
		return exitUntrusted
	}
	return exitOK
}
