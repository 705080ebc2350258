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
	seen := map[string]map[uint64]bool{}
	snap := l.loadSnapshot(ctx, size, root)
	for i, lf := range snap {
		if err := l.addRecovered(uint64(i), lf, seen); err != nil {
			return err
		}
	}
	return leavesFrom(ctx, l.reader.ReadEntryBundle, uint64(len(snap)), size, func(idx uint64, raw []byte) error {
		lf, err := tlogproof.ParseLeaf(raw)
		if err != nil {
			return fmt.Errorf("%w: leaf %d: %v", ErrCorruptLog, idx, err)
		}
		return l.addRecovered(idx, lf, seen)
	})
}

func (l *Log) addRecovered(idx uint64, lf tlogproof.Leaf, seen map[string]map[uint64]bool) error {
	d, _ := parseDigest(lf.Bundle)
	if prev, dup := l.byDigest[d]; dup {
		return fmt.Errorf("%w: bundle %s at leaves %d and %d", ErrCorruptLog, lf.Bundle, prev.index, idx)
	}
	h := l.head(lf.Stream)
	if seen[h.name] == nil {
		seen[h.name] = map[uint64]bool{}
	}
	if seen[h.name][lf.Seq] {
		return fmt.Errorf("%w: stream %s seq %d appears twice (leaf %d)", ErrCorruptLog, lf.Stream, lf.Seq, idx)
	}
	seen[h.name][lf.Seq] = true
	e := &entry{digest: d, stream: h.name, seq: lf.Seq, index: idx, done: closed}
	if lf.Prev != "" {
		pd, _ := parseDigest(lf.Prev)
		e.prev = &pd
	}
	l.byDigest[d] = e
	if lf.Seq >= h.next {
		h.next, h.last = lf.Seq+1, e
	}
	return nil
}

type bundleReader func(ctx context.Context, index uint64, p uint8) ([]byte, error)

// forEachLeaf calls fn for every leaf of the tree of the given size, in
// index order.
func forEachLeaf(ctx context.Context, read bundleReader, size uint64, fn func(uint64, []byte) error) error {
	return leavesFrom(ctx, read, 0, size, fn)
}
