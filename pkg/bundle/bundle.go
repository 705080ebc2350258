// Package bundle signs and verifies Dossier records: a DSSE envelope with
// exactly one signature inside a Sigstore bundle v0.3 JSON document with
// key-based verification material (publicKey.hint), the format that stock
// cosign (verify-blob-attestation --key --insecure-ignore-tlog) and
// sigstore-go (key-based trusted material) verify offline.
//
// The JSON is written by this package with encoding/json over ordered
// structs, never by protojson (whose output is deliberately unstable), and
// read by a strict parser that accepts a subset of what protojson accepts.
// A bundle's identity is the SHA-256 of its bytes exactly as written
// (Bundle.Digest); nothing here re-marshals a signed bundle.
//
// Statement-level checks (subjects, predicate) belong to pkg/record.
package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// MediaType is the only bundle media type written and accepted.
const MediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// PayloadTypeInToto is the only DSSE payload type written and accepted: an
// in-toto Statement (sigstore-go requires exactly this value).
const PayloadTypeInToto = "application/vnd.in-toto+json"

// MaxSize is the largest bundle Parse reads.
const MaxSize = 8 << 20

// Errors. Every error from Parse and Verify wraps exactly one of the
// sentinels below that names the failed check (plus, for JSON problems,
// ErrMalformed and a strictjson sentinel such as ErrDuplicateKey).
var (
	ErrMalformed            = errors.New("malformed bundle")
	ErrTooLarge             = errors.New("bundle too large")
	ErrMediaType            = errors.New("unsupported bundle media type")
	ErrVerificationMaterial = errors.New("unsupported verification material")
	ErrContent              = errors.New("unsupported bundle content")
	ErrSignatureCount       = errors.New("bundle envelope must have exactly one signature")
	ErrKeyIDMismatch        = errors.New("dsse keyid differs from the bundle's public key hint")
	ErrPayloadType          = errors.New("unsupported dsse payload type")
	ErrWrongKey             = errors.New("bundle was signed by a different key")
	ErrSignature            = errors.New("invalid bundle signature")
	ErrKey                  = errors.New("unusable key")

	// ErrDuplicateKey is wrapped when a JSON object repeats a member name.
	ErrDuplicateKey = strictjson.ErrDuplicateKey
	// ErrUnknownField is wrapped when a JSON member is not part of the
	// bundle format (or differs from it only in case).
	ErrUnknownField = strictjson.ErrUnknownField
)

// Bundle is a parsed record bundle.
type Bundle struct {
	// Raw is the bundle exactly as read or written.
	Raw []byte
	// KeyHint is verificationMaterial.publicKey.hint ("" when unset).
	KeyHint string
	// Envelope is the DSSE envelope; it has exactly one signature.
	Envelope dsse.Envelope
	// RFC3161Timestamps are the DER TimeStampResponses of
	// timestampVerificationData, carried but not verified by this package.
	RFC3161Timestamps [][]byte
}

// Digest returns "sha256:<hex>" of Raw, the record's identity.
func (b *Bundle) Digest() string {
	sum := sha256.Sum256(b.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Payload returns the DSSE payload (the statement bytes). After Verify it is
// the authenticated payload.
func (b *Bundle) Payload() []byte { return b.Envelope.Payload }

// Signature returns the raw signature bytes.
func (b *Bundle) Signature() []byte { return b.Envelope.Signatures[0].Sig }

// KeyID returns the key identifier the bundle names: the hint, else the
// DSSE keyid (Parse ensures they agree when both are set).
func (b *Bundle) KeyID() string {
	if b.KeyHint != "" {
		return b.KeyHint
	}
	return b.Envelope.Signatures[0].KeyID
}
