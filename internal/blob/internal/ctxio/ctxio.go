// Package ctxio makes a blocking io.Reader give up when its context is done,
// so that a long Put or read stops soon after its caller cancels.
package ctxio

import (
	"context"
	"fmt"
	"io"
)

// Reader returns a reader that reads from r but, before each Read, returns an
// error wrapping ctx.Err() once ctx is done. A Read already blocked in r is
// not interrupted.
func Reader(ctx context.Context, r io.Reader) io.Reader {
	return &reader{ctx: ctx, r: r}
}

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	return r.r.Read(p)
}

// ReadCloser is Reader for an io.ReadCloser; Close closes rc.
func ReadCloser(ctx context.Context, rc io.ReadCloser) io.ReadCloser {
	return &readCloser{reader: reader{ctx: ctx, r: rc}, c: rc}
}

type readCloser struct {
	reader
	c io.Closer
}

func (r *readCloser) Close() error { return r.c.Close() }
