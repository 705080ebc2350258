package oci

import (
	"context"
	"errors"
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/oci/layout"
	"github.com/dossier-audit/dossier/pkg/run"
)

// ErrNotFound: a tag or blob is not in the store.
var ErrNotFound = errors.New("not found")

// LayoutStore is a local OCI image layout as a Reader and Writer.
type LayoutStore struct {
	Layout *layout.Layout
}

// OpenLayout opens (creating it if needed) the layout directory dir.
func OpenLayout(dir string) (*LayoutStore, error) {
	l, err := layout.Open(dir)
	if err != nil {
		return nil, err
	}
	return &LayoutStore{Layout: l}, nil
}

func notFound(err error) error {
	if errors.Is(err, layout.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// Resolve returns the descriptor tagged tag.
func (s *LayoutStore) Resolve(_ context.Context, tag string) (ocispec.Descriptor, error) {
	d, err := s.Layout.Resolve(tag)
	return d, notFound(err)
}

// Fetch returns the blob desc names (verified by the layout).
func (s *LayoutStore) Fetch(_ context.Context, desc ocispec.Descriptor) ([]byte, error) {
	b, err := s.Layout.Get(desc)
	return b, notFound(err)
}

// Referrers lists the referrers of subject kept in the layout.
func (s *LayoutStore) Referrers(_ context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	return s.Layout.Referrers(subject, artifactType)
}

// PushBlob stores a blob.
func (s *LayoutStore) PushBlob(_ context.Context, desc ocispec.Descriptor, data []byte) error {
	return s.Layout.Put(desc, data)
}

// PushManifest stores a manifest and stages it as a referrer.
func (s *LayoutStore) PushManifest(_ context.Context, desc ocispec.Descriptor, data []byte) error {
	return s.Layout.PushManifest(Plain(desc), data)
}

// Tag tags desc and commits; run roots get the annotation cosign
// --local-image looks for.
func (s *LayoutStore) Tag(_ context.Context, desc ocispec.Descriptor, tag string) error {
	var ann map[string]string
	if desc.ArtifactType == run.ArtifactType {
		ann = map[string]string{AnnotationCosignKind: CosignImageKind}
	}
	return s.Layout.Tag(tag, desc, ann)
}

// Commit publishes the staged referrers in index.json.
func (s *LayoutStore) Commit(context.Context) error { return s.Layout.Commit() }

// Tags lists the layout's tags starting with prefix.
func (s *LayoutStore) Tags(_ context.Context, prefix string) ([]string, error) {
	tagged, err := s.Layout.Tagged()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range tagged {
		if n := d.Annotations[ocispec.AnnotationRefName]; strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out, nil
}
