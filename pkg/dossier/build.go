package dossier

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// proofsDoc is proofs.json.
type proofsDoc struct {
	TreeSize uint64       `json:"treeSize"`
	Entries  []proofEntry `json:"entries"`
}

type proofEntry struct {
	Digest string   `json:"digest"`
	Index  uint64   `json:"index"`
	Leaf   []byte   `json:"leaf"`
	Hashes [][]byte `json:"hashes"`
}

// ledgerDoc is ledger.json.
type ledgerDoc struct {
	Heads []ledgerHead `json:"heads"`
}

type ledgerHead struct {
	Export      string   `json:"export"`
	Package     string   `json:"package"`
	Size        uint64   `json:"size"`
	RootHash    string   `json:"rootHash"`
	Consistency [][]byte `json:"consistency"`
}

// packageConfig is the package descriptor (metadata manifest config).
type packageConfig struct {
	MediaType        string       `json:"mediaType"`
	SpecVersion      string       `json:"specVersion"`
	PackageID        string       `json:"packageId"`
	Created          string       `json:"created"`
	Exporter         exporterInfo `json:"exporter"`
	Request          requestInfo  `json:"request"`
	ExportRecord     string       `json:"exportRecord"`
	RecordListDigest string       `json:"recordListDigest"`
	RecordCount      int          `json:"recordCount"`
	Omitted          []Omitted    `json:"omitted"`
}

type exporterInfo struct {
	Tool    string `json:"tool"`
	Version string `json:"version"`
}

type requestInfo struct {
	Runs        []string         `json:"runs"`
	RequestedBy record.Party     `json:"requestedBy"`
	Purpose     string           `json:"purpose"`
	Recipient   record.Recipient `json:"recipient"`
}

// build lays out the package and returns its tar entries and the package
// index digest.
func (p *plan) build(ctx context.Context) ([]tarEntry, string, error) {
	bs := blobs{}
	items := append(slices.Clone(p.sel.records), p.exportItem)
	slices.SortFunc(items, func(a, b *item) int { return cmp.Compare(a.entry.Index, b.entry.Index) })
	recDescs := make([]ocispec.Descriptor, 0, len(items))
	for _, it := range items {
		art, err := packItem(it)
		if err != nil {
			return nil, "", err
		}
		bs.addArtifact(art)
		recDescs = append(recDescs, art.Descriptor)
	}
	rootDescs := make([]ocispec.Descriptor, len(p.sel.runs))
	for i, r := range p.sel.runs {
		bs.addRunRoot(r)
		rootDescs[i] = r.Descriptor
	}
	meta, readme, report, err := p.metadata(ctx, bs, items)
	if err != nil {
		return nil, "", err
	}
	ms := append(append([]ocispec.Descriptor{meta}, rootDescs...), recDescs...)
	pkgIndex := bs.add(ocispec.MediaTypeImageIndex, newIndex(PackageArtifactType, ms, map[string]string{
		ocispec.AnnotationCreated: p.created, AnnotationPackageID: p.packageID}), nil)
	pkgIndex.ArtifactType = PackageArtifactType
	att, err := p.attestation(ctx, pkgIndex)
	if err != nil {
		return nil, "", err
	}
	bs.addArtifact(att)
	top := []ocispec.Descriptor{withAnn(pkgIndex, ocispec.AnnotationRefName, RefPackage),
		withAnn(att.Descriptor, ocispec.AnnotationRefName, RefPackageAttestation)}
	for i, r := range p.sel.runs {
		kv := []string{ocispec.AnnotationRefName, r.Tag()}
		if len(p.sel.runs) == 1 {
			kv = append(kv, oci.AnnotationCosignKind, oci.CosignImageKind)
		}
		top = append(top, withAnn(rootDescs[i], kv...))
	}
	indexJSON := newIndex("", append(top, recDescs...), nil)
	return files(bs, indexJSON, readme, report), pkgIndex.Digest.String(), nil
}

