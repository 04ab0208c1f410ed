package blobtest

import (
	"io"
	"log"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3TestBucket is the bucket that NewS3TestServer creates.
const S3TestBucket = "conveyor-test"

// NewS3TestServer starts an in-memory S3 (gofakes3) on a loopback port and
// returns a client for it and the name of an empty bucket it holds. The
// server stops when the test ends. It fails the test if the bucket cannot be
// created.
//
// The server speaks plain HTTP on purpose. Over TLS the SDK may send a body
// aws-chunked with a trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER),
// which gofakes3 v1.2.0 does not decode and would store, framing and all, as
// the object's bytes. Over plain HTTP the SDK sends its default checksum in
// a header, which gofakes3 ignores, so the client can keep the SDK's default
// checksum settings, as production does.
func NewS3TestServer(tb testing.TB) (client *s3.Client, bucket string) {
	tb.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(S3TestBucket); err != nil {
		tb.Fatalf("create bucket %s: %v", S3TestBucket, err)
	}
	srv := httptest.NewUnstartedServer(gofakes3.New(backend).Server())
	// gofakes3 writes a second header when a client hangs up mid-response,
	// as the cancellation tests do; net/http would log that to stderr.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	tb.Cleanup(srv.Close)

	client = s3.New(s3.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   srv.Client(),
	})
	return client, S3TestBucket
}
