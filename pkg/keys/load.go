package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// LoadOption changes how LoadSigner reads a key file.
type LoadOption func(*loadConfig)

type loadConfig struct{ allowUnencrypted bool }

// AllowUnencrypted lets LoadSigner read an unencrypted "PRIVATE KEY" file.
func AllowUnencrypted() LoadOption {
	return func(c *loadConfig) { c.allowUnencrypted = true }
}

// IsKMSRef reports whether ref names a key by URI (scheme://...) rather
// than a file path.
func IsKMSRef(ref string) bool {
	i := strings.Index(ref, "://")
	return i > 0 && !strings.ContainsAny(ref[:i], `/\.`)
}

// LoadSigner returns a signer for ref: a KMS URI (see IsKMSRef and the
// package documentation) or the path of a private key PEM file, whose
// password pass supplies. ECDSA keys sign SHA-256 digests with ASN.1 DER
// signatures; Ed25519 keys sign the message itself.
func LoadSigner(ctx context.Context, ref string, pass PassFunc, opts ...LoadOption) (signature.Signer, error) {
	var cfg loadConfig
	for _, o := range opts {
		o(&cfg)
	}
	if IsKMSRef(ref) {
		return loadKMS(ctx, ref)
	}
	data, err := readKeyFile(ref)
	if err != nil {
		return nil, err
	}
	priv, err := ParsePrivateKey(data, pass, cfg.allowUnencrypted)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return signature.LoadSigner(priv, crypto.SHA256)
}

// LoadVerifier returns a verifier for ref: a KMS URI or the path of a public
// key PEM file.
func LoadVerifier(ctx context.Context, ref string) (signature.Verifier, error) {
	if IsKMSRef(ref) {
		return loadKMS(ctx, ref)
	}
	data, err := readKeyFile(ref)
	if err != nil {
		return nil, err
	}
	pub, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return NewVerifier(pub)
}

// NewVerifier returns the sigstore verifier for an ECDSA P-256 or Ed25519
// public key.
func NewVerifier(pub crypto.PublicKey) (signature.Verifier, error) {
	if _, err := AlgorithmOf(pub); err != nil {
		return nil, err
	}
	return signature.LoadVerifier(pub, crypto.SHA256)
}

// PublicKey returns the public key of a sigstore signer or verifier,
// asking a KMS with ctx when the key lives there.
func PublicKey(ctx context.Context, p signature.PublicKeyProvider) (crypto.PublicKey, error) {
	pub, err := p.PublicKey(options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	return pub, nil
}

func loadKMS(ctx context.Context, ref string) (kms.SignerVerifier, error) {
	sv, err := kms.Get(ctx, ref, crypto.SHA256)
	var nf *kms.ProviderNotFoundError
	if errors.As(err, &nf) {
		scheme := ref[:strings.Index(ref, "://")]
		return nil, fmt.Errorf("%w: %q: no built-in provider and no sigstore-kms-%s plugin on PATH (built in: %s)",
			ErrUnknownKMS, ref, scheme, strings.Join(kms.SupportedProviders(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("kms %s: %w", ref, err)
	}
	return sv, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}
