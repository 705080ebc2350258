package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/dossier-audit/dossier/pkg/run"
)

// Reader is a store a run can be read from.
type Reader interface {
	// Resolve returns the descriptor a tag points at.
	Resolve(ctx context.Context, tag string) (ocispec.Descriptor, error)
	// Fetch returns the content of desc; callers verify it.
	Fetch(ctx context.Context, desc ocispec.Descriptor) ([]byte, error)
	// Referrers lists the manifests whose subject is subject, with their
	// artifactType and annotations, filtered by artifactType.
	Referrers(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error)
}

// Writer is a store a run can be written to.
type Writer interface {
	PushBlob(ctx context.Context, desc ocispec.Descriptor, data []byte) error
	// PushManifest stores a manifest; one with a subject becomes a referrer.
	PushManifest(ctx context.Context, desc ocispec.Descriptor, data []byte) error
	Tag(ctx context.Context, desc ocispec.Descriptor, tag string) error
	// Commit publishes everything pushed so far and checks it was stored
	// exactly as sent.
	Commit(ctx context.Context) error
}

// RunContent is a run root with its records and attachments.
type RunContent struct {
	Root        *run.Root
	Artifact    Artifact // the run root manifest and its blobs
	Records     []*Record
	Attachments []*Artifact
}

// Problem is a stored artifact that failed verification.
type Problem struct {
	Digest string // manifest digest
	Err    error
}

// Concurrency bounds parallel fetches and pushes.
const Concurrency = 8

// NewRunContent returns the content of a run without records yet.
func NewRunContent(root *run.Root) *RunContent {
	var m ocispec.Manifest
	_ = json.Unmarshal(root.Manifest, &m)
	return &RunContent{Root: root, Artifact: Artifact{Descriptor: root.Descriptor, Manifest: root.Manifest,
		Blobs: []Blob{{m.Config, root.Config}, {m.Layers[0], root.RegistrationJSON}}}}
}

// Tag returns the run root's tag, run-<id>.
func (rc *RunContent) Tag() string { return rc.Root.Tag() }

// Verify checks content against desc: size first, then digest.
func Verify(desc ocispec.Descriptor, content []byte) error {
	if int64(len(content)) != desc.Size {
		return fmt.Errorf("%w: %s has %d bytes, want %d", ErrDigestMismatch, desc.Digest, len(content), desc.Size)
	}
	if got := digest.FromBytes(content); got != desc.Digest {
		return fmt.Errorf("%w: got %s, want %s", ErrDigestMismatch, got, desc.Digest)
	}
	return nil
}

func fetchVerified(ctx context.Context, r Reader, desc ocispec.Descriptor) ([]byte, error) {
	b, err := r.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	return b, Verify(desc, b)
}

// ReadRun reads the run tagged run-<runID> from r, verifying the digest and
// size of every blob, the canonical form of the run root, and that every
// record manifest is the canonical packing of its bundle for this run.
// Records and attachments that fail are returned as problems; err is set
// when the run root itself or a listing cannot be read.
func ReadRun(ctx context.Context, r Reader, runID string) (*RunContent, []Problem, error) {
	rc, err := readRoot(ctx, r, "run-"+runID)
	if err != nil {
		return nil, nil, err
	}
	descs, err := r.Referrers(ctx, rc.Root.Descriptor, RecordArtifactType)
	if err != nil {
		return nil, nil, fmt.Errorf("listing records of run %s: %w", runID, err)
	}
	var mu sync.Mutex
	var problems []Problem
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(Concurrency)
	for _, d := range dedupe(descs) {
		g.Go(func() error {
			rec, err := readRecord(gctx, r, rc.Root.Descriptor, d)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				problems = append(problems, Problem{Digest: d.Digest.String(), Err: err})
			} else {
				rc.Records = append(rc.Records, rec)
			}
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	sortRecords(rc.Records)
	p, err := readAttachments(ctx, r, rc)
	return rc, append(problems, p...), err
}

func dedupe(ds []ocispec.Descriptor) []ocispec.Descriptor {
	seen := map[digest.Digest]bool{}
	var out []ocispec.Descriptor
	for _, d := range ds {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			out = append(out, d)
		}
	}
	return out
}

func sortRecords(rs []*Record) {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Seq != rs[j].Seq {
			return rs[i].Seq < rs[j].Seq
		}
		return rs[i].Descriptor.Digest < rs[j].Descriptor.Digest
	})
}

