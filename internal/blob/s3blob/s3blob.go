// Package s3blob is a blob.Store in an Amazon S3 bucket, under an optional
// key prefix, on the AWS SDK for Go v2.
//
// Objects are encrypted at rest with SSE-S3 (AES256) unless [WithKMSKey]
// asks for SSE-KMS. Put streams: it buffers at most one 8 MiB part at a time,
// uses a single PutObject for objects that fit in one part and a multipart
// upload for larger ones, and aborts the upload if anything fails, so a
// failed Put leaves no object and no orphaned parts.
//
// The store never sets ChecksumAlgorithm and leaves checksums to the
// client's configuration. Against Amazon S3 keep the SDK's defaults. Against
// an S3-compatible store that mishandles the SDK's default checksums (such as
// gofakes3 in tests) build the client with
//
//	o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
//	o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
//
// and only there.
package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/conveyor-migrate/conveyor/internal/blob"
	"github.com/conveyor-migrate/conveyor/internal/blob/internal/ctxio"
)

const (
	// partSize is both the largest object sent with one PutObject and the
	// size of each part of a multipart upload. S3 needs parts of at least
	// 5 MiB and allows 10,000 of them, so objects up to about 78 GiB fit.
	partSize = 8 << 20
	maxParts = 10000

	// abortTimeout bounds the clean-up of a failed multipart upload, which
	// runs even when the caller's context was cancelled.
	abortTimeout = 30 * time.Second
)

// partPool reuses part buffers between Puts, so that a Lambda storing many
// small chunks does not allocate 8 MiB for each.
var partPool = sync.Pool{New: func() any { b := make([]byte, partSize); return &b }}

// Store is a blob.Store in an S3 bucket.
type Store struct {
	client   *s3.Client
	bucket   string
	prefix   string // "" or ends in "/"
	err      error  // set when the prefix given to New was invalid
	sse      types.ServerSideEncryption
	kmsKeyID string
	pageSize int32 // ListObjectsV2 MaxKeys; 0 means S3's default of 1,000
}

var _ blob.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithKMSKey makes Put encrypt objects with SSE-KMS under the given KMS key
// (an ID, ARN or alias) instead of SSE-S3. The Lambda's role then needs
// kms:GenerateDataKey for Put and kms:Decrypt for reads.
func WithKMSKey(keyID string) Option {
	return func(s *Store) {
		s.sse = types.ServerSideEncryptionAwsKms
		s.kmsKeyID = keyID
	}
}

// New returns a Store keeping its objects in bucket under prefix (key "k" is
// S3 key prefix+"/"+k; one trailing "/" on prefix is ignored, and "" means
// the bucket's root). The client is used as it is: configure region,
// endpoint, credentials and retries when building it, once, in main.
//
// New makes no calls. If prefix is not a valid key (see blob.ValidKey),
// every method of the returned Store returns an error wrapping
// blob.ErrInvalidKey.
func New(client *s3.Client, bucket, prefix string, opts ...Option) *Store {
	s := &Store{client: client, bucket: bucket, sse: types.ServerSideEncryptionAes256}
	if p := strings.TrimSuffix(prefix, "/"); p != "" {
		if err := blob.ValidKey(p); err != nil {
			s.err = fmt.Errorf("s3blob: prefix: %w", err)
		} else {
			s.prefix = p + "/"
		}
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// objectKey checks key and returns the S3 key that holds it.
func (s *Store) objectKey(op, key string) (string, error) {
	if s.err != nil {
		return "", s.err
	}
	if err := blob.ValidKey(key); err != nil {
		return "", fmt.Errorf("s3blob: %s: %w", op, err)
	}
	return s.prefix + key, nil
}

// isNotFound reports whether err is S3 saying that the key does not exist:
// NoSuchKey from GetObject, or NotFound from HeadObject, whose 404 has no
// body to say more.
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		}
	}
	return false
}

// Get returns the content of the object at key. It returns an error wrapping
// blob.ErrNotFound if there is no such object, blob.ErrInvalidKey if the key
// is invalid, or the SDK's error (which wraps ctx.Err() on cancellation).
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := s.getObject(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	if n := aws.ToInt64(out.ContentLength); n > 0 && n <= 1<<30 {
		buf.Grow(int(n))
	}
	if _, err := buf.ReadFrom(out.Body); err != nil {
		return nil, fmt.Errorf("s3blob: get %s: %w", key, err)
	}
	return buf.Bytes(), nil
}

