package blob

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestValidKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"simple", "a", true},
		{"nested", "runs/42/deals/0001.ndjson", true},
		{"dot files", ".a/..b/c.", true},
		{"unicode", "clients/Zoë/naïve ✓", true},
		{"longest", strings.Repeat("k", MaxKeyLen), true},
		{"empty", "", false},
		{"absolute", "/a", false},
		{"trailing slash", "a/", false},
		{"empty segment", "a//b", false},
		{"dot", ".", false},
		{"dot segment", "a/./b", false},
		{"dot dot", "..", false},
		{"parent at start", "../x", false},
		{"parent in the middle", "a/../b", false},
		{"parent at end", "a/..", false},
		{"backslash", `a\b`, false},
		{"windows traversal", `..\x`, false},
		{"nul", "a\x00b", false},
		{"newline", "a\nb", false},
		{"del", "a\x7fb", false},
		{"invalid utf-8", "a\xffb", false},
		{"too long", strings.Repeat("k", MaxKeyLen+1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidKey(tc.key)
			if got := err == nil; got != tc.ok {
				t.Fatalf("ValidKey(%q) = %v, want ok=%v", tc.key, err, tc.ok)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, ErrInvalidKey) {
				t.Errorf("ValidKey(%q) = %v, want it to wrap ErrInvalidKey", tc.key, err)
			}
			if !strings.Contains(err.Error(), strconv.Quote(tc.key)) {
				t.Errorf("ValidKey(%q) = %q, want the key named in it", tc.key, err)
			}
		})
	}
}

func TestValidPrefix(t *testing.T) {
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"a", true},
		{"a/", true},
		{"a/b", true},
		{"a/.", true},  // matches "a/.hidden"
		{"a/..", true}, // matches "a/..b"
		{".", true},
		{"/a", false},
		{"/", false},
		{"a//", false},
		{"a//b", false},
		{"../a", false},
		{"./a", false},
		{"a/./", false},
		{`a\b`, false},
		{"a\x00", false},
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.prefix), func(t *testing.T) {
			err := ValidPrefix(tc.prefix)
			if got := err == nil; got != tc.ok {
				t.Fatalf("ValidPrefix(%q) = %v, want ok=%v", tc.prefix, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidKey) {
				t.Errorf("ValidPrefix(%q) = %v, want it to wrap ErrInvalidKey", tc.prefix, err)
			}
		})
	}
}
