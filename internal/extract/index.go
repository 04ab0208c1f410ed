package extract

import "math/bits"

// idIndex is a table's ids, as pass one keeps them: an open-addressing hash
// table keyed by a 64-bit hash of the id (idKey), the id itself not being
// kept. Every slot is 16 bytes (the key and a cell packing the row's line,
// status and a 30-bit fingerprint of its values); tables that need more keep
// it in parallel arrays: updated_at (or a document's size) 8 bytes, a
// matter's volume keys or a client's email hash 8 bytes, an activity's type
// 2 bytes. Nothing in it is a pointer, so the garbage collector never scans
// it.
//
// Two different ids with the same 64-bit hash would count as one id (the
// second reported as a duplicate of the first): with n ids in a table that
// happens with probability about n²/2⁶⁵, one in ten million for two million.
type idIndex struct {
	keys   []uint64 // 0 marks an empty slot
	cells  []uint64
	stamps []int64  // with withStamps
	aux    []uint64 // with withAux
	small  []uint16 // with withSmall
	n      int
	layout indexLayout
}

// indexLayout says which parallel arrays a table's index has.
type indexLayout uint8

const (
	withStamps indexLayout = 1 << iota
	withAux
	withSmall
	// withLinks keeps, in the aux word's top bit, whether a matter has a
	// client link (entry.links is then 0 or 1), leaving v[3] 15 bits.
	withLinks
)

// Packing of a cell: line in the low 32 bits, status in the next 2, and the
// top 30 bits of the row's fingerprint above them.
const (
	statusShift = 32
	hashMask    = uint64(1<<64 - 1<<34)
)

// fingerprint is the part of a row's hash the index keeps: duplicates are
// told identical or conflicting by it.
func fingerprint(h uint64) uint64 { return h & hashMask }

// hasLinks is the bit of a matter's aux word (above its interned type,
// stage, status and 15 bits of pipeline) saying a client links to it.
const hasLinks = uint64(1) << 63

// maxLoad is the share of slots in use beyond which the table grows.
const maxLoadNum, maxLoadDen = 3, 4

func newIDIndex(expect int, layout indexLayout) *idIndex {
	ix := &idIndex{layout: layout}
	ix.alloc(max(16, expect*maxLoadDen/maxLoadNum+1))
	return ix
}

func (ix *idIndex) alloc(size int) {
	ix.keys = make([]uint64, size)
	ix.cells = make([]uint64, size)
	if ix.layout&withStamps != 0 {
		ix.stamps = make([]int64, size)
	}
	if ix.layout&withAux != 0 {
		ix.aux = make([]uint64, size)
	}
	if ix.layout&withSmall != 0 {
		ix.small = make([]uint16, size)
	}
}

// idKey hashes an id: FNV-1a, never 0.
func idKey(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	if h == 0 {
		return 1
	}
	return h
}

// slotOf is where a key's probe starts: the key mixed (FNV's high bits are
// weak) and mapped onto the table by multiplication.
func (ix *idIndex) slotOf(key uint64) int {
	k := key
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	hi, _ := bits.Mul64(k, uint64(len(ix.keys)))
	return int(hi)
}

// find returns the key's slot and whether it holds the key; when it does
// not, the slot is the empty one where it would go.
func (ix *idIndex) find(key uint64) (int, bool) {
	i := ix.slotOf(key)
	for {
		switch ix.keys[i] {
		case key:
			return i, true
		case 0:
			return i, false
		}
		if i++; i == len(ix.keys) {
			i = 0
		}
	}
}

// len is the number of ids held.
func (ix *idIndex) len() int { return ix.n }

// get returns the entry of the id with that key.
func (ix *idIndex) get(key uint64) (entry, bool) {
	if ix == nil {
		return entry{}, false
	}
	i, ok := ix.find(key)
	if !ok {
		return entry{}, false
	}
	return ix.entryAt(i), true
}

func (ix *idIndex) entryAt(i int) entry {
	c := ix.cells[i]
	e := entry{line: int32(uint32(c)), status: Status(c >> statusShift & 3), hash: c & hashMask}
	if ix.stamps != nil {
		e.stamp = ix.stamps[i]
	}
	if ix.aux != nil {
		a := ix.aux[i]
		e.v = [4]uint16{uint16(a), uint16(a >> 16), uint16(a >> 32), uint16(a >> 48)}
		if ix.layout&withLinks != 0 {
			e.v[3] &= 1<<15 - 1
			if a&hasLinks != 0 {
				e.links = 1
			}
		}
	}
	if ix.small != nil {
		e.v[0] = ix.small[i]
	}
	return e
}

// put stores e under key, replacing what was there.
func (ix *idIndex) put(key uint64, e entry) {
	i, ok := ix.find(key)
	if !ok {
		if (ix.n+1)*maxLoadDen > len(ix.keys)*maxLoadNum {
			ix.grow()
			i, _ = ix.find(key)
		}
		ix.keys[i] = key
		ix.n++
	}
	ix.cells[i] = uint64(uint32(e.line)) | uint64(e.status&3)<<statusShift | e.hash&hashMask
	if ix.stamps != nil {
		ix.stamps[i] = e.stamp
	}
	if ix.aux != nil {
		a := uint64(e.v[0]) | uint64(e.v[1])<<16 | uint64(e.v[2])<<32 | uint64(e.v[3])<<48
		if ix.layout&withLinks != 0 {
			a &^= hasLinks
			if e.links > 0 {
				a |= hasLinks
			}
		}
		ix.aux[i] = a
	}
	if ix.small != nil {
		ix.small[i] = e.v[0]
	}
}

func (ix *idIndex) grow() {
	old := *ix
	ix.alloc(2 * len(old.keys))
	for j, k := range old.keys {
		if k == 0 {
			continue
		}
		i, _ := ix.find(k)
		ix.keys[i], ix.cells[i] = k, old.cells[j]
		if ix.stamps != nil {
			ix.stamps[i] = old.stamps[j]
		}
		if ix.aux != nil {
			ix.aux[i] = old.aux[j]
		}
		if ix.small != nil {
			ix.small[i] = old.small[j]
		}
	}
}

// each calls fn with every id's key and entry, in no particular order.
func (ix *idIndex) each(fn func(key uint64, e entry)) {
	if ix == nil {
		return
	}
	for i, k := range ix.keys {
		if k != 0 {
			fn(k, ix.entryAt(i))
		}
	}
}

// setAllStatus gives every id that status.
func (ix *idIndex) setAllStatus(st Status) {
	for i, k := range ix.keys {
		if k != 0 {
			ix.cells[i] = ix.cells[i]&^(3<<statusShift) | uint64(st&3)<<statusShift
		}
	}
}

// dropAux forgets the aux words (a client's email hash, once shared
// emails are settled).
func (ix *idIndex) dropAux() {
	ix.aux = nil
	ix.layout &^= withAux
}

// dropStamps forgets the updated_at of every id: they settle duplicates,
// so they are not needed once the table has been read.
func (ix *idIndex) dropStamps() {
	ix.stamps = nil
	ix.layout &^= withStamps
}

// bytes is the memory the index holds.
func (ix *idIndex) bytes() int {
	if ix == nil {
		return 0
	}
	return 8*(len(ix.keys)+len(ix.cells)+len(ix.stamps)+len(ix.aux)) + 2*len(ix.small)
}
