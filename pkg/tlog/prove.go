package tlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// ErrNotFound: the log holds no such leaf.
var ErrNotFound = errors.New("not in the log")

// ReadCheckpoint returns the published checkpoint of the log in dir.
func ReadCheckpoint(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, layout.CheckpointPath))
	if err != nil {
		return nil, err
	}
	if len(b) > tlogproof.MaxCheckpointSize {
		return nil, fmt.Errorf("%w: %d bytes", tlogproof.ErrMalformedCheckpoint, len(b))
	}
	return b, nil
}

// ProveInclusion returns a c2sp.org/tlog-proof for the leaf at index
// against the published checkpoint of dir. The proof's extra line carries
// the leaf. The proof is checked against the checkpoint root before it is
// returned (a damaged tile fails here with tlogproof.ErrInclusion).
func ProveInclusion(ctx context.Context, dir string, index uint64) ([]byte, error) {
	cp, err := readCheckpointBody(dir)
	if err != nil {
		return nil, err
	}
	if index >= cp.Size {
		return nil, fmt.Errorf("%w: index %d, the checkpoint covers %d leaves", ErrNotFound, index, cp.Size)
	}
	fetch := client.FileFetcher{Root: dir}
	pb, err := client.NewProofBuilder(ctx, cp.Size, fetch.ReadTile)
	if err != nil {
		return nil, err
	}
	hashes, err := pb.InclusionProof(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("building inclusion proof: %w", err)
	}
	leaf, err := readLeaf(ctx, fetch, index, cp.Size)
	if err != nil {
		return nil, err
	}
	p := tlogproof.InclusionProof{Index: index, Leaf: leaf, Hashes: toArrays(hashes), Checkpoint: cp.Raw}
	if err := tlogproof.CheckInclusion(&cp, index, tlogproof.LeafHash(leaf), p.Hashes); err != nil {
		return nil, err
	}
	return p.Marshal(), nil
}

func readLeaf(ctx context.Context, f client.FileFetcher, index, size uint64) ([]byte, error) {
	eb, err := client.GetEntryBundle(ctx, f.ReadEntryBundle, index/layout.EntryBundleWidth, size)
	if err != nil {
		return nil, fmt.Errorf("reading leaf %d: %w", index, err)
	}
	i := index % layout.EntryBundleWidth
	if i >= uint64(len(eb.Entries)) {
		return nil, fmt.Errorf("%w: leaf %d missing from its entry bundle", ErrNotFound, index)
	}
	return eb.Entries[i], nil
}

// FindBundle scans the published tree of dir for the leaf naming the
// bundle digest and returns its index and leaf.
func FindBundle(ctx context.Context, dir, digest string) (uint64, tlogproof.Leaf, error) {
	cp, err := readCheckpointBody(dir)
	if err != nil {
		return 0, tlogproof.Leaf{}, err
	}
	var found tlogproof.Leaf
	idx := uint64(0)
	errFound := errors.New("found")
	err = forEachLeaf(ctx, client.FileFetcher{Root: dir}.ReadEntryBundle, cp.Size, func(i uint64, raw []byte) error {
		lf, err := tlogproof.ParseLeaf(raw)
		if err == nil && lf.Bundle == digest {
			found, idx = lf, i
			return errFound
		}
		return nil
	})
	if errors.Is(err, errFound) {
		return idx, found, nil
	}
	if err != nil {
		return 0, tlogproof.Leaf{}, err
	}
	return 0, tlogproof.Leaf{}, fmt.Errorf("%w: bundle %s (checkpoint size %d)", ErrNotFound, digest, cp.Size)
}

// ProveConsistency returns a consistency proof from oldCheckpoint to the
// published checkpoint of dir. It refuses (tlogproof.ErrSmallerTree or
// ErrConsistency) when the published tree does not extend the old one.
func ProveConsistency(ctx context.Context, dir string, oldCheckpoint []byte) ([]byte, error) {
	cp, err := readCheckpointBody(dir)
	if err != nil {
		return nil, err
	}
	old, err := parseNoteBody(oldCheckpoint)
	if err != nil {
		return nil, fmt.Errorf("old checkpoint: %w", err)
	}
	if old.Origin != cp.Origin {
		return nil, fmt.Errorf("%w: old checkpoint is for %q, the log is %q", tlogproof.ErrOrigin, old.Origin, cp.Origin)
	}
	if old.Size > cp.Size {
		return nil, fmt.Errorf("%w: got size %d, old size %d", tlogproof.ErrSmallerTree, cp.Size, old.Size)
	}
	var hashes [][]byte
	if old.Size > 0 && old.Size < cp.Size {
		pb, err := client.NewProofBuilder(ctx, cp.Size, client.FileFetcher{Root: dir}.ReadTile)
		if err != nil {
			return nil, err
		}
		if hashes, err = pb.ConsistencyProof(ctx, old.Size, cp.Size); err != nil {
			return nil, fmt.Errorf("building consistency proof: %w", err)
		}
	}
	p := tlogproof.ConsistencyProof{Old: old.Size, Hashes: toArrays(hashes), Checkpoint: cp.Raw}
	if err := tlogproof.CheckConsistency(&old, &cp, p.Hashes); err != nil {
		return nil, err
	}
	return p.Marshal(), nil
}

func parseNoteBody(raw []byte) (tlogproof.Checkpoint, error) {
	body, _, ok := cutNote(raw)
	if !ok {
		return tlogproof.Checkpoint{}, fmt.Errorf("%w: no signature block", tlogproof.ErrMalformedCheckpoint)
	}
	return tlogproof.ParseCheckpointBody(body)
}

func cutNote(raw []byte) ([]byte, []byte, bool) {
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] == '\n' && raw[i+1] == '\n' {
			return raw[:i+1], raw[i+2:], true
		}
	}
	return nil, nil, false
}

func fileReader(dir string) bundleReader { return client.FileFetcher{Root: dir}.ReadEntryBundle }
