package dossier

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// pkgFile is a package read back.
type pkgFile struct {
	raw     []byte
	names   []string
	headers []*tar.Header
	files   map[string][]byte
}

func readPackage(t *testing.T, path string) *pkgFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := &pkgFile{raw: raw, files: map[string][]byte{}}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		p.names = append(p.names, h.Name)
		p.headers = append(p.headers, h)
		p.files[h.Name] = b
	}
	return p
}

func (p *pkgFile) blob(t *testing.T, d string) []byte {
	t.Helper()
	b, ok := p.files["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")]
	if !ok {
		t.Fatalf("blob %s missing", d)
	}
	return b
}

func (p *pkgFile) index(t *testing.T, d string) ocispec.Index {
	t.Helper()
	var ix ocispec.Index
	if err := json.Unmarshal(p.blob(t, d), &ix); err != nil {
		t.Fatal(err)
	}
	return ix
}

func (p *pkgFile) manifest(t *testing.T, d string) ocispec.Manifest {
	t.Helper()
	var m ocispec.Manifest
	if err := json.Unmarshal(p.blob(t, d), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (p *pkgFile) top(t *testing.T) ocispec.Index {
	t.Helper()
	var ix ocispec.Index
	if err := json.Unmarshal(p.files["index.json"], &ix); err != nil {
		t.Fatal(err)
	}
	return ix
}

// metadata returns the metadata manifest's layers by title.
func (p *pkgFile) metadata(t *testing.T) (ocispec.Manifest, map[string]ocispec.Descriptor) {
	t.Helper()
	pi := p.index(t, p.top(t).Manifests[0].Digest.String())
	m := p.manifest(t, pi.Manifests[0].Digest.String())
	layers := map[string]ocispec.Descriptor{}
	for _, l := range m.Layers {
		layers[l.Annotations[ocispec.AnnotationTitle]] = l
	}
	return m, layers
}

// oneExport is a fixture exported once.
type oneExport struct {
	f   *fixture
	res *Result
	pkg *pkgFile
	dir string
}

func exportOnce(t *testing.T, n int) *oneExport {
	t.Helper()
	f := newFixture(t, n)
	out := filepath.Join(t.TempDir(), "package.tar")
	res := f.export(t, f.dir, out)
	return &oneExport{f: f, res: res, pkg: readPackage(t, out), dir: f.dir}
}

func TestPackageTarIsCanonical(t *testing.T) {
	t.Parallel()
	e := exportOnce(t, 5)
	p := e.pkg
	if !slices.IsSorted(p.names) || p.names[0] != "README.txt" || p.names[1] != "REPORT.html" ||
		p.names[len(p.names)-2] != "index.json" || p.names[len(p.names)-1] != "oci-layout" {
		t.Fatalf("entry order %q", p.names)
	}
	total := 0
	for i, h := range p.headers {
		if h.Typeflag != tar.TypeReg || h.Mode != 0o444 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" ||
			h.ModTime.Unix() != 0 || h.Format != tar.FormatUSTAR || h.Linkname != "" || (i > 0 && p.names[i-1] == h.Name) {
			t.Errorf("header %s not canonical: %+v", h.Name, h)
		}
		if !strings.HasPrefix(h.Name, "blobs/sha256/") && !slices.Contains([]string{"README.txt", "REPORT.html", "index.json", "oci-layout"}, h.Name) {
			t.Errorf("unexpected entry %s", h.Name)
		}
		total += 512 + (int(h.Size)+511)/512*512
	}
	if len(p.raw) != total+1024 || !bytes.Equal(p.raw[total:], make([]byte, 1024)) {
		t.Fatalf("tar is %d bytes, want %d entries + two zero blocks", len(p.raw), total)
	}
	if string(p.files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Fatalf("oci-layout %s", p.files["oci-layout"])
	}
	sum := sha256.Sum256(p.raw)
	if e.res.Package != "sha256:"+hex.EncodeToString(sum[:]) || e.res.Size != int64(len(p.raw)) {
		t.Fatalf("result names %s (%d bytes), file is sha256:%x (%d)", e.res.Package, e.res.Size, sum, len(p.raw))
	}
}

// reachable collects every digest reachable from a manifest or index.
func reachable(t *testing.T, p *pkgFile, d ocispec.Descriptor, seen map[string]bool) {
	t.Helper()
	if seen[d.Digest.String()] {
		return
	}
	seen[d.Digest.String()] = true
	switch d.MediaType {
	case ocispec.MediaTypeImageIndex:
		for _, m := range p.index(t, d.Digest.String()).Manifests {
			reachable(t, p, m, seen)
		}
	case ocispec.MediaTypeImageManifest:
		m := p.manifest(t, d.Digest.String())
		seen[m.Config.Digest.String()] = true
		for _, l := range m.Layers {
			seen[l.Digest.String()] = true
		}
		if m.Subject != nil && !seen[m.Subject.Digest.String()] {
			t.Errorf("manifest %s has subject %s outside the package", d.Digest, m.Subject.Digest)
		}
	}
}

func TestPackageListsExactlyWhatIsInside(t *testing.T) {
	t.Parallel()
	e := exportOnce(t, 6)
	p := e.pkg
	top := p.top(t)
	if top.Manifests[0].Annotations[ocispec.AnnotationRefName] != RefPackage ||
		top.Manifests[1].Annotations[ocispec.AnnotationRefName] != RefPackageAttestation ||
		top.Manifests[2].Annotations[ocispec.AnnotationRefName] != "run-"+fixtureRunID ||
		top.Manifests[2].Annotations["kind"] != "dev.cosignproject.cosign/image" {
		t.Fatalf("index.json head %+v", top.Manifests[:3])
	}
	seen := map[string]bool{}
	reachable(t, p, top.Manifests[0], seen)
	reachable(t, p, top.Manifests[1], seen)
	var blobs []string
	for _, n := range p.names {
		if h, ok := strings.CutPrefix(n, "blobs/sha256/"); ok {
			blobs = append(blobs, "sha256:"+h)
			if !seen["sha256:"+h] {
				t.Errorf("blob %s is not listed", h)
			}
			if sum := sha256.Sum256(p.files[n]); hex.EncodeToString(sum[:]) != h {
				t.Errorf("blob %s has the wrong name", h)
			}
		}
	}
	if len(seen) != len(blobs) {
		t.Errorf("%d digests listed, %d blobs", len(seen), len(blobs))
	}
	pi := p.index(t, top.Manifests[0].Digest.String())
	if len(pi.Manifests) != len(top.Manifests)-1 || pi.Manifests[0].ArtifactType != MetadataArtifactType {
		t.Fatalf("package index lists %d manifests, index.json %d", len(pi.Manifests), len(top.Manifests))
	}
	for i, m := range top.Manifests[2:] {
		if pi.Manifests[i+1].Digest != m.Digest {
			t.Errorf("package index entry %d is %s, index.json has %s", i+1, pi.Manifests[i+1].Digest, m.Digest)
		}
	}
}

func TestHumanCopiesAreBlobs(t *testing.T) {
	t.Parallel()
	e := exportOnce(t, 4)
	_, layers := e.pkg.metadata(t)
	for _, name := range []string{"README.txt", "REPORT.html"} {
		if !bytes.Equal(e.pkg.files[name], e.pkg.blob(t, layers[name].Digest.String())) {
			t.Errorf("%s differs from its blob", name)
		}
	}
	report := string(e.pkg.files["REPORT.html"])
	if strings.Contains(report, "<script") || strings.Contains(report, "<NB-2026-0415>") ||
		!strings.Contains(report, "&lt;NB-2026-0415&gt; &amp; co") {
		t.Fatal("REPORT.html does not escape the purpose or carries script")
	}
	if !strings.Contains(report, "(its own root keys).\nAdded: ") {
		t.Error("REPORT.html lacks the keyring history (who signed each version, what it added)")
	}
	readme := string(e.pkg.files["README.txt"])
	for _, want := range []string{"openssl dgst -sha256 -verify", "openssl pkeyutl -verify", "sha256sum", e.res.ExportRecord, e.f.records[0]} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.txt lacks %q", want)
		}
	}
}

