package tlog

import "encoding/binary"

// prefixIndex maps SHA-256 digests to 40-bit values (a leaf index, or a
// frame location in the bundle store) in 8 bytes a slot: an open-addressing
// table with linear probing whose slot holds the top 24 bits of the digest
// (its key, which also picks the home slot) and the value. It grows by half
// when 4/5 full, so an entry costs 10 to 15 bytes, against about 100 for a
// Go map of full digests. The table does not hold digests: a lookup yields
// every value under the digest's key, and the caller checks each against
// the full digest kept on disk. Digests are uniformly distributed, so an
// absent digest meets a false candidate (one disk read) about once per
// million lookups in a table of a million entries; the rate grows with the
// table, and past 2^24 entries keys repeat.
type prefixIndex struct {
	slots []uint64 // key<<40 | value+1; 0 marks an empty slot
	n     int
}

const (
	minIndexSlots  = 1024
	indexValueBits = 40
	indexKeyBits   = 64 - indexValueBits
	indexValueMask = 1<<indexValueBits - 1
	// maxIndexValue is the largest value a prefixIndex holds.
	maxIndexValue = indexValueMask - 1
)

// prefixOf returns the key of digest d: its top 24 bits.
func prefixOf(d [32]byte) uint64 { return binary.BigEndian.Uint64(d[:8]) >> indexValueBits }

// add records val (at most maxIndexValue; callers bound their values)
// under key; a key may hold several values.
func (t *prefixIndex) add(key, val uint64) {
	if (t.n+1)*5 > len(t.slots)*4 {
		t.grow()
	}
	t.put(key<<indexValueBits | (val&indexValueMask + 1))
	t.n++
}

func (t *prefixIndex) home(key uint64) int {
	return int(key * uint64(len(t.slots)) >> indexKeyBits)
}

func (t *prefixIndex) put(slot uint64) {
	for i := t.home(slot >> indexValueBits); ; i = (i + 1) % len(t.slots) {
		if t.slots[i] == 0 {
			t.slots[i] = slot
			return
		}
	}
}

func (t *prefixIndex) grow() {
	old := t.slots
	t.slots = make([]uint64, max(minIndexSlots, len(old)+len(old)/2))
	for _, s := range old {
		if s != 0 {
			t.put(s)
		}
	}
}

// find calls match with each value recorded under key until it returns
// true; it reports whether one did.
func (t *prefixIndex) find(key uint64, match func(val uint64) bool) bool {
	if len(t.slots) == 0 {
		return false
	}
	for i := t.home(key); t.slots[i] != 0; i = (i + 1) % len(t.slots) {
		if s := t.slots[i]; s>>indexValueBits == key && match(s&indexValueMask-1) {
			return true
		}
	}
	return false
}

// len returns the number of values recorded.
func (t *prefixIndex) len() int { return t.n }
