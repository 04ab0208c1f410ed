package blob

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxKeyLen is the longest key, in bytes, that [ValidKey] accepts: S3's limit,
// so that a key valid on one backend is valid on all of them.
const MaxKeyLen = 1024

// ValidKey returns nil if key can name an object in every backend, and
// otherwise an error wrapping [ErrInvalidKey] that quotes the key and says
// what is wrong with it.
//
// A valid key is a relative, slash-separated path: non-empty, at most
// [MaxKeyLen] bytes of UTF-8, with no leading "/", no empty segment ("a//b",
// "a/"), no "." or ".." segment, no backslash and no control character.
// These rules are what keep a key inside its directory on disk and make it
// mean the same thing on S3 as on Windows or Linux.
func ValidKey(key string) error {
	if key == "" {
		return invalidKey(key, "empty")
	}
	if err := checkChars(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := checkSegment(key, seg); err != nil {
			return err
		}
	}
	return nil
}

// ValidPrefix returns nil if prefix can be passed to [Store.List], and
// otherwise an error wrapping [ErrInvalidKey] that quotes the prefix.
//
// The empty prefix is valid. Otherwise the rules of [ValidKey] apply to
// every complete segment (those followed by a "/"); the last segment may be
// empty or partial, so "a/", "a/b" and "a/." (which matches "a/.hidden") are
// all valid, while "/a", "a//b" and "../a" are not.
func ValidPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := checkChars(prefix); err != nil {
		return err
	}
	dir, _, ok := cutLast(prefix)
	if !ok {
		return nil
	}
	for seg := range strings.SplitSeq(dir, "/") {
		if err := checkSegment(prefix, seg); err != nil {
			return err
		}
	}
	return nil
}

// checkChars applies the rules that hold for every character of a key or
// prefix.
func checkChars(key string) error {
	switch {
	case len(key) > MaxKeyLen:
		return invalidKey(key, fmt.Sprintf("longer than %d bytes", MaxKeyLen))
	case !utf8.ValidString(key):
		return invalidKey(key, "not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return invalidKey(key, "starts with /")
	case strings.Contains(key, `\`):
		return invalidKey(key, "contains a backslash")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return invalidKey(key, "contains a control character")
		}
	}
	return nil
}

func checkSegment(key, seg string) error {
	switch seg {
	case "":
		return invalidKey(key, "has an empty segment")
	case ".", "..":
		return invalidKey(key, fmt.Sprintf("has a %q segment", seg))
	}
	return nil
}

// cutLast splits s around its last "/".
func cutLast(s string) (before, after string, found bool) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return "", s, false
	}
	return s[:i], s[i+1:], true
}

func invalidKey(key, reason string) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, reason)
}
