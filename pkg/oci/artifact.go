// Package oci packs Dossier records as OCI artifacts and moves runs between
// stores: a local OCI image layout (package layout), a registry (package
// remote) and an uncompressed tar, the air-gap medium.
//
// A record is an OCI image manifest (SPEC.md "Registry layout") whose
// single layer is the record's Sigstore bundle, byte for byte, whose config
// is the OCI empty JSON blob and whose subject is the run root. Its
// annotations only hold facts fixed when the record was written (predicate
// type, kind, run id, per-run sequence, producedAt as
// org.opencontainers.image.created), so the same record always packs to the
// same manifest digest. An attachment is the document an attachment record
// names, stored as the single layer of its own manifest whose subject is
// that record.
package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
)

// Artifact types and annotation keys (SPEC.md "Registry layout").
const (
	RecordArtifactType     = "application/vnd.dossier.record.v1"
	AttachmentArtifactType = "application/vnd.dossier.attachment.v1"

	AnnotationBundleContent = "dev.sigstore.bundle.content"
	AnnotationPredicateType = "dev.sigstore.bundle.predicateType"
	AnnotationKind          = "dev.dossier.record.kind"
	AnnotationRunID         = run.AnnotationRunID
	AnnotationSeq           = "dev.dossier.record.seq"
	BundleContentDSSE       = "dsse-envelope"

	// AnnotationCosignKind on a run root's index.json entry lets cosign
	// verify-attestation --local-image find the run in a layout.
	AnnotationCosignKind = "kind"
	CosignImageKind      = "dev.cosignproject.cosign/image"
)

// Errors of packing and reading artifacts.
var (
	// ErrSubjectMismatch: the record's statement is not about this run.
	ErrSubjectMismatch = errors.New("record is not about this run")
	// ErrNotRunScoped: the record's kind is not stored under a run.
	ErrNotRunScoped = errors.New("record kind is not run-scoped")
	// ErrInvalidRecord: the bundle or its statement is malformed.
	ErrInvalidRecord = errors.New("invalid record")
	// ErrNotCanonical: a stored manifest differs from the one its content
	// packs to.
	ErrNotCanonical = errors.New("manifest is not the canonical packing of its content")
	// ErrDigestMismatch: content does not match its descriptor.
	ErrDigestMismatch = errors.New("content does not match its descriptor")
	// ErrAttachment: a document does not match the attachment record.
	ErrAttachment = errors.New("document does not match the attachment record")
)

// Blob is content with its descriptor.
type Blob struct {
	Descriptor ocispec.Descriptor
	Data       []byte
}

// Artifact is one manifest and the blobs it references (config, layers).
type Artifact struct {
	// Descriptor describes Manifest; it carries the manifest's artifactType
	// and annotations, as a referrers list does.
	Descriptor ocispec.Descriptor
	Manifest   []byte
	Blobs      []Blob
}

// Record is a record packed as an artifact.
type Record struct {
	Artifact
	Bundle        *bundle.Bundle
	Statement     *record.Statement
	Kind          string
	PredicateType string
	RunID         string
	Seq           uint64
	Created       string
}

// BundleDigest returns the record's identity, "sha256:<hex>" of its bundle.
func (r *Record) BundleDigest() string { return r.Bundle.Digest() }

// EmptyConfig is the OCI empty JSON config blob.
var EmptyConfig = Blob{Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON,
	Digest: digest.FromBytes([]byte("{}")), Size: 2}, Data: []byte("{}")}

