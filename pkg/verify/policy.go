package verify

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
)

// Media types of a verification policy: v1 (time and required kinds) and
// v2 (spec/policy.md: run and release rules, and anchors).
const (
	PolicyMediaType   = policy.MediaTypeV1
	PolicyV2MediaType = policy.MediaTypeV2
)

// MaxPolicySize bounds a policy document.
const MaxPolicySize = 1 << 20

// Policy is the verification policy of spec/package.md §5, version 1 or 2
// (spec/policy.md), with the anchor requirement of spec/anchors.md §4.
type Policy struct {
	MediaType     string     `json:"mediaType"`
	Name          string     `json:"name,omitempty"`
	Time          TimePolicy `json:"time"`
	RequiredKinds []string   `json:"requiredKinds"`
	// Runs and Releases are v2 rule sets (pkg/policy), evaluated in step 11.
	Runs     *policy.Rules `json:"runs,omitempty"`
	Releases *policy.Rules `json:"releases,omitempty"`
	// Anchors requires records to be anchored (v2 only).
	Anchors *AnchorPolicy `json:"anchors,omitempty"`
}

// TimePolicy says which time-evidence verdicts are acceptable.
type TimePolicy struct {
	// Accept lists accepted verdicts among good, degraded and bad.
	Accept []string `json:"accept"`
	// AcceptUntraceable accepts the untraceable verdict (result class
	// time-untraceable when false).
	AcceptUntraceable bool `json:"acceptUntraceable"`
	// MaxProducerSkewSeconds bounds how far before the time evidence it
	// cites a record may claim to have been produced.
	MaxProducerSkewSeconds int64 `json:"maxProducerSkewSeconds"`
}

// ErrPolicy: a policy document is malformed.
var ErrPolicy = errors.New("invalid policy")

// ParsePolicy strictly parses a policy document (v1 or v2).
func ParsePolicy(b []byte) (*Policy, error) {
	var p Policy
	if err := strictjson.Decode(b, &p, strictjson.Limits{MaxBytes: MaxPolicySize, MaxDepth: 8, RequireFields: true}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	return &p, p.Validate()
}

// Validate checks the policy's media type, verdicts, kinds, v2 rules and
// anchor requirement.
func (p *Policy) Validate() error {
	switch p.MediaType {
	case PolicyMediaType:
		if p.Name != "" || p.Runs != nil || p.Releases != nil || p.Anchors != nil {
			return fmt.Errorf("%w: name, runs, releases and anchors need mediaType %q", ErrPolicy, PolicyV2MediaType)
		}
	case PolicyV2MediaType:
	default:
		return fmt.Errorf("%w: mediaType %q, want %q or %q", ErrPolicy, p.MediaType, PolicyMediaType, PolicyV2MediaType)
	}
	for _, v := range p.Time.Accept {
		if !slices.Contains([]string{"good", "degraded", "bad"}, v) {
			return fmt.Errorf("%w: time.accept verdict %q (untraceable is accepted by acceptUntraceable)", ErrPolicy, v)
		}
	}
	if p.Time.MaxProducerSkewSeconds < 0 {
		return fmt.Errorf("%w: negative maxProducerSkewSeconds", ErrPolicy)
	}
	for _, k := range p.RequiredKinds {
		if _, ok := record.LookupKind(k); !ok {
			return fmt.Errorf("%w: unknown record kind %q", ErrPolicy, k)
		}
	}
	if p.Anchors != nil && !slices.Contains(anchorRequirements, p.Anchors.Require) {
		return fmt.Errorf("%w: anchors.require %q, want one of %v", ErrPolicy, p.Anchors.Require, anchorRequirements)
	}
	if p.MediaType == PolicyV2MediaType {
		if err := p.rules().Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrPolicy, err)
		}
	}
	return nil
}

// hasRules reports whether step 11 evaluates v2 rules (pkg/policy).
func (p *Policy) hasRules() bool { return p.Runs != nil || p.Releases != nil }

// rules is the policy as pkg/policy evaluates it.
func (p *Policy) rules() *policy.Policy {
	return &policy.Policy{MediaType: p.MediaType, Name: p.Name, RequiredKinds: p.RequiredKinds, Runs: p.Runs, Releases: p.Releases,
		Time: policy.TimePolicy{Accept: p.Time.Accept, AcceptUntraceable: p.Time.AcceptUntraceable, MaxProducerSkewSeconds: p.Time.MaxProducerSkewSeconds}}
}

// DefaultPolicy returns the built-in default policy (SPEC.md §3.14).
func DefaultPolicy() *Policy {
	return &Policy{MediaType: PolicyMediaType, Time: TimePolicy{Accept: []string{"good"}, MaxProducerSkewSeconds: 300},
		RequiredKinds: []string{"run-closed"}}
}

// choosePolicy applies SPEC.md §3.14 "Who sets the bar": the auditor's
// policy as given; without one, the effective policy = the built-in
// default tightened by the package's proposal (a proposal never lowers the
// bar); a malformed proposal is a policy failure and the default alone
// applies.
func (s *pkgState) choosePolicy() {
	if s.opts.Policy != nil {
		s.policy, s.c.res.Summary.PolicySource = s.opts.Policy, "auditor"
		return
	}
	s.policy, s.c.res.Summary.PolicySource = DefaultPolicy(), "package"
	if s.meta.Policy.Digest == "" {
		return
	}
	b, err := s.blob(s.meta.Policy.Digest, MaxPolicySize)
	var proposal *Policy
	if err == nil {
		proposal, err = ParsePolicy(b)
	}
	if err == nil && proposal.MediaType != s.meta.Policy.MediaType {
		err = fmt.Errorf("%w: policy.json has mediaType %s, its layer %s", ErrPolicy, proposal.MediaType, s.meta.Policy.MediaType)
	}
	if err != nil {
		s.c.fail(fail(FailPolicy, "11", fmt.Errorf("the package's proposed policy (the default applies): %w", err)), s.meta.Policy.Digest)
		return
	}
	s.policy = Tighten(s.policy, proposal)
}

