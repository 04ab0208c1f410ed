package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/extract"
	pp "github.com/conveyor-migrate/conveyor/internal/perfectportal"
)

// staged is a staged export: its manifest and where its chunks are.
type staged struct {
	store    blob.Store
	prefix   string
	manifest extract.StageManifest
}

// openStaged reads the manifest at key. A missing or undecodable manifest
// is an *InputError; other store failures are wrapped.
func openStaged(ctx context.Context, store blob.Store, key string) (*staged, error) {
	var m extract.StageManifest
	if err := getJSON(ctx, store, key, &m); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.Is(err, blob.ErrNotFound) || errors.As(err, &syn) || errors.As(err, &typ) {
			return nil, &InputError{Msg: fmt.Sprintf("staged manifest: %v", err)}
		}
		return nil, err
	}
	prefix := ""
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		prefix = key[:i+1]
	}
	return &staged{store: store, prefix: prefix, manifest: m}, nil
}

// each decodes every record of kind into a fresh T and calls fn with it.
func each[T any](ctx context.Context, s *staged, kind string, fn func(*T) error) error {
	for _, c := range s.manifest.Kinds[kind].Chunks {
		key := s.prefix + c.Key
		if err := eachInChunk(ctx, s.store, key, fn); err != nil {
			return err
		}
	}
	return nil
}

func eachInChunk[T any](ctx context.Context, store blob.Store, key string, fn func(*T) error) error {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("open staged chunk %s: %w", key, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for line := 1; ; line++ {
		var v T
		if err := dec.Decode(&v); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("staged chunk %s record %d: %w", key, line, err)
		}
		if err := fn(&v); err != nil {
			return err
		}
	}
}

// eachMatter calls fn with every staged matter and its children.
func (s *staged) eachMatter(ctx context.Context, fn func(*extract.MatterRecord) error) error {
	return each(ctx, s, extract.KindMatters, fn)
}

// eachFeeEarner calls fn with every staged fee earner.
func (s *staged) eachFeeEarner(ctx context.Context, fn func(*pp.FeeEarner) error) error {
	return each(ctx, s, extract.KindFeeEarners, fn)
}

// needsClientOrgs refuses a staging older than version 2, whose matters'
// client links lack the clients' organisations that the deals and the
// sample's organisations are read from.
func (s *staged) needsClientOrgs() error {
	if v := s.manifest.Version; v < extract.StageVersion {
		return &InputError{Msg: fmt.Sprintf("the staged export is of version %d, without the clients' organisations on the matters; run the extract step again (this version stages version %d)", v, extract.StageVersion)}
	}
	return nil
}
