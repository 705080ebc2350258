package main

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

const committed = "../../v1"

// TestNoDrift regenerates every vector set into a temporary directory and
// requires it to equal the committed testvectors/<set> byte for byte.
func TestNoDrift(t *testing.T) {
	for _, set := range []string{"v1", "v2"} {
		t.Run(set, func(t *testing.T) {
			tmp := t.TempDir()
			if err := generateSet(tmp, set); err != nil {
				t.Fatal(err)
			}
			got, want := readTree(t, tmp), readTree(t, "../../"+set)
			for name, data := range got {
				w, ok := want[name]
				switch {
				case !ok:
					t.Errorf("%s: generated but not committed", name)
				case !bytes.Equal(w, data):
					t.Errorf("%s: committed bytes differ from a fresh generation", name)
				}
			}
			for name := range want {
				if _, ok := got[name]; !ok {
					t.Errorf("%s: committed but no longer generated", name)
				}
			}
			if t.Failed() {
				t.Logf("vectors are frozen once released; before that, regenerate with: go run ./testvectors/internal/gen -set %s", set)
			}
		})
	}
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBaselineCheckpointWithXModNote opens the baseline checkpoint with
// golang.org/x/mod/sumdb/note and the verifier key from the keyring.
func TestBaselineCheckpointWithXModNote(t *testing.T) {
	b, _ := buildB(&Scenario{})
	v, err := note.NewVerifier(b.Keys["log"].NoteVerifierKey(logName))
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(b.Checkpoint, note.VerifierList(v))
	if err != nil {
		t.Fatalf("note.Open: %v", err)
	}
	want := string(checkpointBody(logName, b.Size, mth(b.Hashes[:b.Size])))
	if n.Text != want {
		t.Errorf("checkpoint text = %q, want %q", n.Text, want)
	}
}

// TestBaselineProofsWithTransparencyDevMerkle checks every inclusion
// proof and a ledger consistency proof with transparency-dev/merkle.
func TestBaselineProofsWithTransparencyDevMerkle(t *testing.T) {
	b, _ := buildB(&Scenario{})
	root := mth(b.Hashes[:b.Size])
	for _, e := range b.Proofs.Entries {
		leaf, _ := base64.StdEncoding.DecodeString(e.Leaf)
		if !strings.Contains(string(leaf), "bundle "+e.Digest+"\n") {
			t.Errorf("entry %d: leaf does not name %s", e.Index, e.Digest)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(e.Index), uint64(b.Size), rfc6962.DefaultHasher.HashLeaf(leaf), decodeAll(t, e.Hashes), root); err != nil {
			t.Errorf("entry %d: %v", e.Index, err)
		}
	}
	for m := 1; m <= b.Size; m++ {
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(m), uint64(b.Size), consistencyProof(m, b.Hashes[:b.Size]), mth(b.Hashes[:m]), root); err != nil {
			t.Errorf("consistency %d -> %d: %v", m, b.Size, err)
		}
	}
}

func decodeAll(t *testing.T, s []string) [][]byte {
	var out [][]byte
	for _, x := range s {
		d, err := base64.StdEncoding.DecodeString(x)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// TestBaselineBundlesWithSigstoreGo verifies every baseline record bundle
// and the package attestation with sigstore-go, keyed by the hint.
func TestBaselineBundlesWithSigstoreGo(t *testing.T) {
	b, _ := buildB(&Scenario{})
	keys := map[string]*Key{}
	for _, k := range b.Keys {
		keys[k.Fingerprint()] = k
	}
	tm := root.NewTrustedPublicKeyMaterial(func(hint string) (root.TimeConstrainedVerifier, error) {
		k, ok := keys[hint]
		if !ok {
			t.Fatalf("unknown hint %s", hint)
		}
		pub := must(signatureKey(k))
		return root.NewExpiringKey(pub, timeZero, timeZero), nil
	})
	sv, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(b.packaged(), b.Attest) {
		var bun bundle.Bundle
		if err := bun.UnmarshalJSON(r.Bundle); err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		subj := parseSubject0(t, payloadOf(r.Bundle))
		if _, err := sv.Verify(&bun, verify.NewPolicy(verify.WithArtifactDigest("sha256", subj), verify.WithKey())); err != nil {
			t.Errorf("%s: sigstore-go: %v", r.Name, err)
		}
	}
}

func signatureKey(k *Key) (signature.Verifier, error) {
	if k.ed != nil {
		return signature.LoadED25519Verifier(k.edPub())
	}
	return signature.LoadVerifier(&k.ec.PublicKey, crypto.SHA256)
}

func parseSubject0(t *testing.T, stmt []byte) []byte {
	i := bytes.Index(stmt, []byte(`"sha256":"`))
	if i < 0 {
		t.Fatalf("no subject digest in %s", stmt)
	}
	h, err := hex.DecodeString(string(stmt[i+10 : i+74]))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestEveryVectorDiffersFromBaseline guards against a mutation that
// silently changed nothing: each rejected vector's inputs must differ
// from the baseline's.
func TestEveryVectorDiffersFromBaseline(t *testing.T) {
	base := build(&Scenario{})
	for _, v := range vectors() {
		if v.Outcome == "verified" {
			continue
		}
		o := build(&v.S)
		if bytes.Equal(o.Package, base.Package) && o.RootFP == base.RootFP && o.Policy == nil && o.TrustedHead == nil {
			t.Errorf("%s: identical to the baseline", v.Name)
		}
	}
}

var timeZero = zeroTime()

// TestGenerateRefusesForeignDirectories: a mistaken -out must not delete
// directories that are not vectors.
func TestGenerateRefusesForeignDirectories(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := generate(dir); err == nil || !strings.Contains(err.Error(), "not a vector directory") {
		t.Fatalf("generate into a directory with src/: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "src")); err != nil {
		t.Errorf("src/ was removed: %v", err)
	}
}
