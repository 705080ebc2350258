package main

import (
	"archive/tar"
	"bytes"
	"html"
	"sort"
	"strings"
	"time"
)

type file struct {
	Name string
	Data []byte
	Hdr  func(*tar.Header) // changes to the canonical header
}

func (b *B) recordManifest(r *rec) desc {
	bd := descOf(bundleMediaType, r.Bundle)
	b.blob(r.Bundle)
	created, _ := r.Pred["producedAt"].(string)
	if r.Kind == "time-evidence" {
		created, _ = r.Pred["checkedAt"].(string)
	}
	ann := map[string]string{"dev.sigstore.bundle.content": "dsse-envelope",
		"dev.sigstore.bundle.predicateType": predicateType(r.Kind), createdAnn: created,
		"dev.dossier.record.kind": r.Kind, "dev.dossier.record.seq": itoa(r.Seq)}
	if r.Run != nil {
		ann["dev.dossier.run.id"] = r.Run.ID
	}
	m := manifest{SchemaVersion: 2, MediaType: manifestMT, ArtifactType: recordAT, Config: emptyConfig, Layers: []desc{bd},
		Annotations: ann}
	if r.Run != nil && !r.NoOCISubject {
		// a record of a run that is not exported gets the first exported
		// run's root: the vectors that package a foreign record want that
		s := rootDesc(b.Runs[0])
		if b.selected(r.Run) {
			s = rootDesc(r.Run)
		}
		m.Subject = &s
	}
	if r.OCISubject != nil {
		m.Subject = r.OCISubject
	}
	if r.ManifestMutate != nil {
		r.ManifestMutate(&m)
	}
	r.Manifest = cjson(m)
	if r.ManifestBytes != nil {
		r.Manifest = r.ManifestBytes(r.Manifest)
	}
	b.blob(r.Manifest)
	d := descOf(manifestMT, r.Manifest)
	if r.ManifestMT != "" {
		d.MediaType = r.ManifestMT
	}
	// index descriptors carry the manifest's artifactType and annotations
	d.ArtifactType, d.Annotations = recordAT, m.Annotations
	return d
}

func (b *B) makeOCI() {
	b.blob([]byte("{}"))
	for _, r := range b.Runs {
		b.blob(r.Registration)
		b.blob(r.Manifest)
	}
	var recDs []desc
	for _, r := range b.packaged() {
		recDs = append(recDs, b.recordManifest(r))
	}
	list, n := b.recordList()
	b.MetaConfig = obj{"mediaType": "application/vnd.dossier.package.config.v1+json",
		"specVersion": "0.2.0", "packageId": b.packageID(), "created": exportAt,
		"exporter": obj{"tool": "dossier-testvectors", "version": "1"},
		"request": obj{"runs": b.runDigests(), "requestedBy": obj{"id": "person:e30211", "name": "Erika Musterfrau"},
			"purpose":   "Technical documentation requested by the notified body, reference NB-2026-0415",
			"recipient": obj{"organisation": "Notified Body 0123", "contact": "assessor@nb0123.example"}},
		"exportRecord": b.Export.Digest(), "recordListDigest": list, "recordCount": n,
		"omitted": []any{}}
	b.Readme = b.readme()
	b.Report = b.report()
	run1(b.s.Meta, b)
	b.makeMeta()

	// the package index lists exactly index.json entries 3-4 (same
	// descriptors) preceded by the metadata manifest
	var roots []desc
	for _, r := range b.Runs {
		d := rootDesc(r)
		d.Annotations = map[string]string{refName: "run-" + r.ID}
		if len(b.Runs) == 1 {
			d.Annotations["kind"] = "dev.cosignproject.cosign/image"
		}
		roots = append(roots, d)
	}
	b.PkgIndex = index{SchemaVersion: 2, MediaType: indexMT, ArtifactType: "application/vnd.dossier.package.v1",
		Manifests:   append(append([]desc{b.MetaD}, roots...), recDs...),
		Annotations: map[string]string{createdAnn: exportAt, "dev.dossier.package.id": b.packageID()}}
	b.IndexJSON = index{SchemaVersion: 2, MediaType: indexMT}
	run1(b.s.OCI, b)
	pi := cjson(b.PkgIndex)
	b.blob(pi)
	b.PkgIndexD = descOf(indexMT, pi)
	b.PkgIndexD.ArtifactType = "application/vnd.dossier.package.v1"
	b.makeAttestation(list, n)

	pkgRef, attRef := b.PkgIndexD, b.AttestD
	pkgRef.Annotations = map[string]string{refName: "dossier-package"}
	attRef.Annotations = map[string]string{refName: "dossier-package-attestation"}
	for k, v := range b.AttestD.Annotations {
		attRef.Annotations[k] = v
	}
	b.IndexJSON.Manifests = append(append([]desc{pkgRef, attRef}, roots...), recDs...)
	// a record manifest listed in the package index but not in index.json
	// (or the reverse) is made by the IndexJSON hook
	run1(b.s.IndexJSON, b)
}

