// Package memblob is a blob.Store held in memory, for tests. It keeps copies
// of everything it is given and hands out copies, so callers cannot change
// stored objects behind its back.
package memblob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/internal/ctxio"
)

// Store is an in-memory blob.Store. The zero value is not usable; call New.
type Store struct {
	mu      sync.RWMutex
	objects map[string]object
}

// object is one stored version. data is never modified after it is stored,
// so readers may share it.
type object struct {
	data    []byte
	modTime time.Time
	etag    string
}

var _ blob.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{objects: make(map[string]object)}
}

func (s *Store) lookup(ctx context.Context, op, key string) (object, error) {
	if err := blob.ValidKey(key); err != nil {
		return object{}, fmt.Errorf("memblob: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return object{}, fmt.Errorf("memblob: %s %s: %w", op, key, err)
	}
	s.mu.RLock()
	o, ok := s.objects[key]
	s.mu.RUnlock()
	if !ok {
		return object{}, fmt.Errorf("memblob: %s %s: %w", op, key, blob.ErrNotFound)
	}
	return o, nil
}

// Get returns a copy of the object at key. It returns an error wrapping
// blob.ErrNotFound if there is none, blob.ErrInvalidKey if the key is
// invalid, or ctx.Err() if ctx is done.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	o, err := s.lookup(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(o.data), nil
}

// Open returns a reader of the object at key as it is now; later Puts do not
// change what it reads, and its reads fail once ctx is done. It returns the
// same errors as Get.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	o, err := s.lookup(ctx, "open", key)
	if err != nil {
		return nil, err
	}
	return ctxio.ReadCloser(ctx, io.NopCloser(bytes.NewReader(o.data))), nil
}

// Put reads r to the end and then stores a copy as the object at key. If
// reading fails, or ctx is done, it returns an error wrapping that cause and
// leaves the store unchanged.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	if err := blob.ValidKey(key); err != nil {
		return fmt.Errorf("memblob: put: %w", err)
	}
	data, err := io.ReadAll(ctxio.Reader(ctx, r))
	if err != nil {
		return fmt.Errorf("memblob: put %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memblob: put %s: %w", key, err)
	}
	sum := sha256.Sum256(data)
	o := object{data: data, modTime: time.Now(), etag: hex.EncodeToString(sum[:16])}
	s.mu.Lock()
	s.objects[key] = o
	s.mu.Unlock()
	return nil
}

// Stat returns the object's metadata; the ETag is a hash of its content. It
// returns the same errors as Get.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	o, err := s.lookup(ctx, "stat", key)
	if err != nil {
		return blob.Info{}, err
	}
	return o.info(key), nil
}

// List returns the objects whose keys start with prefix, sorted by key. It
// returns an error wrapping blob.ErrInvalidKey for an invalid prefix, or
// ctx.Err() if ctx is done.
func (s *Store) List(ctx context.Context, prefix string) ([]blob.Info, error) {
	if err := blob.ValidPrefix(prefix); err != nil {
		return nil, fmt.Errorf("memblob: list: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memblob: list %s: %w", prefix, err)
	}
	var infos []blob.Info
	s.mu.RLock()
	for k, o := range s.objects {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, o.info(k))
		}
	}
	s.mu.RUnlock()
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	return infos, nil
}

// Delete removes the object at key, if there is one. It returns an error
// wrapping blob.ErrInvalidKey if the key is invalid, or ctx.Err() if ctx is
// done.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blob.ValidKey(key); err != nil {
		return fmt.Errorf("memblob: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memblob: delete %s: %w", key, err)
	}
	s.mu.Lock()
	delete(s.objects, key)
	s.mu.Unlock()
	return nil
}

func (o object) info(key string) blob.Info {
	return blob.Info{Key: key, Size: int64(len(o.data)), ModTime: o.modTime, ETag: o.etag}
}
