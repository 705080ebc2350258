package dossier

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
)

// Media types, artifact types and annotations of the package layout
// (spec/package.md §3).
const (
	PackageArtifactType   = "application/vnd.dossier.package.v1"
	MetadataArtifactType  = "application/vnd.dossier.package-metadata.v1"
	ConfigMediaType       = "application/vnd.dossier.package.config.v1+json"
	CheckpointMediaType   = "application/vnd.dossier.checkpoint.v1"
	ProofsMediaType       = "application/vnd.dossier.proofs.v1+json"
	LedgerMediaType       = "application/vnd.dossier.ledger.v1+json"
	PolicyMediaType       = "application/vnd.dossier.policy.v1+json"
	ReadmeMediaType       = "text/plain; charset=utf-8"
	ReportMediaType       = "text/html; charset=utf-8"
	AnnotationPackageID   = "dev.dossier.package.id"
	RefPackage            = "dossier-package"
	RefPackageAttestation = "dossier-package-attestation"
	SpecVersion           = "0.3.0"
	OCILayout             = `{"imageLayoutVersion":"1.0.0"}`
)

// ToolVersion is the exporter version written into package descriptors.
var ToolVersion = "0.2.0-dev"

// blobs is the content of blobs/sha256, by digest.
type blobs map[digest.Digest][]byte

// add stores b and returns its descriptor.
func (bs blobs) add(mediaType string, b []byte, ann map[string]string) ocispec.Descriptor {
	d := digest.FromBytes(b)
	bs[d] = b
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b)), Annotations: ann}
}

// addArtifact stores an artifact's manifest and blobs.
func (bs blobs) addArtifact(a oci.Artifact) {
	bs[a.Descriptor.Digest] = a.Manifest
	for _, b := range a.Blobs {
		bs[b.Descriptor.Digest] = b.Data
	}
}

// addRunRoot stores a run root's manifest and blobs.
func (bs blobs) addRunRoot(r *run.Root) {
	bs[r.Descriptor.Digest] = r.Manifest
	bs[digest.FromBytes(r.Config)] = r.Config
	bs[digest.FromBytes(r.RegistrationJSON)] = r.RegistrationJSON
}

// marshal is compact JSON without HTML escaping.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("dossier: marshal %T: %v", v, err))
	}
	return b
}

// packItem packs a record as its manifest (spec/package.md §3), exactly
// as pkg/oci's PackRecord does for run records (subject = run root, run id
// annotation) without parsing the bundle again; log-scoped records get no
// subject and no run id.
func packItem(it *item) (oci.Artifact, error) {
	c := it.stmt.Parsed().CommonFields()
	created := c.ProducedAt
	if te, ok := it.stmt.Parsed().(*record.TimeEvidence); ok {
		created = te.CheckedAt
	}
	ann := map[string]string{
		ocispec.AnnotationCreated:   created,
		oci.AnnotationBundleContent: oci.BundleContentDSSE,
		oci.AnnotationPredicateType: it.stmt.PredicateType,
		oci.AnnotationKind:          it.kind,
		oci.AnnotationSeq:           strconv.FormatUint(it.entry.Leaf.Seq, 10),
	}
	if it.root == nil {
		return bundleArtifact(it.bytes, ann, nil), nil
	}
	if got := "sha256:" + it.stmt.Subject[0].SHA256(); got != it.root.Digest() {
		return oci.Artifact{}, fmt.Errorf("%w: record %s has subject[0] %s, run root is %s", ErrRecord, it.digest(), got, it.root.Digest())
	}
	ann[oci.AnnotationRunID] = c.RunID
	subject := oci.Plain(it.root.Descriptor)
	return bundleArtifact(it.bytes, ann, &subject), nil
}

// bundleArtifact is a record-shaped manifest: empty config, one bundle
// layer, optional subject.
func bundleArtifact(b []byte, ann map[string]string, subject *ocispec.Descriptor) oci.Artifact {
	layer := oci.Blob{Descriptor: ocispec.Descriptor{MediaType: bundle.MediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}, Data: b}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: oci.RecordArtifactType,
		Config: oci.EmptyConfig.Descriptor, Layers: []ocispec.Descriptor{layer.Descriptor}, Subject: subject, Annotations: ann}
	m.SchemaVersion = 2
	mb := marshal(m)
	return oci.Artifact{
		Descriptor: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: oci.RecordArtifactType,
			Digest: digest.FromBytes(mb), Size: int64(len(mb)), Annotations: ann},
		Manifest: mb,
		Blobs:    []oci.Blob{oci.EmptyConfig, layer},
	}
}

// withRef returns d with an extra annotation set (a copy).
func withAnn(d ocispec.Descriptor, kv ...string) ocispec.Descriptor {
	ann := map[string]string{}
	for k, v := range d.Annotations {
		ann[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		ann[kv[i]] = kv[i+1]
	}
	d.Annotations = ann
	return d
}

func newIndex(artifactType string, ms []ocispec.Descriptor, ann map[string]string) []byte {
	ix := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, ArtifactType: artifactType, Manifests: ms, Annotations: ann}
	ix.SchemaVersion = 2
	return marshal(ix)
}

func newManifest(artifactType string, config ocispec.Descriptor, layers []ocispec.Descriptor, ann map[string]string) []byte {
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: artifactType, Config: config, Layers: layers, Annotations: ann}
	m.SchemaVersion = 2
	return marshal(m)
}
