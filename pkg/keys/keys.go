// Package keys generates, stores and loads Dossier signing keys.
//
// Private key files are cosign-compatible: PKCS #8 DER encrypted with
// go-securesystemslib's "encrypted" format (scrypt + NaCl secretbox) in a PEM
// block of type "ENCRYPTED SIGSTORE PRIVATE KEY", exactly what
// `cosign generate-key-pair` writes, so `cosign sign-blob --key` reads our
// keys and we read cosign's. Public keys are PKIX "PUBLIC KEY" PEM.
//
// Keys that live elsewhere are named by URI and reached through
// github.com/sigstore/sigstore's KMS layer (see LoadSigner): providers that
// registered themselves (blank-import pkg/keys/kmsproviders for HashiCorp
// Vault / OpenBao transit) and, for any other scheme NAME://, an executable
// sigstore-kms-NAME on PATH (the sigstore CLI plugin protocol). Cloud KMSs
// (AWS, GCP, Azure) and HSMs go through such plugins; their SDKs are not
// linked into Dossier.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
)

// Algorithm names a signing algorithm as the CLI spells it.
type Algorithm string

// Supported algorithms.
const (
	ECDSAP256 Algorithm = "ecdsa-p256" // ECDSA P-256 with SHA-256, ASN.1 DER signatures
	Ed25519   Algorithm = "ed25519"    // pure Ed25519
	// DefaultAlgorithm is what cosign assumes for a key file.
	DefaultAlgorithm = ECDSAP256
)

// Errors returned by this package.
var (
	ErrUnsupportedAlgorithm = errors.New("unsupported key algorithm")
	ErrMalformedKey         = errors.New("malformed key")
	ErrWrongPassword        = errors.New("wrong password or corrupt encrypted key")
	ErrUnencrypted          = errors.New("private key is not encrypted")
	ErrNoPassword           = errors.New("no password")
	ErrUnknownKMS           = errors.New("no kms provider for key reference")
)

// ParseAlgorithm checks that s names a supported algorithm.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch a := Algorithm(s); a {
	case ECDSAP256, Ed25519:
		return a, nil
	}
	return "", fmt.Errorf("%w: got %q, want %q or %q", ErrUnsupportedAlgorithm, s, ECDSAP256, Ed25519)
}

// Generate makes a new private key of algorithm alg.
func Generate(alg Algorithm) (crypto.Signer, error) {
	switch alg {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case Ed25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg)
}

// AlgorithmOf reports the algorithm of a public key, or an error wrapping
// ErrUnsupportedAlgorithm for any other key (RSA, other curves).
func AlgorithmOf(pub crypto.PublicKey) (Algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return ECDSAP256, nil
		}
		return "", fmt.Errorf("%w: ecdsa curve %s", ErrUnsupportedAlgorithm, k.Curve.Params().Name)
	case ed25519.PublicKey:
		return Ed25519, nil
	}
	return "", fmt.Errorf("%w: %T", ErrUnsupportedAlgorithm, pub)
}

// Fingerprint returns the key's identifier used everywhere in Dossier (DSSE
// keyid, bundle publicKey.hint, keyring entries): "SHA256:" followed by the
// unpadded standard base64 of SHA-256 over the key's PKIX DER encoding (the
// OpenSSH fingerprint style). It returns "" for a key x509 cannot encode.
func Fingerprint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	return FingerprintDER(der)
}

// FingerprintDER is Fingerprint of a key already in PKIX DER form.
func FingerprintDER(der []byte) string {
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}
