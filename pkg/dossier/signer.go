package dossier

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/sigstore/sigstore/pkg/signature"
)

// DeterministicSigner returns a sigstore signer over priv whose signatures
// depend only on the key and the message: Ed25519 (deterministic by
// design) or ECDSA P-256 with SHA-256 per RFC 6979, which Go's
// (*ecdsa.PrivateKey).Sign produces when given a nil random source (Go
// 1.24+). sigstore's own ECDSA signer calls ecdsa.SignASN1, which since Go
// 1.26 always draws fresh randomness and ignores the reader it is given,
// so packages signed through it (or through a KMS) are valid but not
// byte-reproducible.
func DeterministicSigner(priv crypto.Signer) (signature.Signer, error) {
	switch k := priv.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey:
		return &detSigner{priv: k.(crypto.Signer)}, nil
	}
	return nil, fmt.Errorf("%w: no deterministic signing for %T keys", ErrRequest, priv)
}

type detSigner struct{ priv crypto.Signer }

// SignMessage signs the message read from r.
func (s *detSigner) SignMessage(r io.Reader, _ ...signature.SignOption) ([]byte, error) {
	msg, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if _, ok := s.priv.(ed25519.PrivateKey); ok {
		return s.priv.Sign(nil, msg, crypto.Hash(0))
	}
	sum := sha256.Sum256(msg)
	return s.priv.Sign(nil, sum[:], crypto.SHA256)
}

// PublicKey returns the public key.
func (s *detSigner) PublicKey(...signature.PublicKeyOption) (crypto.PublicKey, error) {
	return s.priv.Public(), nil
}
