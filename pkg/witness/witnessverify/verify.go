package witnessverify

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// Errors returned by Verify; test with errors.Is.
var (
	// ErrUnknownLog: no log of the policy has the checkpoint's origin.
	ErrUnknownLog = errors.New("checkpoint of a log the policy does not list")
	// ErrCosignature: a cosignature line by a policy witness does not
	// verify (a forged or altered cosignature).
	ErrCosignature = errors.New("witness cosignature does not verify")
	// ErrQuorum: the valid cosignatures do not meet the policy's quorum.
	ErrQuorum = errors.New("witness quorum not met")
)

// Cosignature is one verified tlog-cosignature/v1 by a policy witness: the
// witness vouches that, as of Time, this was the largest consistent tree
// it had seen for the log.
type Cosignature struct {
	Witness string
	Time    time.Time
}

// Result is what Verify established about one checkpoint.
type Result struct {
	Checkpoint *tlogproof.Checkpoint
	// Cosignatures are the valid cosignatures by policy witnesses, earliest
	// first.
	Cosignatures []Cosignature
	// Ignored counts signature lines by keys the policy does not know
	// (ignored, as signed-note requires).
	Ignored int
	// QuorumMet reports whether Cosignatures satisfy the policy quorum.
	QuorumMet bool
	// AnchoredAt is the earliest cosignature time at which the quorum was
	// met: the checkpoint (and every leaf it includes) existed no later than
	// this, as attested by independent witnesses. Zero when the quorum is
	// "none" or not met.
	AnchoredAt time.Time
}

// Verify checks the signed checkpoint raw against the policy: the log
// signature (by the policy log whose key name is the origin), every
// cosignature by a policy witness, and the quorum. A checkpoint whose
// quorum is not met returns its Result together with ErrQuorum.
func Verify(raw []byte, p *Policy) (*Result, error) {
	logV, err := p.logFor(raw)
	if err != nil {
		return nil, err
	}
	cp, err := tlogproof.VerifyCheckpoint(raw, logV)
	if err != nil {
		return nil, err
	}
	res := &Result{Checkpoint: cp}
	if err := p.cosignatures(raw, res); err != nil {
		return nil, err
	}
	signed := map[string]bool{}
	for _, c := range res.Cosignatures {
		signed[c.Witness] = true
		if p.Quorum != "none" && !res.QuorumMet && p.Satisfied(signed) {
			res.QuorumMet, res.AnchoredAt = true, c.Time
		}
	}
	if p.Quorum == "none" {
		res.QuorumMet = true
	}
	if !res.QuorumMet {
		return res, fmt.Errorf("%w: quorum %s, valid cosignatures by %s", ErrQuorum, p.Quorum, names(res.Cosignatures))
	}
	return res, nil
}

func (p *Policy) logFor(raw []byte) (note.Verifier, error) {
	origin, _, _ := strings.Cut(string(raw), "\n")
	for _, l := range p.Logs {
		if l.Verifier.Name() == origin {
			return l.Verifier, nil
		}
	}
	return nil, fmt.Errorf("%w: origin %q", ErrUnknownLog, origin)
}

func (p *Policy) cosignatures(raw []byte, res *Result) error {
	if len(p.Witnesses) == 0 {
		return nil
	}
	vs := make([]note.Verifier, len(p.Witnesses))
	byID := map[string]string{}
	for i, w := range p.Witnesses {
		vs[i] = w.Verifier
		byID[fmt.Sprintf("%s+%08x", w.Verifier.Name(), w.Verifier.KeyHash())] = w.Name
	}
	n, err := note.Open(raw, note.VerifierList(vs...))
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		res.Ignored = len(unverified.Note.UnverifiedSigs)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCosignature, err)
	}
	res.Ignored = len(n.UnverifiedSigs)
	for _, s := range n.Sigs {
		t, err := fnote.CoSigV1Timestamp(s)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCosignature, s.Name, err)
		}
		res.Cosignatures = append(res.Cosignatures, Cosignature{Witness: byID[fmt.Sprintf("%s+%08x", s.Name, s.Hash)], Time: t.UTC()})
	}
	slices.SortStableFunc(res.Cosignatures, func(a, b Cosignature) int { return a.Time.Compare(b.Time) })
	return nil
}

func names(cs []Cosignature) string {
	if len(cs) == 0 {
		return "no witness"
	}
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.Witness
	}
	return strings.Join(s, ", ")
}
