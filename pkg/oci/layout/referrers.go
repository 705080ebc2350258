package layout

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/internal/atomicfile"
	"github.com/dossier-audit/dossier/internal/filelock"
)

// maxSubjectDepth bounds the subject chain walked to find a run root
// (attachment -> record -> run root).
const maxSubjectDepth = 4

// PushManifest stores a manifest blob; when the manifest has a subject it
// is staged as a referrer in the referrers tree of the run root at the end
// of its subject chain. Entries carry the manifest's artifactType and
// annotations (as in the distribution-spec referrers tag schema) plus
// AnnotationSubject. The manifest is listed after the next Commit.
func (l *Layout) PushManifest(desc ocispec.Descriptor, manifest []byte) error {
	existed, err := l.put(desc, manifest)
	if err != nil {
		return err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return fmt.Errorf("%w: manifest %s: %v", ErrCorrupt, desc.Digest, err)
	}
	if m.Subject == nil {
		return nil
	}
	root, err := l.rootOf(*m.Subject, 0)
	if err != nil {
		return err
	}
	entry := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size,
		ArtifactType: m.ArtifactType, Annotations: map[string]string{AnnotationSubject: m.Subject.Digest.String()}}
	if entry.ArtifactType == "" {
		entry.ArtifactType = m.Config.MediaType
	}
	for k, v := range m.Annotations {
		entry.Annotations[k] = v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending[root] = append(l.pending[root], entry)
	if existed {
		l.maybeDup[desc.Digest] = true
	}
	return nil
}

// rootOf follows subject links from d to a manifest without a subject.
func (l *Layout) rootOf(d ocispec.Descriptor, depth int) (string, error) {
	if depth > maxSubjectDepth {
		return "", fmt.Errorf("%w: subject chain longer than %d at %s", ErrCorrupt, maxSubjectDepth, d.Digest)
	}
	if d.Size > MaxManifestSize {
		return "", fmt.Errorf("%w: subject %s of %d bytes", ErrCorrupt, d.Digest, d.Size)
	}
	if r, ok := l.cachedRoot(d.Digest); ok {
		return r.String(), nil
	}
	root, err := l.findRoot(d, depth)
	if err == nil {
		l.cacheRoot(d.Digest, digest.Digest(root))
	}
	return root, err
}

// cachedRoot and cacheRoot keep the root of manifests already followed
// (content-addressed, so an entry never goes stale): a run's records all
// name its run root, which is then read once, not once per record.
func (l *Layout) cachedRoot(d digest.Digest) (digest.Digest, bool) {
	l.bmu.Lock()
	defer l.bmu.Unlock()
	r, ok := l.roots[d]
	return r, ok
}

func (l *Layout) cacheRoot(d, root digest.Digest) {
	l.bmu.Lock()
	defer l.bmu.Unlock()
	if len(l.roots) >= maxRootsCached {
		clear(l.roots)
	}
	l.roots[d] = root
}

func (l *Layout) anyStaged() bool {
	l.bmu.Lock()
	defer l.bmu.Unlock()
	return len(l.staged) > 0
}

func (l *Layout) findRoot(d ocispec.Descriptor, depth int) (string, error) {
	b, err := l.Get(d)
	if err != nil {
		return "", fmt.Errorf("subject %s must be stored before its referrers: %w", d.Digest, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("%w: subject %s: %v", ErrCorrupt, d.Digest, err)
	}
	if m.Subject == nil {
		return d.Digest.String(), nil
	}
	return l.rootOf(*m.Subject, depth+1)
}

// Commit makes every blob stored so far durable and publishes the staged
// referrers and tags in index.json, atomically.
func (l *Layout) Commit() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) == 0 && len(l.tags) == 0 && !l.unsynced.Load() && !l.anyStaged() {
		return nil
	}
	unlock, err := l.lockFile()
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := readIndex(l.dir)
	if err != nil {
		return err
	}
	roots := make([]string, 0, len(l.pending))
	for r := range l.pending {
		roots = append(roots, r)
	}
	sort.Strings(roots)
	for _, r := range roots {
		if err := l.commitRun(idx, r, l.pending[r]); err != nil {
			return err
		}
	}
	for _, t := range l.tags {
		idx.Manifests = replaceEntry(idx.Manifests, t, func(m ocispec.Descriptor) bool {
			return m.Annotations[ocispec.AnnotationRefName] == t.Annotations[ocispec.AnnotationRefName]
		})
	}
	if err := l.publishStaged(); err != nil {
		// The staged blobs are gone: forget what would reference them
		// too, so that no later Commit publishes a dangling entry. The
		// caller's retry stages everything again.
		l.pending, l.maybeDup, l.tags = map[string][]ocispec.Descriptor{}, map[digest.Digest]bool{}, nil
		return err
	}
	if err := atomicfile.SyncDir(filepath.Join(l.dir, "blobs", "sha256")); err != nil {
		return err
	}
	if err := writeIndex(l.dir, idx); err != nil {
		return err
	}
	l.pending, l.maybeDup, l.tags = map[string][]ocispec.Descriptor{}, map[digest.Digest]bool{}, nil
	l.unsynced.Store(false)
	return nil
}

