package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
)

// VSAPredicateType is the SLSA Verification Summary Attestation v1 type.
const VSAPredicateType = "https://slsa.dev/verification_summary/v1"

// DefaultVerifiedLevel is the level a Dossier VSA states by default.
const DefaultVerifiedLevel = "DOSSIER_RELEASE_POLICY_PASSED"

// ErrNotApproved: the release does not satisfy its policy; no summary is
// issued.
var ErrNotApproved = errors.New("release does not satisfy its policy")

// VSARequest describes the verification summary to issue.
type VSARequest struct {
	VerifierID     string // e.g. https://dossier.example/verifier
	ResourceURI    string // e.g. oci://registry/model@sha256:...
	PolicyURI      string
	Policy         []byte // the policy document bytes (digested)
	VerifiedLevels []string
	At             time.Time
	// Artifacts are extra subjects: the OCI manifests of the weights
	// (ModelSubject), so that cosign verify-attestation accepts the summary
	// attached to the model's artifact.
	Artifacts []record.ResourceDescriptor
}

// VSA is the SLSA VSA v1 predicate, members in the specification's order.
type VSA struct {
	Verifier           VSAVerifier `json:"verifier"`
	TimeVerified       string      `json:"timeVerified"`
	ResourceURI        string      `json:"resourceUri"`
	Policy             VSARef      `json:"policy"`
	InputAttestations  []VSARef    `json:"inputAttestations"`
	VerificationResult string      `json:"verificationResult"`
	VerifiedLevels     []string    `json:"verifiedLevels"`
	SLSAVersion        string      `json:"slsaVersion"`
}

// VSAVerifier names the verifier.
type VSAVerifier struct {
	ID string `json:"id"`
}

// VSARef is an in-toto ResourceDescriptor with a uri and a digest.
type VSARef struct {
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest"`
}

type statement struct {
	Type          string                      `json:"_type"`
	Subject       []record.ResourceDescriptor `json:"subject"`
	PredicateType string                      `json:"predicateType"`
	Predicate     VSA                         `json:"predicate"`
}

// NewVSA returns the in-toto statement of a verification summary about the
// weights of the run's model release, given the policy report of the same
// facts. It refuses (ErrNotApproved) when the report failed, did not apply
// the release rules, or the run has no model-release record.
func NewVSA(f *Facts, rep policy.Report, req VSARequest) ([]byte, error) {
	if !rep.OK() || !rep.Release {
		return nil, fmt.Errorf("%w: failed rules %s (release rules applied: %v)", ErrNotApproved, strings.Join(rep.Failed(), ", "), rep.Release)
	}
	rel := f.release()
	var inputs []VSARef
	for _, r := range f.Records {
		inputs = append(inputs, VSARef{Digest: map[string]string{"sha256": strings.TrimPrefix(r.Digest, "sha256:")}})
	}
	if rel == nil {
		return nil, fmt.Errorf("%w: run %s has no model-release record", ErrNotApproved, f.Run.Registration.RunID)
	}
	slices.SortFunc(inputs, func(a, b VSARef) int { return strings.Compare(a.Digest["sha256"], b.Digest["sha256"]) })
	levels := req.VerifiedLevels
	if len(levels) == 0 {
		levels = []string{DefaultVerifiedLevel}
	}
	var subjects []record.ResourceDescriptor
	for _, w := range rel.Weights {
		subjects = append(subjects, record.ResourceDescriptor{Name: w.Name, Digest: map[string]string{"sha256": w.SHA256()}})
	}
	subjects = append(subjects, req.Artifacts...)
	st := statement{Type: "https://in-toto.io/Statement/v1", Subject: subjects, PredicateType: VSAPredicateType,
		Predicate: VSA{Verifier: VSAVerifier{ID: req.VerifierID}, TimeVerified: req.At.UTC().Format(time.RFC3339),
			ResourceURI: req.ResourceURI, Policy: VSARef{URI: req.PolicyURI, Digest: map[string]string{"sha256": sha256Hex(req.Policy)}},
			InputAttestations: inputs, VerificationResult: "PASSED", VerifiedLevels: levels, SLSAVersion: "1.0"}}
	if req.VerifierID == "" || req.ResourceURI == "" || len(subjects) == 0 {
		return nil, fmt.Errorf("%w: a summary needs a verifier id, a resource uri and weights", ErrApproval)
	}
	return json.Marshal(st)
}

// SignVSA signs a verification summary statement as a Sigstore bundle.
func SignVSA(ctx context.Context, signer signature.Signer, stmt []byte) ([]byte, error) {
	return bundle.Sign(ctx, signer, bundle.PayloadTypeInToto, stmt)
}
