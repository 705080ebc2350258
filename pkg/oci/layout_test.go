package oci_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	orasoci "oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry"

	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/oci/layout"
	"github.com/dossier-audit/dossier/pkg/oci/ocitest"
	"github.com/dossier-audit/dossier/pkg/run"
)

// packed returns run content with n records (seq = position) and one
// attachment.
func packed(t *testing.T, root *run.Root, n int) *oci.RunContent {
	t.Helper()
	s := ocitest.Signer(t)
	bs := ocitest.Records(t, s, root, n, "dataset", "evaluation", "training-run")
	doc, pred := ocitest.AttachmentDoc(t)
	bs = append(bs, ocitest.Sign(t, s, root, "attachment", pred))
	seq := map[string]uint64{}
	for i, b := range bs {
		seq[digest.FromBytes(b).String()] = uint64(i)
	}
	rc, _, err := oci.PackRun(root, bs, [][]byte{doc}, func(d string) (string, uint64, bool) {
		s, ok := seq[d]
		return root.Digest(), s, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func TestLayoutRoundTripAndOrasDiscover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := ocitest.Root(t)
	// 3*Fanout+5 records: the tree has sealed chunks and an open tail.
	rc := packed(t, root, 3*layout.Fanout+4)
	dir := t.TempDir()
	s, err := oci.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a second write must not duplicate anything
		if err := oci.WriteRun(ctx, s, rc); err != nil {
			t.Fatal(err)
		}
	}
	got, problems, err := oci.ReadRun(ctx, s, ocitest.RunID)
	if err != nil || len(problems) != 0 {
		t.Fatalf("ReadRun: %v %v", err, problems)
	}
	if len(got.Records) != len(rc.Records) || len(got.Attachments) != 1 {
		t.Fatalf("read %d records, %d attachments; want %d, 1", len(got.Records), len(got.Attachments), len(rc.Records))
	}
	members, err := s.Layout.Members(root.Digest())
	if err != nil || len(members) != len(rc.Records)+1 {
		t.Fatalf("tree has %d members (%v), want %d", len(members), err, len(rc.Records)+1)
	}
	// oras-go reads the layout like any other: records are referrers of
	// the run root tag, the attachment a referrer of its record.
	store, err := orasoci.NewFromFS(ctx, os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	rootDesc, err := store.Resolve(ctx, root.Tag())
	if err != nil {
		t.Fatal(err)
	}
	refs, err := registry.Referrers(ctx, store, rootDesc, oci.RecordArtifactType)
	if err != nil || len(refs) != len(rc.Records) {
		t.Fatalf("oras Referrers = %d, %v; want %d", len(refs), err, len(rc.Records))
	}
	if rootDesc.Annotations[oci.AnnotationCosignKind] != oci.CosignImageKind {
		t.Errorf("run root entry annotations %v lack the cosign kind", rootDesc.Annotations)
	}
}

func TestLayoutUncommittedWritesAreInvisibleAndRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := ocitest.Root(t)
	rc := packed(t, root, 5)
	dir := t.TempDir()
	s, _ := oci.OpenLayout(dir)
	// A crash after the blobs and before index.json: push, never commit.
	for _, b := range rc.Artifact.Blobs {
		s.PushBlob(ctx, b.Descriptor, b.Data)
	}
	s.PushManifest(ctx, rc.Artifact.Descriptor, rc.Artifact.Manifest)
	for _, r := range rc.Records {
		for _, b := range r.Blobs {
			s.PushBlob(ctx, b.Descriptor, b.Data)
		}
		if err := s.PushManifest(ctx, r.Descriptor, r.Manifest); err != nil {
			t.Fatal(err)
		}
	}
	fresh, _ := oci.OpenLayout(dir)
	if _, _, err := oci.ReadRun(ctx, fresh, ocitest.RunID); err == nil {
		t.Fatal("an uncommitted run is visible")
	}
	if err := oci.WriteRun(ctx, fresh, rc); err != nil {
		t.Fatal(err)
	}
	got, _, err := oci.ReadRun(ctx, fresh, ocitest.RunID)
	if err != nil || len(got.Records) != len(rc.Records) {
		t.Fatalf("after retry: %v", err)
	}
	if m, _ := fresh.Layout.Members(root.Digest()); len(m) != len(rc.Records)+1 {
		t.Fatalf("retry left %d tree members, want %d (no duplicates)", len(m), len(rc.Records)+1)
	}
}

func TestLayoutDetectsCorruptBlob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := ocitest.Root(t)
	rc := packed(t, root, 3)
	dir := t.TempDir()
	s, _ := oci.OpenLayout(dir)
	if err := oci.WriteRun(ctx, s, rc); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "blobs", "sha256", rc.Records[1].Blobs[1].Descriptor.Digest.Encoded())
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, problems, err := oci.ReadRun(ctx, s, ocitest.RunID)
	if err != nil || len(problems) != 1 || problems[0].Digest != rc.Records[1].Descriptor.Digest.String() {
		t.Fatalf("ReadRun problems = %v, %v; want the tampered record", problems, err)
	}
}

func TestLayoutKeepsLegacyTagAPI(t *testing.T) {
	t.Parallel()
	root := ocitest.Root(t)
	l, err := layout.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rc := oci.NewRunContent(root)
	for _, b := range rc.Artifact.Blobs {
		if err := l.Put(b.Descriptor, b.Data); err != nil {
			t.Fatal(err)
		}
	}
	l.Put(root.Descriptor, root.Manifest)
	if err := l.Tag(root.Tag(), root.Descriptor, map[string]string{"kind": oci.CosignImageKind}); err != nil {
		t.Fatal(err)
	}
	d, err := l.Resolve(root.Tag())
	if err != nil || d.Digest != root.Descriptor.Digest || d.Annotations[ocispec.AnnotationRefName] != root.Tag() {
		t.Fatalf("Resolve = %+v, %v", d, err)
	}
}
