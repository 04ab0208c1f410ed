package perfectportal

import (
	"errors"
	"math"
	"math/bits"
	"sort"
	"strings"
	"unicode/utf8"
)

// fileIndex is a bundle's files by lower-cased path, kept compact because a
// bundle can hold hundreds of thousands of documents: every name lives in
// one byte arena, each file takes a 16-byte entry and an 8-byte slot of an
// open-addressing table (about 70 bytes a document in all, against some 200
// for a map of strings), and nothing in it is a pointer for the garbage
// collector to scan.
type fileIndex struct {
	arena []byte
	ents  []fileEnt
	// slots hold the hash of the lower-cased name in the high 32 bits and
	// the entry's index plus one in the low 32; 0 is empty.
	slots []uint64
	n     int
}

type fileEnt struct {
	off, len uint32 // the name, as spelt in the bundle, in arena
	size     int64
}

var errTooManyFiles = errors.New("the bundle's file names take more than 4 GiB")

// add appends a file while the bundle is listed; build indexes them.
func (x *fileIndex) add(name string, size int64) error {
	if len(x.arena)+len(name) > math.MaxUint32 || len(x.ents) >= math.MaxUint32-1 {
		return errTooManyFiles
	}
	x.ents = append(x.ents, fileEnt{off: uint32(len(x.arena)), len: uint32(len(name)), size: size})
	x.arena = append(x.arena, name...)
	return nil
}

// name returns an entry's name as spelt.
func (x *fileIndex) name(i int) string {
	e := x.ents[i]
	return string(x.arena[e.off : e.off+e.len])
}

// build keeps the files under root, with root taken off their names, and
// indexes them; of names equal but for case, the last listed wins.
func (x *fileIndex) build(root string) {
	if root != "" {
		kept := x.ents[:0]
		for _, e := range x.ents {
			name := x.arena[e.off : e.off+e.len]
			if len(name) >= len(root) && string(name[:len(root)]) == root {
				e.off += uint32(len(root))
				e.len -= uint32(len(root))
				kept = append(kept, e)
			}
		}
		x.ents = kept
	}
	// Give back what appending left spare.
	x.ents = append([]fileEnt(nil), x.ents...)
	x.arena = append([]byte(nil), x.arena...)
	x.slots = make([]uint64, max(8, len(x.ents)*4/3+1))
	for i := range x.ents {
		e := x.ents[i]
		name := x.arena[e.off : e.off+e.len]
		h := lowerHash(name)
		s, found := x.find(h, func(j int) bool { return x.equalLower(j, name) })
		if !found {
			x.n++
		}
		x.slots[s] = uint64(uint32(h))<<32 | uint64(i+1)
	}
}

// find probes for a name of hash h that same says is the one sought; it
// returns the slot that holds it or the empty slot where it would go.
func (x *fileIndex) find(h uint64, same func(ent int) bool) (int, bool) {
	hi, _ := bits.Mul64(h, uint64(len(x.slots)))
	tag := uint64(uint32(h)) << 32
	for i := int(hi); ; {
		s := x.slots[i]
		if s == 0 {
			return i, false
		}
		if s&^(1<<32-1) == tag && same(int(uint32(s))-1) {
			return i, true
		}
		if i++; i == len(x.slots) {
			i = 0
		}
	}
}

// equalLower reports whether entry j's name and name are equal once
// lower-cased.
func (x *fileIndex) equalLower(j int, name []byte) bool {
	e := x.ents[j]
	other := x.arena[e.off : e.off+e.len]
	if asciiBytes(other) && asciiBytes(name) {
		if len(other) != len(name) {
			return false
		}
		for k := range name {
			if lowerASCII(other[k]) != lowerASCII(name[k]) {
				return false
			}
		}
		return true
	}
	return strings.ToLower(string(other)) == strings.ToLower(string(name))
}

// get returns the file whose name, lower-cased, is that of name.
func (x *fileIndex) get(name string) (file, bool) {
	if len(x.slots) == 0 {
		return file{}, false
	}
	b := []byte(name)
	s, ok := x.find(lowerHash(b), func(j int) bool { return x.equalLower(j, b) })
	if !ok {
		return file{}, false
	}
	i := int(uint32(x.slots[s])) - 1
	return file{Name: x.name(i), Size: x.ents[i].size}, true
}

// names lists the files' names as spelt, sorted.
func (x *fileIndex) names() []string {
	out := make([]string, 0, x.n)
	for _, s := range x.slots {
		if s != 0 {
			out = append(out, x.name(int(uint32(s))-1))
		}
	}
	sort.Strings(out)
	return out
}

// each calls fn with every file's name as spelt, in no particular order.
func (x *fileIndex) each(fn func(name string)) {
	for _, s := range x.slots {
		if s != 0 {
			fn(x.name(int(uint32(s)) - 1))
		}
	}
}

// lowerHash is FNV-1a of the lower-cased name, mixed.
func lowerHash(name []byte) uint64 {
	h := uint64(14695981039346656037)
	if asciiBytes(name) {
		for _, c := range name {
			h ^= uint64(lowerASCII(c))
			h *= 1099511628211
		}
	} else {
		for _, c := range []byte(strings.ToLower(string(name))) {
			h ^= uint64(c)
			h *= 1099511628211
		}
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

func asciiBytes(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
