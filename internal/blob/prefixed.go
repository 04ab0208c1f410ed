package blob

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Prefixed returns a Store that keeps its objects in s under prefix: key "k"
// in the returned store is key prefix+"/"+k in s, and List returns keys with
// the prefix removed. A run's step can so be handed a store that cannot
// reach another run's objects.
//
// One trailing "/" on prefix is ignored; the empty prefix returns s itself.
// If the prefix is not a valid key (see [ValidKey]), every method of the
// returned store returns an error wrapping [ErrInvalidKey].
func Prefixed(s Store, prefix string) Store {
	if prefix == "" {
		return s
	}
	trimmed := strings.TrimSuffix(prefix, "/")
	if err := ValidKey(trimmed); err != nil {
		return &prefixed{inner: s, err: fmt.Errorf("blob: prefixed store %q: %w", prefix, err)}
	}
	return &prefixed{inner: s, prefix: trimmed + "/"}
}

// prefixed is the Store that Prefixed returns. prefix ends in "/".
type prefixed struct {
	inner  Store
	prefix string
	err    error // set when the prefix was invalid
}

var _ Store = (*prefixed)(nil)

func (p *prefixed) full(key string) (string, error) {
	if p.err != nil {
		return "", p.err
	}
	if err := ValidKey(key); err != nil {
		return "", err
	}
	return p.prefix + key, nil
}

func (p *prefixed) Get(ctx context.Context, key string) ([]byte, error) {
	k, err := p.full(key)
	if err != nil {
		return nil, err
	}
	return p.inner.Get(ctx, k)
}

func (p *prefixed) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	k, err := p.full(key)
	if err != nil {
		return nil, err
	}
	return p.inner.Open(ctx, k)
}

func (p *prefixed) Put(ctx context.Context, key string, r io.Reader) error {
	k, err := p.full(key)
	if err != nil {
		return err
	}
	return p.inner.Put(ctx, k, r)
}

func (p *prefixed) Stat(ctx context.Context, key string) (Info, error) {
	k, err := p.full(key)
	if err != nil {
		return Info{}, err
	}
	info, err := p.inner.Stat(ctx, k)
	if err != nil {
		return Info{}, err
	}
	info.Key = key
	return info, nil
}

func (p *prefixed) List(ctx context.Context, prefix string) ([]Info, error) {
	if p.err != nil {
		return nil, p.err
	}
	if err := ValidPrefix(prefix); err != nil {
		return nil, err
	}
	infos, err := p.inner.List(ctx, p.prefix+prefix)
	if err != nil {
		return nil, err
	}
	for i := range infos {
		infos[i].Key = strings.TrimPrefix(infos[i].Key, p.prefix)
	}
	return infos, nil
}

func (p *prefixed) Delete(ctx context.Context, key string) error {
	k, err := p.full(key)
	if err != nil {
		return err
	}
	return p.inner.Delete(ctx, k)
}
