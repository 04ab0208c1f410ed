package s3blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/conveyor-migrate/conveyor/internal/blob/blobtest"
)

// call is one request the SDK sent, as the recorder saw it.
type call struct {
	op     string // the SDK's name for the operation
	header http.Header
}

// recorder is an HTTP client that notes each request before sending it.
type recorder struct {
	next  s3.HTTPClient
	mu    sync.Mutex
	calls []call
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	op := awsmiddleware.GetOperationName(req.Context())
	r.mu.Lock()
	r.calls = append(r.calls, call{op: op, header: req.Header.Clone()})
	r.mu.Unlock()
	return r.next.Do(req)
}

func (r *recorder) ops() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ops []string
	for _, c := range r.calls {
		ops = append(ops, c.op)
	}
	return ops
}

// newRecordedStore returns a Store on the test server whose requests rec
// sees.
func newRecordedStore(t *testing.T, opts ...Option) (*Store, *recorder) {
	t.Helper()
	client, bucket := blobtest.NewS3TestServer(t)
	rec := &recorder{}
	client = s3.New(client.Options(), func(o *s3.Options) {
		rec.next = o.HTTPClient
		o.HTTPClient = rec
	})
	return New(client, bucket, "p", opts...), rec
}

var errSource = errors.New("source failed")

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// onlyReader hides bytes.Reader's Seek and Len, as a network stream would.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestPutRequests(t *testing.T) {
	const mib = 1 << 20
	single := []string{"PutObject"}
	multipart := func(parts int) []string {
		ops := []string{"CreateMultipartUpload"}
		for range parts {
			ops = append(ops, "UploadPart")
		}
		return append(ops, "CompleteMultipartUpload")
	}
	tests := []struct {
		name    string
		r       io.Reader
		want    []string
		wantErr error
	}{
		{"empty", strings.NewReader(""), single, nil},
		{"small", bytes.NewReader(make([]byte, mib)), single, nil},
		{"one byte under a part", bytes.NewReader(make([]byte, partSize-1)), single, nil},
		{"exactly one part", bytes.NewReader(make([]byte, partSize)), multipart(1), nil},
		{"20 MiB", bytes.NewReader(make([]byte, 20*mib)), multipart(3), nil},
		{"exactly two parts", bytes.NewReader(make([]byte, 2*partSize)), multipart(2), nil},
		{
			name:    "source fails in the first part",
			r:       io.MultiReader(bytes.NewReader(make([]byte, mib)), errReader{errSource}),
			want:    nil, // nothing sent
			wantErr: errSource,
		},
		{
			name:    "source fails after the first part",
			r:       io.MultiReader(bytes.NewReader(make([]byte, 9*mib)), errReader{errSource}),
			want:    []string{"CreateMultipartUpload", "UploadPart", "AbortMultipartUpload"},
			wantErr: errSource,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, rec := newRecordedStore(t)
			err := s.Put(context.Background(), "k", onlyReader{tc.r})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Put error = %v, want %v", err, tc.wantErr)
			}
			if got := rec.ops(); !slices.Equal(got, tc.want) {
				t.Errorf("requests = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCancelledPutAborts checks that a multipart upload cancelled by its
// caller is still aborted, so S3 keeps no orphaned parts.
func TestCancelledPutAborts(t *testing.T) {
	s, rec := newRecordedStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := io.MultiReader(
		bytes.NewReader(make([]byte, partSize+1000)),
		readFunc(func([]byte) (int, error) { cancel(); return 0, io.EOF }),
	)
	err := s.Put(ctx, "k", onlyReader{r})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put error = %v, want context.Canceled", err)
	}
	if got := rec.ops(); !slices.Contains(got, "AbortMultipartUpload") {
		t.Errorf("requests = %q, want an AbortMultipartUpload", got)
	}
	out, err := s.client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &s.bucket})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	if len(out.Uploads) != 0 {
		t.Errorf("%d multipart uploads left, want none", len(out.Uploads))
	}
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

func TestServerSideEncryption(t *testing.T) {
	tests := []struct {
		name    string
		opts    []Option
		wantSSE string
		wantKey string
	}{
		{"default", nil, "AES256", ""},
		{"kms", []Option{WithKMSKey("alias/conveyor")}, "aws:kms", "alias/conveyor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, rec := newRecordedStore(t, tc.opts...)
			ctx := context.Background()
			if err := s.Put(ctx, "small", strings.NewReader("x")); err != nil {
				t.Fatalf("Put small: %v", err)
			}
			if err := s.Put(ctx, "large", onlyReader{bytes.NewReader(make([]byte, partSize+1))}); err != nil {
				t.Fatalf("Put large: %v", err)
			}
			var checked int
			for _, c := range rec.calls {
				if c.op != "PutObject" && c.op != "CreateMultipartUpload" {
					continue
				}
				checked++
				if got := c.header.Get("X-Amz-Server-Side-Encryption"); got != tc.wantSSE {
					t.Errorf("%s: server-side encryption = %q, want %q", c.op, got, tc.wantSSE)
				}
				if got := c.header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); got != tc.wantKey {
					t.Errorf("%s: KMS key = %q, want %q", c.op, got, tc.wantKey)
				}
			}
			if checked != 2 {
				t.Errorf("saw %d PutObject and CreateMultipartUpload requests, want 2", checked)
			}
		})
	}
}
