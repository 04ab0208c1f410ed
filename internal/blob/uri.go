package blob

import (
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
)

// ParseURI splits the location of a store, as a user or a Lambda's
// environment gives it, into the parts that a backend's constructor takes.
// It reads no files and makes no network calls.
//
//   - "s3://bucket/some/prefix/" returns ("s3", "bucket", "some/prefix", nil):
//     the prefix loses its trailing "/" and is "" for "s3://bucket" or
//     "s3://bucket/"; a non-empty prefix must be a valid key (see [ValidKey]).
//   - "file:///abs/dir" returns ("file", "", "/abs/dir", nil): for the file
//     scheme, prefix is the local directory, cleaned, in the OS's form. The
//     URI's host must be empty or "localhost", and the path absolute.
//   - Anything without "://", such as "./data" or "/srv/conveyor", is a local
//     path and returns ("file", "", the cleaned path, nil); a relative path
//     stays relative.
//
// It returns an error naming the URI when the URI is empty, has another
// scheme, has a malformed bucket name, or has a query or fragment.
func ParseURI(uri string) (scheme, bucket, prefix string, err error) {
	if uri == "" {
		return "", "", "", fmt.Errorf("blob: parse uri: empty")
	}
	before, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return "file", "", filepath.Clean(uri), nil
	}
	switch strings.ToLower(before) {
	case "s3":
		bucket, prefix, err := parseS3(rest)
		if err != nil {
			return "", "", "", fmt.Errorf("blob: parse uri %q: %w", uri, err)
		}
		return "s3", bucket, prefix, nil
	case "file":
		dir, err := parseFile(uri)
		if err != nil {
			return "", "", "", fmt.Errorf("blob: parse uri %q: %w", uri, err)
		}
		return "file", "", dir, nil
	default:
		return "", "", "", fmt.Errorf("blob: parse uri %q: unsupported scheme %q (want s3 or file)", uri, before)
	}
}

func parseS3(rest string) (bucket, prefix string, err error) {
	if strings.ContainsAny(rest, "?#") {
		return "", "", fmt.Errorf("query or fragment not supported")
	}
	bucket, path, _ := strings.Cut(rest, "/")
	if err := checkBucket(bucket); err != nil {
		return "", "", err
	}
	prefix = strings.TrimSuffix(path, "/")
	if prefix != "" {
		if err := ValidKey(prefix); err != nil {
			return "", "", fmt.Errorf("prefix: %w", err)
		}
	}
	return bucket, prefix, nil
}

// checkBucket applies S3's general-purpose bucket naming rules, loosely: 3 to
// 63 lowercase letters, digits, dots and hyphens, starting and ending with a
// letter or digit.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && c != '.' && c != '-' {
			return fmt.Errorf("bucket name %q has %q: only lowercase letters, digits, dots and hyphens", b, c)
		}
		if !alnum && (i == 0 || i == len(b)-1) {
			return fmt.Errorf("bucket name %q must start and end with a letter or digit", b)
		}
	}
	return nil
}

func parseFile(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", err
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("query or fragment not supported")
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("host %q not supported (want file:///absolute/path)", u.Host)
	}
	p := u.Path
	if runtime.GOOS == "windows" && len(p) >= 3 && p[0] == '/' && p[2] == ':' {
		p = p[1:] // file:///C:/dir
	}
	p = filepath.FromSlash(p)
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("path %q is not absolute", u.Path)
	}
	return filepath.Clean(p), nil
}
