package prefixindex

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"testing"
)

func digest(i uint64) [32]byte { return sha256.Sum256(binary.BigEndian.AppendUint64(nil, i)) }

func TestValuesAndRetain(t *testing.T) {
	t.Parallel()
	var ix Index
	const n = 5000
	for i := range uint64(n) {
		ix.Add(Key(digest(i)), i)
	}
	ix.Add(7, 100)
	ix.Add(7, 200)
	if got := ix.Values(7); !slices.Equal(got, []uint64{100, 200}) {
		t.Fatalf("Values(7) = %v, want [100 200]", got)
	}
	dropped := ix.Retain(func(v uint64) bool { return v%2 == 0 })
	if dropped != n/2 || ix.Len() != n/2+2 {
		t.Fatalf("Retain dropped %d (len %d), want %d (len %d)", dropped, ix.Len(), n/2, n/2+2)
	}
	for _, tc := range []struct {
		name string
		i    uint64
		want bool
	}{{"kept even", 42, true}, {"dropped odd", 43, false}, {"kept last even", n - 2, true}} {
		t.Run(tc.name, func(t *testing.T) {
			got := ix.Find(Key(digest(tc.i)), func(v uint64) bool { return v == tc.i })
			if got != tc.want {
				t.Errorf("Find(%d) = %v, want %v", tc.i, got, tc.want)
			}
		})
	}
	if ix.Retain(func(uint64) bool { return false }); ix.Len() != 0 || ix.Find(7, func(uint64) bool { return true }) {
		t.Fatalf("after dropping all: len %d", ix.Len())
	}
	ix.Add(7, 1) // usable again after being emptied
	if got := ix.Values(7); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("Values(7) after refill = %v", got)
	}
}