// commitRun appends staged entries to the run's tree and points idx at the
// new top.
func (l *Layout) commitRun(idx *ocispec.Index, root string, staged []ocispec.Descriptor) error {
	top, t, err := l.loadTop(idx, root)
	if err != nil {
		return err
	}
	var have map[digest.Digest]bool
	if l.needMembers(staged) && top != nil {
		m, err := l.members(root, *top)
		if err != nil {
			return err
		}
		have = m.set
	}
	// Within one commit entries go in digest order, so the same batch always
	// gives the same tree whatever order concurrent writers staged it in.
	staged = slices.Clone(staged)
	sort.Slice(staged, func(i, j int) bool { return staged[i].Digest < staged[j].Digest })
	seen := map[digest.Digest]bool{}
	emit := func(d ocispec.Descriptor, b []byte) error { _, err := l.put(d, b); return err }
	for _, e := range staged {
		if have[e.Digest] || seen[e.Digest] {
			continue
		}
		seen[e.Digest] = true
		if err := t.add(root, e, emit); err != nil {
			return err
		}
	}
	b, d, err := t.top(root)
	if err != nil {
		return err
	}
	if err := emit(d, b); err != nil {
		return err
	}
	d.Annotations = map[string]string{AnnotationTreeSubject: root}
	idx.Manifests = replaceEntry(idx.Manifests, d, func(m ocispec.Descriptor) bool {
		return m.Annotations[AnnotationTreeSubject] == root && m.Annotations[ocispec.AnnotationRefName] == ""
	})
	return nil
}

func (l *Layout) needMembers(staged []ocispec.Descriptor) bool {
	for _, e := range staged {
		if l.maybeDup[e.Digest] {
			return true
		}
	}
	return false
}

// loadTop returns the run's current top entry (nil when none) and its tree.
func (l *Layout) loadTop(idx *ocispec.Index, root string) (*ocispec.Descriptor, *tree, error) {
	top := treeTop(idx, root)
	if top == nil {
		return nil, &tree{}, nil
	}
	b, err := l.Get(*top)
	if err != nil {
		return nil, nil, err
	}
	ti, err := parseTree(b, root)
	if err != nil {
		return nil, nil, err
	}
	t, err := treeFromTop(ti)
	return top, t, err
}

func treeTop(idx *ocispec.Index, root string) *ocispec.Descriptor {
	for i, m := range idx.Manifests {
		if m.Annotations[AnnotationTreeSubject] == root && m.Annotations[ocispec.AnnotationRefName] == "" {
			return &idx.Manifests[i]
		}
	}
	return nil
}

func replaceEntry(list []ocispec.Descriptor, e ocispec.Descriptor, same func(ocispec.Descriptor) bool) []ocispec.Descriptor {
	out := list[:0]
	for _, m := range list {
		if !same(m) {
			out = append(out, m)
		}
	}
	return append(out, e)
}

// lockFile takes the layout's writer lock (flock on ingest/lock).
func (l *Layout) lockFile() (func(), error) {
	f, err := os.OpenFile(filepath.Join(l.dir, ingestDir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking layout: %w", err)
	}
	if err := filelock.Lock(f, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking layout: %w", err)
	}
	return func() { _ = filelock.Unlock(f); f.Close() }, nil
}

// members walks the run's tree from top and returns every artifact entry in
// append order. The result is cached per top digest.
func (l *Layout) members(root string, top ocispec.Descriptor) (*members, error) {
	if c := l.cache[root]; c != nil && c.top == top.Digest {
		return c, nil
	}
	m := &members{top: top.Digest, set: map[digest.Digest]bool{}}
	if err := l.walk(root, top, 0, m); err != nil {
		return nil, err
	}
	l.cache[root] = m
	return m, nil
}

func (l *Layout) walk(root string, d ocispec.Descriptor, depth int, m *members) error {
	if depth > maxLevels+1 {
		return fmt.Errorf("%w: referrers tree of %s deeper than %d", ErrCorrupt, root, maxLevels)
	}
	b, err := l.Get(d)
	if err != nil {
		return err
	}
	ti, err := parseTree(b, root)
	if err != nil {
		return err
	}
	for _, e := range ti.Manifests {
		n, err := level(e)
		if err != nil {
			return err
		}
		if n > 0 {
			if err := l.walk(root, e, depth+1, m); err != nil {
				return err
			}
			continue
		}
		m.list = append(m.list, e)
		m.set[e.Digest] = true
	}
	return nil
}

// Referrers returns the manifests stored with subject as their subject,
// filtered by artifactType when it is not empty, in commit order. Entries
// carry the manifest's artifactType and annotations.
func (l *Layout) Referrers(subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	root, err := l.rootOf(subject, 0)
	if err != nil {
		return nil, err
	}
	list, err := l.Members(root)
	if err != nil {
		return nil, err
	}
	var out []ocispec.Descriptor
	for _, e := range list {
		if e.Annotations[AnnotationSubject] != subject.Digest.String() {
			continue
		}
		if artifactType != "" && e.ArtifactType != artifactType {
			continue
		}
		e.Annotations = maps.Clone(e.Annotations)
		delete(e.Annotations, AnnotationSubject)
		out = append(out, e)
	}
	return out, nil
}

// Members returns every artifact entry of the referrers tree of the run
// root "sha256:<hex>", in commit order (digest order within one commit);
// nil when the run has none.
func (l *Layout) Members(root string) ([]ocispec.Descriptor, error) {
	idx, err := readIndex(l.dir)
	if err != nil {
		return nil, err
	}
	top := treeTop(idx, root)
	if top == nil {
		return nil, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m, err := l.members(root, *top)
	if err != nil {
		return nil, err
	}
	return m.list, nil
}