// Tighten returns the policy at least as strict as base and proposal
// (policy.Tighten, SPEC.md §3.14), the anchor requirement included: the
// stricter of the two, tsa and witness together meaning both.
func Tighten(base, proposal *Policy) *Policy {
	t := policy.Tighten(base.rules(), proposal.rules())
	out := &Policy{MediaType: t.MediaType, Name: t.Name, RequiredKinds: t.RequiredKinds, Runs: t.Runs, Releases: t.Releases,
		Time: TimePolicy{Accept: t.Time.Accept, AcceptUntraceable: t.Time.AcceptUntraceable, MaxProducerSkewSeconds: t.Time.MaxProducerSkewSeconds}}
	if a := stricterAnchors(base.Anchors, proposal.Anchors); a != nil {
		out.Anchors, out.MediaType = a, PolicyV2MediaType
	}
	return out
}

func stricterAnchors(a, b *AnchorPolicy) *AnchorPolicy {
	need := func(p *AnchorPolicy) (tsa, witness, either bool) {
		if p == nil {
			return false, false, false
		}
		r := p.Require
		return r == "tsa" || r == "both", r == "witness" || r == "both", r == "either"
	}
	at, aw, ae := need(a)
	bt, bw, be := need(b)
	tsa, witness, either := at || bt, aw || bw, ae || be
	switch {
	case tsa && witness:
		return &AnchorPolicy{Require: "both"}
	case tsa:
		return &AnchorPolicy{Require: "tsa"}
	case witness:
		return &AnchorPolicy{Require: "witness"}
	case either:
		return &AnchorPolicy{Require: "either"}
	case a != nil || b != nil:
		return &AnchorPolicy{Require: "none"}
	}
	return nil
}

// checkPolicy implements spec/package.md §4 step 11:
//
//	> `policy` — required record kinds per run present (e.g. `run-closed`).
//
// and, for a v2 policy, every rule of spec/policy.md §3 (policy.Evaluate
// per run), each failure reported with its rule name.
func (s *pkgState) checkPolicy(logOK bool) {
	switch {
	case s.policy == nil:
		s.skip("11", FailPolicy, "no valid policy")
	case !s.policy.hasRules():
		s.checkRequiredKinds()
	case !logOK:
		s.skip("11", FailPolicy, "the checkpoint did not verify: no log positions to judge approvals and plans by")
	case !s.positionsProven():
		s.skip("11", FailPolicy, "a record or keyring version has no proven log position (step 7) to judge approvals and plans by")
	default:
		s.evaluateRules()
	}
}

func (s *pkgState) checkRequiredKinds() {
	have := map[string]map[string]bool{}
	for i := range s.records {
		ri := &s.records[i]
		if len(ri.Errs) == 0 && ri.RunID != "" {
			if have[ri.RunID] == nil {
				have[ri.RunID] = map[string]bool{}
			}
			have[ri.RunID][ri.Kind] = true
		}
	}
	ok := true
	for _, rr := range s.roots {
		for _, k := range s.policy.RequiredKinds {
			if !have[rr.RunID][k] {
				s.c.failf(FailPolicy, "11", rr.Digest, "run %q has no verified %s record, the policy requires one", rr.RunID, k)
				ok = false
			}
		}
	}
	if ok {
		s.c.pass("11", FailPolicy, "", fmt.Sprintf("every run has the required kinds %v", s.policy.RequiredKinds))
	}
}

// evaluateRules runs policy.Evaluate on each run's verified records.
func (s *pkgState) evaluateRules() {
	keys := policy.ChainView{Chain: s.keyring.chain, Indices: s.keyringIndices()}
	at := s.opts.At
	if at.IsZero() {
		at, _ = time.Parse(time.RFC3339Nano, s.meta.Config.Created)
	}
	recs := s.policyRecords()
	ok := true
	for _, rr := range s.roots {
		rep := policy.Evaluate(policy.Input{Policy: s.policy.rules(), RunID: rr.RunID, Records: recs, Keys: keys, At: at})
		for _, r := range rep.Results {
			switch r.Status {
			case policy.Fail:
				ok = false
				s.c.failRule(FailPolicy, "11", firstNonEmpty(r.Subject, rr.Digest), r.Rule, r.Rule+": "+r.Message)
			case policy.Void:
				s.c.pass("11", FailPolicy, r.Subject, r.Rule+": void: "+r.Message)
			}
		}
	}
	if ok {
		s.c.pass("11", FailPolicy, "", fmt.Sprintf("every run meets the policy %q", s.policy.Name))
	}
}

// policyRecords are the verified records with their log indices and
// predicates.
func (s *pkgState) policyRecords() []policy.Record {
	var out []policy.Record
	for i := range s.records {
		ri := &s.records[i]
		l, ok := s.leaves[ri.Digest]
		if len(ri.Errs) == 0 && ok && ri.Pred != nil {
			out = append(out, policy.Record{Digest: ri.Digest, Kind: ri.Kind, LogIndex: l.Index, Signer: ri.KeyID, Predicate: ri.Pred})
		}
	}
	return out
}

// keyringIndices are the log indices of the keyring versions, in order.
func (s *pkgState) keyringIndices() []uint64 {
	out := make([]uint64, len(s.keyring.digests))
	for i, d := range s.keyring.digests {
		out[i] = s.leaves[d].Index
	}
	return out
}
