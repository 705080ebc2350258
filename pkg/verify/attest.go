package verify

import (
	"fmt"
	"strings"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/record"
)

// PackagePredicateType is the predicate type of the package attestation.
const PackagePredicateType = record.PredicateTypePrefix + "package/v1"

// packageStatement is the package attestation's statement.
type packageStatement struct {
	Type          string                      `json:"_type"`
	Subject       []record.ResourceDescriptor `json:"subject"`
	PredicateType string                      `json:"predicateType"`
	Predicate     packagePredicate            `json:"predicate"`
}

// packagePredicate binds the package index to the export (spec/package.md §3).
type packagePredicate struct {
	ProducedAt       string         `json:"producedAt"`
	Producer         map[string]any `json:"producer"`
	PackageID        string         `json:"packageId"`
	PackageIndex     string         `json:"packageIndex"`
	ExportRecord     string         `json:"exportRecord"`
	RecordListDigest string         `json:"recordListDigest"`
	RecordCount      int            `json:"recordCount"`
	Checkpoint       struct {
		Size     uint64 `json:"size"`
		RootHash string `json:"rootHash"`
	} `json:"checkpoint"`
}

// checkPackageSignature implements spec/package.md §4 step 5:
//
//	> `package-signature` — the package attestation verifies with an
//	> `exporter` key and its subject is the package index digest.
func (s *pkgState) checkPackageSignature() {
	p, err := s.verifyAttestation()
	if err != nil {
		s.c.fail(fail(FailPackageSignature, "5", err), s.attest.Digest)
		return
	}
	s.attestation = p
	s.c.pass("5", FailPackageSignature, s.attest.Digest, "the package attestation is signed by an exporter key and names the package index")
}

func (s *pkgState) verifyAttestation() (*packagePredicate, error) {
	layer, err := recordLayer(s.manifests[s.attest.Digest])
	if err != nil {
		return nil, err
	}
	b, err := s.blob(layer.Digest, bundle.MaxSize)
	if err != nil {
		return nil, err
	}
	bun, err := bundle.Parse(b)
	if err != nil {
		return nil, err
	}
	// "the attestation is not logged; its key MUST hold the `exporter` role
	// without a revocation in the **newest** keyring version" (Q11).
	pub, ok := s.keyring.pubs[bun.KeyHint]
	k, listed := s.keyring.chain.Latest().Key(bun.KeyHint)
	if !ok || !listed || !k.HasRole(keyring.RoleExporter) || k.Revocation != nil {
		return nil, fmt.Errorf("%w: key %q is not an unrevoked exporter key of the newest keyring version", ErrRole, bun.KeyHint)
	}
	if err := verifySig(pub, dsse.PAE(bun.Envelope.PayloadType, bun.Envelope.Payload), bun.Signature()); err != nil {
		return nil, fmt.Errorf("package attestation, key %s: %w", bun.KeyHint, err)
	}
	var st packageStatement
	if err := strictjson.Decode(bun.Payload(), &st, strictjson.Limits{MaxBytes: 1 << 20, RequireFields: true}); err != nil {
		return nil, fmt.Errorf("package statement: %w", err)
	}
	return &st.Predicate, s.checkAttestationSubject(&st)
}

func (s *pkgState) checkAttestationSubject(st *packageStatement) error {
	want := strings.TrimPrefix(s.pkgIndex.Digest, "sha256:")
	switch {
	case st.Type != record.StatementType:
		return fmt.Errorf("statement _type %q", st.Type)
	case st.PredicateType != PackagePredicateType:
		return fmt.Errorf("predicateType %q, want %q", st.PredicateType, PackagePredicateType)
	case len(st.Subject) != 1 || st.Subject[0].Name != "dossier-package" || st.Subject[0].SHA256() != want:
		return fmt.Errorf("statement subject is not {dossier-package, sha256:%s}", want)
	case st.Predicate.PackageIndex != s.pkgIndex.Digest:
		return fmt.Errorf("predicate packageIndex %q, the package index is %s", st.Predicate.PackageIndex, s.pkgIndex.Digest)
	case st.Predicate.PackageID != s.meta.Config.PackageID:
		return fmt.Errorf("packageId %q, metadata says %q", st.Predicate.PackageID, s.meta.Config.PackageID)
	}
	return nil
}