func (b *B) makeMeta() {
	layer := func(title, mt string, data []byte) desc {
		b.blob(data)
		d := descOf(mt, data)
		d.Annotations = map[string]string{titleAnn: title}
		return d
	}
	b.MetaLayers = []desc{
		layer("checkpoint", "application/vnd.dossier.checkpoint.v1", b.Checkpoint),
		layer("proofs.json", "application/vnd.dossier.proofs.v1+json", cjson(b.Proofs)),
	}
	for i, k := range b.Keyrings {
		// titles number the chain by position; the version is in the document
		if k.InPackage {
			b.MetaLayers = append(b.MetaLayers, layer("keyring-v"+itoa(i+1)+".json", "application/vnd.dossier.keyring.v1+dsse+json", k.Bundle))
		}
	}
	b.MetaLayers = append(b.MetaLayers,
		layer("ledger.json", "application/vnd.dossier.ledger.v1+json", cjson(b.Ledger)))
	if b.Anchors != nil {
		b.MetaLayers = append(b.MetaLayers, layer("anchors.json", "application/vnd.dossier.anchors.v1+json", b.Anchors))
	}
	if b.Policy != nil { // nil: the package proposes no policy (set v2)
		mt := "application/vnd.dossier.policy.v1+json"
		if b.Policy["mediaType"] == policyV2MediaType {
			mt = policyV2MediaType
		}
		b.MetaLayers = append(b.MetaLayers, layer("policy.json", mt, cjson(b.Policy)))
	}
	for _, r := range b.Reviews {
		b.MetaLayers = append(b.MetaLayers, layer("review-"+hexOf(r)[:16]+".html", "application/vnd.dossier.review.v1+html", r))
	}
	b.MetaLayers = append(b.MetaLayers,
		layer("README.txt", "text/plain; charset=utf-8", b.Readme),
		layer("REPORT.html", "text/html; charset=utf-8", b.Report))
	cfg := cjson(b.MetaConfig)
	b.blob(cfg)
	m := manifest{SchemaVersion: 2, MediaType: manifestMT, ArtifactType: "application/vnd.dossier.package-metadata.v1",
		Config: descOf("application/vnd.dossier.package.config.v1+json", cfg), Layers: b.MetaLayers,
		Annotations: map[string]string{createdAnn: exportAt}}
	mb := cjson(m)
	b.blob(mb)
	b.MetaD = descOf(manifestMT, mb)
	b.MetaD.ArtifactType = "application/vnd.dossier.package-metadata.v1"
}

