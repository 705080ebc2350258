package verify

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/pkg/anchor"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
)

// ErrAnchorSize: anchors.json holds a checkpoint larger than the package
// checkpoint (class checkpoint).
var ErrAnchorSize = errors.New("anchored checkpoint larger than the package checkpoint")

// Failure classes of independent anchors (spec/anchors.md §5).
const (
	// FailTSA: a token does not prove its checkpoint's time under a
	// trust-root TSA.
	FailTSA Failure = "tsa"
	// FailWitness: a cosignature by a policy witness is invalid, or the
	// quorum the policy requires is not met.
	FailWitness Failure = "witness"
	// FailFork: two log-signed checkpoints that cannot be consistent; the
	// evidence is in Summary.Anchors.ForkEvidence.
	FailFork Failure = "fork"
)

// AnchorPolicy is the auditor's requirement on anchors (spec/anchors.md
// §4): none (report only), tsa, witness, either or both.
type AnchorPolicy struct {
	Require string `json:"require"`
}

var anchorRequirements = []string{"none", "tsa", "witness", "either", "both"}

// AnchorSummary says, per record, whether its time is anchored (bounded
// above by a TSA token or a witness quorum the trust root names) or only
// asserted by the log operator.
type AnchorSummary struct {
	Entries  int            `json:"entries"`
	Anchored int            `json:"anchored"`
	Asserted int            `json:"asserted"`
	Records  []RecordAnchor `json:"records"`
	// ForkEvidence is the transferable evidence of log misbehaviour
	// (dossier.dev/fork-evidence/v1) when anchors.json holds a fork.
	ForkEvidence json.RawMessage `json:"forkEvidence,omitempty"`
}

// RecordAnchor is one record's time verdict.
type RecordAnchor struct {
	Digest   string   `json:"digest"`
	Index    uint64   `json:"index"`
	Status   string   `json:"status"` // "anchored" or "asserted"
	NotAfter string   `json:"notAfter,omitempty"`
	By       []string `json:"by,omitempty"`
}

// checkReviews: a review document layer (spec/policy.md §4) must be the
// rendered view a verified approval of the package names; nothing in a
// package is unexplained (class index).
func (s *pkgState) checkReviews() {
	if len(s.meta.Reviews) == 0 {
		return
	}
	named := map[string]bool{}
	for i := range s.records {
		if ri := &s.records[i]; len(ri.Errs) == 0 && ri.View != "" {
			named[ri.View] = true
		}
	}
	ok := true
	for _, l := range s.meta.Reviews {
		if !named[l.Digest] {
			s.c.failf(FailIndex, "3", l.Digest, "review document %s is the rendered view of no verified approval in the package", l.Digest)
			ok = false
		}
	}
	if ok {
		s.c.pass("3", FailIndex, "", fmt.Sprintf("%d review document(s), each the rendered view an approval names", len(s.meta.Reviews)))
	}
}

// checkAnchors verifies anchors.json against the package checkpoint and
// the trust root of the newest keyring version (spec/anchors.md §4), then
// applies the policy's anchor requirement. It runs after step 7 verified
// the checkpoint.
func (s *pkgState) checkAnchors() {
	res, ok := s.verifyAnchors()
	if !ok {
		return
	}
	s.summarizeAnchors(res)
	s.requireAnchors(res)
}

func (s *pkgState) verifyAnchors() (*anchor.Result, bool) {
	if s.meta.Anchors.Digest == "" {
		return &anchor.Result{}, true
	}
	d := s.meta.Anchors.Digest
	b, err := s.blob(d, anchor.MaxSize)
	var f *anchor.File
	if err == nil {
		f, err = anchor.Parse(b)
	}
	if err == nil {
		err = s.anchorSizes(f)
	}
	if err != nil {
		s.c.fail(fail(FailCheckpoint, "7", fmt.Errorf("anchors.json: %w", err)), d)
		return nil, false
	}
	root, err := s.anchorTrustRoot()
	if err != nil {
		s.c.fail(fail(FailKeyring, "7", err), d)
		return nil, false
	}
	res, err := anchor.Verify(f, s.cp, root)
	if err != nil {
		s.anchorFailure(res, err, d)
		return nil, false
	}
	s.c.pass("7", FailTSA, "anchors.json", fmt.Sprintf("%d anchored checkpoint(s): every token and cosignature of the trust root's TSAs and witnesses verifies", len(res.Entries)))
	return res, true
}

