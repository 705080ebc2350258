package anchor

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
	"github.com/dossier-audit/dossier/pkg/witness/witnessverify"
)

// TSA is a time-stamping authority of the trust root.
type TSA struct {
	Name string
	// Options holds its roots, intermediates, validity period and policy.
	Options tsaverify.Options
}

// TrustRoot is what the auditor trusts, never taken from the package.
type TrustRoot struct {
	Log     note.Verifier
	LogVKey string
	TSAs    []TSA
	// Witnesses is the tlog-policy; nil when witnesses are not used.
	Witnesses *witnessverify.Policy
}

// Result is what Verify established.
type Result struct {
	Entries []EntryResult
	// Fork is set with ErrFork.
	Fork *witnessverify.ForkEvidence
}

// EntryResult is one anchored checkpoint.
type EntryResult struct {
	Size       uint64
	Timestamps []TimestampResult
	// IgnoredTimestamps counts tokens of TSAs the trust root does not name.
	IgnoredTimestamps int
	// Witness is the cosignature check (nil without a policy).
	Witness *witnessverify.Result
	// NotAfter is the earliest anchor time: the checkpoint existed no later
	// than this. Zero when nothing anchors it.
	NotAfter time.Time
	// By names what anchored it at NotAfter: "tsa:<name>" or "witness-quorum".
	By []string
}

// TimestampResult is one verified token.
type TimestampResult struct {
	TSA    string
	Result *tsaverify.Result
}

// Verify checks every entry against the verified package checkpoint pkg:
// the entry's checkpoint opens with the log key, is a prefix of pkg
// (consistency proof), each token of a trust-root TSA verifies over its
// exact bytes, and every cosignature by a policy witness verifies. It
// stops at the first failure; the error wraps the class sentinel and the
// cause.
func Verify(f *File, pkg *tlogproof.Checkpoint, root TrustRoot) (*Result, error) {
	res := &Result{}
	var last uint64
	for i, e := range f.Anchors {
		er, fork, err := verifyEntry(e, pkg, root)
		if err != nil {
			res.Fork = fork
			return res, fmt.Errorf("anchors[%d]: %w", i, err)
		}
		if i > 0 && er.Size <= last {
			return res, fmt.Errorf("%w: anchors[%d]: size %d after size %d, want increasing sizes", ErrMalformed, i, er.Size, last)
		}
		last = er.Size
		res.Entries = append(res.Entries, *er)
	}
	return res, nil
}

func verifyEntry(e Entry, pkg *tlogproof.Checkpoint, root TrustRoot) (*EntryResult, *witnessverify.ForkEvidence, error) {
	cp, err := tlogproof.VerifyCheckpoint(e.Checkpoint, root.Log)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	hashes := make([][32]byte, len(e.Consistency))
	for i, h := range e.Consistency {
		hashes[i] = [32]byte(h)
	}
	if err := consistent(cp, pkg, hashes); err != nil {
		fork, ferr := witnessverify.CheckFork(cp.Raw, pkg.Raw, root.Log, root.LogVKey, hashes)
		if ferr != nil || fork == nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrFork, err)
		}
		return nil, fork, fmt.Errorf("%w: %w", ErrFork, err)
	}
	er := &EntryResult{Size: cp.Size}
	if err := er.timestamps(e, root); err != nil {
		return nil, nil, err
	}
	if err := er.witnesses(e, root); err != nil {
		return nil, nil, err
	}
	return er, nil, nil
}

func consistent(cp, pkg *tlogproof.Checkpoint, hashes [][32]byte) error {
	if cp.Size > pkg.Size {
		return fmt.Errorf("%w: anchored size %d, package size %d", tlogproof.ErrConsistency, cp.Size, pkg.Size)
	}
	if cp.Size == pkg.Size && len(hashes) != 0 {
		return fmt.Errorf("%w: proof hashes between equal sizes", tlogproof.ErrConsistency)
	}
	return tlogproof.CheckConsistency(cp, pkg, hashes)
}

func (er *EntryResult) timestamps(e Entry, root TrustRoot) error {
	for _, ts := range e.Timestamps {
		tsa, ok := findTSA(root.TSAs, ts.TSA)
		if !ok {
			er.IgnoredTimestamps++
			continue
		}
		r, err := tsaverify.Verify(ts.Response, e.Checkpoint, tsa.Options)
		if err != nil {
			return fmt.Errorf("%w: tsa %s: %w", ErrTSA, ts.TSA, err)
		}
		er.Timestamps = append(er.Timestamps, TimestampResult{TSA: ts.TSA, Result: r})
		er.bound(r.Latest(), "tsa:"+ts.TSA)
	}
	return nil
}

func (er *EntryResult) witnesses(e Entry, root TrustRoot) error {
	if root.Witnesses == nil {
		return nil
	}
	cosigned := append(append([]byte{}, e.Checkpoint...), e.Cosignatures...)
	wr, err := witnessverify.Verify(cosigned, root.Witnesses)
	if err != nil && !errors.Is(err, witnessverify.ErrQuorum) {
		return fmt.Errorf("%w: %w", ErrWitness, err)
	}
	er.Witness = wr
	if wr.QuorumMet && !wr.AnchoredAt.IsZero() {
		er.bound(wr.AnchoredAt, "witness-quorum")
	}
	return nil
}

// bound lowers NotAfter to t (ties add the name).
func (er *EntryResult) bound(t time.Time, by string) {
	switch {
	case er.NotAfter.IsZero() || t.Before(er.NotAfter):
		er.NotAfter, er.By = t, []string{by}
	case t.Equal(er.NotAfter):
		er.By = append(er.By, by)
	}
}

func findTSA(tsas []TSA, name string) (TSA, bool) {
	for _, t := range tsas {
		if t.Name == name {
			return t, true
		}
	}
	return TSA{}, false
}

// Anchor is the verdict on one leaf's time.
type Anchor struct {
	// Anchored is false when the leaf's time is only asserted by the
	// operator.
	Anchored bool
	// NotAfter bounds the leaf's existence from above.
	NotAfter time.Time
	// Size is the anchored checkpoint that gives the bound; By what
	// anchored it.
	Size uint64
	By   []string
}

// For returns the tightest anchor of the leaf at index: the earliest
// NotAfter among verified entries whose tree contains the leaf.
func (r *Result) For(index uint64) Anchor {
	var a Anchor
	for _, e := range r.Entries {
		if e.Size > index && !e.NotAfter.IsZero() && (!a.Anchored || e.NotAfter.Before(a.NotAfter)) {
			a = Anchor{Anchored: true, NotAfter: e.NotAfter, Size: e.Size, By: e.By}
		}
	}
	return a
}
