package bundle

import (
	"encoding/json"
	"fmt"

	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// The wire types mirror protobuf-specs v0.5.2 Bundle / VerificationMaterial
// in their protojson (lowerCamelCase) names. Pointers and RawMessage tell a
// missing member from an empty one.
type wireBundle struct {
	MediaType            *string         `json:"mediaType"`
	VerificationMaterial *wireMaterial   `json:"verificationMaterial"`
	DSSEEnvelope         *dsse.Wire      `json:"dsseEnvelope"`
	MessageSignature     json.RawMessage `json:"messageSignature"`
}

type wireMaterial struct {
	PublicKey                 *wireHint         `json:"publicKey"`
	X509CertificateChain      json.RawMessage   `json:"x509CertificateChain"`
	Certificate               json.RawMessage   `json:"certificate"`
	TlogEntries               []json.RawMessage `json:"tlogEntries"`
	TimestampVerificationData *wireTimestamps   `json:"timestampVerificationData"`
}

type wireHint struct {
	Hint string `json:"hint"`
}

type wireTimestamps struct {
	RFC3161Timestamps []*struct {
		SignedTimestamp *string `json:"signedTimestamp"`
	} `json:"rfc3161Timestamps"`
}

// Parse reads a record bundle strictly:
//
//   - at most MaxSize bytes of valid UTF-8 JSON, one object, no duplicate
//     member names at any depth (ErrDuplicateKey), no member outside the
//     bundle format and no case variants of member names (ErrUnknownField);
//     protojson also refuses unknown members, but accepts the proto field
//     names (media_type, ...) that Parse refuses;
//   - mediaType exactly MediaType: the older
//     "application/vnd.dev.sigstore.bundle+json;version=0.1|0.2" types are
//     refused (ErrMediaType), Dossier never wrote them;
//   - verificationMaterial with publicKey only: X.509 certificates and
//     chains are refused (ErrVerificationMaterial), as are tlog entries;
//     RFC 3161 timestamps are carried unverified;
//   - a dsseEnvelope (a messageSignature is refused, ErrContent) with
//     exactly one signature (ErrSignatureCount), payloadType
//     PayloadTypeInToto (ErrPayloadType), and a keyid equal to the hint
//     when both are set (ErrKeyIDMismatch).
//
// Parse checks no signature; use Verify.
func Parse(b []byte) (*Bundle, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxSize)
	}
	var w wireBundle
	if err := strictjson.Decode(b, &w, strictjson.Limits{MaxBytes: MaxSize, MaxDepth: 16}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	out := &Bundle{Raw: b}
	if err := w.check(); err != nil {
		return nil, err
	}
	var err error
	if out.KeyHint, out.RFC3161Timestamps, err = w.VerificationMaterial.decode(); err != nil {
		return nil, err
	}
	env, err := w.DSSEEnvelope.Decode()
	if err != nil {
		return nil, fmt.Errorf("%w: dsseEnvelope: %w", ErrMalformed, err)
	}
	out.Envelope = *env
	return out, checkEnvelope(out)
}

func (w *wireBundle) check() error {
	switch {
	case w.MediaType == nil:
		return fmt.Errorf("%w: missing mediaType", ErrMalformed)
	case *w.MediaType != MediaType:
		return fmt.Errorf("%w: got %q, want %q", ErrMediaType, *w.MediaType, MediaType)
	case w.VerificationMaterial == nil:
		return fmt.Errorf("%w: missing verificationMaterial", ErrMalformed)
	case w.MessageSignature != nil:
		return fmt.Errorf("%w: messageSignature bundles are not records, want a dsseEnvelope", ErrContent)
	case w.DSSEEnvelope == nil:
		return fmt.Errorf("%w: missing dsseEnvelope", ErrMalformed)
	}
	return nil
}

func (m *wireMaterial) decode() (hint string, tsrs [][]byte, err error) {
	switch {
	case m.X509CertificateChain != nil || m.Certificate != nil:
		return "", nil, fmt.Errorf("%w: X.509 certificates are not supported, want publicKey", ErrVerificationMaterial)
	case m.PublicKey == nil:
		return "", nil, fmt.Errorf("%w: missing publicKey", ErrVerificationMaterial)
	case len(m.TlogEntries) != 0:
		return "", nil, fmt.Errorf("%w: transparency log entries are not supported", ErrVerificationMaterial)
	}
	if m.TimestampVerificationData == nil {
		return m.PublicKey.Hint, nil, nil
	}
	for i, ts := range m.TimestampVerificationData.RFC3161Timestamps {
		if ts == nil || ts.SignedTimestamp == nil {
			return "", nil, fmt.Errorf("%w: rfc3161Timestamps[%d]: missing signedTimestamp", ErrMalformed, i)
		}
		der, err := dsse.DecodeBase64(*ts.SignedTimestamp)
		if err != nil {
			return "", nil, fmt.Errorf("%w: rfc3161Timestamps[%d]: %w", ErrMalformed, i, err)
		}
		tsrs = append(tsrs, der)
	}
	return m.PublicKey.Hint, tsrs, nil
}

func checkEnvelope(b *Bundle) error {
	e := &b.Envelope
	if n := len(e.Signatures); n != 1 {
		return fmt.Errorf("%w: got %d", ErrSignatureCount, n)
	}
	if e.PayloadType != PayloadTypeInToto {
		return fmt.Errorf("%w: got %q, want %q", ErrPayloadType, e.PayloadType, PayloadTypeInToto)
	}
	if id := e.Signatures[0].KeyID; id != "" && b.KeyHint != "" && id != b.KeyHint {
		return fmt.Errorf("%w: keyid %q, hint %q", ErrKeyIDMismatch, id, b.KeyHint)
	}
	return nil
}
