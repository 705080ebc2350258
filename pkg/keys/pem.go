package keys

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// PEM block types.
const (
	// EncryptedPEMType is cosign's and sigstore's encrypted key block.
	EncryptedPEMType = "ENCRYPTED SIGSTORE PRIVATE KEY"
	// LegacyEncryptedPEMType is what cosign wrote before v2; read only.
	LegacyEncryptedPEMType = "ENCRYPTED COSIGN PRIVATE KEY"
	// PrivatePEMType is an unencrypted PKCS #8 key.
	PrivatePEMType = "PRIVATE KEY"
	// PublicPEMType is a PKIX public key.
	PublicPEMType = "PUBLIC KEY"
)

// MaxKeyFileSize bounds the key files this package reads.
const MaxKeyFileSize = 64 << 10

// MarshalPrivateKey encodes key as an encrypted PEM block (see the package
// documentation). password must not be empty.
func MarshalPrivateKey(key crypto.PrivateKey, password []byte) ([]byte, error) {
	if len(password) == 0 {
		return nil, fmt.Errorf("%w: refusing to encrypt a key with an empty password", ErrNoPassword)
	}
	der, err := privateDER(key)
	if err != nil {
		return nil, err
	}
	ct, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, fmt.Errorf("encrypting private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: EncryptedPEMType, Bytes: ct}), nil
}

// MarshalPrivateKeyUnencrypted encodes key as an unencrypted PKCS #8
// "PRIVATE KEY" PEM block. Only for callers that explicitly asked for it.
func MarshalPrivateKeyUnencrypted(key crypto.PrivateKey) ([]byte, error) {
	der, err := privateDER(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: PrivatePEMType, Bytes: der}), nil
}

func privateDER(key crypto.PrivateKey) ([]byte, error) {
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedAlgorithm, key)
	}
	if _, err := AlgorithmOf(s.Public()); err != nil {
		return nil, err
	}
	return x509.MarshalPKCS8PrivateKey(key)
}

// MarshalPublicKey encodes pub as a PKIX "PUBLIC KEY" PEM block.
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	if _, err := AlgorithmOf(pub); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PublicPEMType, Bytes: der}), nil
}

// ParsePrivateKey decodes a private key PEM file. An encrypted key asks pass
// for its password (pass(false)); an unencrypted "PRIVATE KEY" block is
// refused with ErrUnencrypted unless allowUnencrypted. Exactly one PEM block
// and nothing else but whitespace is accepted.
func ParsePrivateKey(data []byte, pass PassFunc, allowUnencrypted bool) (crypto.Signer, error) {
	block, err := onePEMBlock(data)
	if err != nil {
		return nil, err
	}
	der := block.Bytes
	switch block.Type {
	case EncryptedPEMType, LegacyEncryptedPEMType:
		if der, err = decrypt(der, pass); err != nil {
			return nil, err
		}
	case PrivatePEMType:
		if !allowUnencrypted {
			return nil, ErrUnencrypted
		}
	default:
		return nil, fmt.Errorf("%w: PEM block %q, want %q", ErrMalformedKey, block.Type, EncryptedPEMType)
	}
	return parsePKCS8(der)
}

func decrypt(ct []byte, pass PassFunc) ([]byte, error) {
	if pass == nil {
		return nil, fmt.Errorf("%w: the private key is encrypted", ErrNoPassword)
	}
	pw, err := pass(false)
	if err != nil {
		return nil, err
	}
	der, err := encrypted.Decrypt(ct, pw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWrongPassword, err)
	}
	return der, nil
}

func parsePKCS8(der []byte) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedKey, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedAlgorithm, k)
	}
	if _, err := AlgorithmOf(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// ParsePublicKey decodes a PKIX "PUBLIC KEY" PEM file holding an ECDSA
// P-256 or Ed25519 key.
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	block, err := onePEMBlock(data)
	if err != nil {
		return nil, err
	}
	if block.Type != PublicPEMType {
		what := ""
		if strings.Contains(block.Type, "PRIVATE KEY") {
			what = " (a private key where a public key is needed)"
		}
		return nil, fmt.Errorf("%w: PEM block %q%s, want %q", ErrMalformedKey, block.Type, what, PublicPEMType)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedKey, err)
	}
	if _, err := AlgorithmOf(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

func onePEMBlock(data []byte) (*pem.Block, error) {
	if len(data) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformedKey, len(data), MaxKeyFileSize)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrMalformedKey)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("%w: PEM headers are not supported", ErrMalformedKey)
	}
	for _, c := range rest {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return nil, fmt.Errorf("%w: data after the PEM block", ErrMalformedKey)
		}
	}
	return block, nil
}
