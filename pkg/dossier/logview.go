package dossier

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// leafEntry is one leaf of the log with its index.
type leafEntry struct {
	Index uint64
	Raw   []byte
	Leaf  tlogproof.Leaf
}

// logView reads a POSIX log directory (C2SP tlog-tiles) at one checkpoint.
type logView struct {
	dir   string
	fetch client.FileFetcher
	cp    *tlogproof.Checkpoint
}

// openView verifies the published checkpoint of dir with v.
func openView(dir string, v note.Verifier) (*logView, error) {
	raw, err := tlog.ReadCheckpoint(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: reading checkpoint: %w", ErrLog, err)
	}
	cp, err := tlogproof.VerifyCheckpoint(raw, v)
	if err != nil {
		return nil, fmt.Errorf("%w: checkpoint of %s does not verify with the keyring's log key: %w", ErrLog, dir, err)
	}
	return &logView{dir: dir, fetch: client.FileFetcher{Root: dir}, cp: cp}, nil
}

// awaitView waits (polling every interval) until the published checkpoint
// covers index, then returns a view at it.
func awaitView(ctx context.Context, dir string, v note.Verifier, index uint64, interval time.Duration) (*logView, error) {
	for {
		lv, err := openView(dir, v)
		if err != nil {
			return nil, err
		}
		if lv.cp.Size > index {
			return lv, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: waiting for a checkpoint covering leaf %d: %w", ErrLog, index, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// leaves returns every leaf of the tree at the view's size, in index order.
func (lv *logView) leaves(ctx context.Context) ([]leafEntry, error) {
	return lv.leavesOf(ctx, func(string) bool { return true })
}

// leavesOf returns the leaves whose stream keep accepts, in index order;
// the others are parsed and dropped, so memory follows what is exported,
// not the size of the log.
func (lv *logView) leavesOf(ctx context.Context, keep func(stream string) bool) ([]leafEntry, error) {
	var out []leafEntry
	for b := uint64(0); b*layout.EntryBundleWidth < lv.cp.Size; b++ {
		eb, err := client.GetEntryBundle(ctx, lv.fetch.ReadEntryBundle, b, lv.cp.Size)
		if err != nil {
			return nil, fmt.Errorf("%w: reading entry bundle %d: %w", ErrLog, b, err)
		}
		for i, raw := range eb.Entries {
			idx := b*layout.EntryBundleWidth + uint64(i)
			lf, err := tlogproof.ParseLeaf(raw)
			if err != nil {
				return nil, fmt.Errorf("%w: leaf %d: %w", ErrLog, idx, err)
			}
			if keep(lf.Stream) {
				out = append(out, leafEntry{Index: idx, Raw: bytes.Clone(raw), Leaf: lf})
			}
		}
	}
	return out, nil
}

// prover builds proofs against the view's checkpoint.
func (lv *logView) prover(ctx context.Context) (*client.ProofBuilder, error) {
	pb, err := client.NewProofBuilder(ctx, lv.cp.Size, lv.fetch.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLog, err)
	}
	return pb, nil
}

// inclusion returns the checked inclusion path of leaf e.
func (lv *logView) inclusion(ctx context.Context, pb *client.ProofBuilder, e leafEntry) ([][]byte, error) {
	hashes, err := pb.InclusionProof(ctx, e.Index)
	if err != nil {
		return nil, fmt.Errorf("%w: inclusion proof of leaf %d: %w", ErrLog, e.Index, err)
	}
	if err := tlogproof.CheckInclusion(lv.cp, e.Index, tlogproof.LeafHash(e.Raw), toArrays(hashes)); err != nil {
		return nil, fmt.Errorf("%w: leaf %d: %w", ErrLog, e.Index, err)
	}
	return hashes, nil
}

// consistency returns the checked consistency proof from an earlier head.
func (lv *logView) consistency(ctx context.Context, pb *client.ProofBuilder, size uint64, root [32]byte) ([][]byte, error) {
	var hashes [][]byte
	if size < lv.cp.Size {
		var err error
		if hashes, err = pb.ConsistencyProof(ctx, size, lv.cp.Size); err != nil {
			return nil, fmt.Errorf("%w: consistency proof from size %d: %w", ErrLog, size, err)
		}
	}
	old := tlogproof.Checkpoint{Origin: lv.cp.Origin, Size: size, Root: root}
	if err := tlogproof.CheckConsistency(&old, lv.cp, toArrays(hashes)); err != nil {
		return nil, fmt.Errorf("%w: earlier export head at size %d: %w", ErrLog, size, err)
	}
	return hashes, nil
}

func toArrays(hs [][]byte) [][32]byte {
	out := make([][32]byte, len(hs))
	for i, h := range hs {
		copy(out[i][:], h)
	}
	return out
}
