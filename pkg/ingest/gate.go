package ingest

import (
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/dossier-audit/dossier/pkg/dossier"
	"github.com/dossier-audit/dossier/pkg/policy"
)

// Export kinds of POST /v1/exports (ExportRequest.Kind).
const (
	// ExportReview is the default: the package is built whatever the
	// policy says, and when the daemon's policy is not met it is a "for
	// review" package that says so (README.txt, REPORT.html,
	// result.forReview).
	ExportReview = "review"
	// ExportRelease is refused with release-policy-unmet unless the
	// exported records satisfy the daemon's release policy, its release
	// rules applied (issue 8: enforced by dossierd before a release
	// export).
	ExportRelease = "release"
)

// maxPolicyBytes bounds the policy file (spec/policy.md: at most 1 MiB).
const maxPolicyBytes = 1 << 20

// releasePolicy is the daemon's release policy: the file's bytes (the
// proposal every export carries) and their parsed form.
type releasePolicy struct {
	raw    []byte
	parsed *policy.Policy
}

// loadPolicy reads and validates the release policy file (Config.Policy,
// spec/policy.md, v1 or v2); "" gives nil: the daemon has none.
func loadPolicy(path string) (*releasePolicy, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: policy: %v", ErrConfig, err)
	}
	if len(b) > maxPolicyBytes {
		return nil, fmt.Errorf("%w: policy %s: %d bytes, limit %d", ErrConfig, path, len(b), maxPolicyBytes)
	}
	p, err := policy.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: policy %s: %v", ErrConfig, path, err)
	}
	return &releasePolicy{raw: b, parsed: p}, nil
}

// bytes returns the policy file's bytes (nil without a policy).
func (p *releasePolicy) bytes() []byte {
	if p == nil {
		return nil
	}
	return p.raw
}

// rules returns the parsed policy (nil without one: the console then
// applies its default).
func (p *releasePolicy) rules() *policy.Policy {
	if p == nil {
		return nil
	}
	return p.parsed
}

// exportKind checks the request's kind ("" is review) against the
// configuration: a release export needs a release policy.
func (e *exporter) exportKind(kind string) (string, *Problem) {
	switch kind {
	case "", ExportReview:
		return ExportReview, nil
	case ExportRelease:
		if e.policy == nil {
			return "", problem(http.StatusNotImplemented, CodeNotImplemented,
				"no release policy configured (option policy); a release export is checked against it")
		}
		return ExportRelease, nil
	}
	return "", problem(http.StatusBadRequest, CodeMalformed, fmt.Sprintf("kind %q, want %q or %q", kind, ExportReview, ExportRelease))
}

// policyRefusal maps a release export that pkg/dossier refused for its
// policy to the release-policy-unmet problem naming the failed rules; nil
// for any other error.
func policyRefusal(err error) *Problem {
	var pe *dossier.PolicyError
	if !errors.As(err, &pe) {
		return nil
	}
	p := problem(http.StatusUnprocessableEntity, CodeReleasePolicy,
		fmt.Sprintf("the release policy is not satisfied; failed rules: %v (a review export is allowed and says so)", pe.Failed))
	p.Rules = pe.Failed
	return p
}