// anchorSizes rejects an anchored checkpoint larger than the package
// checkpoint (SPEC.md Appendix A, P20): anchors.json holds checkpoints up
// to the package's, and a larger one is no evidence of a fork, only a
// malformed layer (class checkpoint). A checkpoint that does not open is
// left to anchor.Verify.
func (s *pkgState) anchorSizes(f *anchor.File) error {
	for i, e := range f.Anchors {
		cp, err := tlogproof.VerifyCheckpoint(e.Checkpoint, s.logVer)
		if err == nil && cp.Size > s.cp.Size {
			return fmt.Errorf("%w: anchors[%d]: anchored checkpoint of size %d is larger than the package checkpoint (%d)", ErrAnchorSize, i, cp.Size, s.cp.Size)
		}
	}
	return nil
}

// anchorFailure reports a failed anchors.json with its class; a fork
// carries its evidence document.
func (s *pkgState) anchorFailure(res *anchor.Result, err error, d string) {
	class := FailCheckpoint
	switch {
	case errors.Is(err, anchor.ErrTSA):
		class = FailTSA
	case errors.Is(err, anchor.ErrWitness):
		class = FailWitness
	case errors.Is(err, anchor.ErrFork):
		class = FailFork
	}
	if res != nil && res.Fork != nil {
		if ev, jerr := json.Marshal(res.Fork); jerr == nil {
			s.c.res.Summary.Anchors = &AnchorSummary{Records: []RecordAnchor{}, ForkEvidence: ev}
			err = fmt.Errorf("%w; fork evidence: %s", err, ev)
		}
	}
	s.c.fail(fail(class, "7", err), d)
}

// anchorTrustRoot is the anchor trust root of the newest keyring version:
// never anything from the package.
func (s *pkgState) anchorTrustRoot() (anchor.TrustRoot, error) {
	doc := s.keyring.chain.Latest()
	logs := doc.KeysWithRole(keyring.RoleLog)
	if len(logs) != 1 {
		return anchor.TrustRoot{}, fmt.Errorf("anchors: the newest keyring lists %d log keys, want 1", len(logs))
	}
	root := anchor.TrustRoot{Log: s.logVer, LogVKey: logs[0].NoteVerifierKey}
	for i := range doc.TimestampAuthorities {
		t, err := tsaOf(&doc.TimestampAuthorities[i])
		if err != nil {
			return anchor.TrustRoot{}, err
		}
		root.TSAs = append(root.TSAs, t)
	}
	w, err := doc.Witnesses()
	root.Witnesses = w
	return root, err
}

func tsaOf(a *keyring.TimestampAuthority) (anchor.TSA, error) {
	roots, inter, err := a.Chain()
	if err != nil {
		return anchor.TSA{}, fmt.Errorf("anchors: TSA %s: %w", a.Name, err)
	}
	from, until, err := a.Validity()
	if err != nil {
		return anchor.TSA{}, fmt.Errorf("anchors: TSA %s: %w", a.Name, err)
	}
	oid, err := a.PolicyOID()
	if err != nil {
		return anchor.TSA{}, fmt.Errorf("anchors: TSA %s: %w", a.Name, err)
	}
	return anchor.TSA{Name: a.Name, Options: tsaverify.Options{Roots: roots, Intermediates: inter,
		ValidFrom: from, ValidUntil: until, Policy: oid}}, nil
}

