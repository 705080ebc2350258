package keyring

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// The helpers below mirror pkg/keys (fingerprint, PEM, verifier) so that
// this package links no KMS code: a verifier needs only these.

// Fingerprint returns the key fingerprint of SPEC.md: "SHA256:" and the
// unpadded standard base64 of the SHA-256 of the PKIX DER public key; ""
// for a key that cannot be marshalled.
func Fingerprint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// parsePublicPEM reads exactly one "PUBLIC KEY" PEM block (surrounding
// whitespace allowed) holding an ECDSA P-256 or Ed25519 key.
func parsePublicPEM(b []byte) (crypto.PublicKey, error) {
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("want exactly one PEM block of type PUBLIC KEY")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	if algorithmOf(pub) == "" {
		return nil, fmt.Errorf("key type %T, want ecdsa-p256 or ed25519", pub)
	}
	return pub, nil
}

func marshalPublicPEM(pub crypto.PublicKey) ([]byte, error) {
	if algorithmOf(pub) == "" {
		return nil, fmt.Errorf("%w: key algorithm %T, want ecdsa-p256 or ed25519", ErrInvalid, pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

func newVerifier(pub crypto.PublicKey) (signature.Verifier, error) {
	return signature.LoadVerifier(pub, crypto.SHA256)
}

func publicKeyOf(ctx context.Context, p signature.PublicKeyProvider) (crypto.PublicKey, error) {
	pub, err := p.PublicKey(options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	return pub, nil
}
