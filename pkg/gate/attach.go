package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/record"
)

// ErrArtifact: the model's OCI artifact does not hold the release's
// weights, or a summary is not about the artifact it is attached to.
var ErrArtifact = errors.New("model artifact")

// maxManifest bounds a model manifest read from a store.
const maxManifest = 4 << 20

// ArtifactReader is where a model's OCI artifact is read from (an OCI
// image layout or a registry repository; pkg/oci stores satisfy it).
type ArtifactReader interface {
	Resolve(ctx context.Context, tag string) (ocispec.Descriptor, error)
	Fetch(ctx context.Context, desc ocispec.Descriptor) ([]byte, error)
}

// ArtifactWriter is a store a summary is attached in.
type ArtifactWriter interface {
	ArtifactReader
	PushBlob(ctx context.Context, desc ocispec.Descriptor, data []byte) error
	PushManifest(ctx context.Context, desc ocispec.Descriptor, data []byte) error
	Commit(ctx context.Context) error
}

// ModelSubject returns the summary subject for the model artifact tagged
// tag in r: name (e.g. the artifact's reference) and the sha256 of its
// manifest, the digest stock cosign verify-attestation checks a summary
// against. It refuses an artifact whose layers lack a weights file of the
// run's model release: the summary must not vouch for other bytes.
func ModelSubject(ctx context.Context, r ArtifactReader, tag, name string, f *Facts) (record.ResourceDescriptor, error) {
	rel := f.release()
	if rel == nil {
		return record.ResourceDescriptor{}, fmt.Errorf("%w: run %s has no model-release record", ErrNotApproved, f.Run.Registration.RunID)
	}
	desc, m, err := readManifest(ctx, r, tag)
	if err != nil {
		return record.ResourceDescriptor{}, err
	}
	for _, w := range rel.Weights {
		if !slices.ContainsFunc(m.Layers, func(l ocispec.Descriptor) bool { return l.Digest.Encoded() == w.SHA256() }) {
			return record.ResourceDescriptor{}, fmt.Errorf("%w: %s (%s) has no layer sha256:%s, the released weights %q",
				ErrArtifact, tag, desc.Digest, w.SHA256(), w.Name)
		}
	}
	return record.ResourceDescriptor{Name: name, Digest: map[string]string{"sha256": desc.Digest.Encoded()}}, nil
}

func (f *Facts) release() *record.ModelRelease {
	var rel *record.ModelRelease
	for _, r := range f.Records {
		if mr, ok := r.Predicate.(*record.ModelRelease); ok {
			rel = mr
		}
	}
	return rel
}

// readManifest resolves tag and returns its verified image manifest.
func readManifest(ctx context.Context, r ArtifactReader, tag string) (ocispec.Descriptor, *ocispec.Manifest, error) {
	desc, err := r.Resolve(ctx, tag)
	if err != nil {
		return desc, nil, fmt.Errorf("%w: resolving %s: %w", ErrArtifact, tag, err)
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest || desc.Size > maxManifest {
		return desc, nil, fmt.Errorf("%w: %s is a %s of %d bytes, want an image manifest", ErrArtifact, tag, desc.MediaType, desc.Size)
	}
	b, err := r.Fetch(ctx, desc)
	if err != nil {
		return desc, nil, fmt.Errorf("%w: fetching %s: %w", ErrArtifact, desc.Digest, err)
	}
	if err := oci.Verify(desc, b); err != nil {
		return desc, nil, fmt.Errorf("%w: %w", ErrArtifact, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return desc, nil, fmt.Errorf("%w: manifest %s: %v", ErrArtifact, desc.Digest, err)
	}
	return desc, &m, nil
}

// attestation is what Attach reads of a summary's statement.
type attestation struct {
	Subject       []record.ResourceDescriptor `json:"subject"`
	PredicateType string                      `json:"predicateType"`
	Predicate     struct {
		TimeVerified string `json:"timeVerified"`
	} `json:"predicate"`
}

// Attach stores the signed summary vsa as a referrer of the artifact
// tagged tag in w (oci.PackBundleReferrer) and returns the referrer's
// descriptor. It refuses a summary whose subjects do not name the
// artifact's manifest digest (cosign would refuse it too: issue the summary
// with the artifact, ModelSubject). Signatures are not checked here.
func Attach(ctx context.Context, w ArtifactWriter, tag string, vsa []byte) (ocispec.Descriptor, error) {
	b, err := bundle.Parse(vsa)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("%w: summary: %w", ErrArtifact, err)
	}
	var st attestation
	if err := json.Unmarshal(b.Payload(), &st); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("%w: summary statement: %v", ErrArtifact, err)
	}
	desc, _, err := readManifest(ctx, w, tag)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if !slices.ContainsFunc(st.Subject, func(s record.ResourceDescriptor) bool { return s.SHA256() == desc.Digest.Encoded() }) {
		return ocispec.Descriptor{}, fmt.Errorf("%w: the summary's subjects do not include %s (%s)", ErrArtifact, desc.Digest, tag)
	}
	art, err := oci.PackBundleReferrer(oci.Plain(desc), vsa, st.PredicateType, st.Predicate.TimeVerified)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	for _, bl := range art.Blobs {
		if err := w.PushBlob(ctx, bl.Descriptor, bl.Data); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("pushing %s: %w", bl.Descriptor.Digest, err)
		}
	}
	if err := w.PushManifest(ctx, art.Descriptor, art.Manifest); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("pushing %s: %w", art.Descriptor.Digest, err)
	}
	return art.Descriptor, w.Commit(ctx)
}