func readRoot(ctx context.Context, r Reader, tag string) (*RunContent, error) {
	desc, err := r.Resolve(ctx, tag)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", tag, err)
	}
	manifest, err := fetchVerified(ctx, r, desc)
	if err != nil {
		return nil, fmt.Errorf("run root %s: %w", tag, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil || len(m.Layers) != 1 {
		return nil, fmt.Errorf("%w: run root %s is not a run root manifest", run.ErrInvalid, desc.Digest)
	}
	reg, err := fetchVerified(ctx, r, m.Layers[0])
	if err != nil {
		return nil, fmt.Errorf("run root %s registration: %w", tag, err)
	}
	root, err := run.Parse(manifest, reg)
	if err != nil {
		return nil, err
	}
	if root.Tag() != tag {
		return nil, fmt.Errorf("%w: %s points at the run root of %s", run.ErrInvalid, tag, root.Registration.RunID)
	}
	return NewRunContent(root), nil
}

// readRecord fetches a record manifest and its bundle and checks that the
// manifest is exactly what PackRecord makes of the bundle.
func readRecord(ctx context.Context, r Reader, root, d ocispec.Descriptor) (*Record, error) {
	if d.Size > 4<<20 {
		return nil, fmt.Errorf("%w: record manifest of %d bytes", ErrNotCanonical, d.Size)
	}
	manifest, err := fetchVerified(ctx, r, d)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil || len(m.Layers) != 1 {
		return nil, fmt.Errorf("%w: record manifest %s has no single layer", ErrNotCanonical, d.Digest)
	}
	seq, err := strconv.ParseUint(m.Annotations[AnnotationSeq], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: record manifest %s: seq annotation %q", ErrNotCanonical, d.Digest, m.Annotations[AnnotationSeq])
	}
	b, err := fetchVerified(ctx, r, m.Layers[0])
	if err != nil {
		return nil, fmt.Errorf("record %s bundle: %w", d.Digest, err)
	}
	rec, err := PackRecord(root, b, seq)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(rec.Manifest, manifest) {
		return nil, fmt.Errorf("%w: record %s, repacked %s", ErrNotCanonical, d.Digest, rec.Descriptor.Digest)
	}
	return rec, nil
}

// readAttachments reads the attachments of the run's attachment records.
func readAttachments(ctx context.Context, r Reader, rc *RunContent) ([]Problem, error) {
	var problems []Problem
	for _, rec := range rc.Records {
		if rec.DocumentDigest() == "" {
			continue
		}
		descs, err := r.Referrers(ctx, rec.Descriptor, AttachmentArtifactType)
		if err != nil {
			return nil, fmt.Errorf("listing attachments of %s: %w", rec.Descriptor.Digest, err)
		}
		for _, d := range dedupe(descs) {
			a, err := readAttachment(ctx, r, rec, d)
			if err != nil {
				problems = append(problems, Problem{Digest: d.Digest.String(), Err: err})
				continue
			}
			rc.Attachments = append(rc.Attachments, a)
		}
	}
	return problems, nil
}

func readAttachment(ctx context.Context, r Reader, rec *Record, d ocispec.Descriptor) (*Artifact, error) {
	manifest, err := fetchVerified(ctx, r, d)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil || len(m.Layers) != 1 {
		return nil, fmt.Errorf("%w: attachment manifest %s has no single layer", ErrNotCanonical, d.Digest)
	}
	doc, err := fetchVerified(ctx, r, m.Layers[0])
	if err != nil {
		return nil, fmt.Errorf("attachment %s document: %w", d.Digest, err)
	}
	a, err := PackAttachment(rec, doc)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(a.Manifest, manifest) {
		return nil, fmt.Errorf("%w: attachment %s, repacked %s", ErrNotCanonical, d.Digest, a.Descriptor.Digest)
	}
	return a, nil
}

// WriteRun writes rc to w: the run root, then every record and attachment
// (blobs before the manifest naming them), the run-<id> tag, and commits.
func WriteRun(ctx context.Context, w Writer, rc *RunContent) error {
	pushed := &pushedSet{seen: map[digest.Digest]bool{}}
	if err := writeArtifact(ctx, w, &rc.Artifact, pushed); err != nil {
		return fmt.Errorf("run root: %w", err)
	}
	if err := writeAll(ctx, w, recordArtifacts(rc.Records), pushed); err != nil {
		return err
	}
	if err := writeAll(ctx, w, rc.Attachments, pushed); err != nil {
		return err
	}
	if err := w.Tag(ctx, rc.Root.Descriptor, rc.Tag()); err != nil {
		return fmt.Errorf("tagging %s: %w", rc.Tag(), err)
	}
	return w.Commit(ctx)
}

func recordArtifacts(rs []*Record) []*Artifact {
	out := make([]*Artifact, len(rs))
	for i, r := range rs {
		out[i] = &r.Artifact
	}
	return out
}

func writeAll(ctx context.Context, w Writer, arts []*Artifact, pushed *pushedSet) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(Concurrency)
	for _, a := range arts {
		g.Go(func() error {
			if err := writeArtifact(gctx, w, a, pushed); err != nil {
				return fmt.Errorf("artifact %s: %w", a.Descriptor.Digest, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// pushedSet remembers blobs pushed once already (the empty config).
type pushedSet struct {
	mu   sync.Mutex
	seen map[digest.Digest]bool
}

func (p *pushedSet) first(d digest.Digest) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen[d] {
		return false
	}
	p.seen[d] = true
	return true
}

func writeArtifact(ctx context.Context, w Writer, a *Artifact, pushed *pushedSet) error {
	for _, b := range a.Blobs {
		if !pushed.first(b.Descriptor.Digest) {
			continue
		}
		if err := w.PushBlob(ctx, Plain(b.Descriptor), b.Data); err != nil {
			return err
		}
	}
	return w.PushManifest(ctx, a.Descriptor, a.Manifest)
}
