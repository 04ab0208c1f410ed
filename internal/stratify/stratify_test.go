package stratify

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func items(sizes map[string]int) []Item {
	var out []Item
	for s, n := range sizes {
		for i := range n {
			out = append(out, Item{ID: fmt.Sprintf("%s-%04d", s, i), Stratum: s})
		}
	}
	return out
}

func count(ids []string, all []Item) map[string]int {
	by := map[string]string{}
	for _, it := range all {
		by[it.ID] = it.Stratum
	}
	out := map[string]int{}
	for _, id := range ids {
		out[by[id]]++
	}
	return out
}

func TestSelect(t *testing.T) {
	sizes := map[string]int{"Purchase/Completion": 600, "Purchase/Searches": 250, "Sale/Completion": 120, "Remortgage/Instructed": 25, "Transfer of equity/Compliance": 4, "Sale/Exchange": 1}
	all := items(sizes)
	got := Select(all, 200, 7)
	if len(got) != 200 {
		t.Fatalf("%d selected; want 200", len(got))
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s selected twice", id)
		}
		seen[id] = true
	}
	c := count(got, all)
	for s := range sizes {
		if c[s] == 0 {
			t.Errorf("stratum %s not represented", s)
		}
	}
	// Proportional within one item, after the floor of one each.
	if c["Purchase/Completion"] < 110 || c["Purchase/Completion"] > 125 {
		t.Errorf("Purchase/Completion got %d of 200 (600 of 1000 matters)", c["Purchase/Completion"])
	}
	if c["Sale/Exchange"] != 1 {
		t.Errorf("a stratum of one got %d", c["Sale/Exchange"])
	}

	// Same seed, shuffled input: the same choice.
	shuffled := slices.Clone(all)
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if again := Select(shuffled, 200, 7); !slices.Equal(again, got) {
		t.Errorf("the choice depends on the input order")
	}
	if other := Select(all, 200, 8); slices.Equal(other, got) {
		t.Errorf("another seed chose the same matters")
	}
}

func TestSelectEdges(t *testing.T) {
	all := items(map[string]int{"A": 3, "B": 2})
	tests := []struct {
		name string
		n    int
		want int
	}{
		{"more than there are", 50, 5},
		{"fewer than strata", 1, 1},
		{"none", 0, 0},
		{"exactly one per stratum", 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Select(all, tc.n, 1); len(got) != tc.want {
				t.Errorf("Select(n=%d) = %d ids; want %d", tc.n, len(got), tc.want)
			}
		})
	}
	if got := Select(nil, 10, 1); got != nil {
		t.Errorf("no items: %v", got)
	}
	if c := count(Select(all, 2, 1), all); c["A"] != 1 || c["B"] != 1 {
		t.Errorf("n = strata: %v; want one each", c)
	}
}
