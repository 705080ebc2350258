package verify

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sort"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

const defaultPolicy = `{"mediaType":"application/vnd.dossier.policy.v1+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},"requiredKinds":["dataset","run-closed"]}`

// merkleLevels holds every level of the RFC 6962 tree, a lone last node
// carried up unchanged, so inclusion paths read off in O(log n).
func merkleLevels(leaves [][]byte) [][][32]byte {
	lv := make([][32]byte, len(leaves))
	for i, l := range leaves {
		lv[i] = tlogproof.LeafHash(l)
	}
	levels := [][][32]byte{lv}
	for len(lv) > 1 {
		next := make([][32]byte, (len(lv)+1)/2)
		for i := range next {
			if 2*i+1 < len(lv) {
				next[i] = sha256.Sum256(append(append([]byte{1}, lv[2*i][:]...), lv[2*i+1][:]...))
			} else {
				next[i] = lv[2*i]
			}
		}
		levels = append(levels, next)
		lv = next
	}
	return levels
}

func inclusionPath(levels [][][32]byte, index int) []string {
	var out []string
	for _, lv := range levels[:len(levels)-1] {
		if sib := index ^ 1; sib < len(lv) {
			out = append(out, base64.StdEncoding.EncodeToString(lv[sib][:]))
		}
		index >>= 1
	}
	return out
}

func (p *pkgBuilder) checkpoint(levels [][][32]byte) ([]byte, error) {
	root := levels[len(levels)-1][0]
	signer := p.kk.logSigner
	if p.sp.ForeignLogKey {
		signer = p.kk.foreignLog
	}
	return note.Sign(&note.Note{Text: string(tlogproof.FormatCheckpointBody("dossier.test/log", uint64(len(p.leaves)), root))}, signer)
}

func (p *pkgBuilder) proofs(levels [][][32]byte) []byte {
	type entry struct {
		Digest string   `json:"digest"`
		Index  int      `json:"index"`
		Leaf   string   `json:"leaf"`
		Hashes []string `json:"hashes"`
	}
	var es []entry
	for i, l := range p.leaves {
		lf, _ := tlogproof.ParseLeaf(l)
		if p.dropped[lf.Bundle] {
			continue
		}
		h := inclusionPath(levels, i)
		if h == nil {
			h = []string{}
		}
		es = append(es, entry{Digest: lf.Bundle, Index: i, Leaf: base64.StdEncoding.EncodeToString(l), Hashes: h})
	}
	var buf bytes.Buffer
	buf.WriteString(`{"treeSize":`)
	sz, _ := json.Marshal(len(p.leaves))
	buf.Write(sz)
	buf.WriteString(`,"entries":`)
	eb, _ := json.Marshal(es)
	buf.Write(eb)
	buf.WriteString(`}`)
	return buf.Bytes()
}

func titled(d descriptor, mt, title string) descriptor {
	d.MediaType = mt
	d.Annotations = map[string]string{annTitle: title}
	return d
}

