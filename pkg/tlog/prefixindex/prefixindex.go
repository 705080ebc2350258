// Package prefixindex is a compact in-memory index from SHA-256 digests to
// 40-bit values (a leaf index, a file offset) in 8 bytes a slot: an
// open-addressing table with linear probing whose slot holds the top 24
// bits of the digest (its key, which also picks the home slot) and the
// value. It grows by half when 4/5 full, so an entry costs 10 to 15 bytes,
// against about 100 for a Go map of full digests. The table does not hold
// digests: a lookup yields every value under the digest's key, and the
// caller checks each against the full digest kept on disk. Digests are
// uniformly distributed, so an absent digest meets a false candidate (one
// disk read) about once per million lookups in a table of a million
// entries; the rate grows with the table, and past 2^24 entries keys
// repeat.
package prefixindex

import "encoding/binary"

const (
	minSlots  = 1024
	valueBits = 40
	keyBits   = 64 - valueBits
	valueMask = 1<<valueBits - 1
	// MaxValue is the largest value an Index holds.
	MaxValue = valueMask - 1
)

// Index maps 24-bit keys to values; a key may hold several values. The
// zero Index is empty and ready to use; it is not safe for concurrent use.
type Index struct {
	slots []uint64 // key<<40 | value+1; 0 marks an empty slot
	n     int
}

// Key returns the key of digest d: its top 24 bits.
func Key(d [32]byte) uint64 { return binary.BigEndian.Uint64(d[:8]) >> valueBits }

// Add records val (at most MaxValue; callers bound their values) under
// key.
func (t *Index) Add(key, val uint64) {
	if (t.n+1)*5 > len(t.slots)*4 {
		t.grow(max(minSlots, len(t.slots)+len(t.slots)/2))
	}
	t.put(key<<valueBits | (val&valueMask + 1))
	t.n++
}

func (t *Index) home(key uint64) int {
	return int(key * uint64(len(t.slots)) >> keyBits)
}

func (t *Index) put(slot uint64) {
	for i := t.home(slot >> valueBits); ; i = (i + 1) % len(t.slots) {
		if t.slots[i] == 0 {
			t.slots[i] = slot
			return
		}
	}
}

func (t *Index) grow(size int) {
	old := t.slots
	t.slots = make([]uint64, size)
	for _, s := range old {
		if s != 0 {
			t.put(s)
		}
	}
}

// Find calls match with each value recorded under key until it returns
// true; it reports whether one did.
func (t *Index) Find(key uint64, match func(val uint64) bool) bool {
	if len(t.slots) == 0 {
		return false
	}
	for i := t.home(key); t.slots[i] != 0; i = (i + 1) % len(t.slots) {
		if s := t.slots[i]; s>>valueBits == key && match(s&valueMask-1) {
			return true
		}
	}
	return false
}

// Values returns the values recorded under key.
func (t *Index) Values(key uint64) []uint64 {
	var out []uint64
	t.Find(key, func(v uint64) bool { out = append(out, v); return false })
	return out
}

// Retain keeps the values for which keep returns true and drops the
// others, shrinking the table to fit; it returns how many it dropped.
func (t *Index) Retain(keep func(val uint64) bool) int {
	var kept []uint64
	for _, s := range t.slots {
		if s != 0 && keep(s&valueMask-1) {
			kept = append(kept, s)
		}
	}
	dropped := t.n - len(kept)
	if dropped == 0 {
		return 0
	}
	t.slots, t.n = nil, len(kept)
	if len(kept) > 0 {
		t.slots = make([]uint64, max(minSlots, len(kept)*5/4+1))
		for _, s := range kept {
			t.put(s)
		}
	}
	return dropped
}

// Len returns the number of values recorded.
func (t *Index) Len() int { return t.n }
