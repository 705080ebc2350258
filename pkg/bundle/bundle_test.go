package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/sigstore/sigstore/pkg/signature"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestSignVerify(t *testing.T) {
	t.Parallel()
	for _, alg := range []keys.Algorithm{keys.ECDSAP256, keys.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			s, priv := newSigner(t, alg)
			st := testStatement(2048)
			b := mustSign(t, s, st)
			fp := keys.Fingerprint(priv.Public())
			wantPrefix := `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"` + fp + `"}},"dsseEnvelope":{"payload":"`
			if !strings.HasPrefix(string(b), wantPrefix) || !strings.HasSuffix(string(b), `"}]}}`) || strings.Contains(string(b), "keyid") {
				t.Fatalf("unexpected bundle shape:\n%s", b)
			}
			bun, err := Verify(b, newVerifier(t, priv.Public()))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(bun.Payload(), st) || bun.KeyID() != fp || bun.Envelope.Signatures[0].KeyID != "" || !bytes.Equal(bun.Raw, b) {
				t.Fatal("verified bundle does not carry the signed statement and key id")
			}
			sum := sha256.Sum256(b)
			if bun.Digest() != "sha256:"+hex.EncodeToString(sum[:]) {
				t.Fatalf("Digest = %s", bun.Digest())
			}
		})
	}
}

// TestGolden pins the exact bytes Sign writes for a fixed Ed25519 key and
// statement (Ed25519 is deterministic).
func TestGolden(t *testing.T) {
	t.Parallel()
	priv := rfc8032Key()
	s, err := signature.LoadSigner(priv, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := mustSign(t, s, testStatement(0))
	const golden = "testdata/ed25519.sigstore.json"
	if *update {
		pub, _ := keys.MarshalPublicKey(priv.Public())
		os.WriteFile(golden, b, 0o644)
		os.WriteFile("testdata/ed25519.pub", pub, 0o644)
		os.WriteFile("testdata/statement.json", testStatement(0), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("Sign output changed:\n got %s\nwant %s", b, want)
	}
	pubPEM, _ := os.ReadFile("testdata/ed25519.pub")
	v, err := keys.LoadVerifier(context.Background(), "testdata/ed25519.pub")
	if err != nil || len(pubPEM) == 0 {
		t.Fatal(err)
	}
	if _, err := Verify(want, v); err != nil {
		t.Fatal(err)
	}
}

var allSentinels = []error{ErrMalformed, ErrTooLarge, ErrMediaType, ErrVerificationMaterial, ErrContent,
	ErrSignatureCount, ErrKeyIDMismatch, ErrPayloadType, ErrWrongKey, ErrSignature, ErrKey}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	s, priv := newSigner(t, keys.ECDSAP256)
	good := mustSign(t, s, testStatement(600))
	v := newVerifier(t, priv.Public())
	_, other := newSigner(t, keys.ECDSAP256)
	otherFP := keys.Fingerprint(other.Public())
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name  string
		in    []byte
		v     signature.Verifier
		want  error
		extra error
	}{
		{"tampered payload", mutate(t, good, func(m map[string]any) {
			obj(m, "dsseEnvelope")["payload"] = b64(testStatement(601))
		}), v, ErrSignature, nil},
		{"wrong key", good, newVerifier(t, other.Public()), ErrWrongKey, nil},
		{"wrong key without key ids", mutate(t, good, func(m map[string]any) {
			obj(m, "verificationMaterial", "publicKey")["hint"] = ""
			delete(firstSig(m), "keyid")
		}), newVerifier(t, other.Public()), ErrSignature, nil},
		{"wrong payloadType", mutate(t, good, func(m map[string]any) {
			obj(m, "dsseEnvelope")["payloadType"] = "application/vnd.in-toto.other+json"
		}), v, ErrPayloadType, nil},
		{"two signatures", mutate(t, good, func(m map[string]any) {
			e := obj(m, "dsseEnvelope")
			e["signatures"] = append(e["signatures"].([]any), firstSig(m))
		}), v, ErrSignatureCount, nil},
		{"no signatures", mutate(t, good, func(m map[string]any) {
			obj(m, "dsseEnvelope")["signatures"] = []any{}
		}), v, ErrSignatureCount, nil},
		{"keyid names another key, no hint", mutate(t, good, func(m map[string]any) {
			obj(m, "verificationMaterial", "publicKey")["hint"] = ""
			firstSig(m)["keyid"] = otherFP
		}), v, ErrWrongKey, nil},
		{"keyid differs from hint", mutate(t, good, func(m map[string]any) {
			firstSig(m)["keyid"] = otherFP
		}), v, ErrKeyIDMismatch, nil},
		{"hint and keyid both name another key", mutate(t, good, func(m map[string]any) {
			firstSig(m)["keyid"] = otherFP
			obj(m, "verificationMaterial", "publicKey")["hint"] = otherFP
		}), v, ErrWrongKey, nil},
		{"truncated JSON", good[:len(good)-5], v, ErrMalformed, nil},
		{"duplicate key", []byte(strings.Replace(string(good), `{"mediaType":`, `{"mediaType":"x","mediaType":`, 1)), v, ErrMalformed, ErrDuplicateKey},
		{"duplicate key in envelope", []byte(strings.Replace(string(good), `"payloadType":`, `"payloadType":"x","payloadType":`, 1)), v, ErrMalformed, ErrDuplicateKey},
		{"unknown field", []byte(strings.Replace(string(good), `{"mediaType":`, `{"extra":1,"mediaType":`, 1)), v, ErrMalformed, ErrUnknownField},
		{"unknown envelope field", []byte(strings.Replace(string(good), `"payloadType":`, `"extra":1,"payloadType":`, 1)), v, ErrMalformed, ErrUnknownField},
		{"case variant field", []byte(strings.Replace(string(good), `"mediaType":`, `"MediaType":`, 1)), v, ErrMalformed, ErrUnknownField},
		{"proto field name", []byte(strings.Replace(string(good), `"mediaType":`, `"media_type":`, 1)), v, ErrMalformed, ErrUnknownField},
		{"trailing data", append(append([]byte{}, good...), "{}"...), v, ErrMalformed, nil},
		{"media type v0.2", []byte(strings.Replace(string(good), MediaType, "application/vnd.dev.sigstore.bundle+json;version=0.2", 1)), v, ErrMediaType, nil},
		{"x509 chain", mutate(t, good, func(m map[string]any) {
			vm := obj(m, "verificationMaterial")
			delete(vm, "publicKey")
			vm["x509CertificateChain"] = map[string]any{"certificates": []any{}}
		}), v, ErrVerificationMaterial, nil},
		{"no public key", mutate(t, good, func(m map[string]any) {
			delete(obj(m, "verificationMaterial"), "publicKey")
		}), v, ErrVerificationMaterial, nil},
		{"tlog entry", mutate(t, good, func(m map[string]any) {
			obj(m, "verificationMaterial")["tlogEntries"] = []any{map[string]any{"logIndex": "1"}}
		}), v, ErrVerificationMaterial, nil},
		{"message signature", mutate(t, good, func(m map[string]any) {
			m["messageSignature"] = map[string]any{}
		}), v, ErrContent, nil},
		{"too large", append(bytes.Repeat([]byte(" "), MaxSize), good...), v, ErrTooLarge, nil},
		{"ecdsa signature as r||s", mutate(t, good, func(m map[string]any) {
			firstSig(m)["sig"] = b64(derToP1363(t, firstSigBytes(t, good)))
		}), v, ErrSignature, nil},
		{"ecdsa DER with trailing byte", mutate(t, good, func(m map[string]any) {
			firstSig(m)["sig"] = b64(append(firstSigBytes(t, good), 0))
		}), v, ErrSignature, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Verify(tt.in, tt.v)
			if !errors.Is(err, tt.want) || (tt.extra != nil && !errors.Is(err, tt.extra)) {
				t.Fatalf("Verify: %v, want %v %v", err, tt.want, tt.extra)
			}
			for _, other := range allSentinels {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
		})
	}
}

