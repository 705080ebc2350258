package tlog

import (
	"context"
	"fmt"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// recover rebuilds the digest index and the stream heads from the leaves of
// the integrated tree. The log is its own index: there is no second file
// that a crash could leave behind the tree. Leaf order inside a batch is
// not relied on: a stream's head is its highest seq, wherever it sits.
func (l *Log) recover(ctx context.Context) error {
	size, err := l.reader.IntegratedSize(ctx)
	if err != nil {
		return err
	}
	_, root, err := readTreeState(l.dir)
	if err != nil {
		return err
	}
	seen := seqSet{size: size}
	if snap := l.loadSnapshot(ctx, size, root); snap != nil {
		err := snap.each(func(i uint64, lf tlogproof.Leaf) error { return l.addRecovered(ctx, i, lf, &seen) })
		if err != nil {
			return err
		}
	}
	return leavesFrom(ctx, l.reader.ReadEntryBundle, l.snapSize, size, func(idx uint64, raw []byte) error {
		lf, err := tlogproof.ParseLeaf(raw)
		if err != nil {
			return fmt.Errorf("%w: leaf %d: %v", ErrCorruptLog, idx, err)
		}
		return l.addRecovered(ctx, idx, lf, &seen)
	})
}

func (l *Log) addRecovered(ctx context.Context, idx uint64, lf tlogproof.Leaf, seen *seqSet) error {
	d, _ := parseDigest(lf.Bundle)
	if prev, err := l.findLocked(ctx, d); err != nil || prev != nil {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: bundle %s at leaves %d and %d", ErrCorruptLog, lf.Bundle, prev.index, idx)
	}
	h := l.head(lf.Stream)
	if !seen.add(h.name, lf.Seq) {
		return fmt.Errorf("%w: stream %s seq %d appears twice (leaf %d)", ErrCorruptLog, lf.Stream, lf.Seq, idx)
	}
	l.index.add(prefixOf(d), idx)
	if lf.Seq >= h.next {
		h.next, h.last = lf.Seq+1, d
	}
	return nil
}

// seqSet records the (stream, seq) pairs seen while recovering, one bit per
// seq below the tree size (a stream cannot hold more records than the
// tree), so it costs bits, not map entries, per leaf.
type seqSet struct {
	size  uint64
	bits  map[string][]uint64
	other map[string]map[uint64]bool // seqs >= size, only in a corrupt log
}

// add records (stream, seq) and reports whether it was new.
func (s *seqSet) add(stream string, seq uint64) bool {
	if seq >= s.size {
		if s.other == nil {
			s.other = map[string]map[uint64]bool{}
		}
		if s.other[stream] == nil {
			s.other[stream] = map[uint64]bool{}
		}
		had := s.other[stream][seq]
		s.other[stream][seq] = true
		return !had
	}
	if s.bits == nil {
		s.bits = map[string][]uint64{}
	}
	b := s.bits[stream]
	for uint64(len(b)) <= seq/64 {
		b = append(b, 0)
	}
	s.bits[stream] = b
	had := b[seq/64]&(1<<(seq%64)) != 0
	b[seq/64] |= 1 << (seq % 64)
	return !had
}

type bundleReader func(ctx context.Context, index uint64, p uint8) ([]byte, error)

// forEachLeaf calls fn for every leaf of the tree of the given size, in
// index order.
func forEachLeaf(ctx context.Context, read bundleReader, size uint64, fn func(uint64, []byte) error) error {
	return leavesFrom(ctx, read, 0, size, fn)
}
