package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"

	"github.com/dossier-audit/dossier/pkg/oci"
)

// PushBlob uploads a blob unless the registry already has it.
func (r *Repository) PushBlob(ctx context.Context, desc ocispec.Descriptor, data []byte) error {
	if ok, err := r.repo.Blobs().Exists(ctx, desc); err == nil && ok {
		r.remember(&r.blobs, desc)
		return nil
	}
	if err := r.repo.Blobs().Push(ctx, desc, bytes.NewReader(data)); err != nil && !isExists(err) {
		return fmt.Errorf("pushing blob %s: %w", desc.Digest, err)
	}
	r.remember(&r.blobs, desc)
	return nil
}

func isExists(err error) bool { return err != nil && errorsIs(err, errdef.ErrAlreadyExists) }

func (r *Repository) remember(list *[]ocispec.Descriptor, d ocispec.Descriptor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*list = append(*list, d)
}

// PushManifest uploads a manifest by digest; one with a subject is
// remembered for the batch's referrers index.
func (r *Repository) PushManifest(ctx context.Context, desc ocispec.Descriptor, data []byte) error {
	plain := oci.Plain(desc)
	if err := r.repo.Manifests().Push(ctx, plain, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("pushing manifest %s: %w", desc.Digest, readBackErr(err))
	}
	r.remember(&r.manifest, plain)
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil || m.Subject == nil {
		return nil
	}
	entry := plain
	entry.ArtifactType, entry.Annotations = m.ArtifactType, m.Annotations
	if entry.ArtifactType == "" {
		entry.ArtifactType = m.Config.MediaType
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subjects[m.Subject.Digest] = oci.Plain(*m.Subject)
	r.batch[m.Subject.Digest] = append(r.batch[m.Subject.Digest], entry)
	return nil
}

// Tag points tag at desc and checks the registry resolves it to desc.
func (r *Repository) Tag(ctx context.Context, desc ocispec.Descriptor, tag string) error {
	if err := r.repo.Tag(ctx, oci.Plain(desc), tag); err != nil {
		return fmt.Errorf("tagging %s: %w", tag, readBackErr(err))
	}
	return r.checkTag(ctx, tag, desc)
}

// readBackErr marks oras-go content verification failures as ErrReadBack.
func readBackErr(err error) error {
	if errorsIs(err, content.ErrMismatchedDigest) || errorsIs(err, content.ErrInvalidDescriptorSize) || errorsIs(err, content.ErrTrailingData) {
		return fmt.Errorf("%w: %w", ErrReadBack, err)
	}
	return err
}

// checkTag checks that the registry resolves tag to desc.
func (r *Repository) checkTag(ctx context.Context, tag string, desc ocispec.Descriptor) error {
	got, err := r.repo.Resolve(ctx, tag)
	if err != nil {
		return fmt.Errorf("reading back tag %s: %w", tag, err)
	}
	if got.Digest != desc.Digest || got.Size != desc.Size {
		return fmt.Errorf("%w: tag %s resolves to %s (%d bytes), want %s (%d bytes)", ErrReadBack, tag, got.Digest, got.Size, desc.Digest, desc.Size)
	}
	return nil
}

// Commit writes the tag schema indexes (when the registry lacks the
// referrers API) and reads back everything pushed since the last Commit.
func (r *Repository) Commit(ctx context.Context) error {
	r.mu.Lock()
	batch, subjects, manifests, blobs := r.batch, r.subjects, r.manifest, r.blobs
	r.batch, r.subjects, r.manifest, r.blobs = map[digest.Digest][]ocispec.Descriptor{}, map[digest.Digest]ocispec.Descriptor{}, nil, nil
	r.mu.Unlock()
	if err := r.readBack(ctx, manifests, blobs); err != nil {
		return err
	}
	if len(batch) == 0 {
		return nil
	}
	api, err := r.hasReferrersAPI(ctx)
	if err != nil || api {
		return err
	}
	keys := make([]digest.Digest, 0, len(batch))
	for k := range batch {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		if err := r.updateTagIndex(ctx, subjects[k], batch[k]); err != nil {
			return err
		}
	}
	return nil
}

// readBack fetches every pushed manifest by digest and hashes it, and
// checks every pushed blob's size.
func (r *Repository) readBack(ctx context.Context, manifests, blobs []ocispec.Descriptor) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(oci.Concurrency)
	for _, d := range manifests {
		g.Go(func() error {
			b, err := r.Fetch(gctx, d)
			if err != nil {
				return fmt.Errorf("%w: manifest %s: %w", ErrReadBack, d.Digest, err)
			}
			if err := oci.Verify(d, b); err != nil {
				return fmt.Errorf("%w: manifest %s: %w", ErrReadBack, d.Digest, err)
			}
			return nil
		})
	}
	for _, d := range blobs {
		g.Go(func() error {
			got, err := r.repo.Blobs().Resolve(gctx, d.Digest.String())
			if err != nil {
				return fmt.Errorf("%w: blob %s: %w", ErrReadBack, d.Digest, err)
			}
			if got.Size != d.Size || got.Digest != d.Digest {
				return fmt.Errorf("%w: blob %s: registry has %s, %d bytes; want %d bytes", ErrReadBack, d.Digest, got.Digest, got.Size, d.Size)
			}
			return nil
		})
	}
	return g.Wait()
}

// tagSchemaTag returns "sha256-<hex>" for a subject.
func tagSchemaTag(subject ocispec.Descriptor) string {
	return subject.Digest.Algorithm().String() + "-" + subject.Digest.Encoded()
}

// updateTagIndex merges added into the subject's tag schema index and
// pushes it once.
func (r *Repository) updateTagIndex(ctx context.Context, subject ocispec.Descriptor, added []ocispec.Descriptor) error {
	tag := tagSchemaTag(subject)
	old, err := r.tagIndex(ctx, subject)
	if err != nil {
		return err
	}
	have := map[digest.Digest]bool{}
	for _, d := range old {
		have[d.Digest] = true
	}
	merged := old
	for _, d := range added {
		if !have[d.Digest] {
			have[d.Digest] = true
			merged = append(merged, d)
		}
	}
	if len(merged) == len(old) {
		return nil
	}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: merged}
	idx.SchemaVersion = 2
	b, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	if len(b) > MaxIndexSize {
		return fmt.Errorf("%w: %s would hold %d referrers in %d bytes, limit %d; use a registry with the referrers API",
			ErrIndexTooLarge, tag, len(merged), len(b), MaxIndexSize)
	}
	desc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageIndex, b)
	if err := r.repo.PushReference(ctx, desc, bytes.NewReader(b), tag); err != nil {
		return fmt.Errorf("pushing referrers index %s: %w", tag, err)
	}
	return r.checkTag(ctx, tag, desc)
}

// tagIndex returns the referrers listed in the subject's tag schema index.
func (r *Repository) tagIndex(ctx context.Context, subject ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	tag := tagSchemaTag(subject)
	desc, rc, err := r.repo.FetchReference(ctx, tag)
	if errorsIs(err, errdef.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading referrers index %s: %w", tag, err)
	}
	defer rc.Close()
	if desc.MediaType != ocispec.MediaTypeImageIndex || desc.Size > MaxIndexSize {
		return nil, fmt.Errorf("referrers tag %s is a %s of %d bytes, want an image index", tag, desc.MediaType, desc.Size)
	}
	b, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("reading referrers index %s: %w", tag, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("referrers index %s: %w", tag, err)
	}
	return idx.Manifests, nil
}
