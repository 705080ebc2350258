package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/keys"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"golang.org/x/crypto/ssh"
)

// TestSigstoreGoInterop proves that sigstore-go v1.3.0, offline and with
// key-based trusted material, verifies the bundles Sign writes (ECDSA P-256
// and Ed25519), including the subject digest check against the statement,
// and rejects a tampered one. No network is used: the trusted material is
// built in memory and no timestamps or transparency log are required.
func TestSigstoreGoInterop(t *testing.T) {
	t.Parallel()
	for _, alg := range []keys.Algorithm{keys.ECDSAP256, keys.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			s, priv := newSigner(t, alg)
			b := mustSign(t, s, testStatement(2048))
			fp := keys.Fingerprint(priv.Public())
			tm := root.NewTrustedPublicKeyMaterialFromMapping(map[string]*root.ExpiringKey{
				fp: root.NewExpiringKey(newVerifier(t, priv.Public()), time.Time{}, time.Time{}),
			})
			if err := sigstoreGoVerify(t, b, tm, subjectDigest()); err != nil {
				t.Fatalf("sigstore-go rejects our bundle: %v", err)
			}
			wrongDigest := append([]byte{}, subjectDigest()...)
			wrongDigest[0] ^= 1
			if err := sigstoreGoVerify(t, b, tm, wrongDigest); err == nil {
				t.Fatal("sigstore-go accepted a digest that is not the statement's subject")
			}
			tampered := []byte(strings.Replace(string(b), `"payload":"eyJ`, `"payload":"eyK`, 1))
			if err := sigstoreGoVerify(t, tampered, tm, subjectDigest()); err == nil {
				t.Fatal("sigstore-go accepted a tampered bundle")
			}
			if _, err := Verify(tampered, newVerifier(t, priv.Public())); !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("our Verify on the tampered bundle: %v", err)
			}
			// A verifier that trusts another key under our hint fails too.
			_, other := newSigner(t, alg)
			otherTM := root.NewTrustedPublicKeyMaterialFromMapping(map[string]*root.ExpiringKey{
				fp: root.NewExpiringKey(newVerifier(t, other.Public()), time.Time{}, time.Time{}),
			})
			if err := sigstoreGoVerify(t, b, otherTM, subjectDigest()); err == nil {
				t.Fatal("sigstore-go accepted our bundle with another key")
			}
		})
	}
}

// TestSigstoreGoGolden runs the committed golden bundle through
// sigstore-go's file loader.
func TestSigstoreGoGolden(t *testing.T) {
	t.Parallel()
	pub := rfc8032Key().Public()
	tm := root.NewTrustedPublicKeyMaterial(func(hint string) (root.TimeConstrainedVerifier, error) {
		if hint != keys.Fingerprint(pub) {
			return nil, errors.New("unknown key")
		}
		return root.NewExpiringKey(newVerifier(t, pub), time.Time{}, time.Time{}), nil
	})
	if err := sigstoreGoVerify(t, readFile(t, "testdata/ed25519.sigstore.json"), tm, subjectDigest()); err != nil {
		t.Fatal(err)
	}
}

func sigstoreGoVerify(t *testing.T, b []byte, tm root.TrustedMaterial, digest []byte) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "record.sigstore.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	bun, err := sgbundle.LoadJSONFromPath(path)
	if err != nil {
		return err
	}
	v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(bun, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithKey()))
	return err
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSigstoreGoKeyIDMatrix records why Sign leaves the DSSE keyid unset:
// sigstore-go (through go-securesystemslib's dsse) skips a signature whose
// non-empty keyid differs from ssh.FingerprintSHA256 of the key (SHA-256
// over the OpenSSH wire encoding), and keys.Fingerprint hashes the PKIX DER
// encoding instead. The hint is free-form for sigstore-go.
func TestSigstoreGoKeyIDMatrix(t *testing.T) {
	t.Parallel()
	s, priv := newSigner(t, keys.ECDSAP256)
	good := mustSign(t, s, testStatement(300))
	sshPub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	fp, sshFP := keys.Fingerprint(priv.Public()), ssh.FingerprintSHA256(sshPub)
	tests := []struct {
		name, hint, keyid string
		ok                bool
	}{
		{"our output: hint, no keyid", fp, "", true},
		{"keyid = PKIX fingerprint", fp, fp, false},
		{"keyid = OpenSSH fingerprint", sshFP, sshFP, true},
		{"no hint, no keyid", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := mutate(t, good, func(m map[string]any) {
				obj(m, "verificationMaterial", "publicKey")["hint"] = tt.hint
				if tt.keyid != "" {
					firstSig(m)["keyid"] = tt.keyid
				}
			})
			tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
				return root.NewExpiringKey(newVerifier(t, priv.Public()), time.Time{}, time.Time{}), nil
			})
			if err := sigstoreGoVerify(t, b, tm, subjectDigest()); (err == nil) != tt.ok {
				t.Fatalf("sigstore-go: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