// metadata stores the metadata manifest and its blobs and returns its
// descriptor and the human copies.
func (p *plan) metadata(ctx context.Context, bs blobs, items []*item) (ocispec.Descriptor, []byte, []byte, error) {
	proofs, ledger, err := p.proofs(ctx, items)
	if err != nil {
		return ocispec.Descriptor{}, nil, nil, err
	}
	if p.anchorFile, p.anchorBytes, err = p.anchors(ctx, items); err != nil {
		return ocispec.Descriptor{}, nil, nil, err
	}
	rep := newReport(p)
	readme, err := renderReadme(rep)
	if err != nil {
		return ocispec.Descriptor{}, nil, nil, err
	}
	report, err := renderReport(rep)
	if err != nil {
		return ocispec.Descriptor{}, nil, nil, err
	}
	title := func(t string) map[string]string { return map[string]string{ocispec.AnnotationTitle: t} }
	layers := []ocispec.Descriptor{
		bs.add(CheckpointMediaType, p.view.cp.Raw, title("checkpoint")),
		bs.add(ProofsMediaType, proofs, title("proofs.json")),
	}
	for _, it := range p.sel.keyring {
		name := "keyring-v" + strconv.FormatUint(it.entry.Leaf.Seq+1, 10) + ".json"
		layers = append(layers, bs.add(keyring.EnvelopeMediaType, it.bytes, title(name)))
	}
	layers = append(layers, bs.add(LedgerMediaType, ledger, title("ledger.json")))
	if p.anchorBytes != nil {
		layers = append(layers, bs.add(AnchorsMediaType, p.anchorBytes, title("anchors.json")))
	}
	layers = append(layers, bs.add(p.policyMediaType(), p.policy, title("policy.json")))
	for _, doc := range p.reviewDocs {
		name := "review-" + strings.TrimPrefix(review.Digest(doc), "sha256:")[:16] + ".html"
		layers = append(layers, bs.add(ReviewMediaType, doc, title(name)))
	}
	layers = append(layers,
		bs.add(ReadmeMediaType, readme, title("README.txt")),
		bs.add(ReportMediaType, report, title("REPORT.html")))
	config := bs.add(ConfigMediaType, marshal(p.config()), nil)
	m := bs.add(ocispec.MediaTypeImageManifest, newManifest(MetadataArtifactType, config, layers, nil), nil)
	m.ArtifactType = MetadataArtifactType
	return m, readme, report, nil
}

func (p *plan) config() packageConfig {
	runs := make([]string, len(p.sel.runs))
	for i, r := range p.sel.runs {
		runs[i] = r.Digest()
	}
	omitted := p.sel.omitted
	if omitted == nil {
		omitted = []Omitted{}
	}
	return packageConfig{MediaType: ConfigMediaType, SpecVersion: SpecVersion, PackageID: p.packageID, Created: p.created,
		Exporter:     exporterInfo{Tool: "dossier", Version: ToolVersion},
		Request:      requestInfo{Runs: runs, RequestedBy: p.req.RequestedBy, Purpose: p.req.Purpose, Recipient: p.req.Recipient},
		ExportRecord: p.exportDigest, RecordListDigest: p.listDigest, RecordCount: len(p.sel.records), Omitted: omitted}
}

// proofs returns proofs.json (records, export record, keyring versions,
// by log index) and ledger.json.
func (p *plan) proofs(ctx context.Context, items []*item) ([]byte, []byte, error) {
	pb, err := p.view.prover(ctx)
	if err != nil {
		return nil, nil, err
	}
	all := append(slices.Clone(items), p.sel.keyring...)
	slices.SortFunc(all, func(a, b *item) int { return cmp.Compare(a.entry.Index, b.entry.Index) })
	doc := proofsDoc{TreeSize: p.view.cp.Size, Entries: make([]proofEntry, 0, len(all))}
	for i, it := range all {
		hs, err := p.view.inclusion(ctx, pb, it.entry)
		if err != nil {
			return nil, nil, err
		}
		doc.Entries = append(doc.Entries, proofEntry{Digest: it.digest(), Index: it.entry.Index, Leaf: it.entry.Raw, Hashes: nonNil(hs)})
		if i%1000 == 0 {
			p.deps.progress("prove", i, len(all))
		}
	}
	p.deps.progress("prove", len(all), len(all))
	led := ledgerDoc{Heads: []ledgerHead{}}
	for _, h := range p.sel.heads {
		hs, err := p.view.consistency(ctx, pb, h.Size, h.Root)
		if err != nil {
			return nil, nil, err
		}
		led.Heads = append(led.Heads, ledgerHead{Export: h.Sealed, Package: h.Package, Size: h.Size, RootHash: h.RootHash, Consistency: nonNil(hs)})
	}
	return marshal(doc), marshal(led), nil
}

func nonNil(hs [][]byte) [][]byte {
	if hs == nil {
		return [][]byte{}
	}
	return hs
}

// attestation signs the package attestation over the package index.
func (p *plan) attestation(ctx context.Context, pkgIndex ocispec.Descriptor) (oci.Artifact, error) {
	pred := record.Package{Common: p.common(), PackageID: p.packageID, PackageIndex: pkgIndex.Digest.String(),
		ExportRecord: p.exportDigest, RecordListDigest: p.listDigest, RecordCount: len(p.sel.records), Checkpoint: p.head()}
	b, err := p.sign(ctx, "package", pred)
	if err != nil {
		return oci.Artifact{}, err
	}
	ann := map[string]string{
		ocispec.AnnotationCreated:   p.created,
		oci.AnnotationBundleContent: oci.BundleContentDSSE,
		oci.AnnotationPredicateType: record.PredicateTypePrefix + "package/v1",
		oci.AnnotationKind:          "package",
	}
	subject := oci.Plain(pkgIndex)
	return bundleArtifact(b, ann, &subject), nil
}

// compactJSON validates and compacts a policy; nil gives DefaultPolicy.
func compactJSON(b []byte) ([]byte, error) {
	if b == nil {
		return DefaultPolicy, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, fmt.Errorf("%w: policy is not JSON: %w", ErrRequest, err)
	}
	return buf.Bytes(), nil
}
