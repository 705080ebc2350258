package tlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// watermark is the durable record of the largest checkpoint the log key
// signed: its body "<origin>\n<size>\n<root>\n" in one file.
type watermark struct {
	path string
	mu   sync.Mutex
	have bool
	cp   tlogproof.Checkpoint
}

func loadWatermark(path string) (*watermark, error) {
	w := &watermark{path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return w, nil
	}
	if err != nil {
		return nil, err
	}
	if w.cp, err = tlogproof.ParseCheckpointBody(b); err != nil {
		return nil, fmt.Errorf("watermark %s: %w", path, err)
	}
	w.have = true
	return w, nil
}

// advance records cp as signed, refusing a smaller or forked tree. It is
// durable before it returns, so the signature it guards never outlives it.
func (w *watermark) advance(cp tlogproof.Checkpoint) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.have {
		if err := w.refuses(cp.Size, cp.Root); err != nil {
			return err
		}
		if cp.Size == w.cp.Size {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(w.path), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(w.path, cp.Body(), 0o644); err != nil {
		return err
	}
	w.cp, w.have = cp, true
	return nil
}

func (w *watermark) refuses(size uint64, root [32]byte) error {
	switch {
	case size < w.cp.Size:
		return fmt.Errorf("%w: the tree has %d leaves but the log key already signed a checkpoint of size %d (watermark %s); the log directory was truncated or restored from an old backup, and signing it would rewrite history", ErrRollback, size, w.cp.Size, w.path)
	case size == w.cp.Size && root != w.cp.Root:
		return fmt.Errorf("%w: the tree of size %d has root %x but the log key signed root %x at that size (watermark %s)", ErrRollback, size, root, w.cp.Root, w.path)
	}
	return nil
}

// check compares the directory's tree with the watermark before anything
// can be signed: the tree must not be smaller than the last signed
// checkpoint, and a larger tree must extend it (a consistency proof is built
// from the tiles and verified). The published checkpoint file may lag the
// watermark after a crash between signing and writing it; that is not a
// rollback, and the next publication replaces it. A published checkpoint
// with another root at the watermark's size is a fork and is refused.
func (w *watermark) check(ctx context.Context, dir string) error {
	size, root, err := readTreeState(dir)
	if errors.Is(err, os.ErrNotExist) {
		size, root = 0, emptyRoot
	} else if err != nil {
		return err
	}
	pub, err := readCheckpointBody(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	case !w.have:
		if err := w.advance(pub); err != nil { // adopt a log created before its watermark
			return err
		}
	case pub.Size == w.cp.Size && pub.Root != w.cp.Root:
		return w.refuses(pub.Size, pub.Root)
	}
	if !w.have {
		return nil
	}
	if err := w.refuses(size, root); err != nil {
		return err
	}
	return w.extends(ctx, dir, size, root)
}

func (w *watermark) extends(ctx context.Context, dir string, size uint64, root [32]byte) error {
	if size == w.cp.Size || w.cp.Size == 0 {
		return nil
	}
	pb, err := client.NewProofBuilder(ctx, size, client.FileFetcher{Root: dir}.ReadTile)
	if err != nil {
		return err
	}
	hashes, err := pb.ConsistencyProof(ctx, w.cp.Size, size)
	if err != nil {
		return fmt.Errorf("%w: cannot prove the tree of size %d extends the signed size %d: %v", ErrRollback, size, w.cp.Size, err)
	}
	newCP := tlogproof.Checkpoint{Size: size, Root: root}
	if err := tlogproof.CheckConsistency(&w.cp, &newCP, toArrays(hashes)); err != nil {
		return fmt.Errorf("%w: the tree does not extend the last signed checkpoint: %w", ErrRollback, err)
	}
	return nil
}

// guardSigner signs checkpoint bodies only after the watermark accepted
// them: the log never signs a checkpoint smaller than, or forking, one it
// signed before (c2sp.org/tlog-checkpoint: "A log MUST not sign any
// checkpoint which is inconsistent with any checkpoint it previously
// signed").
type guardSigner struct {
	note.Signer
	wm *watermark
}

func (g *guardSigner) Sign(msg []byte) ([]byte, error) {
	cp, err := tlogproof.ParseCheckpointBody(msg)
	if err != nil {
		return nil, err
	}
	if err := g.wm.advance(cp); err != nil {
		return nil, err
	}
	return g.Signer.Sign(msg)
}

var emptyRoot = [32]byte{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}

// readTreeState reads Tessera's integrated tree state (.state/treeState,
// JSON {"size":N,"root":"<base64>"}).
func readTreeState(dir string) (uint64, [32]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, ".state", "treeState"))
	if err != nil {
		return 0, [32]byte{}, err
	}
	var ts struct {
		Size uint64 `json:"size"`
		Root []byte `json:"root"`
	}
	if err := json.Unmarshal(b, &ts); err != nil || len(ts.Root) != 32 {
		return 0, [32]byte{}, fmt.Errorf("%s/.state/treeState: malformed", dir)
	}
	return ts.Size, [32]byte(ts.Root), nil
}

// readCheckpointBody returns the unverified body of the published checkpoint.
func readCheckpointBody(dir string) (tlogproof.Checkpoint, error) {
	raw, err := ReadCheckpoint(dir)
	if err != nil {
		return tlogproof.Checkpoint{}, err
	}
	cp, err := parseNoteBody(raw)
	cp.Raw = raw
	return cp, err
}

func toArrays(hs [][]byte) [][32]byte {
	out := make([][32]byte, len(hs))
	for i, h := range hs {
		copy(out[i][:], h)
	}
	return out
}
