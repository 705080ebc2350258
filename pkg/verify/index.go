package verify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dossier-audit/dossier/pkg/anchor"
	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/run"
)

// Media types and annotations of the package (spec/package.md §3).
const (
	PackageArtifactType  = "application/vnd.dossier.package.v1"
	MetadataArtifactType = "application/vnd.dossier.package-metadata.v1"
	RecordArtifactType   = "application/vnd.dossier.record.v1"
	PackageConfigType    = "application/vnd.dossier.package.config.v1+json"
	BundleMediaType      = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// ReviewMediaType is a review document layer (spec/policy.md §4).
	ReviewMediaType = "application/vnd.dossier.review.v1+html"
	annRefName      = "org.opencontainers.image.ref.name"
	annTitle        = "org.opencontainers.image.title"
	annCreated      = "org.opencontainers.image.created"
	annPackageID    = "dev.dossier.package.id"
	refPackage      = "dossier-package"
	refAttestation  = "dossier-package-attestation"
	maxMetaBlob     = 64 << 20
	maxProofsBlob   = 1 << 30
)

// runRoot is a run root of the package.
type runRoot struct {
	RunID  string
	Digest string
}

// metadata is the metadata manifest: the package descriptor and its layers.
type metadata struct {
	Digest     string
	Config     packageConfig
	Checkpoint descriptor
	Proofs     descriptor
	Keyrings   []descriptor
	Ledger     descriptor
	Policy     descriptor
	Anchors    descriptor   // anchors.json (spec/anchors.md §4), optional
	Reviews    []descriptor // review documents approvals name, optional
	Readme     descriptor
	Report     descriptor
}

// packageConfig is the package descriptor (config of the metadata manifest).
type packageConfig struct {
	MediaType        string         `json:"mediaType"`
	SpecVersion      string         `json:"specVersion"`
	PackageID        string         `json:"packageId"`
	Created          string         `json:"created"`
	Exporter         map[string]any `json:"exporter"`
	Request          map[string]any `json:"request"`
	ExportRecord     string         `json:"exportRecord"`
	RecordListDigest string         `json:"recordListDigest"`
	RecordCount      int            `json:"recordCount"`
	Omitted          []any          `json:"omitted"`
}

// checkIndex implements spec/package.md §4 step 3:
//
//	> `index` — the package index lists exactly the manifests of
//	> `index.json` entries 3–4 plus the metadata manifest; the package
//	> attestation refers to the package index; human copies byte-identical
//	> to their blobs (`human-copy`).
func (s *pkgState) checkIndex() bool {
	if !s.checkTopEntries() {
		return false
	}
	pi := s.manifests[s.pkgIndex.Digest]
	if pi == nil || !pi.isIndex() || pi.ArtifactType != PackageArtifactType {
		s.indexFail(s.pkgIndex.Digest, "the package index must be an image index with artifactType %s", PackageArtifactType)
		return false
	}
	if !s.checkListing(pi) {
		return false
	}
	att := s.manifests[s.attest.Digest]
	if att == nil || att.Subject == nil || att.Subject.Digest != s.pkgIndex.Digest {
		s.indexFail(s.attest.Digest, "the package attestation's subject is not the package index %s", s.pkgIndex.Digest)
		return false
	}
	s.c.pass("3", FailIndex, s.pkgIndex.Digest, fmt.Sprintf("the package index lists exactly the %d run roots and %d records of index.json and the metadata", len(s.roots), len(s.recordDigs)))
	if !s.loadMetadata(pi.Manifests[0].Digest) {
		return false
	}
	s.checkHumanCopies() // recorded; the rest does not depend on it
	return s.checkSpecVersion()
}

func (s *pkgState) indexFail(subject, format string, args ...any) {
	s.c.failf(FailIndex, "3", subject, format, args...)
}

// checkTopEntries reads index.json's order: package index, attestation,
// run roots by run id, records without ref name.
func (s *pkgState) checkTopEntries() bool {
	ms := s.top.Manifests
	if len(ms) < 2 || ms[0].Annotations[annRefName] != refPackage || ms[1].Annotations[annRefName] != refAttestation {
		s.indexFail("index.json", "index.json must start with the %s and %s entries", refPackage, refAttestation)
		return false
	}
	s.pkgIndex, s.attest = ms[0], ms[1]
	i := 2
	for ; i < len(ms); i++ {
		id, ok := strings.CutPrefix(ms[i].Annotations[annRefName], "run-")
		if !ok {
			break
		}
		s.roots = append(s.roots, runRoot{RunID: id, Digest: ms[i].Digest})
	}
	if !sort.SliceIsSorted(s.roots, func(a, b int) bool { return s.roots[a].RunID < s.roots[b].RunID }) {
		s.indexFail("index.json", "run roots are not sorted by run id")
		return false
	}
	for ; i < len(ms); i++ {
		if _, named := ms[i].Annotations[annRefName]; named {
			s.indexFail(ms[i].Digest, "record entry carries a ref name %q", ms[i].Annotations[annRefName])
			return false
		}
		s.recordDigs = append(s.recordDigs, ms[i].Digest)
	}
	return s.checkRoots()
}

// checkRoots requires each run root to be the canonical manifest of its
// registration (class run-root).
func (s *pkgState) checkRoots() bool {
	ok := true
	for _, rr := range s.roots {
		m := s.manifests[rr.Digest]
		if err := s.checkRoot(rr, m); err != nil {
			s.c.failf(FailRunRoot, "3", rr.Digest, "run %q: %v", rr.RunID, err)
			ok = false
		}
	}
	if ok {
		s.c.pass("3", FailRunRoot, "", fmt.Sprintf("%d run roots are canonical", len(s.roots)))
	}
	return ok
}