func TestMutatedStillVerifiesWhenEquivalent(t *testing.T) {
	t.Parallel()
	s, priv := newSigner(t, keys.Ed25519)
	good := mustSign(t, s, testStatement(100))
	// Dropping both key ids keeps the signature valid (they are hints).
	noIDs := mutate(t, good, func(m map[string]any) {
		obj(m, "verificationMaterial", "publicKey")["hint"] = ""
		delete(firstSig(m), "keyid")
	})
	if _, err := Verify(noIDs, newVerifier(t, priv.Public())); err != nil {
		t.Fatalf("bundle without key ids: %v", err)
	}
}

func TestVerifyRejectsOtherAlgorithms(t *testing.T) {
	t.Parallel()
	s, _ := newSigner(t, keys.ECDSAP256)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadVerifier(rsaKey.Public(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(mustSign(t, s, testStatement(10)), v); !errors.Is(err, ErrKey) {
		t.Fatalf("Verify with an RSA key: %v, want %v", err, ErrKey)
	}
}

func TestSignRejects(t *testing.T) {
	t.Parallel()
	s, _ := newSigner(t, keys.ECDSAP256)
	if _, err := Sign(context.Background(), s, "application/json", []byte("{}")); !errors.Is(err, ErrPayloadType) {
		t.Fatalf("Sign(application/json): %v", err)
	}
}

func firstSigBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	bun, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return bun.Signature()
}

func derToP1363(t *testing.T, der []byte) []byte {
	t.Helper()
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 64)
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out
}

func TestKeyedSignerSameHint(t *testing.T) {
	t.Parallel()
	for _, alg := range algs {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			s, priv := newSigner(t, alg)
			k, err := NewKeyedSigner(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := k.Fingerprint(), keys.Fingerprint(priv.Public()); got != want {
				t.Fatalf("Fingerprint() = %q, want %q", got, want)
			}
			plain, keyed := mustSign(t, s, benchStatement), mustSign(t, k, benchStatement)
			bp, err := Parse(plain)
			if err != nil {
				t.Fatal(err)
			}
			bk, err := Parse(keyed)
			if err != nil {
				t.Fatal(err)
			}
			if bp.KeyID() != bk.KeyID() {
				t.Fatalf("key id %q with the keyed signer, want %q", bk.KeyID(), bp.KeyID())
			}
			if _, err := Verify(keyed, newVerifier(t, priv.Public())); err != nil {
				t.Fatalf("Verify(keyed bundle): %v", err)
			}
		})
	}
}