// Open returns a reader streaming the object at key from one GetObject
// response; reads fail once ctx is done. It returns the same errors as Get.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.getObject(ctx, "open", key)
	if err != nil {
		return nil, err
	}
	// The transport ends the body when ctx is cancelled, but bytes already
	// received still read; checking ctx before each read makes the stop
	// immediate, as the contract says.
	return ctxio.ReadCloser(ctx, out.Body), nil
}

func (s *Store) getObject(ctx context.Context, op, key string) (*s3.GetObjectOutput, error) {
	k, err := s.objectKey(op, key)
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &k})
	if isNotFound(err) {
		return nil, fmt.Errorf("s3blob: %s %s: %w", op, key, blob.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("s3blob: %s %s: %w", op, key, err)
	}
	return out, nil
}

// Put stores everything read from r as the object at key. It reads up to
// 8 MiB; if r ends there it sends one PutObject, and otherwise a multipart
// upload of 8 MiB parts, which it aborts on any failure. It returns an error
// wrapping blob.ErrInvalidKey if the key is invalid, r's error if reading
// fails, ctx.Err() if ctx is done, or the SDK's error.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	k, err := s.objectKey("put", key)
	if err != nil {
		return err
	}
	bufp := partPool.Get().(*[]byte)
	buf := *bufp

	r = ctxio.Reader(ctx, r)
	n, err := io.ReadFull(r, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		err = s.putObject(ctx, k, buf[:n])
	case err == nil:
		err = s.putMultipart(ctx, k, r, buf)
	}
	if err != nil {
		// After a failed or cancelled request the HTTP transport may still
		// be reading buf, so it is not returned to the pool.
		return fmt.Errorf("s3blob: put %s: %w", key, err)
	}
	partPool.Put(bufp)
	return nil
}

func (s *Store) putObject(ctx context.Context, k string, data []byte) error {
	in := &s3.PutObjectInput{
		Bucket:               &s.bucket,
		Key:                  &k,
		Body:                 bytes.NewReader(data),
		ContentLength:        aws.Int64(int64(len(data))),
		ServerSideEncryption: s.sse,
	}
	if s.kmsKeyID != "" {
		in.SSEKMSKeyId = &s.kmsKeyID
	}
	_, err := s.client.PutObject(ctx, in)
	return err
}

// putMultipart uploads buf, which holds the first full part, and the rest of
// r, reusing buf for every part.
func (s *Store) putMultipart(ctx context.Context, k string, r io.Reader, buf []byte) (err error) {
	in := &s3.CreateMultipartUploadInput{
		Bucket:               &s.bucket,
		Key:                  &k,
		ServerSideEncryption: s.sse,
	}
	if s.kmsKeyID != "" {
		in.SSEKMSKeyId = &s.kmsKeyID
	}
	created, err := s.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return fmt.Errorf("create multipart upload: %w", err)
	}
	uploadID := created.UploadId
	defer func() {
		if err != nil {
			err = errors.Join(err, s.abort(ctx, k, uploadID))
		}
	}()

	var parts []types.CompletedPart
	n := len(buf)
	for num := int32(1); ; num++ {
		if num > maxParts {
			return fmt.Errorf("object larger than %d parts of %d bytes", maxParts, partSize)
		}
		part, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket:        &s.bucket,
			Key:           &k,
			UploadId:      uploadID,
			PartNumber:    aws.Int32(num),
			Body:          bytes.NewReader(buf[:n]),
			ContentLength: aws.Int64(int64(n)),
		})
		if err != nil {
			return fmt.Errorf("upload part %d: %w", num, err)
		}
		parts = append(parts, completedPart(num, part))

		n, err = io.ReadFull(r, buf)
		if err == io.EOF {
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			return err
		}
		// err == io.ErrUnexpectedEOF: buf[:n] is the short last part,
		// uploaded on the next pass; the read after it returns io.EOF.
	}

	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          &s.bucket,
		Key:             &k,
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return fmt.Errorf("complete multipart upload: %w", err)
	}
	return nil
}