func (p *pkgBuilder) seal(ctx context.Context, docBytes, env []byte, exDigest, list string, count int) (*built, error) {
	levels := merkleLevels(p.leaves)
	cp, err := p.checkpoint(levels)
	if err != nil {
		return nil, err
	}
	policy := p.sp.PolicyJSON
	if policy == "" {
		policy = defaultPolicy
	}
	readme, report := []byte("README\n"), []byte("<html>report</html>\n")
	layers := []descriptor{
		titled(p.blob(cp), "application/vnd.dossier.checkpoint.v1", "checkpoint"),
		titled(p.blob(p.proofs(levels)), "application/vnd.dossier.proofs.v1+json", "proofs.json"),
		titled(p.blob(env), keyring.EnvelopeMediaType, "keyring-v1.json"),
		titled(p.blob([]byte(`{"heads":[]}`)), "application/vnd.dossier.ledger.v1+json", "ledger.json"),
		titled(p.blob([]byte(policy)), PolicyMediaType, "policy.json"),
		titled(p.blob(readme), "text/plain; charset=utf-8", "README.txt"),
		titled(p.blob(report), "text/html; charset=utf-8", "REPORT.html"),
	}
	cfgJSON, _ := json.Marshal(map[string]any{"mediaType": PackageConfigType, "specVersion": "0.2.0", "packageId": "pkg-1",
		"created": "2026-11-27T12:00:00Z", "exporter": map[string]any{"tool": "test"}, "request": map[string]any{},
		"exportRecord": exDigest, "recordListDigest": list, "recordCount": count, "omitted": []any{}})
	cfg := p.blob(cfgJSON)
	cfg.MediaType = PackageConfigType
	metaJSON, _ := json.Marshal(manifest{SchemaVersion: 2, MediaType: mediaTypeManifest, ArtifactType: MetadataArtifactType, Config: &cfg, Layers: layers})
	meta := p.blob(metaJSON)
	meta.MediaType, meta.ArtifactType = mediaTypeManifest, MetadataArtifactType

	listed := append([]descriptor{meta}, plain(p.topRoots)...)
	listed = append(listed, plain(p.topRecords)...)
	piJSON, _ := json.Marshal(manifest{SchemaVersion: 2, MediaType: mediaTypeIndex, ArtifactType: PackageArtifactType, Manifests: listed,
		Annotations: map[string]string{annCreated: "2026-11-27T12:00:00Z", annPackageID: "pkg-1"}})
	pi := p.blob(piJSON)
	pi.MediaType = mediaTypeIndex
	att, err := p.attestation(ctx, pi, exDigest, list, count, levels)
	if err != nil {
		return nil, err
	}
	top := []descriptor{withRef(pi, refPackage), withRef(att, refAttestation)}
	top = append(top, p.topRoots...)
	top = append(top, p.topRecords...)
	idxJSON, _ := json.Marshal(manifest{SchemaVersion: 2, MediaType: mediaTypeIndex, Manifests: top})
	files := map[string][]byte{"oci-layout": []byte(ociLayoutContent), "index.json": idxJSON, "README.txt": readme, "REPORT.html": report}
	if p.sp.EditReport {
		files["REPORT.html"] = []byte("<html>edited</html>\n")
	}
	if p.sp.ExtraBlob {
		p.blob([]byte("stray"))
	}
	for h, b := range p.blobs {
		files["blobs/sha256/"+h] = b
	}
	return &built{Tar: writeTar(files), Fingerprint: keyring.RootFingerprint(docBytes), Checkpoint: cp, LogSigner: p.kk.logSigner, Origin: "dossier.test/log"}, nil
}

func plain(ds []descriptor) []descriptor {
	out := make([]descriptor, len(ds))
	for i, d := range ds {
		out[i] = descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, ArtifactType: d.ArtifactType}
	}
	return out
}

func withRef(d descriptor, ref string) descriptor {
	d.Annotations = map[string]string{annRefName: ref}
	return d
}

func (p *pkgBuilder) attestation(ctx context.Context, pi descriptor, exDigest, list string, count int, levels [][][32]byte) (descriptor, error) {
	root := levels[len(levels)-1][0]
	pred, _ := json.Marshal(map[string]any{"producedAt": "2026-11-27T12:00:00Z", "producer": map[string]any{"id": "svc:export", "kind": "workload"},
		"packageId": "pkg-1", "exportRecord": exDigest, "recordListDigest": list, "recordCount": count,
		"packageIndex": pi.Digest, "checkpoint": map[string]any{"size": len(p.leaves), "rootHash": base64.StdEncoding.EncodeToString(root[:])}})
	st, _ := json.Marshal(map[string]any{"_type": record.StatementType, "subject": []any{map[string]any{"name": "dossier-package",
		"digest": map[string]string{"sha256": pi.Digest[len("sha256:"):]}}}, "predicateType": PackagePredicateType, "predicate": json.RawMessage(pred)})
	b, err := bundle.Sign(ctx, p.kk.exporter, bundle.PayloadTypeInToto, st)
	if err != nil {
		return descriptor{}, err
	}
	layer := p.blob(b)
	layer.MediaType = BundleMediaType
	cfg := p.blob([]byte("{}"))
	cfg.MediaType = "application/vnd.oci.empty.v1+json"
	subj := descriptor{MediaType: mediaTypeIndex, Digest: pi.Digest, Size: pi.Size}
	mb, _ := json.Marshal(manifest{SchemaVersion: 2, MediaType: mediaTypeManifest, ArtifactType: RecordArtifactType, Config: &cfg, Layers: []descriptor{layer}, Subject: &subj})
	d := p.blob(mb)
	d.MediaType, d.ArtifactType = mediaTypeManifest, RecordArtifactType
	return d, nil
}

// writeTar writes files as a canonical package tar (spec/package.md §3).
func writeTar(files map[string][]byte) []byte {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		hdr := canonicalTarHeader(n, int64(len(files[n])))
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err)
		}
		tw.Write(files[n])
	}
	tw.Close()
	return buf.Bytes()
}