// logLeaves reads every leaf of a closed log.
func logLeaves(t *testing.T, f *fixture, dir string) map[string]leafEntry {
	t.Helper()
	l := f.open(t, dir)
	defer closeLog(t, l)
	vk, err := logVerifierOf(f)
	if err != nil {
		t.Fatal(err)
	}
	lv, err := openView(dir, vk)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := lv.leaves(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]leafEntry{}
	for _, e := range ls {
		out[e.Leaf.Bundle] = e
	}
	return out
}

func TestExportRecordBeforeSealAndProofs(t *testing.T) {
	t.Parallel()
	e := exportOnce(t, 7)
	leaves := logLeaves(t, e.f, e.dir)
	exp, ok1 := leaves[e.res.ExportRecord]
	sealed, ok2 := leaves[e.res.SealedRecord]
	if !ok1 || !ok2 || exp.Index >= sealed.Index || exp.Leaf.Stream != "export" || sealed.Leaf.Stream != "export" {
		t.Fatalf("export %+v (%v), sealed %+v (%v)", exp, ok1, sealed, ok2)
	}
	if e.res.TreeSize <= exp.Index || e.res.TreeSize > sealed.Index {
		t.Fatalf("checkpoint size %d does not cover export %d before sealed %d", e.res.TreeSize, exp.Index, sealed.Index)
	}
	_, layers := e.pkg.metadata(t)
	vk, _ := logVerifierOf(e.f)
	cp, err := tlogproof.VerifyCheckpoint(e.pkg.blob(t, layers["checkpoint"].Digest.String()), vk)
	if err != nil || cp.Size != e.res.TreeSize {
		t.Fatalf("checkpoint: %v, size %d", err, cp.Size)
	}
	var proofs proofsDoc
	if err := json.Unmarshal(e.pkg.blob(t, layers["proofs.json"].Digest.String()), &proofs); err != nil {
		t.Fatal(err)
	}
	var digests []string
	for _, pe := range proofs.Entries {
		lf, err := tlogproof.ParseLeaf(pe.Leaf)
		if err != nil || lf.Bundle != pe.Digest {
			t.Fatalf("proof entry %s: leaf %v", pe.Digest, err)
		}
		if err := tlogproof.CheckInclusion(cp, pe.Index, tlogproof.LeafHash(pe.Leaf), toArrays(pe.Hashes)); err != nil {
			t.Fatalf("inclusion of %s: %v", pe.Digest, err)
		}
		digests = append(digests, pe.Digest)
	}
	want := append(append([]string{e.res.ExportRecord, e.f.te}, e.f.records...), keyringDigest(e.f))
	for _, d := range want {
		if !slices.Contains(digests, d) {
			t.Errorf("no proof for %s", d)
		}
	}
	if slices.Contains(digests, e.res.SealedRecord) || len(digests) != len(e.f.records)+3 {
		t.Errorf("%d proofs, want %d (records, time evidence, export, keyring; not the sealed record)", len(digests), len(e.f.records)+3)
	}
	sealedBundle := bundleOf(t, e.f, e.dir, e.res.SealedRecord)
	st := statementOf(t, sealedBundle)
	es := st.Parsed().(*record.ExportSealed)
	if es.Package != e.res.Package || es.Export != e.res.ExportRecord || es.Checkpoint.Size != int64(cp.Size) ||
		es.Checkpoint.RootHash != base64.StdEncoding.EncodeToString(cp.Root[:]) {
		t.Fatalf("sealed record %+v, result %+v", es, e.res)
	}
}

