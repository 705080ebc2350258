package gate

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/transparency-dev/tessera/client"

	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// ErrNotScanned: Scan.Facts was asked for a run the scan did not keep.
var ErrNotScanned = errors.New("run not scanned")

// ErrScanLimit: Scan.Facts was asked for a run holding more records than
// the scan kept (ScanLogMax).
var ErrScanLimit = errors.New("run holds more records than the scan keeps")

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

// LoadMany is LoadFrom for several runs in one pass over the log
// (ScanLog, then Scan.Facts for each root): facts[i] are those of
// roots[i]. An error of the log or the keyring fails the whole load; when
// only some runs' records fail, their facts are nil and the error is a
// *RunsError holding, for each, the error LoadFrom returns for it alone.
// With no roots it reads nothing.
func LoadMany(ctx context.Context, dir string, get BundleFunc, roots []*run.Root, keyrings [][]byte, pinned string) ([]*Facts, error) {
	return loadMany(ctx, dir, client.FileFetcher{Root: dir}.ReadEntryBundle, get, roots, keyrings, pinned)
}

// loadMany is LoadMany with the entry bundles read by fetch.
func loadMany(ctx context.Context, dir string, fetch client.EntryBundleFetcherFunc, get BundleFunc, roots []*run.Root, keyrings [][]byte, pinned string) ([]*Facts, error) {
	if len(roots) == 0 {
		return []*Facts{}, nil
	}
	s, err := scanLog(ctx, dir, fetch, roots, keyrings, pinned, 0)
	if err != nil {
		return nil, err
	}
	out, errs := make([]*Facts, len(roots)), make([]error, len(roots))
	failed := false
	for i, r := range roots {
		if out[i], errs[i] = s.Facts(ctx, get, r); errs[i] != nil {
			failed = true
		}
	}
	if failed {
		return out, &RunsError{Errs: errs}
	}
	return out, nil
}

// Scan is one verified pass over a log for some runs: the keyring chain
// verified, the checkpoint verified with its log key, every leaf read and
// hashed into the checkpoint's root, and kept of them only the index and
// bundle digest of those in the runs' streams, and the keyring and time
// evidence leaves; so its memory grows with the runs' records (40 bytes
// each), not with the log. Facts verifies one run's records from it.
type Scan struct {
	chain   *keyring.Chain
	indices []uint64 // log index of keyring version i+1
	size    uint64
	streams map[string][]slimLeaf // by run root digest
	counts  map[string]int        // records of each run's stream, by run root digest
	max     int                   // most leaves kept of a stream (0: all)
	timeAt  map[string]uint64     // time evidence bundle digest → log index
}

// slimLeaf is a kept leaf of a run's stream.
type slimLeaf struct {
	index  uint64
	bundle [32]byte // sha256 of the bundle
}

// ScanLog reads the log in dir once for the runs of roots (Scan). Its
// errors are those LoadFrom returns before it reads a run's records: of
// the keyring (ErrKeyring) or of the log (ErrLog).
func ScanLog(ctx context.Context, dir string, roots []*run.Root, keyrings [][]byte, pinned string) (*Scan, error) {
	return ScanLogMax(ctx, dir, roots, keyrings, pinned, 0)
}

// ScanLogMax is ScanLog keeping at most max leaves of each run's stream
// (0: all): of a run holding more, only the count is kept (Records), and
// Facts fails with ErrScanLimit; so a run too large to load costs the scan
// nothing but its count, however many records it holds.
func ScanLogMax(ctx context.Context, dir string, roots []*run.Root, keyrings [][]byte, pinned string, max int) (*Scan, error) {
	return scanLog(ctx, dir, client.FileFetcher{Root: dir}.ReadEntryBundle, roots, keyrings, pinned, max)
}

func scanLog(ctx context.Context, dir string, fetch client.EntryBundleFetcherFunc, roots []*run.Root, keyrings [][]byte, pinned string, max int) (*Scan, error) {
	chain, err := verifyChain(keyrings, pinned)
	if err != nil {
		return nil, err
	}
	s := &Scan{chain: chain, streams: map[string][]slimLeaf{}, counts: map[string]int{}, max: max, timeAt: map[string]uint64{}}
	for _, r := range roots {
		s.streams[r.Digest()] = nil
	}
	var keyringLeaves []leaf
	visit := func(idx uint64, lf *tlogproof.Leaf) {
		switch lf.Stream {
		case streamKeyring:
			keyringLeaves = append(keyringLeaves, leaf{index: idx, leaf: tlogproof.Leaf{Bundle: strings.Clone(lf.Bundle), Stream: streamKeyring}})
		case streamTime:
			s.timeAt[strings.Clone(lf.Bundle)] = idx
		default:
			if l, ok := s.streams[lf.Stream]; ok {
				s.counts[lf.Stream]++
				if s.max > 0 && s.counts[lf.Stream] > s.max {
					s.streams[lf.Stream] = nil // over the limit: counted only
					return
				}
				var d [32]byte
				_, _ = hex.Decode(d[:], []byte(strings.TrimPrefix(lf.Bundle, "sha256:"))) // ParseLeaf validated it
				s.streams[lf.Stream] = append(l, slimLeaf{index: idx, bundle: d})
			}
		}
	}
	if s.size, err = readLeaves(ctx, dir, fetch, chain, visit); err != nil {
		return nil, err
	}
	if s.indices, err = keyringIndices(chain, keyringLeaves); err != nil {
		return nil, err
	}
	return s, nil
}

// Size is the size of the checkpoint the scan read.
func (s *Scan) Size() uint64 { return s.size }

// Records is the number of records the scan found in the stream of run
// root (ok false when root was not scanned; the time evidence they cite,
// which Facts adds, is not counted), known before any of them is
// read or verified: a caller can refuse to load a run too large for its
// memory (Facts holds every record decoded).
func (s *Scan) Records(root *run.Root) (n int, ok bool) {
	_, ok = s.streams[root.Digest()]
	return s.counts[root.Digest()], ok
}

// Facts verifies the records of run root, read by get, as LoadFrom does
// (root must be one of those scanned: else ErrNotScanned; and hold no
// more records than the scan kept: else ErrScanLimit). Each call verifies
// them again: the caller keeps the facts.
func (s *Scan) Facts(ctx context.Context, get BundleFunc, root *run.Root) (*Facts, error) {
	slim, ok := s.streams[root.Digest()]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotScanned, root.Registration.RunID)
	}
	if n := s.counts[root.Digest()]; n > len(slim) {
		return nil, fmt.Errorf("%w: run %s holds %d records, the scan kept at most %d", ErrScanLimit, root.Registration.RunID, n, s.max)
	}
	stream := make([]leaf, len(slim))
	for i, l := range slim {
		stream[i] = leaf{index: l.index, leaf: tlogproof.Leaf{Bundle: "sha256:" + hex.EncodeToString(l.bundle[:]), Stream: root.Digest()}}
	}
	f := &Facts{Run: root, Chain: s.chain, Indices: slices.Clone(s.indices), Size: s.size}
	if err := f.loadRecords(stream, s.timeAt, func(d string) ([]byte, error) { return get(ctx, d) }); err != nil {
		return nil, err
	}
	return f, nil
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
