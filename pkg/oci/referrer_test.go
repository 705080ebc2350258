package oci

import (
	"encoding/json"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/bundle"
)

// TestPackBundleReferrer: the manifest cosign v3 reads as an attestation
// (one bundle layer, its media type as artifactType, the subject) and the
// same inputs give the same bytes.
func TestPackBundleReferrer(t *testing.T) {
	t.Parallel()
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("model"), Size: 5,
		Annotations: map[string]string{"dropped": "yes"}}
	b := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`)
	tests := []struct {
		name, created string
		wantCreated   bool
	}{
		{"with created", "2026-11-27T15:00:00Z", true},
		{"without created", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := PackBundleReferrer(Plain(subject), b, "https://slsa.dev/verification_summary/v1", tc.created)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := PackBundleReferrer(Plain(subject), b, "https://slsa.dev/verification_summary/v1", tc.created)
			if string(again.Manifest) != string(a.Manifest) {
				t.Fatal("the same inputs packed to different manifests")
			}
			var m ocispec.Manifest
			if err := json.Unmarshal(a.Manifest, &m); err != nil {
				t.Fatal(err)
			}
			if m.ArtifactType != bundle.MediaType || len(m.Layers) != 1 || m.Layers[0].MediaType != bundle.MediaType ||
				m.Layers[0].Digest != digest.FromBytes(b) || m.Subject == nil || m.Subject.Digest != subject.Digest || m.Subject.Annotations != nil {
				t.Fatalf("manifest %s", a.Manifest)
			}
			if m.Annotations[AnnotationPredicateType] != "https://slsa.dev/verification_summary/v1" || m.Annotations[AnnotationBundleContent] != BundleContentDSSE {
				t.Errorf("annotations %v", m.Annotations)
			}
			if _, ok := m.Annotations[ocispec.AnnotationCreated]; ok != tc.wantCreated {
				t.Errorf("created annotation present = %v, want %v", ok, tc.wantCreated)
			}
			if a.Descriptor.Digest != digest.FromBytes(a.Manifest) || len(a.Blobs) != 2 {
				t.Errorf("descriptor %v with %d blobs", a.Descriptor, len(a.Blobs))
			}
		})
	}
}
