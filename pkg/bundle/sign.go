package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// The output types fix member order: protobuf field order of
// protobuf-specs v0.5.2 (Bundle: mediaType, verificationMaterial,
// dsseEnvelope; Envelope: payload, payloadType, signatures; Signature: sig,
// keyid).
type outBundle struct {
	MediaType            string      `json:"mediaType"`
	VerificationMaterial outMaterial `json:"verificationMaterial"`
	DSSEEnvelope         outEnvelope `json:"dsseEnvelope"`
}

type outMaterial struct {
	PublicKey wireHint `json:"publicKey"`
}

type outEnvelope struct {
	Payload     []byte         `json:"payload"` // encoding/json: standard padded base64
	PayloadType string         `json:"payloadType"`
	Signatures  []outSignature `json:"signatures"`
}

// outSignature has no keyid: see Sign.
type outSignature struct {
	Sig []byte `json:"sig"`
}

// Sign signs payload (an in-toto Statement) with signer and returns the
// bundle JSON: compact, no trailing newline, members in protobuf field
// order, base64 standard with padding. publicKey.hint is keys.Fingerprint
// of the signer's public key; the DSSE keyid is left unset (as cosign's
// own DSSE signer does), because sigstore-go and cosign (through
// go-securesystemslib) skip any signature whose non-empty keyid differs
// from the OpenSSH wire-format fingerprint of the key, which is not
// keys.Fingerprint (see TestSigstoreGoKeyIDMatrix). ECDSA
// P-256 signers produce ASN.1 DER signatures over SHA-256 (as cosign does);
// Ed25519 signers sign the PAE itself. payloadType must be
// PayloadTypeInToto. ctx reaches KMS signers.
func Sign(ctx context.Context, signer signature.Signer, payloadType string, payload []byte) ([]byte, error) {
	if payloadType != PayloadTypeInToto {
		return nil, fmt.Errorf("%w: got %q, want %q", ErrPayloadType, payloadType, PayloadTypeInToto)
	}
	fp, err := signerFingerprint(ctx, signer)
	if err != nil {
		return nil, err
	}
	sig, err := signer.SignMessage(bytes.NewReader(dsse.PAE(payloadType, payload)), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("signing bundle: %w", err)
	}
	return json.Marshal(outBundle{
		MediaType:            MediaType,
		VerificationMaterial: outMaterial{PublicKey: wireHint{Hint: fp}},
		DSSEEnvelope: outEnvelope{
			Payload:     payload,
			PayloadType: payloadType,
			Signatures:  []outSignature{{Sig: sig}},
		},
	})
}

// KeyedSigner is a signature.Signer whose key fingerprint was computed
// once (NewKeyedSigner): Sign uses it instead of re-encoding the public key
// for every bundle. A daemon signing thousands of records per second wraps
// its signer in one.
type KeyedSigner struct {
	signature.Signer
	fp string
}

// NewKeyedSigner checks the signer's public key as Sign does and returns
// the signer with its fingerprint cached.
func NewKeyedSigner(ctx context.Context, s signature.Signer) (*KeyedSigner, error) {
	fp, err := signerFingerprint(ctx, s)
	if err != nil {
		return nil, err
	}
	return &KeyedSigner{Signer: s, fp: fp}, nil
}

// Fingerprint returns keys.Fingerprint of the signer's public key.
func (k *KeyedSigner) Fingerprint() string { return k.fp }

func signerFingerprint(ctx context.Context, p signature.PublicKeyProvider) (string, error) {
	if k, ok := p.(*KeyedSigner); ok {
		return k.fp, nil
	}
	pub, err := keys.PublicKey(ctx, p)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrKey, err)
	}
	if _, err := keys.AlgorithmOf(pub); err != nil {
		return "", fmt.Errorf("%w: %w", ErrKey, err)
	}
	return keys.Fingerprint(pub), nil
}
