package tlog

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

func TestPrefixIndex(t *testing.T) {
	t.Parallel()
	var ix prefixIndex
	const n = 10_000
	for i := range uint64(n) {
		d := sha256.Sum256(binary.BigEndian.AppendUint64(nil, i))
		ix.add(prefixOf(d), i)
	}
	falsePos := 0
	ix.add(1<<24-1, 7) // two values under one key: both are candidates
	ix.add(1<<24-1, 9)
	tests := []struct {
		name string
		key  uint64
		want []uint64
	}{
		{"first", prefixOf(sha256.Sum256(binary.BigEndian.AppendUint64(nil, 0))), []uint64{0}},
		{"last", prefixOf(sha256.Sum256(binary.BigEndian.AppendUint64(nil, n-1))), []uint64{n - 1}},
		{"shared key", 1<<24 - 1, []uint64{7, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []uint64
			ix.find(tt.key, func(v uint64) bool { got = append(got, v); return false })
			if len(got) != len(tt.want) {
				t.Fatalf("candidates of %x: got %v, want %v", tt.key, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("candidates of %x: got %v, want %v", tt.key, got, tt.want)
				}
			}
		})
	}
	for i := range uint64(n) { // absent digests meet few false candidates
		d := sha256.Sum256(binary.BigEndian.AppendUint64(nil, n+i))
		ix.find(prefixOf(d), func(uint64) bool { falsePos++; return false })
	}
	if falsePos > 10 {
		t.Errorf("false candidates for %d absent digests: got %d, want <= 10", n, falsePos)
	}
	if ix.len() != n+2 {
		t.Errorf("len: got %d, want %d", ix.len(), n+2)
	}
}
