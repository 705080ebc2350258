package gate

import (
	"context"
	"fmt"
	"slices"

	"github.com/transparency-dev/tessera/client"

	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// RunsError is LoadMany's error when the log verifies but the records of
// some runs do not: Errs[i] is why roots[i] did not load (nil when it
// did), the error LoadFrom returns for that root alone.
type RunsError struct {
	Errs []error
}

// Error names how many runs failed and the first failure.
func (e *RunsError) Error() string {
	n, first := 0, -1
	for i, err := range e.Errs {
		if err != nil {
			n++
			if first < 0 {
				first = i
			}
		}
	}
	if n == 0 {
		return "no run failed"
	}
	return fmt.Sprintf("%d of %d runs do not load, the first (#%d): %v", n, len(e.Errs), first+1, e.Errs[first])
}

// Unwrap returns the runs' errors, so errors.Is finds ErrRecord or ErrLog.
func (e *RunsError) Unwrap() []error {
	return slices.DeleteFunc(slices.Clone(e.Errs), func(err error) bool { return err == nil })
}

// LoadMany is LoadFrom for several runs in one pass over the log: it
// verifies the keyring chain and the checkpoint, reads every leaf once,
// hashes them into the checkpoint's root and keeps only the leaves of the
// roots' streams, the keyring and the time evidence (its memory grows with
// the runs asked for, not with the log); then it builds each run's facts
// as LoadFrom does, facts[i] those of roots[i]. An error of the log or
// the keyring fails the whole load; when only some runs' records fail,
// their facts are nil and the error is a *RunsError naming why each did.
// With no roots it reads nothing.
func LoadMany(ctx context.Context, dir string, get BundleFunc, roots []*run.Root, keyrings [][]byte, pinned string) ([]*Facts, error) {
	return loadMany(ctx, dir, client.FileFetcher{Root: dir}.ReadEntryBundle, get, roots, keyrings, pinned)
}

// loadMany is LoadMany with the entry bundles read by fetch.
func loadMany(ctx context.Context, dir string, fetch client.EntryBundleFetcherFunc, get BundleFunc, roots []*run.Root, keyrings [][]byte, pinned string) ([]*Facts, error) {
	if len(roots) == 0 {
		return []*Facts{}, nil
	}
	chain, err := verifyChain(keyrings, pinned)
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{streamKeyring: true, streamTime: true}
	for _, r := range roots {
		wanted[r.Digest()] = true
	}
	leaves, size, err := readLeaves(ctx, dir, fetch, chain, func(l *tlogproof.Leaf) bool { return wanted[l.Stream] })
	if err != nil {
		return nil, err
	}
	indices, err := keyringIndices(chain, leaves)
	if err != nil {
		return nil, err
	}
	streams, timeAt := byStream(leaves)
	out, errs := make([]*Facts, len(roots)), make([]error, len(roots))
	failed := false
	for i, r := range roots {
		f := &Facts{Run: r, Chain: chain, Indices: slices.Clone(indices), Size: size}
		if errs[i] = f.loadRecords(streams[r.Digest()], timeAt, func(d string) ([]byte, error) { return get(ctx, d) }); errs[i] != nil {
			failed = true
			continue
		}
		out[i] = f
	}
	if failed {
		return out, &RunsError{Errs: errs}
	}
	return out, nil
}

// byStream groups the leaves (in log order) by stream, and finds the log
// index of each time-evidence bundle (the last, when logged twice).
func byStream(leaves []leaf) (map[string][]leaf, map[string]uint64) {
	streams, timeAt := map[string][]leaf{}, map[string]uint64{}
	for _, l := range leaves {
		streams[l.leaf.Stream] = append(streams[l.leaf.Stream], l)
		if l.leaf.Stream == streamTime {
			timeAt[l.leaf.Bundle] = l.index
		}
	}
	return streams, timeAt
}
