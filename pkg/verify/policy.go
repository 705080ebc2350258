package verify

import (
	"errors"
	"fmt"
	"slices"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/record"
)

// PolicyMediaType is the media type of a verification policy.
const PolicyMediaType = "application/vnd.dossier.policy.v1+json"

// MaxPolicySize bounds a policy document.
const MaxPolicySize = 1 << 20

// Policy is the verification policy of spec/package.md §5.
type Policy struct {
	MediaType     string     `json:"mediaType"`
	Time          TimePolicy `json:"time"`
	RequiredKinds []string   `json:"requiredKinds"`
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

// ParsePolicy strictly parses a policy document.
func ParsePolicy(b []byte) (*Policy, error) {
	var p Policy
	if err := strictjson.Decode(b, &p, strictjson.Limits{MaxBytes: MaxPolicySize, MaxDepth: 8, RequireFields: true}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	return &p, p.Validate()
}

// Validate checks the policy's media type, verdicts and kinds.
func (p *Policy) Validate() error {
	if p.MediaType != PolicyMediaType {
		return fmt.Errorf("%w: mediaType %q, want %q", ErrPolicy, p.MediaType, PolicyMediaType)
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
	return nil
}

// choosePolicy uses the auditor's policy, else the package's policy.json.
func (s *pkgState) choosePolicy() {
	if s.opts.Policy != nil {
		s.policy, s.c.res.Summary.PolicySource = s.opts.Policy, "auditor"
		return
	}
	s.c.res.Summary.PolicySource = "package"
	if s.meta.Policy.Digest == "" {
		s.c.failf(FailPolicy, "11", "policy.json", "the package proposes no policy and the auditor gave none")
		return
	}
	b, err := s.blob(s.meta.Policy.Digest, MaxPolicySize)
	if err == nil {
		s.policy, err = ParsePolicy(b)
	}
	if err != nil {
		s.policy = nil
		s.c.fail(fail(FailPolicy, "11", err), s.meta.Policy.Digest)
	}
}

// checkPolicy implements spec/package.md §4 step 11:
//
//	> `policy` — required record kinds per run present (e.g. `run-closed`).
func (s *pkgState) checkPolicy() {
	if s.policy == nil {
		s.skip("11", FailPolicy, "no valid policy")
		return
	}
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