// completedPart describes an uploaded part for CompleteMultipartUpload. When
// the SDK sent a checksum with the part (its default on Amazon S3), S3
// requires the same checksum back here, or it reports the part missing.
func completedPart(num int32, out *s3.UploadPartOutput) types.CompletedPart {
	return types.CompletedPart{
		PartNumber:        aws.Int32(num),
		ETag:              out.ETag,
		ChecksumCRC32:     out.ChecksumCRC32,
		ChecksumCRC32C:    out.ChecksumCRC32C,
		ChecksumCRC64NVME: out.ChecksumCRC64NVME,
		ChecksumMD5:       out.ChecksumMD5,
		ChecksumSHA1:      out.ChecksumSHA1,
		ChecksumSHA256:    out.ChecksumSHA256,
		ChecksumSHA512:    out.ChecksumSHA512,
		ChecksumXXHASH128: out.ChecksumXXHASH128,
		ChecksumXXHASH3:   out.ChecksumXXHASH3,
		ChecksumXXHASH64:  out.ChecksumXXHASH64,
	}
}

// abort discards a failed multipart upload's parts, which S3 would otherwise
// keep, and bill, indefinitely. It runs even if ctx was cancelled, since
// cancellation is the usual reason for getting here.
func (s *Store) abort(ctx context.Context, k string, uploadID *string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   &s.bucket,
		Key:      &k,
		UploadId: uploadID,
	})
	if err != nil {
		return fmt.Errorf("abort multipart upload %s: %w", aws.ToString(uploadID), err)
	}
	return nil
}

// Stat returns the object's metadata from HeadObject; the ETag is S3's,
// without its quotes. It returns the same errors as Get.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	k, err := s.objectKey("stat", key)
	if err != nil {
		return blob.Info{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &k})
	if isNotFound(err) {
		return blob.Info{}, fmt.Errorf("s3blob: stat %s: %w", key, blob.ErrNotFound)
	}
	if err != nil {
		return blob.Info{}, fmt.Errorf("s3blob: stat %s: %w", key, err)
	}
	return blob.Info{
		Key:     key,
		Size:    aws.ToInt64(out.ContentLength),
		ModTime: aws.ToTime(out.LastModified),
		ETag:    etag(out.ETag),
	}, nil
}

// List returns the objects whose keys start with prefix, sorted by key,
// following ListObjectsV2's pages to the end. ModTime is cut to whole
// seconds, the resolution of HeadObject's Last-Modified, so that List and
// Stat agree. Objects under the store's
// prefix whose remaining key is not a valid key (folder markers such as
// "a/", or "a//b" written by other tools) are skipped, since no method could
// read them. It returns an error wrapping blob.ErrInvalidKey for an invalid
// prefix, or the SDK's error.
func (s *Store) List(ctx context.Context, prefix string) ([]blob.Info, error) {
	if s.err != nil {
		return nil, s.err
	}
	if err := blob.ValidPrefix(prefix); err != nil {
		return nil, fmt.Errorf("s3blob: list: %w", err)
	}
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.prefix + prefix)}
	if s.pageSize > 0 {
		in.MaxKeys = aws.Int32(s.pageSize)
	}
	var infos []blob.Info
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("s3blob: list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			key, ok := strings.CutPrefix(aws.ToString(o.Key), s.prefix)
			if !ok || blob.ValidKey(key) != nil {
				continue
			}
			infos = append(infos, blob.Info{
				Key:     key,
				Size:    aws.ToInt64(o.Size),
				ModTime: aws.ToTime(o.LastModified).Truncate(time.Second),
				ETag:    etag(o.ETag),
			})
		}
	}
	// S3 lists in UTF-8 byte order already; S3-compatible stores may not.
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	return infos, nil
}

// Delete removes the object at key; S3 reports success for a missing key,
// and so does Delete. It returns an error wrapping blob.ErrInvalidKey if the
// key is invalid, or the SDK's error.
func (s *Store) Delete(ctx context.Context, key string) error {
	k, err := s.objectKey("delete", key)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &k})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("s3blob: delete %s: %w", key, err)
	}
	return nil
}

func etag(p *string) string {
	return strings.Trim(aws.ToString(p), `"`)
}
