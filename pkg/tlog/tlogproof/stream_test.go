package tlogproof

import (
	"testing"
)

func chain(n int) []Leaf {
	var ls []Leaf
	for i := range n {
		l := Leaf{Bundle: Digest([]byte{byte(i)}), Stream: "export", Seq: uint64(i)}
		if i > 0 {
			l.Prev = ls[i-1].Bundle
		}
		ls = append(ls, l)
	}
	return ls
}

func TestCheckStream(t *testing.T) {
	c := chain(6)
	shuffled := []Leaf{c[3], c[0], c[5], c[1], c[4], c[2]}
	forked := append(chain(6)[:5:5], Leaf{Bundle: Digest([]byte("x")), Stream: "export", Seq: 5, Prev: Digest([]byte("y"))})
	tests := []struct {
		name  string
		in    []Leaf
		first uint64
		kinds []string
	}{
		{"complete, any order", shuffled, 0, nil},
		{"suffix", c[2:], 2, nil},
		{"gap", append(append([]Leaf{}, c[:2]...), c[4:]...), 0, []string{"gap"}},
		{"missing head", c[1:], 0, []string{"gap"}},
		{"duplicate", append(append([]Leaf{}, c...), Leaf{Bundle: Digest([]byte("z")), Stream: "export", Seq: 2, Prev: c[1].Bundle}), 0, []string{"duplicate"}},
		{"prev mismatch", forked, 0, []string{"prev-mismatch"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckStream(tc.in, tc.first)
			if len(got) != len(tc.kinds) {
				t.Fatalf("got %v, want kinds %v", got, tc.kinds)
			}
			for i, p := range got {
				if p.Kind != tc.kinds[i] {
					t.Fatalf("got %v, want kinds %v", got, tc.kinds)
				}
			}
		})
	}
}
