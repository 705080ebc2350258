package timecheck

import (
	"cmp"
	"slices"
	"time"
)

// interval is a correctness interval [lo, hi] of the local clock's offset.
type interval struct{ lo, hi time.Duration }

func intervalOf(s Source) interval {
	return interval{s.Offset - s.RootDistance, s.Offset + s.RootDistance}
}

// majority is the outcome of Marzullo's sweep over n intervals.
type majority struct {
	lo, hi time.Duration // hull of every point covered by more than n/2 intervals
	depth  int           // the most intervals sharing one point
	ok     bool          // some point is covered by a strict majority
}

type endpoint struct {
	at   time.Duration
	step int // +1 opens an interval, −1 closes one
}

// intersect runs Marzullo's algorithm (as ntpd's clock select and chrony's
// source selection do): sweep the sorted endpoints, tracking how many
// intervals cover each point. Intervals are closed, so at equal positions
// openings sort before closings and touching intervals agree.
//
// The returned [lo, hi] is the hull of all points covered by a strict
// majority m = ⌊n/2⌋+1. If at least m intervals contain the true offset,
// the true offset has depth ≥ m and therefore lies in [lo, hi]: that is the
// proved bound. Using the hull rather than one best region keeps the proof
// sound when two majority regions exist.
func intersect(iv []interval) majority {
	need := len(iv)/2 + 1
	ends := make([]endpoint, 0, 2*len(iv))
	for _, v := range iv {
		ends = append(ends, endpoint{v.lo, +1}, endpoint{v.hi, -1})
	}
	slices.SortFunc(ends, func(a, b endpoint) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(b.step, a.step))
	})
	var m majority
	depth := 0
	for _, e := range ends {
		before := depth
		depth += e.step
		m.depth = max(m.depth, depth)
		if before < need && depth >= need && !m.ok {
			m.lo, m.ok = e.at, true
		}
		if before >= need && depth < need {
			m.hi = e.at
		}
	}
	return m
}

// meets reports whether v shares a point with the majority hull: ntpd's
// definition of a truechimer.
func (m majority) meets(v interval) bool {
	return m.ok && v.lo <= m.hi && v.hi >= m.lo
}
