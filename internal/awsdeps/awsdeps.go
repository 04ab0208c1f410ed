// Package awsdeps wires the step handlers' dependencies inside a Lambda
// function from its environment: the bucket (S3), the ledger table
// (DynamoDB), and a Pipedrive client whose API token is read from Secrets
// Manager at run time (and again after a few minutes, so that a rotated
// token is picked up), never from an environment value.
//
// Environment: CONVEYOR_BUCKET, CONVEYOR_TABLE, PIPEDRIVE_URL,
// PIPEDRIVE_TOKEN_SECRET (the secret's ARN), PIPEDRIVE_PLAN,
// PIPEDRIVE_SEATS, and optionally DEFAULT_OWNER_EMAIL, LEDGER_TTL_DAYS,
// KMS_KEY_ID.
package awsdeps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/conveyor-migrate/conveyor/internal/blob/s3blob"
	"github.com/conveyor-migrate/conveyor/internal/ledger/dynamoledger"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
	"github.com/conveyor-migrate/conveyor/internal/pipedrive"
	"github.com/conveyor-migrate/conveyor/internal/steps"
)

// tokenTTL is how long a token read from Secrets Manager is used before it
// is read again.
const tokenTTL = 5 * time.Minute

// Load builds the handlers' dependencies from the function's environment.
// It logs JSON to stderr (CloudWatch), ids and counts only.
func Load(ctx context.Context) (*steps.Deps, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return FromConfig(cfg, os.Getenv)
}

// FromConfig builds the dependencies from an AWS configuration and an
// environment lookup (os.Getenv in a function; a map in tests).
func FromConfig(cfg aws.Config, getenv func(string) string) (*steps.Deps, error) {
	bucket := getenv("CONVEYOR_BUCKET")
	if bucket == "" {
		return nil, errors.New("CONVEYOR_BUCKET is not set")
	}
	var opts []s3blob.Option
	if key := getenv("KMS_KEY_ID"); key != "" {
		opts = append(opts, s3blob.WithKMSKey(key))
	}
	// S3 objects written without a checksum would log a line per read otherwise.
	store := s3blob.New(s3.NewFromConfig(cfg, func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true }), bucket, "", opts...)
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	d := &steps.Deps{Store: store, Plan: strings.ToLower(getenv("PIPEDRIVE_PLAN")), DefaultOwner: getenv("DEFAULT_OWNER_EMAIL"), Log: log,
		OpenBundle: func(ctx context.Context, export string) (*pp.Bundle, error) { return pp.OpenStore(ctx, store, export) }}
	if d.Plan == "" {
		d.Plan = "growth"
	}
	if s := getenv("PIPEDRIVE_SEATS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("PIPEDRIVE_SEATS %q: want a positive number", s)
		}
		d.Seats = n
	}
	if s := getenv("LEDGER_TTL_DAYS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("LEDGER_TTL_DAYS %q: want a number of days", s)
		}
		d.LedgerTTL = time.Duration(n) * 24 * time.Hour
	}
	if table := getenv("CONVEYOR_TABLE"); table != "" {
		d.Ledger = dynamoledger.New(dynamodb.NewFromConfig(cfg), table)
	}
	if secret := getenv("PIPEDRIVE_TOKEN_SECRET"); secret != "" {
		src := &tokenSource{client: secretsmanager.NewFromConfig(cfg), secret: secret}
		baseURL := getenv("PIPEDRIVE_URL")
		d.Pipedrive = func(ctx context.Context, workers int) (*pipedrive.Client, error) {
			token, err := src.token(ctx)
			if err != nil {
				return nil, err
			}
			return pipedrive.New(pipedrive.Config{BaseURL: baseURL, Token: token, Plan: d.Plan, Seats: d.Seats, Workers: workers, Logger: log})
		}
	}
	return d, nil
}

// secretGetter is the part of the Secrets Manager client the token needs.
type secretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// tokenSource reads the Pipedrive API token from a secret, keeping it for
// tokenTTL. The secret is the token itself, or JSON {"token": "..."}.
type tokenSource struct {
	client secretGetter
	secret string

	mu    sync.Mutex
	value string
	read  time.Time
}

func (t *tokenSource) token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.value != "" && time.Since(t.read) < tokenTTL {
		return t.value, nil
	}
	out, err := t.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(t.secret)})
	if err != nil {
		return "", fmt.Errorf("read the Pipedrive token from its secret: %w", err)
	}
	v := strings.TrimSpace(aws.ToString(out.SecretString))
	if strings.HasPrefix(v, "{") {
		v = jsonToken(v)
	}
	if v == "" {
		return "", errors.New("the Pipedrive token secret is empty (store the API token, or {\"token\": \"...\"})")
	}
	t.value, t.read = v, time.Now()
	return v, nil
}

// jsonToken reads {"token": "..."} (or "api_token"), "" if neither.
func jsonToken(v string) string {
	var m map[string]string
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return ""
	}
	if t := m["token"]; t != "" {
		return t
	}
	return m["api_token"]
}
