// Package layout writes and reads an OCI image layout directory
// (image-spec v1.1 "image-layout.md") that stays fast and crash-safe with
// millions of records.
//
// Blobs are content-addressed under blobs/sha256/ as usual. index.json stays
// small: it lists the tagged manifests (one run root per run, tagged
// run-<id>, annotated "kind: dev.cosignproject.cosign/image" for cosign
// --local-image) and, per run, the top of the run's referrers tree: an OCI
// image index whose entries are the run's record and attachment manifests.
// Full chunks of Fanout entries are sealed into immutable child indexes, so
// an append rewrites at most Fanout entries per level plus index.json,
// whatever the number of records already stored. Every artifact is thus
// reachable from index.json (oras-go content/oci indexes predecessors from
// there: `oras discover --oci-layout` lists a run's records), and cosign
// --local-image finds records by their subject in blobs/sha256.
//
// Crash safety: blobs are written to ingest/ and stay there (staged) until
// the next Commit, which makes every staged blob durable at once (on Linux
// concurrent fsyncs that share journal commits; elsewhere each blob is
// fsynced as it is written), renames
// them into blobs/sha256/, fsyncs that directory and only then replaces
// index.json atomically. A blob thus appears under its name only once its
// bytes are durable, and is referenced only after that. index.json is the
// commit point: a crash leaves the previous index.json and, at worst,
// unreferenced blobs or temporary files in ingest/, which the layout
// format allows and a retried append rewrites. A failed sync drops the
// staged blobs (a sync is never retried and trusted): the caller's retry
// writes them again. Writers in several processes are serialised by an
// flock on ingest/lock; readers never lock.
package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/internal/atomicfile"
)

// Errors.
var (
	// ErrDigestMismatch: content does not match its descriptor.
	ErrDigestMismatch = errors.New("content does not match descriptor")
	// ErrNotFound: a tag or blob is not in the layout.
	ErrNotFound = errors.New("not found in layout")
	// ErrCorrupt: index.json or a referrers tree index is malformed.
	ErrCorrupt = errors.New("corrupt layout")
)

const (
	layoutMarker = `{"imageLayoutVersion":"1.0.0"}`
	// maxIndexSize bounds index.json (two entries per run).
	maxIndexSize = 64 << 20
	// MaxManifestSize bounds a manifest read to find a referrer's subject.
	MaxManifestSize = 4 << 20
	ingestDir       = "ingest"
)

// Layout is an OCI image layout directory opened for reading and writing.
// Its methods are safe for concurrent use.
type Layout struct {
	dir string

	mu       sync.Mutex
	pending  map[string][]ocispec.Descriptor // run root digest -> staged entries
	maybeDup map[digest.Digest]bool          // staged manifests that existed before
	tags     []ocispec.Descriptor            // staged tagged entries
	unsynced atomic.Bool                     // blobs renamed since the last directory fsync
	cache    map[string]*members             // run root digest -> members at a tree top

	wmu    sync.Mutex   // one blob file written at a time (see put)
	pmu    sync.RWMutex // put holds it shared from watchFS to staging; publishStaged exclusively
	bmu    sync.Mutex
	watch  *os.File                        // watchFS, opened before the first staged blob was written
	staged map[digest.Digest]string        // blobs written to ingest/, not yet durable -> temp file
	roots  map[digest.Digest]digest.Digest // manifest -> the run root at the end of its subject chain
}

// maxRootsCached bounds Layout.roots (it is emptied when full).
const maxRootsCached = 4096

type members struct {
	top  digest.Digest
	list []ocispec.Descriptor
	set  map[digest.Digest]bool
}

