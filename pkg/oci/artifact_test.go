package oci_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/oci/ocitest"
	"github.com/dossier-audit/dossier/pkg/record"
)

func TestPackRecordIsReproducibleAndAnnotated(t *testing.T) {
	t.Parallel()
	root := ocitest.Root(t)
	b := ocitest.Sign(t, ocitest.Signer(t), root, "dataset", record.Template("dataset"))
	r1, err := oci.PackRecord(root.Descriptor, b, 7)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := oci.PackRecord(root.Descriptor, b, 7)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Descriptor.Digest != r2.Descriptor.Digest {
		t.Fatalf("same record packed to %s and %s", r1.Descriptor.Digest, r2.Descriptor.Digest)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(r1.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		ocispec.AnnotationCreated:   producedAt(t, record.Template("dataset")),
		oci.AnnotationBundleContent: "dsse-envelope",
		oci.AnnotationPredicateType: "https://dossier.dev/predicates/dataset/v1",
		oci.AnnotationKind:          "dataset",
		oci.AnnotationRunID:         ocitest.RunID,
		oci.AnnotationSeq:           "7",
	}
	for k, v := range want {
		if m.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, m.Annotations[k], v)
		}
	}
	if len(m.Annotations) != len(want) {
		t.Errorf("annotations %v, want exactly %v", m.Annotations, want)
	}
	switch {
	case m.ArtifactType != oci.RecordArtifactType:
		t.Errorf("artifactType %q", m.ArtifactType)
	case m.Subject == nil || !reflect.DeepEqual(*m.Subject, oci.Plain(root.Descriptor)):
		t.Errorf("subject %+v, want the plain run root descriptor", m.Subject)
	case len(m.Layers) != 1 || m.Layers[0].MediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" || m.Layers[0].Size != int64(len(b)):
		t.Errorf("layers %+v, want the bundle", m.Layers)
	case m.Config.MediaType != ocispec.MediaTypeEmptyJSON || m.Config.Data != nil:
		t.Errorf("config %+v, want the empty descriptor without data", m.Config)
	}
	if r3, _ := oci.PackRecord(root.Descriptor, b, 8); r3.Descriptor.Digest == r1.Descriptor.Digest {
		t.Error("another sequence number packed to the same digest")
	}
}

func TestPackRecordRefuses(t *testing.T) {
	t.Parallel()
	root, s := ocitest.Root(t), ocitest.Signer(t)
	te := ocitest.Sign(t, s, root, "time-evidence", record.Template("time-evidence"))
	other := ocitest.Sign(t, s, ocitest.OtherRoot(t), "dataset", record.Template("dataset"))
	tests := []struct {
		name   string
		bundle []byte
		want   error
	}{
		{"another run", other, oci.ErrSubjectMismatch},
		{"log-scoped kind", te, oci.ErrNotRunScoped},
		{"not a bundle", []byte(`{"mediaType":"x"}`), oci.ErrInvalidRecord},
		{"empty", nil, oci.ErrInvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := oci.PackRecord(root.Descriptor, tc.bundle, 0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("PackRecord: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPackAttachment(t *testing.T) {
	t.Parallel()
	root, s := ocitest.Root(t), ocitest.Signer(t)
	doc, pred := ocitest.AttachmentDoc(t)
	rec, err := oci.PackRecord(root.Descriptor, ocitest.Sign(t, s, root, "attachment", pred), 1)
	if err != nil {
		t.Fatal(err)
	}
	a, err := oci.PackAttachment(rec, doc)
	if err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(a.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m.Subject.Digest != rec.Descriptor.Digest || m.ArtifactType != oci.AttachmentArtifactType || m.Layers[0].MediaType != "application/pdf" {
		t.Fatalf("attachment manifest %s", a.Manifest)
	}
	if _, err := oci.PackAttachment(rec, append(doc, 'x')); !errors.Is(err, oci.ErrAttachment) {
		t.Fatalf("other document: %v, want ErrAttachment", err)
	}
	ds, _ := oci.PackRecord(root.Descriptor, ocitest.Sign(t, s, root, "dataset", record.Template("dataset")), 2)
	if _, err := oci.PackAttachment(ds, doc); !errors.Is(err, oci.ErrAttachment) {
		t.Fatalf("dataset record: %v, want ErrAttachment", err)
	}
}

func TestPackRunNeedsTheLog(t *testing.T) {
	t.Parallel()
	root, s := ocitest.Root(t), ocitest.Signer(t)
	bs := ocitest.Records(t, s, root, 2, "dataset")
	inLog := func(d string) (string, uint64, bool) { return root.Digest(), 0, d != "" }
	if _, _, err := oci.PackRun(root, bs, nil, func(string) (string, uint64, bool) { return "", 0, false }); !errors.Is(err, oci.ErrNotLogged) {
		t.Fatalf("bundle not in the log: %v, want ErrNotLogged", err)
	}
	if _, _, err := oci.PackRun(root, bs, nil, func(string) (string, uint64, bool) { return "sha256:" + zeros, 0, true }); !errors.Is(err, oci.ErrNotLogged) {
		t.Fatalf("bundle under another stream: %v, want ErrNotLogged", err)
	}
	if _, _, err := oci.PackRun(root, bs, [][]byte{[]byte("stray")}, inLog); !errors.Is(err, oci.ErrAttachment) {
		t.Fatalf("document without record: %v, want ErrAttachment", err)
	}
	te := ocitest.Sign(t, s, root, "time-evidence", record.Template("time-evidence"))
	rc, skipped, err := oci.PackRun(root, append(bs, te, bs[0]), nil, inLog)
	if err != nil || len(rc.Records) != 2 || len(skipped) != 1 {
		t.Fatalf("PackRun = %d records, %d skipped, %v; want 2, 1 (time evidence), nil", len(rc.Records), len(skipped), err)
	}
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

func producedAt(t *testing.T, predicate []byte) string {
	var p struct {
		ProducedAt string `json:"producedAt"`
	}
	if err := json.Unmarshal(predicate, &p); err != nil || p.ProducedAt == "" {
		t.Fatalf("template producedAt: %v", err)
	}
	return p.ProducedAt
}
