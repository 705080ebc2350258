// Package audit checks a store against the log: every record the log says
// exists must be in the store, byte for byte (retention evidence).
package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	tlayout "github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// ErrLogMismatch: the log's leaves do not hash to its checkpoint's root.
var ErrLogMismatch = errors.New("log entries do not match the checkpoint")

// Log is the content of a log directory up to its published checkpoint.
type Log struct {
	Checkpoint tlogproof.Checkpoint
	// Verified is true when the checkpoint signature was checked.
	Verified bool
	Leaves   []tlogproof.Leaf
	byBundle map[string]int
}

// ReadLog reads every leaf of the log in dir covered by its published
// checkpoint, without opening the log for writing, and checks that the
// leaves hash to the checkpoint's root. When v is not nil the checkpoint
// signature is verified with it.
func ReadLog(ctx context.Context, dir string, v note.Verifier) (*Log, error) {
	raw, err := tlog.ReadCheckpoint(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the log checkpoint: %w", err)
	}
	cp, err := parseCheckpoint(raw, v)
	if err != nil {
		return nil, err
	}
	l := &Log{Checkpoint: cp, Verified: v != nil, byBundle: map[string]int{}}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	rng := rf.NewEmptyRange(0)
	fetch := client.FileFetcher{Root: dir}
	for b := uint64(0); b*tlayout.EntryBundleWidth < cp.Size; b++ {
		eb, err := client.GetEntryBundle(ctx, fetch.ReadEntryBundle, b, cp.Size)
		if err != nil {
			return nil, fmt.Errorf("reading log entry bundle %d: %w", b, err)
		}
		for _, e := range eb.Entries {
			if err := l.add(e); err != nil {
				return nil, err
			}
			if err := rng.Append(rfc6962.DefaultHasher.HashLeaf(e), nil); err != nil {
				return nil, err
			}
		}
	}
	return l, l.checkRoot(rng)
}

func parseCheckpoint(raw []byte, v note.Verifier) (tlogproof.Checkpoint, error) {
	if v != nil {
		cp, err := tlogproof.VerifyCheckpoint(raw, v)
		if err != nil {
			return tlogproof.Checkpoint{}, err
		}
		return *cp, nil
	}
	i := bytes.Index(raw, []byte("\n\n"))
	if i < 0 {
		return tlogproof.Checkpoint{}, fmt.Errorf("%w: no signature block", tlogproof.ErrMalformedCheckpoint)
	}
	return tlogproof.ParseCheckpointBody(raw[:i+1])
}

func (l *Log) add(raw []byte) error {
	lf, err := tlogproof.ParseLeaf(raw)
	if err != nil {
		return fmt.Errorf("log leaf %d: %w", len(l.Leaves), err)
	}
	if _, dup := l.byBundle[lf.Bundle]; dup {
		return fmt.Errorf("%w: bundle %s logged twice", ErrLogMismatch, lf.Bundle)
	}
	l.byBundle[lf.Bundle] = len(l.Leaves)
	l.Leaves = append(l.Leaves, lf)
	return nil
}

func (l *Log) checkRoot(rng *compact.Range) error {
	if uint64(len(l.Leaves)) != l.Checkpoint.Size {
		return fmt.Errorf("%w: read %d leaves, checkpoint size %d", ErrLogMismatch, len(l.Leaves), l.Checkpoint.Size)
	}
	root := rfc6962.DefaultHasher.EmptyRoot()
	if l.Checkpoint.Size > 0 {
		var err error
		if root, err = rng.GetRootHash(nil); err != nil {
			return err
		}
	}
	if !bytes.Equal(root, l.Checkpoint.Root[:]) {
		return fmt.Errorf("%w: leaves hash to %x, checkpoint root %x", ErrLogMismatch, root, l.Checkpoint.Root)
	}
	return nil
}

// Lookup returns the leaf of a bundle digest ("sha256:<hex>").
func (l *Log) Lookup(bundleDigest string) (tlogproof.Leaf, bool) {
	i, ok := l.byBundle[bundleDigest]
	if !ok {
		return tlogproof.Leaf{}, false
	}
	return l.Leaves[i], true
}

// Stream returns the leaves of a stream (a run root digest), in log order.
func (l *Log) Stream(stream string) []tlogproof.Leaf {
	var out []tlogproof.Leaf
	for _, lf := range l.Leaves {
		if lf.Stream == stream {
			out = append(out, lf)
		}
	}
	return out
}
