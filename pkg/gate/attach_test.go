package gate

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
)

// modelArtifact stores an image manifest whose layers have the given
// digests (the weights stay where they are: only the manifest is needed)
// and tags it.
func modelArtifact(t *testing.T, s *oci.LayoutStore, tag string, layerHex ...string) ocispec.Descriptor {
	t.Helper()
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: oci.EmptyConfig.Descriptor}
	m.SchemaVersion = 2
	for _, h := range layerHex {
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.NewDigestFromEncoded(digest.SHA256, h), Size: 1})
	}
	b, _ := json.Marshal(m)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
	ctx := context.Background()
	if err := s.PushManifest(ctx, desc, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, desc, tag); err != nil {
		t.Fatal(err)
	}
	return desc
}

// approvedFacts is the fixture's run with both approvals logged.
func approvedFacts(t *testing.T) (*fixture, *Facts, policy.Report) {
	t.Helper()
	f := newFixture(t)
	doc, _, err := review.Render(f.load(t).ReviewInput(nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	f.appendAll(t, f.approval(t, doc, f.rita, "approve"), f.approval(t, doc, f.victor, "approve"))
	pol, _ := policy.Parse([]byte(releasePolicy))
	facts := f.load(t)
	return f, facts, policy.Evaluate(facts.PolicyInput(pol, at, false))
}

// TestAttachVSAToModelArtifact: the summary names the weights' manifest,
// is attached as a referrer of it, and verifies (sigstore-go, as cosign
// verify-attestation does) against the manifest digest, not another.
func TestAttachVSAToModelArtifact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, facts, rep := approvedFacts(t)
	s, err := oci.OpenLayout(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	model := modelArtifact(t, s, "1.0.0", "00"+weightsHex[2:], weightsHex)
	other := modelArtifact(t, s, "other", "00"+weightsHex[2:])
	sub, err := ModelSubject(ctx, s, "1.0.0", "registry.example/acme/notes:1.0.0", facts)
	if err != nil || sub.SHA256() != model.Digest.Encoded() {
		t.Fatalf("ModelSubject = %+v, %v; want the manifest %s", sub, err, model.Digest)
	}
	if _, err := ModelSubject(ctx, s, "other", "x", facts); !errors.Is(err, ErrArtifact) {
		t.Errorf("an artifact without the released weights: %v, want ErrArtifact", err)
	}
	if _, err := ModelSubject(ctx, s, "missing", "x", facts); !errors.Is(err, ErrArtifact) {
		t.Errorf("an unknown tag: %v, want ErrArtifact", err)
	}
	req := VSARequest{VerifierID: "https://dossier.example/gate", ResourceURI: "oci://registry.example/acme/notes:1.0.0",
		Policy: []byte(releasePolicy), At: at}
	bare := f.signVSA(t, facts, rep, req)
	req.Artifacts = []record.ResourceDescriptor{sub}
	vsa := f.signVSA(t, facts, rep, req)

	if _, err := Attach(ctx, s, "1.0.0", bare); !errors.Is(err, ErrArtifact) {
		t.Errorf("a summary that does not name the manifest: %v, want ErrArtifact", err)
	}
	if _, err := Attach(ctx, s, "other", vsa); !errors.Is(err, ErrArtifact) {
		t.Errorf("attached to other weights: %v, want ErrArtifact", err)
	}
	desc, err := Attach(ctx, s, "1.0.0", vsa)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := s.Referrers(ctx, model, oci.BundleArtifactType)
	if err != nil || len(refs) != 1 || refs[0].Digest != desc.Digest {
		t.Fatalf("referrers of the model = %v, %v; want %s", refs, err, desc.Digest)
	}
	raw, err := s.Fetch(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil || len(m.Layers) != 1 || m.Layers[0].Digest != digest.FromBytes(vsa) ||
		m.Subject == nil || m.Subject.Digest != model.Digest || m.Annotations[oci.AnnotationPredicateType] != VSAPredicateType {
		t.Fatalf("referrer manifest %s: want the summary as its layer, subject %s", raw, model.Digest)
	}
	again, err := Attach(ctx, s, "1.0.0", vsa)
	if err != nil || again.Digest != desc.Digest {
		t.Errorf("attaching again = %s, %v; want the same referrer %s", again.Digest, err, desc.Digest)
	}
	if err := sigstoreGoVerify(t, vsa, f.vera, model.Digest.Encoded()); err != nil {
		t.Errorf("sigstore-go rejects the summary for the model's manifest: %v", err)
	}
	if err := sigstoreGoVerify(t, vsa, f.vera, other.Digest.Encoded()); err == nil {
		t.Error("sigstore-go accepted the summary for another manifest")
	}
	if err := sigstoreGoVerify(t, vsa, f.rita, model.Digest.Encoded()); err == nil {
		t.Error("sigstore-go accepted the summary with another key")
	}
}

func (f *fixture) signVSA(t *testing.T, facts *Facts, rep policy.Report, req VSARequest) []byte {
	t.Helper()
	stmt, err := NewVSA(facts, rep, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SignVSA(context.Background(), f.vera.signer, stmt)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