func (s *pkgState) checkRoot(rr runRoot, m *manifest) error {
	if m == nil || m.isIndex() || len(m.Layers) != 1 {
		return fmt.Errorf("not a run root manifest")
	}
	mb, err := s.blob(rr.Digest, maxManifestSize)
	if err != nil {
		return err
	}
	reg, err := s.blob(m.Layers[0].Digest, maxManifestSize)
	if err != nil {
		return err
	}
	root, err := run.Parse(mb, reg)
	if err != nil {
		return err
	}
	if root.Registration.RunID != rr.RunID {
		return fmt.Errorf("registration names run %q, ref name says %q", root.Registration.RunID, rr.RunID)
	}
	return nil
}

// checkListing compares the package index with index.json entries 3–4.
func (s *pkgState) checkListing(pi *manifest) bool {
	want := len(s.top.Manifests) - 1
	if len(pi.Manifests) != want {
		s.indexFail(s.pkgIndex.Digest, "package index lists %d manifests, want %d (metadata + index.json entries 3-4)", len(pi.Manifests), want)
		return false
	}
	if pi.Manifests[0].ArtifactType != MetadataArtifactType && s.artifactType(pi.Manifests[0].Digest) != MetadataArtifactType {
		s.indexFail(pi.Manifests[0].Digest, "first manifest of the package index is not the metadata manifest")
		return false
	}
	for i, d := range pi.Manifests[1:] {
		// "compared by `mediaType`, `digest` and `size` only" (Q2).
		if top := s.top.Manifests[i+2]; d.Digest != top.Digest || d.MediaType != top.MediaType || d.Size != top.Size {
			s.indexFail(d.Digest, "package index entry %d is %s (%s, %d bytes), index.json has %s (%s, %d bytes)", i+1, d.Digest, d.MediaType, d.Size, top.Digest, top.MediaType, top.Size)
			return false
		}
	}
	return true
}

func (s *pkgState) artifactType(d string) string {
	if m := s.manifests[d]; m != nil {
		return m.ArtifactType
	}
	return ""
}

// loadMetadata parses the metadata manifest and its package descriptor.
func (s *pkgState) loadMetadata(d string) bool {
	m := s.manifests[d]
	md := &metadata{Digest: d}
	for _, l := range m.Layers {
		if err := md.addLayer(l); err != nil {
			s.indexFail(d, "metadata layer: %v", err)
			return false
		}
	}
	if md.Checkpoint.Digest == "" || md.Proofs.Digest == "" || len(md.Keyrings) == 0 || md.Readme.Digest == "" || md.Report.Digest == "" {
		s.indexFail(d, "metadata lacks a checkpoint, proofs.json, keyring, README.txt or REPORT.html layer")
		return false
	}
	b, err := s.blob(m.Config.Digest, maxMetaBlob)
	if err == nil {
		err = strictjson.Decode(b, &md.Config, strictjson.Limits{MaxBytes: maxMetaBlob})
	}
	if err == nil && md.Config.MediaType != PackageConfigType {
		err = fmt.Errorf("mediaType %q", md.Config.MediaType)
	}
	if err != nil {
		s.indexFail(m.Config.Digest, "package descriptor: %v", err)
		return false
	}
	s.meta = md
	return true
}

// addLayer files a metadata layer by media type; the human copies, which
// share generic text media types, by title. "verifiers find keyring
// layers by media type, take them in layer order" (Q12).
func (md *metadata) addLayer(l descriptor) error {
	switch l.MediaType {
	case keyring.EnvelopeMediaType:
		md.Keyrings = append(md.Keyrings, l)
		return nil
	case ReviewMediaType:
		md.Reviews = append(md.Reviews, l)
		return nil
	}
	slot := map[string]*descriptor{"application/vnd.dossier.checkpoint.v1": &md.Checkpoint,
		"application/vnd.dossier.proofs.v1+json": &md.Proofs, "application/vnd.dossier.ledger.v1+json": &md.Ledger,
		PolicyMediaType: &md.Policy, PolicyV2MediaType: &md.Policy, anchor.MediaType: &md.Anchors}[l.MediaType]
	if slot == nil {
		slot = map[string]*descriptor{"README.txt": &md.Readme, "REPORT.html": &md.Report}[l.Annotations[annTitle]]
	}
	if slot == nil || slot.Digest != "" {
		return fmt.Errorf("unexpected or repeated layer %s titled %q", l.MediaType, l.Annotations[annTitle])
	}
	*slot = l
	return nil
}

// checkHumanCopies: the README.txt and REPORT.html tar entries must be
// byte-identical to the blobs of the metadata manifest.
func (s *pkgState) checkHumanCopies() bool {
	ok := true
	for name, d := range map[string]descriptor{"README.txt": s.meta.Readme, "REPORT.html": s.meta.Report} {
		i, present := s.tar.byName[name]
		switch {
		case !present:
			s.c.failf(FailHumanCopy, "3", name, "tar entry %s is missing", name)
			ok = false
		case s.tar.entries[i].Digest != d.Digest:
			s.c.failf(FailHumanCopy, "3", name, "%s has digest %s, the signed blob is %s", name, s.tar.entries[i].Digest, d.Digest)
			ok = false
		}
	}
	if ok {
		s.c.pass("3", FailHumanCopy, "", "README.txt and REPORT.html are byte-identical to their blobs")
	}
	return ok
}
