package anchorer

import (
	"context"
	"fmt"
	"slices"

	"github.com/dossier-audit/dossier/pkg/anchor"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// Export is the anchor source of one package export (it satisfies
// dossier.AnchorSource). When TSAs or witnesses are configured, Build
// first anchors the package checkpoint itself, so every record the
// package proves — the export record included — can be anchored;
// otherwise it assembles what the store already holds. A TSA or witness
// that fails leaves those records asserted (the export goes on); only a
// fork or an unreadable store fails Build. The fields tell the caller
// what happened, for its report.
type Export struct {
	*Anchorer
	// Fresh is the report of anchoring the package checkpoint; nil when
	// no TSA or witness is configured.
	Fresh *Report
	// Size is the package checkpoint's tree size.
	Size uint64
	// AnchoredSize is the largest anchored tree size in the file (0: none).
	AnchoredSize uint64
	// Proved and Asserted count the leaves the package proves and those
	// no anchor covers (leaf index >= AnchoredSize).
	Proved, Asserted int
}

// Build anchors the package checkpoint when anchors are configured, then
// returns the package's anchors.json (Anchorer.Build) and records its
// coverage.
func (e *Export) Build(ctx context.Context, pkg *tlogproof.Checkpoint, indices []uint64) (*anchor.File, error) {
	e.Size, e.Proved = pkg.Size, len(indices)
	if len(e.TSAs)+len(e.Witnesses) > 0 {
		r, err := e.Anchor(ctx, pkg.Raw)
		if err != nil {
			return nil, err
		}
		e.Fresh = r
	}
	f, err := e.Anchorer.Build(ctx, pkg, indices)
	if err != nil {
		return nil, err
	}
	if e.AnchoredSize, err = largest(f); err != nil {
		return nil, err
	}
	for _, i := range indices {
		if i >= e.AnchoredSize {
			e.Asserted++
		}
	}
	return f, nil
}

// largest returns the largest checkpoint size among the entries.
func largest(f *anchor.File) (uint64, error) {
	var sizes []uint64
	for _, en := range f.Anchors {
		cp, err := parseNote(en.Checkpoint)
		if err != nil {
			return 0, fmt.Errorf("stored anchor checkpoint: %w", err)
		}
		sizes = append(sizes, cp.Size)
	}
	if len(sizes) == 0 {
		return 0, nil
	}
	return slices.Max(sizes), nil
}