// Open opens the layout at dir, creating it when it does not exist.
func Open(dir string) (*Layout, error) {
	for _, d := range []string{filepath.Join(dir, "blobs", "sha256"), filepath.Join(dir, ingestDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating layout %s: %w", dir, err)
		}
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
	if _, err := os.Stat(filepath.Join(dir, ocispec.ImageIndexFile)); errors.Is(err, os.ErrNotExist) {
		if err := writeIndex(dir, newIndexFile()); err != nil {
			return nil, err
		}
	}
	removeStale(filepath.Join(dir, ingestDir), time.Now().Add(-staleStaged))
	return &Layout{dir: dir, pending: map[string][]ocispec.Descriptor{},
		maybeDup: map[digest.Digest]bool{}, cache: map[string]*members{},
		staged: map[digest.Digest]string{}, roots: map[digest.Digest]digest.Digest{}}, nil
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
// a blob that is already present (or staged) is a no-op. The blob is
// readable at once and durable after the next Commit (or Tag).
func (l *Layout) Put(desc ocispec.Descriptor, content []byte) error {
	_, err := l.put(desc, content)
	return err
}

// put stages a blob and reports whether it was already present.
func (l *Layout) put(desc ocispec.Descriptor, content []byte) (existed bool, err error) {
	if int64(len(content)) != desc.Size || digest.FromBytes(content) != desc.Digest {
		return false, fmt.Errorf("storing %s: %w (got size %d, want %d)", desc.Digest, ErrDigestMismatch, len(content), desc.Size)
	}
	p, err := l.blobPath(desc.Digest)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(p); err == nil {
		return true, nil
	}
	if l.isStaged(desc.Digest) {
		return false, nil
	}
	// The write-back errors syncfs reports are those after watchFS: it
	// is opened before the blob is written, and publishStaged (which
	// syncs and closes it) cannot run between the two.
	l.pmu.RLock()
	defer l.pmu.RUnlock()
	if err := l.watchFS(); err != nil {
		return false, fmt.Errorf("storing blob %s: %w", desc.Digest, err)
	}
	// Blob files are written one at a time: without an fsync each, a write
	// is CPU in the kernel, and parallel writers (oci.WriteRun runs
	// several) would only take CPU from the requests a daemon serves while
	// it pushes in the background.
	l.wmu.Lock()
	tmp, err := l.writeBlob(content)
	l.wmu.Unlock()
	if err != nil {
		return false, fmt.Errorf("storing blob %s: %w", desc.Digest, err)
	}
	l.bmu.Lock()
	defer l.bmu.Unlock()
	if _, dup := l.staged[desc.Digest]; dup {
		os.Remove(tmp) // a concurrent put of the same blob won
		return false, nil
	}
	l.staged[desc.Digest] = tmp
	return false, nil
}

// watchFS opens l.watch when nothing is staged yet (see watchFS).
func (l *Layout) watchFS() error {
	l.bmu.Lock()
	defer l.bmu.Unlock()
	if l.watch != nil {
		return nil
	}
	f, err := watchFS(filepath.Join(l.dir, ingestDir))
	l.watch = f
	return err
}

func (l *Layout) isStaged(d digest.Digest) bool {
	l.bmu.Lock()
	defer l.bmu.Unlock()
	_, ok := l.staged[d]
	return ok
}

// writeBlob writes content to a new read-only file in ingest/, unsynced
// where Commit syncs the staged blobs together (Linux), and returns its
// path. The file is created read-only with O_EXCL under a counter name
// (no random names, no chmod): an existing file, a crashed writer's
// leftover or another process's, is never opened, the next name is tried.
func (l *Layout) writeBlob(content []byte) (string, error) {
	f, tmp, err := l.createStaged()
	if err != nil {
		return "", err
	}
	_, err = f.Write(content)
	if err == nil && syncEachBlob {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// stagedSeq numbers staged blob files (with the process id, a name
// unique among live writers; O_EXCL guards the rest).
var stagedSeq atomic.Uint64

// createStaged creates a new read-only staged blob file for writing.
func (l *Layout) createStaged() (*os.File, string, error) {
	prefix := filepath.Join(l.dir, ingestDir, "blob-"+strconv.Itoa(os.Getpid())+"-")
	for range 1000 {
		tmp := prefix + strconv.FormatUint(stagedSeq.Add(1), 10)
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
		if !errors.Is(err, os.ErrExist) {
			return f, tmp, err
		}
	}
	return nil, "", fmt.Errorf("creating a staged blob in %s: %w", filepath.Join(l.dir, ingestDir), os.ErrExist)
}

// publishStaged makes every staged blob durable (syncFiles: one syncfs,
// or an fsync of each) and renames it into blobs/sha256/; the caller
// fsyncs that directory. On a failed sync the staged blobs are dropped:
// their state on disk is unknown, and a retried append writes them again.
func (l *Layout) publishStaged() error {
	l.pmu.Lock()
	defer l.pmu.Unlock()
	l.bmu.Lock()
	defer l.bmu.Unlock()
	watch := l.watch
	l.watch = nil
	if watch != nil {
		defer watch.Close()
	}
	if len(l.staged) == 0 {
		return nil
	}
	tmps := make([]string, 0, len(l.staged))
	for _, tmp := range l.staged {
		tmps = append(tmps, tmp)
	}
	if err := syncStaged(watch, tmps); err != nil {
		l.dropStagedLocked()
		return fmt.Errorf("syncing %d staged blobs: %w", len(tmps), err)
	}
	for d, tmp := range l.staged {
		p, _ := l.blobPath(d)
		if err := os.Rename(tmp, p); err != nil {
			l.dropStagedLocked()
			return fmt.Errorf("storing blob %s: %w", d, err)
		}
		delete(l.staged, d)
	}
	l.unsynced.Store(true)
	return nil
}

// dropStagedLocked forgets the staged blobs and removes their files; l.bmu is held.
func (l *Layout) dropStagedLocked() {
	for d, tmp := range l.staged {
		os.Remove(tmp)
		delete(l.staged, d)
	}
}

// readStaged reads a blob that is not (or was not a moment ago) under
// blobs/sha256/: from its staged file, or from its final place when
// Commit renamed it meanwhile (renames happen under l.bmu).
func (l *Layout) readStaged(d digest.Digest, p string) ([]byte, error) {
	l.bmu.Lock()
	defer l.bmu.Unlock()
	if tmp, ok := l.staged[d]; ok {
		return os.ReadFile(tmp)
	}
	return os.ReadFile(p)
}

// Get returns the blob named by desc, verified against its digest and size.
func (l *Layout) Get(desc ocispec.Descriptor) ([]byte, error) {
	p, err := l.blobPath(desc.Digest)
	if err != nil {
		return nil, err
	}
	if desc.Size < 0 || desc.Size > 1<<40 {
		return nil, fmt.Errorf("reading blob %s: size %d out of range", desc.Digest, desc.Size)
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		b, err = l.readStaged(desc.Digest, p)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != desc.Size || digest.FromBytes(b) != desc.Digest {
		return nil, fmt.Errorf("reading blob %s: %w (got %s, size %d; want size %d)",
			desc.Digest, ErrDigestMismatch, digest.FromBytes(b), len(b), desc.Size)
	}
	return b, nil
}

// Exists reports whether the blob named by desc is present (unverified).
func (l *Layout) Exists(desc ocispec.Descriptor) (bool, error) {
	p, err := l.blobPath(desc.Digest)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return l.isStaged(desc.Digest), nil
	}
	return err == nil, err
}

// Tag points name at desc in index.json, replacing an earlier entry of the
// same name, and commits. annotations are added to the index entry (cosign
// looks for "kind" there, research/oci-packaging.md §4.3).
func (l *Layout) Tag(name string, desc ocispec.Descriptor, annotations map[string]string) error {
	entry := ocispec.Descriptor{MediaType: desc.MediaType, ArtifactType: desc.ArtifactType,
		Digest: desc.Digest, Size: desc.Size, Annotations: map[string]string{ocispec.AnnotationRefName: name}}
	for k, v := range annotations {
		entry.Annotations[k] = v
	}
	l.mu.Lock()
	l.tags = append(l.tags, entry)
	l.mu.Unlock()
	return l.Commit()
}

// Resolve returns the descriptor tagged name.
func (l *Layout) Resolve(name string) (ocispec.Descriptor, error) {
	idx, err := readIndex(l.dir)
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

// Tagged returns the tagged entries of index.json, sorted by name.
func (l *Layout) Tagged() ([]ocispec.Descriptor, error) {
	idx, err := readIndex(l.dir)
	if err != nil {
		return nil, err
	}
	var out []ocispec.Descriptor
	for _, m := range idx.Manifests {
		if m.Annotations[ocispec.AnnotationRefName] != "" {
			out = append(out, m)
		}
	}
	return out, nil
}

func newIndexFile() *ocispec.Index {
	idx := &ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	return idx
}

func readIndex(dir string) (*ocispec.Index, error) {
	p := filepath.Join(dir, ocispec.ImageIndexFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return newIndexFile(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if len(b) > maxIndexSize {
		return nil, fmt.Errorf("%w: %s larger than %d bytes", ErrCorrupt, p, maxIndexSize)
	}
	var idx ocispec.Index
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&idx); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, p, err)
	}
	return &idx, nil
}

// writeIndex writes index.json atomically: tagged entries sorted by name,
// then tree tops sorted by subject.
func writeIndex(dir string, idx *ocispec.Index) error {
	sort.SliceStable(idx.Manifests, func(i, j int) bool { return sortKey(idx.Manifests[i]) < sortKey(idx.Manifests[j]) })
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ocispec.ImageIndexFile), append(b, '\n'), 0o644)
}

func sortKey(d ocispec.Descriptor) string {
	if n := d.Annotations[ocispec.AnnotationRefName]; n != "" {
		return "0" + n
	}
	return "1" + d.Annotations[AnnotationTreeSubject] + d.Digest.String()
}

// staleStaged is the age after which a staged blob file in ingest/ is
// taken for the leftover of a writer that crashed before its Commit.
const staleStaged = 24 * time.Hour

// removeStale removes staged blob files older than before (best effort:
// they are unreferenced, and a live writer commits within seconds).
func removeStale(dir string, before time.Time) {
	paths, _ := filepath.Glob(filepath.Join(dir, "blob-*"))
	for _, p := range paths {
		if fi, err := os.Lstat(p); err == nil && fi.ModTime().Before(before) {
			os.Remove(p)
		}
	}
}

// syncStaged is syncFiles; tests inject failures.
var syncStaged = syncFiles
