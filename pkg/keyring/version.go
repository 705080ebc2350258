package keyring

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/sigstore/sigstore/pkg/signature"
)

// MaxEnvelopeBytes bounds a keyring version envelope.
const MaxEnvelopeBytes = 2 << 20

// Version is one parsed keyring version: the envelope bytes exactly as
// given, their digest, the document bytes (the DSSE payload) and the
// document. Parse does not check signatures; VerifyChain does.
type Version struct {
	Envelope []byte
	Digest   string // "sha256:<hex>" of Envelope
	Payload  []byte
	Document *Document
	env      *dsse.Envelope
}

// Signatures returns the key ids (fingerprint hints) of the envelope's
// signatures, in order.
func (v *Version) Signatures() []string {
	ids := make([]string, len(v.env.Signatures))
	for i, s := range v.env.Signatures {
		ids[i] = s.KeyID
	}
	return ids
}

// Parse strictly decodes a keyring version envelope and its document. It
// does not verify signatures.
func Parse(envelope []byte) (*Version, error) {
	if len(envelope) > MaxEnvelopeBytes {
		return nil, fmt.Errorf("%w: envelope of %d bytes, limit %d", ErrMalformed, len(envelope), MaxEnvelopeBytes)
	}
	env, err := dsse.ParseStrict(envelope)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if env.PayloadType != MediaType {
		return nil, fmt.Errorf("%w: payloadType %q, want %q", ErrMalformed, env.PayloadType, MediaType)
	}
	doc, err := ParseDocument(env.Payload)
	if err != nil {
		return nil, err
	}
	return &Version{Envelope: envelope, Digest: Digest(envelope), Payload: env.Payload, Document: doc, env: env}, nil
}

// Digest returns "sha256:<hex>" of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// RootFingerprint returns the fingerprint an auditor pins for a chain
// whose version 1 has this document (DSSE payload): "SHA256:" and the
// lowercase hex SHA-256 of the document bytes.
func RootFingerprint(document []byte) string {
	sum := sha256.Sum256(document)
	return "SHA256:" + hex.EncodeToString(sum[:])
}

// Sign validates the document bytes and signs them as a keyring version
// envelope with every signer, in order; it returns the envelope JSON.
// Signers come from NewSigner. The caller decides which root keys sign
// (VerifyChain checks the threshold).
func Sign(document []byte, signers ...dsse.Signer) ([]byte, error) {
	if _, err := ParseDocument(document); err != nil {
		return nil, err
	}
	env, err := dsse.Sign(MediaType, document, signers...)
	if err != nil {
		return nil, err
	}
	return env.MarshalJSON()
}

// NewSigner adapts a sigstore signer to a DSSE signer whose key id is the
// key's fingerprint (SPEC.md).
func NewSigner(ctx context.Context, s signature.Signer) (dsse.Signer, error) {
	pub, err := publicKeyOf(ctx, s)
	if err != nil {
		return nil, err
	}
	return &dsseSigner{id: Fingerprint(pub), s: s}, nil
}

type dsseSigner struct {
	id string
	s  signature.Signer
}

func (d *dsseSigner) Sign(data []byte) ([]byte, error) { return d.s.SignMessage(bytes.NewReader(data)) }
func (d *dsseSigner) KeyID() string                    { return d.id }

// keyVerifier adapts a keyring key to dsse.Verifier.
type keyVerifier struct {
	id string
	v  signature.Verifier
}

func (k *keyVerifier) Verify(data, sig []byte) error {
	return k.v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(data))
}
func (k *keyVerifier) KeyID() string { return k.id }

// NewKey returns a keyring entry for pub with the given roles (sorted
// here) and owner, valid from validFrom, never expiring, not revoked. For
// a log key pass its signed-note verifier key, else "".
func NewKey(pub crypto.PublicKey, roles []string, owner Owner, validFrom, noteVerifierKey string) (Key, error) {
	pem, err := marshalPublicPEM(pub)
	if err != nil {
		return Key{}, err
	}
	alg := algorithmOf(pub)
	if alg == "" {
		return Key{}, fmt.Errorf("%w: key algorithm %T, want ecdsa-p256 or ed25519", ErrInvalid, pub)
	}
	rs := append([]string(nil), roles...)
	slices.Sort(rs)
	return Key{ID: Fingerprint(pub), Algorithm: alg, PublicKey: string(pem), NoteVerifierKey: noteVerifierKey,
		Roles: rs, Owner: owner, ValidFrom: validFrom}, nil
}
