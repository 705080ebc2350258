package policy

import (
	"errors"
	"fmt"
	"slices"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/record"
)

// Media types of policy documents. Version 2 is a superset of version 1
// (SPEC.md §3.14): every v1 document is read as a v2 document without
// run or release rules beyond its requiredKinds.
const (
	MediaTypeV1 = "application/vnd.dossier.policy.v1+json"
	MediaTypeV2 = "application/vnd.dossier.policy.v2+json"
)

// MaxSize bounds a policy document.
const MaxSize = 1 << 20

// ErrInvalid: a policy document is malformed or breaks a rule of
// spec/policy.md.
var ErrInvalid = errors.New("invalid policy")

// Policy is a verification policy (spec/policy.md).
type Policy struct {
	MediaType string `json:"mediaType"`
	// Name is an optional label printed with reports.
	Name string     `json:"name,omitempty"`
	Time TimePolicy `json:"time"`
	// RequiredKinds must be present in every run (v1).
	RequiredKinds []string `json:"requiredKinds"`
	// Runs holds further rules for every run (v2).
	Runs *Rules `json:"runs,omitempty"`
	// Releases holds rules for a run that carries a model-release record or
	// is being released (v2).
	Releases *Rules `json:"releases,omitempty"`
	// Anchors requires records' times to be anchored (v2; spec/anchors.md
	// §4). The verifier applies it (pkg/verify); this package checks it.
	Anchors *AnchorRule `json:"anchors,omitempty"`
}

// AnchorRule is the policy's anchor requirement: Require is one of
// AnchorRequirements ("none": anchors are reported, not required).
type AnchorRule struct {
	Require string `json:"require"`
}

// AnchorRequirements are the accepted values of anchors.require.
var AnchorRequirements = []string{"none", "tsa", "witness", "either", "both"}

// TimePolicy is v1's time section; the verifier applies it (pkg/verify),
// this package only carries it.
type TimePolicy struct {
	Accept                 []string `json:"accept"`
	AcceptUntraceable      bool     `json:"acceptUntraceable"`
	MaxProducerSkewSeconds int64    `json:"maxProducerSkewSeconds"`
}

// Rules is one scope's rule set; every member is optional.
type Rules struct {
	RequiredKinds      []string        `json:"requiredKinds,omitempty"`
	EvaluationPlan     *PlanRule       `json:"evaluationPlan,omitempty"`
	Approvals          *ApprovalRule   `json:"approvals,omitempty"`
	SeparationOfDuties *SeparationRule `json:"separationOfDuties,omitempty"`
}

// PlanRule requires the run's evaluations to be governed by a signed
// evaluation plan logged before them, signed by a key holding Role.
type PlanRule struct {
	Role string `json:"role"`
}

// ApprovalRule requires Min approvals by distinct people whose keys hold
// Role, with a meaning in Meanings, covering exactly the run's records of
// the kinds in Cover.
type ApprovalRule struct {
	Min      int      `json:"min"`
	Role     string   `json:"role"`
	Meanings []string `json:"meanings"`
	Cover    []string `json:"cover"`
}

// SeparationRule forbids approvers who signed or submitted the run's
// records of DeveloperKinds (ByPerson) or who share a team with their
// signers (ByTeam).
type SeparationRule struct {
	ByPerson       bool     `json:"byPerson"`
	ByTeam         bool     `json:"byTeam"`
	DeveloperKinds []string `json:"developerKinds"`
}

// Parse strictly decodes and validates a v1 or v2 policy document.
func Parse(b []byte) (*Policy, error) {
	var p Policy
	limits := strictjson.Limits{MaxBytes: MaxSize, MaxDepth: 8, RequireFields: true}
	if err := strictjson.Decode(b, &p, limits); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks the policy against spec/policy.md; the error lists every
// problem found.
func (p *Policy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	switch p.MediaType {
	case MediaTypeV1:
		if p.Runs != nil || p.Releases != nil || p.Name != "" || p.Anchors != nil {
			bad("runs, releases, anchors and name need mediaType %q", MediaTypeV2)
		}
	case MediaTypeV2:
	default:
		bad("mediaType %q, want %q or %q", p.MediaType, MediaTypeV2, MediaTypeV1)
	}
	for _, v := range p.Time.Accept {
		if !slices.Contains([]string{"good", "degraded", "bad"}, v) {
			bad("time.accept verdict %q (untraceable is accepted by acceptUntraceable)", v)
		}
	}
	if p.Time.MaxProducerSkewSeconds < 0 {
		bad("time.maxProducerSkewSeconds is negative")
	}
	checkKinds("requiredKinds", p.RequiredKinds, bad)
	p.Runs.validate("runs", bad)
	p.Releases.validate("releases", bad)
	if p.Anchors != nil && !slices.Contains(AnchorRequirements, p.Anchors.Require) {
		bad("anchors.require %q, want one of %v", p.Anchors.Require, AnchorRequirements)
	}
	return errors.Join(errs...)
}

func (r *Rules) validate(path string, bad func(string, ...any)) {
	if r == nil {
		return
	}
	checkKinds(path+".requiredKinds", r.RequiredKinds, bad)
	if pl := r.EvaluationPlan; pl != nil && !reRole(pl.Role) {
		bad("%s.evaluationPlan.role %q is not a role name", path, pl.Role)
	}
	if a := r.Approvals; a != nil {
		if a.Min < 1 || a.Min > 100 {
			bad("%s.approvals.min %d, want 1..100", path, a.Min)
		}
		if !reRole(a.Role) {
			bad("%s.approvals.role %q is not a role name", path, a.Role)
		}
		if len(a.Meanings) == 0 {
			bad("%s.approvals.meanings is empty", path)
		}
		for _, m := range a.Meanings {
			if !slices.Contains([]string{"review", "approval", "authorship", "responsibility"}, m) {
				bad("%s.approvals.meanings: unknown meaning %q", path, m)
			}
		}
		checkKinds(path+".approvals.cover", a.Cover, bad)
		if len(a.Cover) == 0 || slices.Contains(a.Cover, "approval") {
			bad("%s.approvals.cover must name at least one kind and not approval", path)
		}
	}
	if s := r.SeparationOfDuties; s != nil {
		checkKinds(path+".separationOfDuties.developerKinds", s.DeveloperKinds, bad)
		if len(s.DeveloperKinds) == 0 {
			bad("%s.separationOfDuties.developerKinds is empty", path)
		}
		if r.Approvals == nil {
			bad("%s.separationOfDuties without approvals", path)
		}
	}
}

func checkKinds(path string, kinds []string, bad func(string, ...any)) {
	seen := map[string]bool{}
	for _, k := range kinds {
		if kk, ok := record.LookupKind(k); !ok || kk.Name != k {
			bad("%s: unknown record kind %q", path, k)
		}
		if seen[k] {
			bad("%s: kind %q listed twice", path, k)
		}
		seen[k] = true
	}
}

func reRole(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
