// Package stratify picks the sample a firm reviews before the full run: a
// fixed number of matters spread across matter types and stages in
// proportion to how many matters each holds, with every combination that
// exists represented when the sample is large enough.
package stratify

import (
	"hash/fnv"
	"math"
	"sort"
)

// Item is one candidate: its id and the stratum it belongs to.
type Item struct {
	ID string
	// Stratum groups items that should be sampled together, e.g.
	// "Purchase/Searches".
	Stratum string
}

// Select returns up to n ids (all of them when there are no more than n),
// in a deterministic order for the same items, n and seed. Each stratum
// gets a share proportional to its size (largest remainders), and at least
// one item while n allows one per stratum; within a stratum the items are
// chosen by a hash of seed and id, so the choice does not depend on the
// order of the items.
func Select(items []Item, n int, seed uint64) []string {
	if n <= 0 || len(items) == 0 {
		return nil
	}
	strata := map[string][]Item{}
	for _, it := range items {
		strata[it.Stratum] = append(strata[it.Stratum], it)
	}
	keys := make([]string, 0, len(strata))
	for k := range strata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if n >= len(items) {
		n = len(items)
	}
	quota := allocate(keys, strata, len(items), n)
	var out []string
	for _, k := range keys {
		group := strata[k]
		sort.Slice(group, func(i, j int) bool {
			hi, hj := rank(seed, group[i].ID), rank(seed, group[j].ID)
			if hi != hj {
				return hi < hj
			}
			return group[i].ID < group[j].ID
		})
		for _, it := range group[:quota[k]] {
			out = append(out, it.ID)
		}
	}
	return out
}

// allocate shares n among the strata in proportion to their sizes, with a
// floor of one each when n allows, and the rest by largest remainder.
func allocate(keys []string, strata map[string][]Item, total, n int) map[string]int {
	quota := map[string]int{}
	left := n
	if n >= len(keys) {
		for _, k := range keys {
			quota[k] = 1
		}
		left -= len(keys)
	}
	type rem struct {
		key  string
		frac float64
	}
	var rems []rem
	spare := 0
	for _, k := range keys {
		spare += len(strata[k]) - quota[k]
	}
	if spare == 0 || left == 0 {
		return quota
	}
	given := 0
	for _, k := range keys {
		free := len(strata[k]) - quota[k]
		exact := float64(left) * float64(free) / float64(spare)
		whole := int(math.Floor(exact))
		quota[k] += whole
		given += whole
		rems = append(rems, rem{k, exact - float64(whole)})
	}
	sort.SliceStable(rems, func(i, j int) bool { return rems[i].frac > rems[j].frac })
	for i := 0; given < left && i < len(rems); i++ {
		if quota[rems[i].key] < len(strata[rems[i].key]) {
			quota[rems[i].key]++
			given++
		}
	}
	return quota
}

func rank(seed uint64, id string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(seed >> (8 * i))
	}
	h.Write(b[:])
	h.Write([]byte(id))
	return h.Sum64()
}
