package perfectportal

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestFileIndex checks the compact file list against the map of lower-cased
// names it replaces: lookups ignoring case (ASCII or not), the last of names
// equal but for case winning, the root taken off, and the listing.
func TestFileIndex(t *testing.T) {
	names := []string{"top/manifest.json", "top/Matters.csv", "top/documents/M1/Contract.PDF", "top/documents/M1/contract.pdf",
		"top/documents/Ünïcode Файл.txt", "other/stray.txt", "top/notes.txt"}
	for i := range 3000 {
		names = append(names, fmt.Sprintf("top/documents/M%06d/Local Authority Search %d.pdf", i, i))
	}
	var x fileIndex
	want := map[string]file{}
	for i, n := range names {
		if err := x.add(n, int64(i)); err != nil {
			t.Fatal(err)
		}
		if rel, ok := strings.CutPrefix(n, "top/"); ok {
			want[strings.ToLower(rel)] = file{Name: rel, Size: int64(i)}
		}
	}
	x.build("top/")
	for lower, f := range want {
		for _, q := range []string{lower, strings.ToUpper(lower), f.Name} {
			got, ok := x.get(q)
			if !ok || got != f {
				t.Fatalf("get(%q) = %+v, %v; want %+v", q, got, ok, f)
			}
		}
	}
	for _, q := range []string{"stray.txt", "other/stray.txt", "top/notes.txt", "documents/M1/contract.pd", ""} {
		if got, ok := x.get(q); ok {
			t.Errorf("get(%q) = %+v; want none", q, got)
		}
	}
	if f, _ := x.get("DOCUMENTS/m1/CONTRACT.pdf"); f.Name != "documents/M1/contract.pdf" {
		t.Errorf("of names equal but for case, got %q; want the last listed", f.Name)
	}
	var listed []string
	x.each(func(n string) { listed = append(listed, n) })
	slices.Sort(listed)
	if names := x.names(); !slices.Equal(listed, names) || len(names) != len(want) {
		t.Errorf("each lists %d names, names %d; want %d, the same", len(listed), len(names), len(want))
	}
}
