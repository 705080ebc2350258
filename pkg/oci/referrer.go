package oci

import (
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/bundle"
)

// BundleArtifactType is the artifactType of a Sigstore bundle attached to
// an artifact as a referrer, the form cosign v3 writes (cosign attest
// --new-bundle-format) and verify-attestation reads: the bundle media type.
const BundleArtifactType = bundle.MediaType

// PackBundleReferrer packs a Sigstore bundle (an attestation) as a referrer
// of subject: an image manifest of artifactType BundleArtifactType, empty
// config, the bundle byte for byte as its single layer, annotated with its
// content kind and predicate type as cosign annotates it. created, when
// not empty, is org.opencontainers.image.created; the same inputs always
// give the same manifest.
func PackBundleReferrer(subject ocispec.Descriptor, bundleJSON []byte, predicateType, created string) (*Artifact, error) {
	layer := Blob{Descriptor: ocispec.Descriptor{MediaType: bundle.MediaType,
		Digest: digest.FromBytes(bundleJSON), Size: int64(len(bundleJSON))}, Data: bundleJSON}
	ann := map[string]string{AnnotationBundleContent: BundleContentDSSE, AnnotationPredicateType: predicateType}
	if created != "" {
		ann[ocispec.AnnotationCreated] = created
	}
	art, err := newArtifact(BundleArtifactType, subject, ann, EmptyConfig, layer)
	return &art, err
}