// Plain returns d with only mediaType, digest and size, as a subject.
func Plain(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

// PackRecord packs a bundle as a record of the run whose root is root. It
// parses the bundle and its statement (signatures are not verified here),
// and refuses a statement whose subject[0] is not the run root.
func PackRecord(root ocispec.Descriptor, bundleJSON []byte, seq uint64) (*Record, error) {
	b, err := bundle.Parse(bundleJSON)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	st, err := record.ParseStatement(b.Payload())
	if err != nil {
		return nil, fmt.Errorf("%w: statement: %w", ErrInvalidRecord, err)
	}
	k, _ := st.Kind()
	if !k.RunScoped {
		return nil, fmt.Errorf("%w: %s records (%s) are not stored under a run", ErrNotRunScoped, k.Name, b.Digest())
	}
	if got := "sha256:" + st.Subject[0].SHA256(); got != root.Digest.String() {
		return nil, fmt.Errorf("%w: record %s has subject[0] %s, run root is %s", ErrSubjectMismatch, b.Digest(), got, root.Digest)
	}
	common := st.Parsed().CommonFields()
	r := &Record{Bundle: b, Statement: st, Kind: k.Name, PredicateType: st.PredicateType,
		RunID: strings.TrimPrefix(st.Subject[0].Name, "run:"), Seq: seq, Created: common.ProducedAt}
	layer := Blob{Descriptor: ocispec.Descriptor{MediaType: bundle.MediaType,
		Digest: digest.FromBytes(bundleJSON), Size: int64(len(bundleJSON))}, Data: bundleJSON}
	ann := map[string]string{
		ocispec.AnnotationCreated: r.Created,
		AnnotationBundleContent:   BundleContentDSSE,
		AnnotationPredicateType:   r.PredicateType,
		AnnotationKind:            r.Kind,
		AnnotationRunID:           r.RunID,
		AnnotationSeq:             strconv.FormatUint(seq, 10),
	}
	r.Artifact, err = newArtifact(RecordArtifactType, root, ann, EmptyConfig, layer)
	return r, err
}

// newArtifact builds an image manifest with the empty config and layers.
func newArtifact(artifactType string, subject ocispec.Descriptor, ann map[string]string, config Blob, layers ...Blob) (Artifact, error) {
	s := Plain(subject)
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: artifactType,
		Config: config.Descriptor, Subject: &s, Annotations: ann}
	m.SchemaVersion = 2
	for _, l := range layers {
		m.Layers = append(m.Layers, l.Descriptor)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{
		Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: artifactType,
			Digest: digest.FromBytes(b), Size: int64(len(b)), Annotations: ann},
		Manifest: b,
		Blobs:    append([]Blob{config}, layers...),
	}, nil
}

// PackAttachment packs doc, the document named by the attachment record
// rec, as an artifact whose subject is rec. doc must match the record's
// document digest and size.
func PackAttachment(rec *Record, doc []byte) (*Artifact, error) {
	a, ok := rec.Statement.Parsed().(*record.Attachment)
	if !ok {
		return nil, fmt.Errorf("%w: record %s is a %s record, not an attachment", ErrAttachment, rec.BundleDigest(), rec.Kind)
	}
	d := digest.FromBytes(doc)
	if d.Encoded() != a.Document.SHA256() {
		return nil, fmt.Errorf("%w: document %q has %s, the record names sha256:%s", ErrAttachment, a.Document.Name, d, a.Document.SHA256())
	}
	if size := string(a.Document.Annotations["size"]); size != strconv.Itoa(len(doc)) {
		return nil, fmt.Errorf("%w: document %q has %d bytes, the record says %s", ErrAttachment, a.Document.Name, len(doc), size)
	}
	layer := Blob{Descriptor: ocispec.Descriptor{MediaType: a.Document.MediaType, Digest: d, Size: int64(len(doc)),
		Annotations: map[string]string{ocispec.AnnotationTitle: a.Document.Name}}, Data: doc}
	ann := map[string]string{ocispec.AnnotationCreated: rec.Created, AnnotationRunID: rec.RunID}
	art, err := newArtifact(AttachmentArtifactType, rec.Descriptor, ann, EmptyConfig, layer)
	return &art, err
}

// DocumentDigest returns "sha256:<hex>" of the document an attachment
// record names, "" for other kinds.
func (r *Record) DocumentDigest() string {
	if a, ok := r.Statement.Parsed().(*record.Attachment); ok {
		return "sha256:" + a.Document.SHA256()
	}
	return ""
}