func (b *B) makeAttestation(list string, n int) {
	b.Attest = &rec{Name: "attestation", Kind: "package", Subj0Hex: strings.TrimPrefix(b.PkgIndexD.Digest, "sha256:"),
		Pred: obj{"producedAt": exportAt, "producer": producer("workload:dossier-export", "dossier export"),
			"packageId": b.packageID(), "packageIndex": b.PkgIndexD.Digest, "exportRecord": b.Export.Digest(), "recordListDigest": list, "recordCount": n,
			"checkpoint": obj{"size": b.Size, "rootHash": b64(mth(b.Hashes[:b.Size]))}},
		Spec: bundleSpec{Signer: b.Keys["exporter"]}}
	run1(b.s.AttestSpec, b)
	b.signRecord(b.Attest)
	bd := descOf(bundleMediaType, b.Attest.Bundle)
	b.blob(b.Attest.Bundle)
	subj := b.PkgIndexD
	if b.Attest.OCISubject != nil {
		subj = *b.Attest.OCISubject
	}
	m := manifest{SchemaVersion: 2, MediaType: manifestMT, ArtifactType: recordAT, Config: emptyConfig, Layers: []desc{bd},
		Subject: &subj, Annotations: map[string]string{"dev.sigstore.bundle.content": "dsse-envelope",
			"dev.sigstore.bundle.predicateType": predicateType("package"), createdAnn: exportAt, "dev.dossier.record.kind": "package"}}
	mb := cjson(m)
	b.blob(mb)
	b.AttestD = descOf(manifestMT, mb)
	b.AttestD.ArtifactType = recordAT
	b.AttestD.Annotations = m.Annotations
}

// tar writes the canonical package tar (spec/package.md §3).
func (b *B) tar() []byte {
	ij := cjson(b.IndexJSON)
	reach := b.reachable(ij)
	b.Files = []file{{Name: "README.txt", Data: b.Readme}, {Name: "REPORT.html", Data: b.Report}}
	var ds []string
	for d := range reach {
		if _, ok := b.Blobs[d]; ok {
			ds = append(ds, d)
		}
	}
	sort.Strings(ds)
	for _, d := range ds {
		b.Files = append(b.Files, file{Name: "blobs/sha256/" + strings.TrimPrefix(d, "sha256:"), Data: b.Blobs[d]})
	}
	b.Files = append(b.Files, file{Name: "index.json", Data: ij}, file{Name: "oci-layout", Data: []byte(`{"imageLayoutVersion":"1.0.0"}`)})
	run1(b.s.Files, b)
	return writeTar(b.Files)
}

func writeTar(files []file) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Mode: 0o444, Size: int64(len(f.Data)),
			ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR}
		if f.Hdr != nil {
			f.Hdr(h)
		}
		if err := tw.WriteHeader(h); err != nil {
			fatalf("tar header %s: %v", f.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			must(tw.Write(f.Data))
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// packageID is spec/package.md's default package id:
// dossier-<first 16 hex of recordListDigest>-<export time 20060102T150405Z>.
func (b *B) packageID() string {
	list, _ := b.recordList()
	return "dossier-" + list[len("sha256:"):len("sha256:")+16] + "-20261127T090300Z"
}

func (b *B) readme() []byte {
	return lines(
		"Dossier compliance package "+b.packageID()+" (test vector)",
		"",
		"This file is an uncompressed tar of an OCI image layout holding signed audit",
		"records of ML training runs ("+b.runIDs()+"), the log checkpoint and inclusion",
		"proofs that show they were logged, and the keyring of the keys that signed them.",
		"",
		"Verify it with: dossier-verify --root-fingerprint <pinned fingerprint> package.tar",
		"The pinned fingerprint must come from the data owner out of band.",
		"",
		"Verify one record by hand: sha256sum blobs/sha256/<hex> must print <hex>;",
		"the record's DSSE signature covers PAE(payloadType, payload), see SPEC.md.")
}

func (b *B) report() []byte {
	var s strings.Builder
	s.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"><title>Dossier package " + b.packageID() + "</title></head><body>\n")
	s.WriteString("<h1>Runs " + html.EscapeString(b.runIDs()) + "</h1>\n<table>\n<tr><th>record</th><th>kind</th><th>log index</th><th>status</th></tr>\n")
	for _, r := range b.packaged() {
		s.WriteString("<tr><td>" + r.Digest() + "</td><td>" + html.EscapeString(r.Kind) + "</td><td>" + itoa(r.Index) +
			"</td><td>cryptographically verifiable</td></tr>\n")
	}
	s.WriteString("</table>\n<p>This report states facts; the verdict is the verifier's.</p>\n</body></html>\n")
	return []byte(s.String())
}

func (b *B) runIDs() string {
	var ids []string
	for _, r := range b.Runs {
		ids = append(ids, r.ID)
	}
	return strings.Join(ids, ", ")
}
