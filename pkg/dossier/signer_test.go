package dossier

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// TestDeterministicSigner records the finding documented in
// spec/package.md §3 "Determinism": Go 1.26 signs ECDSA deterministically
// (RFC 6979) through (*ecdsa.PrivateKey).Sign with a nil rand, while
// sigstore's ECDSASigner (ecdsa.SignASN1) is randomised even when handed a
// fixed reader.
func TestDeterministicSigner(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("DSSEv1 28 application/vnd.in-toto+json 2 {}")
	for _, priv := range []crypto.Signer{ec, ed} {
		s, err := DeterministicSigner(priv)
		if err != nil {
			t.Fatal(err)
		}
		a, err1 := s.SignMessage(bytes.NewReader(msg))
		b, err2 := s.SignMessage(bytes.NewReader(msg))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Fatalf("%T: signatures differ or fail: %v %v", priv, err1, err2)
		}
		v, _ := signature.LoadVerifier(priv.Public(), crypto.SHA256)
		if err := v.VerifySignature(bytes.NewReader(a), bytes.NewReader(msg)); err != nil {
			t.Fatalf("%T: %v", priv, err)
		}
	}
	ss, _ := signature.LoadECDSASigner(ec, crypto.SHA256)
	a, _ := ss.SignMessage(bytes.NewReader(msg), options.WithRand(bytes.NewReader(make([]byte, 1024))))
	b, _ := ss.SignMessage(bytes.NewReader(msg), options.WithRand(bytes.NewReader(make([]byte, 1024))))
	if bytes.Equal(a, b) {
		t.Log("sigstore's ECDSASigner signed deterministically: update spec/package.md §3")
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := DeterministicSigner(rk); !errors.Is(err, ErrRequest) {
		t.Fatalf("rsa: got %v, want ErrRequest", err)
	}
}