// anchorable lists the verified records whose time the anchors bound: run
// records and time evidence (the export record and keyring versions are
// about the package, not the training).
func (s *pkgState) anchorable() []*recordInfo {
	var out []*recordInfo
	for i := range s.records {
		ri := &s.records[i]
		if len(ri.Errs) == 0 && (ri.RunID != "" || ri.Kind == "time-evidence") {
			if _, ok := s.leaves[ri.Digest]; ok {
				out = append(out, ri)
			}
		}
	}
	slices.SortFunc(out, func(a, b *recordInfo) int { return cmp.Compare(s.leaves[a.Digest].Index, s.leaves[b.Digest].Index) })
	return out
}

func (s *pkgState) summarizeAnchors(res *anchor.Result) {
	sum := &AnchorSummary{Entries: len(res.Entries), Records: []RecordAnchor{}}
	for _, ri := range s.anchorable() {
		idx := s.leaves[ri.Digest].Index
		ra := RecordAnchor{Digest: ri.Digest, Index: idx, Status: "asserted"}
		if a := res.For(idx); a.Anchored {
			ra.Status, ra.NotAfter, ra.By = "anchored", a.NotAfter.UTC().Format(time.RFC3339), a.By
			sum.Anchored++
		} else {
			sum.Asserted++
		}
		sum.Records = append(sum.Records, ra)
	}
	s.c.res.Summary.Anchors = sum
}

// requireAnchors applies the policy's anchors.require to every anchorable
// record: class time (step 9) for a record not anchored as required, and
// class witness (step 7) when witnesses are required and an anchored
// checkpoint's cosignatures do not meet the quorum.
func (s *pkgState) requireAnchors(res *anchor.Result) {
	req := "none"
	if s.policy != nil && s.policy.Anchors != nil {
		req = s.policy.Anchors.Require
	}
	if req == "none" {
		return
	}
	if req == "witness" || req == "both" {
		for _, e := range res.Entries {
			if e.Witness != nil && !e.Witness.QuorumMet {
				s.c.failf(FailWitness, "7", "anchors.json", "the checkpoint of size %d has %d valid cosignature(s) by policy witnesses (%d other signature line(s) ignored): the witness quorum is not met",
					e.Size, len(e.Witness.Cosignatures), e.Witness.Ignored)
			}
		}
	}
	for i := range s.records {
		ri := &s.records[i]
		if _, proven := s.leaves[ri.Digest]; !proven && len(ri.Errs) == 0 && (ri.RunID != "" || ri.Kind == "time-evidence") {
			s.c.skipSubject("9", FailTime, ri.Digest, "the record's log position is not proven (step 7): its anchoring cannot be judged")
		}
	}
	var missing []string
	for _, ri := range s.anchorable() {
		tsa, wit := coveredBy(res, s.leaves[ri.Digest].Index)
		if !meets(req, tsa, wit) {
			missing = append(missing, ri.Digest)
		}
	}
	if len(missing) > 0 {
		s.c.failf(FailTime, "9", missing[0], "%d record(s) are not anchored as the policy requires (anchors.require %s); their times are only asserted by the log operator: %s",
			len(missing), req, strings.Join(first(missing, 5), ", "))
		return
	}
	s.c.pass("9", FailTime, "", "every record is anchored as the policy requires (anchors.require "+req+")")
}

// coveredBy reports whether a verified token, and a met witness quorum,
// anchor a checkpoint that contains the leaf.
func coveredBy(res *anchor.Result, index uint64) (tsa, witness bool) {
	for _, e := range res.Entries {
		if e.Size <= index {
			continue
		}
		tsa = tsa || len(e.Timestamps) > 0
		// a quorum of none is met without a cosignature and bounds no
		// time: it never anchors (SPEC.md Appendix A, P24)
		witness = witness || (e.Witness != nil && e.Witness.QuorumMet && !e.Witness.AnchoredAt.IsZero())
	}
	return tsa, witness
}

func meets(req string, tsa, witness bool) bool {
	switch req {
	case "tsa":
		return tsa
	case "witness":
		return witness
	case "either":
		return tsa || witness
	case "both":
		return tsa && witness
	}
	return true
}

func first(ss []string, n int) []string {
	if len(ss) > n {
		return append(ss[:n:n], "…")
	}
	return ss
}
