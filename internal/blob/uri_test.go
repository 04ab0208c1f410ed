package blob

import (
	"path/filepath"
	"runtime"
	"testing"
)

func TestParseURI(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("expectations use Unix paths")
	}
	tests := []struct {
		name   string
		uri    string
		scheme string
		bucket string
		prefix string
	}{
		{"s3 with prefix", "s3://conveyor-data/runs/42/", "s3", "conveyor-data", "runs/42"},
		{"s3 prefix without slash", "s3://conveyor-data/runs", "s3", "conveyor-data", "runs"},
		{"s3 bucket only", "s3://conveyor-data", "s3", "conveyor-data", ""},
		{"s3 bucket and slash", "s3://conveyor-data/", "s3", "conveyor-data", ""},
		{"s3 upper-case scheme", "S3://my.bucket-1/x", "s3", "my.bucket-1", "x"},
		{"file uri", "file:///var/lib/conveyor/", "file", "", "/var/lib/conveyor"},
		{"file uri localhost", "file://localhost/srv/data", "file", "", "/srv/data"},
		{"file uri escaped", "file:///srv/my%20data", "file", "", "/srv/my data"},
		{"absolute path", "/srv/conveyor/../data/", "file", "", "/srv/data"},
		{"relative path", "./data/export", "file", "", filepath.Clean("data/export")},
		{"bare name", "data", "file", "", "data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scheme, bucket, prefix, err := ParseURI(tc.uri)
			if err != nil {
				t.Fatalf("ParseURI(%q): %v", tc.uri, err)
			}
			if scheme != tc.scheme || bucket != tc.bucket || prefix != tc.prefix {
				t.Errorf("ParseURI(%q) = %q, %q, %q; want %q, %q, %q",
					tc.uri, scheme, bucket, prefix, tc.scheme, tc.bucket, tc.prefix)
			}
		})
	}
}

func TestParseURIErrors(t *testing.T) {
	tests := []struct {
		name string
		uri  string
	}{
		{"empty", ""},
		{"other scheme", "gs://bucket/x"},
		{"http", "http://example.com/x"},
		{"s3 no bucket", "s3:///x"},
		{"s3 short bucket", "s3://ab/x"},
		{"s3 upper-case bucket", "s3://Bucket/x"},
		{"s3 bucket underscore", "s3://my_bucket"},
		{"s3 bucket ends with hyphen", "s3://bucket-/x"},
		{"s3 traversal", "s3://bucket/a/../b"},
		{"s3 empty segment", "s3://bucket/a//b"},
		{"s3 query", "s3://bucket/x?versionId=1"},
		{"file relative", "file://relative/dir"},
		{"file host", "file://server/share"},
		{"file query", "file:///srv/x?y=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if s, b, p, err := ParseURI(tc.uri); err == nil {
				t.Errorf("ParseURI(%q) = %q, %q, %q, nil; want an error", tc.uri, s, b, p)
			}
		})
	}
}
