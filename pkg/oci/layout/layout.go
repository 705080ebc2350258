// Package layout writes and reads an OCI image layout directory
// (image-spec v1.1 "image-layout.md"): content-addressed blobs under
// blobs/sha256/, an oci-layout marker and an index.json of tagged manifests.
//
// Every blob and every index.json update is written atomically (temporary
// file, fsync, rename, directory fsync), so a crash leaves either the old or
// the new state. Blobs are verified against their descriptor before they are
// stored, and stored blobs are never rewritten.
package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/internal/atomicfile"
)

// ErrDigestMismatch is returned when content does not match its descriptor.
var ErrDigestMismatch = errors.New("content does not match descriptor")

// ErrNotFound is returned when a tag or blob is not in the layout.
var ErrNotFound = errors.New("not found in layout")

const layoutMarker = `{"imageLayoutVersion":"1.0.0"}`

// maxIndexSize bounds index.json; the layout is meant for a handful of tags
// per directory (one run root per run).
const maxIndexSize = 64 << 20

// Layout is an OCI image layout directory opened for reading and writing.
type Layout struct {
	dir string
	mu  sync.Mutex
}

// Open opens the layout at dir, creating it when it does not exist.
func Open(dir string) (*Layout, error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, fmt.Errorf("creating layout %s: %w", dir, err)
	}
	marker := filepath.Join(dir, ocispec.ImageLayoutFile)
	if b, err := os.ReadFile(marker); err == nil {
		var l ocispec.ImageLayout
		if json.Unmarshal(b, &l) != nil || l.Version != ocispec.ImageLayoutVersion {
			return nil, fmt.Errorf("opening layout %s: unsupported %s %q", dir, ocispec.ImageLayoutFile, b)
		}
	} else if err := atomicfile.WriteFile(marker, []byte(layoutMarker), 0o644); err != nil {
		return nil, err
	}
	return &Layout{dir: dir}, nil
}

// Dir returns the layout's directory.
func (l *Layout) Dir() string { return l.dir }

func (l *Layout) blobPath(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil || d.Algorithm() != digest.SHA256 {
		return "", fmt.Errorf("blob digest %q: want sha256:<64 hex>", d)
	}
	return filepath.Join(l.dir, "blobs", "sha256", d.Encoded()), nil
}

// Put stores content under desc after checking its digest and size. Storing
// a blob that is already present is a no-op.
func (l *Layout) Put(desc ocispec.Descriptor, content []byte) error {
	if int64(len(content)) != desc.Size || digest.FromBytes(content) != desc.Digest {
		return fmt.Errorf("storing %s: %w (size %d)", desc.Digest, ErrDigestMismatch, len(content))
	}
	p, err := l.blobPath(desc.Digest)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return atomicfile.WriteFile(p, content, 0o444)
}

// Get returns the blob named by desc, verified against its digest and size.
func (l *Layout) Get(desc ocispec.Descriptor) ([]byte, error) {
	p, err := l.blobPath(desc.Digest)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != desc.Size || digest.FromBytes(b) != desc.Digest {
		return nil, fmt.Errorf("reading blob %s: %w", desc.Digest, ErrDigestMismatch)
	}
	return b, nil
}

// Tag points name at desc in index.json, replacing an earlier entry of the
// same name. annotations are added to the index entry (cosign looks for
// "kind" there, research/oci-packaging.md §4.3).
func (l *Layout) Tag(name string, desc ocispec.Descriptor, annotations map[string]string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	idx, err := l.readIndex()
	if err != nil {
		return err
	}
	entry := ocispec.Descriptor{MediaType: desc.MediaType, ArtifactType: desc.ArtifactType,
		Digest: desc.Digest, Size: desc.Size, Annotations: map[string]string{ocispec.AnnotationRefName: name}}
	for k, v := range annotations {
		entry.Annotations[k] = v
	}
	kept := idx.Manifests[:0]
	for _, m := range idx.Manifests {
		if m.Annotations[ocispec.AnnotationRefName] != name {
			kept = append(kept, m)
		}
	}
	idx.Manifests = append(kept, entry)
	sort.SliceStable(idx.Manifests, func(i, j int) bool {
		return idx.Manifests[i].Annotations[ocispec.AnnotationRefName] < idx.Manifests[j].Annotations[ocispec.AnnotationRefName]
	})
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(l.dir, ocispec.ImageIndexFile), append(b, '\n'), 0o644)
}

// Resolve returns the descriptor tagged name.
func (l *Layout) Resolve(name string) (ocispec.Descriptor, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	idx, err := l.readIndex()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	for _, m := range idx.Manifests {
		if m.Annotations[ocispec.AnnotationRefName] == name {
			return m, nil
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("tag %q: %w", name, ErrNotFound)
}

func (l *Layout) readIndex() (*ocispec.Index, error) {
	p := filepath.Join(l.dir, ocispec.ImageIndexFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		idx := &ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
		idx.SchemaVersion = 2
		return idx, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if len(b) > maxIndexSize {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", p, maxIndexSize)
	}
	var idx ocispec.Index
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&idx); err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return &idx, nil
}
