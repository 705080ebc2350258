package dossier

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dossier-audit/dossier/pkg/anchor"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// Media types of the optional layers for anchors, v2 policies and review
// documents (spec/anchors.md §4, spec/policy.md §7).
const (
	AnchorsMediaType  = anchor.MediaType
	PolicyV2MediaType = policy.MediaTypeV2
	ReviewMediaType   = "application/vnd.dossier.review.v1+html"
)

// AnchorSource builds a package's anchors.json for the leaves it proves
// against its checkpoint; *anchorer.Anchorer satisfies it.
type AnchorSource interface {
	Build(ctx context.Context, pkg *tlogproof.Checkpoint, indices []uint64) (*anchor.File, error)
}

// parseProposal validates the proposed policy (v1 or v2) and returns it
// compact with its layer media type; nil gives DefaultPolicy.
func parseProposal(b []byte) (*policy.Policy, []byte, error) {
	compact, err := compactJSON(b)
	if err != nil {
		return nil, nil, err
	}
	pol, err := policy.Parse(compact)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: policy: %w", ErrRequest, err)
	}
	return pol, compact, nil
}

// policyMediaType is the layer media type of the proposal.
func (p *plan) policyMediaType() string {
	if p.proposal.MediaType == policy.MediaTypeV2 {
		return PolicyV2MediaType
	}
	return PolicyMediaType
}

// evaluateProposal applies a v2 proposal's run and release rules to each
// exported run, as the writer sees them (signer hints, log order, the
// keyring as logged); failures make the package a "for review" export.
// The verifier decides; this only labels the package.
func (p *plan) evaluateProposal() {
	if !p.req.Release && p.proposal.Runs == nil && p.proposal.Releases == nil {
		return
	}
	indices := make([]uint64, len(p.sel.keyring))
	for i, it := range p.sel.keyring {
		indices[i] = it.entry.Index
	}
	keys := policy.ChainView{Chain: p.chain, Indices: indices}
	for _, root := range p.sel.runs {
		var recs []policy.Record
		for _, it := range p.sel.records {
			if it.root == root || it.root == nil {
				recs = append(recs, policy.Record{Digest: it.digest(), Kind: it.kind, LogIndex: it.entry.Index,
					Signer: keyHint(it.bytes), Predicate: it.stmt.Parsed()})
			}
		}
		rep := policy.Evaluate(policy.Input{Policy: p.proposal, RunID: root.Registration.RunID, Records: recs, Keys: keys, At: p.req.At, Release: p.req.Release})
		for _, rule := range rep.Failed() {
			p.forReview = append(p.forReview, root.Registration.RunID+": "+rule)
		}
	}
}

// reviews returns the review documents of the request that an exported
// approval names as its renderedViewDigest, sorted by digest.
func (p *plan) reviews() [][]byte {
	named := map[string]bool{}
	for _, it := range p.sel.records {
		if a, ok := it.stmt.Parsed().(*record.Approval); ok && a.RenderedViewDigest != "" {
			named[a.RenderedViewDigest] = true
		}
	}
	var out [][]byte
	seen := map[string]bool{}
	for _, doc := range p.req.Reviews {
		d := review.Digest(doc)
		if named[d] && !seen[d] {
			seen[d] = true
			out = append(out, doc)
		}
	}
	slices.SortFunc(out, func(a, b []byte) int { return strings.Compare(review.Digest(a), review.Digest(b)) })
	return out
}

// anchors builds anchors.json for every proved leaf; nil when there is no
// anchor source or nothing is anchored.
func (p *plan) anchors(ctx context.Context, items []*item) (*anchor.File, []byte, error) {
	if p.deps.Anchors == nil {
		return nil, nil, nil
	}
	idx := make([]uint64, 0, len(items)+len(p.sel.keyring))
	for _, it := range append(slices.Clone(items), p.sel.keyring...) {
		idx = append(idx, it.entry.Index)
	}
	slices.Sort(idx)
	f, err := p.deps.Anchors.Build(ctx, p.view.cp, idx)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: anchors: %w", ErrLog, err)
	}
	if f == nil || len(f.Anchors) == 0 {
		return nil, nil, nil
	}
	b, err := f.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: anchors: %w", ErrLog, err)
	}
	return f, b, nil
}

// reportAnchor is one anchors.json entry as README.txt and REPORT.html
// show it.
type reportAnchor struct {
	N            int
	Size         uint64
	TSAs         []string
	Cosignatures int
}

func newReportAnchors(f *anchor.File) []reportAnchor {
	if f == nil {
		return nil
	}
	out := make([]reportAnchor, len(f.Anchors))
	for i, e := range f.Anchors {
		ra := reportAnchor{N: i, Size: checkpointSize(e.Checkpoint)}
		for _, t := range e.Timestamps {
			ra.TSAs = append(ra.TSAs, t.TSA)
		}
		ra.Cosignatures = strings.Count(e.Cosignatures, "\n— ") + boolInt(strings.HasPrefix(e.Cosignatures, "— "))
		out[i] = ra
	}
	return out
}

// checkpointSize reads the size line of a checkpoint note (0 if absent).
func checkpointSize(note []byte) uint64 {
	lines := strings.SplitN(string(note), "\n", 3)
	var n uint64
	if len(lines) > 1 {
		_, _ = fmt.Sscanf(lines[1], "%d", &n)
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
