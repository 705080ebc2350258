package layout

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Fanout is the number of entries in a full chunk of a run's referrers tree.
const Fanout = 32

// Tree index media and annotation names. The referrers tree of a run is made
// of OCI image indexes of artifactType TreeArtifactType; index.json lists
// the top one with AnnotationTreeSubject set to the run root digest.
const (
	TreeArtifactType      = "application/vnd.dossier.referrers.v1"
	AnnotationTreeSubject = "dev.dossier.referrers.subject"
	// AnnotationTreeLevel marks a chunk descriptor in a tree index: the
	// chunk holds Fanout entries of level-1 (level 1: artifacts).
	AnnotationTreeLevel = "dev.dossier.referrers.level"
	// AnnotationSubject is set on artifact entries of a tree index: the
	// digest of the artifact manifest's subject (the run root or a record).
	AnnotationSubject = "dev.dossier.subject"
	maxTreeIndexSize  = 4 << 20
	maxLevels         = 12
)

// tree is the open part of a run's referrers tree: open[0] holds artifact
// descriptors not yet in a full chunk, open[k] holds level-k chunks not yet
// in a level-k+1 chunk. Full chunks are immutable blobs; only the top index
// (every open entry, highest level first) changes on an append, so an
// append costs at most Fanout entries per level whatever the run's size.
type tree struct {
	open [][]ocispec.Descriptor
}

// emitFunc stores a new chunk or top index blob.
type emitFunc func(desc ocispec.Descriptor, blob []byte) error

func newIndex(subject string, entries []ocispec.Descriptor) ([]byte, ocispec.Descriptor, error) {
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, ArtifactType: TreeArtifactType,
		Manifests: entries, Annotations: map[string]string{AnnotationTreeSubject: subject}}
	idx.SchemaVersion = 2
	if idx.Manifests == nil {
		idx.Manifests = []ocispec.Descriptor{}
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	return b, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, ArtifactType: TreeArtifactType,
		Digest: digest.FromBytes(b), Size: int64(len(b))}, nil
}

// add appends an artifact entry, sealing every chunk that becomes full.
func (t *tree) add(subject string, d ocispec.Descriptor, emit emitFunc) error {
	if len(t.open) == 0 {
		t.open = append(t.open, nil)
	}
	t.open[0] = append(t.open[0], d)
	for k := 0; k < len(t.open) && len(t.open[k]) == Fanout; k++ {
		b, cd, err := newIndex(subject, t.open[k])
		if err != nil {
			return err
		}
		if err := emit(cd, b); err != nil {
			return err
		}
		cd.Annotations = map[string]string{AnnotationTreeLevel: strconv.Itoa(k + 1)}
		t.open[k] = nil
		if k+1 == len(t.open) {
			t.open = append(t.open, nil)
		}
		t.open[k+1] = append(t.open[k+1], cd)
	}
	return nil
}

// top returns the top index: every open entry, highest level first.
func (t *tree) top(subject string) ([]byte, ocispec.Descriptor, error) {
	var entries []ocispec.Descriptor
	for k := len(t.open) - 1; k >= 0; k-- {
		entries = append(entries, t.open[k]...)
	}
	return newIndex(subject, entries)
}

// parseTree decodes a tree index (top or chunk) and checks it names subject.
func parseTree(b []byte, subject string) (*ocispec.Index, error) {
	if len(b) > maxTreeIndexSize {
		return nil, fmt.Errorf("%w: tree index of %d bytes", ErrCorrupt, len(b))
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%w: tree index: %v", ErrCorrupt, err)
	}
	if idx.ArtifactType != TreeArtifactType || idx.Annotations[AnnotationTreeSubject] != subject {
		return nil, fmt.Errorf("%w: tree index is not the referrers tree of %s", ErrCorrupt, subject)
	}
	return &idx, nil
}

// level returns the level of a tree entry: 0 for an artifact.
func level(d ocispec.Descriptor) (int, error) {
	s, ok := d.Annotations[AnnotationTreeLevel]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLevels || d.MediaType != ocispec.MediaTypeImageIndex {
		return 0, fmt.Errorf("%w: tree entry %s has level %q", ErrCorrupt, d.Digest, s)
	}
	return n, nil
}

// treeFromTop rebuilds the open state from a top index.
func treeFromTop(idx *ocispec.Index) (*tree, error) {
	t := &tree{}
	prev := maxLevels + 1
	for _, d := range idx.Manifests {
		n, err := level(d)
		if err != nil {
			return nil, err
		}
		if n > prev {
			return nil, fmt.Errorf("%w: tree top out of level order", ErrCorrupt)
		}
		prev = n
		for len(t.open) <= n {
			t.open = append(t.open, nil)
		}
		if len(t.open[n]) == Fanout-1 {
			return nil, fmt.Errorf("%w: tree top has a full level %d", ErrCorrupt, n)
		}
		t.open[n] = append(t.open[n], d)
	}
	return t, nil
}
