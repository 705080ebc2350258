// Package dsse implements the Dead Simple Signing Envelope (DSSE) protocol v1
// (https://github.com/secure-systems-lab/dsse, protocol.md and envelope.md):
// the pre-authentication encoding (PAE), a strict parser for the JSON
// envelope, and signing and threshold verification over two small interfaces.
//
// The package uses the standard library only. Signature algorithms are the
// caller's business: a Signer signs the PAE bytes, a Verifier checks them.
package dsse

import (
	"errors"
	"fmt"
	"strconv"
)

// Errors returned by this package. Verification failures wrap ErrVerify.
var (
	ErrMalformed    = errors.New("malformed dsse envelope")
	ErrTooLarge     = errors.New("dsse envelope too large")
	ErrVerify       = errors.New("dsse verification failed")
	ErrPayloadType  = errors.New("unsupported dsse payload type")
	ErrThreshold    = errors.New("dsse signature threshold not met")
	ErrNoSignatures = errors.New("dsse envelope has no signatures")
	ErrDuplicateKey = errors.New("duplicate verifier key id")
)

// Limits on what Parse accepts.
const (
	// MaxEnvelopeSize is the largest JSON envelope Parse reads.
	MaxEnvelopeSize = 8 << 20
	// MaxSignatures is the largest number of signatures in one envelope.
	MaxSignatures = 64
)

// Envelope is a decoded DSSE envelope: the bytes are the decoded payload
// and signatures, not their base64 text.
type Envelope struct {
	PayloadType string
	Payload     []byte
	Signatures  []Signature
}

// Signature is one signature of an envelope. KeyID is an unauthenticated
// hint; it never decides whether a signature is accepted.
type Signature struct {
	KeyID string
	Sig   []byte
}

// PAE returns the pre-authentication encoding that DSSE signs:
//
//	"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//
// where LEN is the decimal byte length without leading zeros.
func PAE(payloadType string, payload []byte) []byte {
	b := make([]byte, 0, len(payloadType)+len(payload)+32)
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

// Signer signs PAE bytes with one key.
type Signer interface {
	// Sign returns the signature of data.
	Sign(data []byte) ([]byte, error)
	// KeyID returns the hint stored beside the signature ("" for none).
	KeyID() string
}

// Verifier checks signatures made by one key.
type Verifier interface {
	// Verify returns nil when sig is a valid signature of data.
	Verify(data, sig []byte) error
	// KeyID identifies the key; verifiers passed together must have
	// distinct, non-empty ids derived from the key material, because
	// thresholds count distinct ids.
	KeyID() string
}

// Sign signs payload as payloadType with every signer, in order.
func Sign(payloadType string, payload []byte, signers ...Signer) (*Envelope, error) {
	if len(signers) == 0 {
		return nil, errors.New("dsse: no signers")
	}
	pae := PAE(payloadType, payload)
	e := &Envelope{PayloadType: payloadType, Payload: payload}
	for _, s := range signers {
		sig, err := s.Sign(pae)
		if err != nil {
			return nil, fmt.Errorf("dsse: signing: %w", err)
		}
		e.Signatures = append(e.Signatures, Signature{KeyID: s.KeyID(), Sig: sig})
	}
	return e, nil
}

// Verify checks e per the DSSE multi-signature protocol: it accepts the
// envelope when signatures from at least threshold distinct verifiers check
// out over the PAE and the payload type is one of payloadTypes. Failing
// signatures are skipped; each verifier counts once however many
// signatures it verifies. It returns the key ids of the verifiers that
// accepted a signature, in the order of vs.
func Verify(e *Envelope, payloadTypes []string, threshold int, vs ...Verifier) ([]string, error) {
	if threshold < 1 || threshold > len(vs) {
		return nil, fmt.Errorf("dsse: threshold %d out of range for %d verifiers", threshold, len(vs))
	}
	if err := distinctIDs(vs); err != nil {
		return nil, err
	}
	if len(e.Signatures) == 0 {
		return nil, ErrNoSignatures
	}
	accepted := acceptedKeys(e, vs)
	if len(accepted) < threshold {
		return nil, fmt.Errorf("%w: %w: got %d valid of %d signatures, want %d distinct keys",
			ErrVerify, ErrThreshold, len(accepted), len(e.Signatures), threshold)
	}
	if !contains(payloadTypes, e.PayloadType) {
		return nil, fmt.Errorf("%w: %w: got %q, want one of %q", ErrVerify, ErrPayloadType, e.PayloadType, payloadTypes)
	}
	return accepted, nil
}

func acceptedKeys(e *Envelope, vs []Verifier) []string {
	pae := PAE(e.PayloadType, e.Payload)
	var ids []string
	for _, v := range vs {
		for _, s := range e.Signatures {
			if v.Verify(pae, s.Sig) == nil {
				ids = append(ids, v.KeyID())
				break
			}
		}
	}
	return ids
}

func distinctIDs(vs []Verifier) error {
	seen := make(map[string]bool, len(vs))
	for _, v := range vs {
		id := v.KeyID()
		if id == "" || seen[id] {
			return fmt.Errorf("dsse: %w: %q", ErrDuplicateKey, id)
		}
		seen[id] = true
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
