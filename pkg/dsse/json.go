package dsse

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// Wire is the JSON envelope of envelope.md as read, before base64
// decoding and checks; formats that embed an envelope (a Sigstore bundle)
// decode into it with strictjson and call Decode. Pointers tell a missing
// or null member from an empty one.
type Wire struct {
	Payload     *string          `json:"payload"`
	PayloadType *string          `json:"payloadType"`
	Signatures  []*WireSignature `json:"signatures"`
}

// WireSignature is one member of Wire.Signatures.
type WireSignature struct {
	Sig   *string `json:"sig"`
	KeyID string  `json:"keyid"`
}

// Parse decodes a JSON envelope strictly: at most MaxEnvelopeSize bytes,
// valid UTF-8, no duplicate or case-variant keys, payload, payloadType,
// signatures and every sig present and of the right type, at most
// MaxSignatures signatures, and nothing after the object. Unknown members
// are ignored, as envelope.md requires of consumers; use ParseStrict to
// refuse them. A missing keyid is the same as an empty one.
//
// Base64 values may use the standard or the URL-safe alphabet, padded or
// not (protocol.md: "verifiers MUST accept either"); see DecodeBase64.
func Parse(b []byte) (*Envelope, error) {
	return parse(b, true)
}

// ParseStrict is Parse that also refuses members envelope.md does not
// define, as protojson does for the envelope inside a Sigstore bundle.
func ParseStrict(b []byte) (*Envelope, error) {
	return parse(b, false)
}

func parse(b []byte, allowUnknown bool) (*Envelope, error) {
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxEnvelopeSize)
	}
	var w Wire
	lim := strictjson.Limits{MaxBytes: MaxEnvelopeSize, MaxDepth: 8, AllowUnknownFields: allowUnknown}
	if err := strictjson.Decode(b, &w, lim); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return w.Decode()
}

// Decode checks that the required members are present, at most
// MaxSignatures signatures, and decodes the base64 values (see Parse).
func (w *Wire) Decode() (*Envelope, error) {
	switch {
	case w.Payload == nil:
		return nil, fmt.Errorf("%w: missing payload", ErrMalformed)
	case w.PayloadType == nil:
		return nil, fmt.Errorf("%w: missing payloadType", ErrMalformed)
	case w.Signatures == nil:
		return nil, fmt.Errorf("%w: missing signatures", ErrMalformed)
	case len(w.Signatures) > MaxSignatures:
		return nil, fmt.Errorf("%w: %d signatures, limit %d", ErrTooLarge, len(w.Signatures), MaxSignatures)
	}
	payload, err := DecodeBase64(*w.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	e := &Envelope{PayloadType: *w.PayloadType, Payload: payload, Signatures: []Signature{}}
	for i, s := range w.Signatures {
		if s == nil || s.Sig == nil {
			return nil, fmt.Errorf("%w: signatures[%d]: missing sig", ErrMalformed, i)
		}
		sig, err := DecodeBase64(*s.Sig)
		if err != nil {
			return nil, fmt.Errorf("%w: signatures[%d].sig: %w", ErrMalformed, i, err)
		}
		e.Signatures = append(e.Signatures, Signature{KeyID: s.KeyID, Sig: sig})
	}
	return e, nil
}

// DecodeBase64 decodes s in the standard or the URL-safe base64 alphabet,
// with or without padding, as protojson does for bytes fields. Mixing the
// two alphabets, whitespace and non-zero padding bits are refused.
func DecodeBase64(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %w", err)
	}
	return b, nil
}

// MarshalJSON writes the envelope in the member order of envelope.proto
// (payload, payloadType, signatures; sig, keyid) with standard padded
// base64. keyid is omitted when empty.
func (e *Envelope) MarshalJSON() ([]byte, error) {
	type sig struct {
		Sig   string `json:"sig"`
		KeyID string `json:"keyid,omitempty"`
	}
	out := struct {
		Payload     string `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []sig  `json:"signatures"`
	}{base64.StdEncoding.EncodeToString(e.Payload), e.PayloadType, make([]sig, 0, len(e.Signatures))}
	for _, s := range e.Signatures {
		out.Signatures = append(out.Signatures, sig{base64.StdEncoding.EncodeToString(s.Sig), s.KeyID})
	}
	return json.Marshal(out)
}
