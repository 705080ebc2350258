package verify

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"io"
	"sync"
	"testing"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

var (
	fuzzOnce sync.Once
	fuzzPkg  *built
)

// fuzzPackage is one small valid package shared by the fuzz targets.
func fuzzPackage(tb testing.TB) *built {
	fuzzOnce.Do(func() { fuzzPkg = buildPackage(tb, spec{Runs: 1, RecordsPerRun: 1}) })
	return fuzzPkg
}

// FuzzReadTar: readTar never panics, and whatever it accepts archive/tar
// reads as the same entries (no parser differential).
func FuzzReadTar(f *testing.F) {
	f.Add(fuzzPackage(f).Tar)
	f.Add(writeTar(map[string][]byte{"oci-layout": []byte(ociLayoutContent)}))
	f.Add([]byte{})
	f.Add(make([]byte, 1024))
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := readTar(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		tr := tar.NewReader(bytes.NewReader(b))
		for i, e := range idx.entries {
			h, err := tr.Next()
			if err != nil || h.Name != e.Name || h.Size != e.Size || h.Typeflag != tar.TypeReg {
				t.Fatalf("entry %d: readTar has %q/%d, archive/tar %v/%v", i, e.Name, e.Size, h, err)
			}
		}
		if _, err := tr.Next(); err != io.EOF {
			t.Fatalf("archive/tar sees more entries: %v", err)
		}
	})
}

// FuzzParseManifest: strict manifest parsing never panics and accepts
// only schemaVersion 2 of the requested media type.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`), false)
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`), true)
	f.Add([]byte(`{"schemaVersion":2,"schemaVersion":2}`), true)
	f.Fuzz(func(t *testing.T, b []byte, index bool) {
		mt := mediaTypeManifest
		if index {
			mt = mediaTypeIndex
		}
		m, err := parseManifest(b, mt)
		if err != nil {
			return
		}
		if m.SchemaVersion != 2 || m.MediaType != mt {
			t.Fatalf("accepted %+v", m)
		}
		// The canonical fast path never accepts what the strict walk refuses.
		var strict manifest
		if err := strictjson.Decode(b, &strict, strictjson.Limits{MaxBytes: maxIndexSize, MaxDepth: 8}); err != nil {
			t.Fatalf("fast path accepted what strictjson refuses: %v", err)
		}
	})
}

// FuzzReadProofs: proofs.json parsing and inclusion checking never panic,
// and an accepted entry's leaf names its digest.
func FuzzReadProofs(f *testing.F) {
	leaf := tlogproof.Leaf{Bundle: "sha256:" + string(bytes.Repeat([]byte("a"), 64)), Stream: "export"}.Marshal()
	one := `{"treeSize":1,"entries":[{"digest":"sha256:` + string(bytes.Repeat([]byte("a"), 64)) + `","index":0,"leaf":"` + base64.StdEncoding.EncodeToString(leaf) + `","hashes":[]}]}`
	f.Add([]byte(one))
	f.Add([]byte(`{"treeSize":1,"entries":[]}`))
	f.Add([]byte(`{"entries":[],"treeSize":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp := &tlogproof.Checkpoint{Origin: "o", Size: 1, Root: tlogproof.LeafHash(leaf)}
		s := &pkgState{cp: cp}
		if err := s.readProofs(bytes.NewReader(b)); err != nil {
			return
		}
		for d, li := range s.leaves {
			if li.Leaf.Bundle != d || li.Index >= cp.Size {
				t.Fatalf("accepted leaf %+v for %s", li, d)
			}
		}
	})
}

// FuzzMutatedPackage is the package-level oracle: flipping any byte of a
// valid package, or cutting it short, never verifies and never ends
// inconclusive (an in-memory reader cannot fail, so inconclusive would be
// a recovered panic).
func FuzzMutatedPackage(f *testing.F) {
	p := fuzzPackage(f)
	for _, off := range []uint32{0, 100, 156, 512, 1024, 5000, uint32(len(p.Tar) / 2), uint32(len(p.Tar) - 600), uint32(len(p.Tar) - 1)} {
		f.Add(off, byte(1), false)
	}
	f.Add(uint32(len(p.Tar)-1024), byte(0), true)
	f.Fuzz(func(t *testing.T, off uint32, xor byte, cut bool) {
		b := append([]byte(nil), p.Tar...)
		i := int(off) % len(b)
		switch {
		case cut:
			b = b[:i]
		case xor == 0:
			return
		default:
			b[i] ^= xor
		}
		res := VerifyPackage(bytes.NewReader(b), int64(len(b)), PackageOptions{RootFingerprint: p.Fingerprint, Workers: 1})
		if res.Outcome != Rejected {
			t.Fatalf("mutation at %d (xor %#x, cut %v): outcome %s, failures %+v", i, xor, cut, res.Outcome, res.Failures)
		}
	})
}

// FuzzLogParsers covers the log formats the verifier reads through
// tlogproof (which has no fuzz target of its own): leaves, checkpoint
// bodies, tlog-proof and consistency-proof texts. Oracle: no panic, and an
// accepted leaf or checkpoint body re-marshals to the same bytes.
func FuzzLogParsers(f *testing.F) {
	p := fuzzPackage(f)
	f.Add(tlogproof.Leaf{Bundle: "sha256:" + string(bytes.Repeat([]byte("b"), 64)), Stream: "keyring", Seq: 1,
		Prev: "sha256:" + string(bytes.Repeat([]byte("c"), 64))}.Marshal())
	f.Add(p.Checkpoint)
	f.Add([]byte("c2sp.org/tlog-proof@v1\nextra AA==\nindex 0\n\n" + string(p.Checkpoint)))
	f.Add([]byte("dossier.dev/consistency-proof/v1\nold 1\n\n" + string(p.Checkpoint)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if l, err := tlogproof.ParseLeaf(b); err == nil && !bytes.Equal(l.Marshal(), b) {
			t.Fatalf("leaf %q re-marshals to %q", b, l.Marshal())
		}
		if cp, err := tlogproof.ParseCheckpointBody(b); err == nil && !bytes.Equal(tlogproof.FormatCheckpointBody(cp.Origin, cp.Size, cp.Root), b) {
			t.Fatalf("checkpoint body %q is not canonical", b)
		}
		tlogproof.ParseInclusionProof(b)
		tlogproof.ParseConsistencyProof(b)
	})
}
