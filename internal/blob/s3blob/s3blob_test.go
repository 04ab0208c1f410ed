package s3blob

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/blobtest"
)

func TestConformance(t *testing.T) {
	tests := []struct {
		name     string
		prefix   string
		pageSize int32
	}{
		{"bucket root", "", 0},
		// Small pages make every List in the suite follow continuation tokens.
		{"prefix and small pages", "tenant/run-1/", 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			blobtest.RunConformanceTests(t, func(t *testing.T) blob.Store {
				client, bucket := blobtest.NewS3TestServer(t)
				s := New(client, bucket, tc.prefix)
				s.pageSize = tc.pageSize
				return s
			})
		})
	}
}

// TestPrefixIsolation checks that a Store sees only its prefix, and not a
// sibling prefix that shares its first characters.
func TestPrefixIsolation(t *testing.T) {
	client, bucket := blobtest.NewS3TestServer(t)
	ctx := context.Background()
	mine, sibling := New(client, bucket, "run-1"), New(client, bucket, "run-10")
	for _, s := range []*Store{mine, sibling} {
		if err := s.Put(ctx, "k", strings.NewReader("v")); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := mine.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Key != "k" {
		t.Errorf("List = %+v, want only k", infos)
	}
	out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("run-1/k")})
	if err != nil {
		t.Fatalf("HeadObject(run-1/k): %v", err)
	}
	if got := aws.ToInt64(out.ContentLength); got != 1 {
		t.Errorf("run-1/k has %d bytes, want 1", got)
	}
}

func TestInvalidPrefix(t *testing.T) {
	client, bucket := blobtest.NewS3TestServer(t)
	s := New(client, bucket, "../x")
	if err := s.Put(context.Background(), "k", strings.NewReader("v")); !errors.Is(err, blob.ErrInvalidKey) {
		t.Errorf("Put error = %v, want ErrInvalidKey", err)
	}
}

func BenchmarkPutGet(b *testing.B) {
	client, bucket := blobtest.NewS3TestServer(b)
	blobtest.RunPutGetBenchmark(b, New(client, bucket, "bench"), 1<<20)
}