func TestPackageAttestationVerifies(t *testing.T) {
	t.Parallel()
	e := exportOnce(t, 3)
	top := e.pkg.top(t)
	att := e.pkg.manifest(t, top.Manifests[1].Digest.String())
	if att.Subject == nil || att.Subject.Digest != top.Manifests[0].Digest {
		t.Fatalf("attestation subject %+v", att.Subject)
	}
	pub, _ := keys.PublicKey(context.Background(), e.f.exporter)
	v, _ := keys.NewVerifier(pub)
	b, err := bundle.Verify(e.pkg.blob(t, att.Layers[0].Digest.String()), v)
	if err != nil {
		t.Fatalf("attestation: %v", err)
	}
	st := statementOf(t, e.pkg.blob(t, att.Layers[0].Digest.String()))
	pk := st.Parsed().(*record.Package)
	if st.Subject[0].SHA256() != top.Manifests[0].Digest.Encoded() || pk.PackageIndex != top.Manifests[0].Digest.String() ||
		pk.ExportRecord != e.res.ExportRecord || pk.RecordCount != e.res.RecordCount || b == nil {
		t.Fatalf("attestation statement %+v", pk)
	}
}

func keyringDigest(f *fixture) string {
	sum := sha256.Sum256(f.keyring)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func bundleOf(t *testing.T, f *fixture, dir, d string) []byte {
	t.Helper()
	l := f.open(t, dir)
	defer closeLog(t, l)
	b, err := l.Bundle(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func statementOf(t *testing.T, b []byte) *record.Statement {
	t.Helper()
	bun, err := bundle.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	st, err := record.ParseStatement(bun.Payload())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
