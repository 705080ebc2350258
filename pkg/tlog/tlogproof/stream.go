package tlogproof

import (
	"fmt"
	"sort"
)

// StreamProblem is one break in a stream's chain found by CheckStream.
type StreamProblem struct {
	Stream string
	Seq    uint64 // the sequence number where the chain breaks
	Kind   string // "gap", "duplicate", "prev-mismatch"
	Detail string
}

func (p StreamProblem) String() string {
	return fmt.Sprintf("stream %s seq %d: %s: %s", p.Stream, p.Seq, p.Kind, p.Detail)
}

// CheckStream checks leaves of one stream (in any order, e.g. in log order,
// which is arbitrary inside a batch): sorted by seq they must be 0..n-1,
// once each, each prev naming the bundle of seq-1. When first > 0 the
// caller holds only a suffix (seq first.. ) and the prev of seq first is
// not checked. Every problem is reported, not only the first.
func CheckStream(leaves []Leaf, first uint64) []StreamProblem {
	if len(leaves) == 0 {
		return nil
	}
	ls := append([]Leaf(nil), leaves...)
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].Seq < ls[j].Seq })
	var probs []StreamProblem
	add := func(seq uint64, kind, format string, args ...any) {
		probs = append(probs, StreamProblem{Stream: ls[0].Stream, Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	want := first
	var last *Leaf // the previous accepted leaf, duplicates skipped
	for i := range ls {
		l := &ls[i]
		switch {
		case l.Stream != ls[0].Stream:
			add(l.Seq, "mixed", "leaf of stream %s", l.Stream)
			continue
		case last != nil && l.Seq == last.Seq:
			add(l.Seq, "duplicate", "bundles %s and %s", last.Bundle, l.Bundle)
			continue
		case l.Seq != want:
			add(want, "gap", "seq %d to %d missing", want, l.Seq-1)
		case last != nil && l.Prev != last.Bundle:
			add(l.Seq, "prev-mismatch", "prev %s, seq %d is %s", l.Prev, last.Seq, last.Bundle)
		}
		last, want = l, l.Seq+1
	}
	return probs
}
