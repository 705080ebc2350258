package bundle

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Verify parses b (see Parse) and checks it against the verifier's key,
// which must be ECDSA P-256 or Ed25519 (ErrKey):
//
//  1. the hint and the DSSE keyid, when set, equal keys.Fingerprint of the
//     verifier's public key (ErrWrongKey);
//  2. for ECDSA keys the signature is one ASN.1 DER SEQUENCE of two
//     integers and nothing else (ErrSignature);
//  3. the signature verifies over PAE(payloadType, payload) (ErrSignature).
//
// It returns the bundle; its Payload is the authenticated statement bytes,
// which the caller must use as they are, never re-reading them from b.
func Verify(b []byte, v signature.Verifier) (*Bundle, error) {
	bun, err := Parse(b)
	if err != nil {
		return nil, err
	}
	pub, err := keys.PublicKey(context.Background(), v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	if _, err := keys.AlgorithmOf(pub); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	fp := keys.Fingerprint(pub)
	if err := checkKeyIDs(bun, fp); err != nil {
		return nil, err
	}
	sig := bun.Signature()
	if _, isEC := pub.(*ecdsa.PublicKey); isEC && !isDER(sig) {
		return nil, fmt.Errorf("%w: ecdsa signature is not ASN.1 DER", ErrSignature)
	}
	pae := dsse.PAE(bun.Envelope.PayloadType, bun.Envelope.Payload)
	if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(pae)); err != nil {
		return nil, fmt.Errorf("%w: key %s: %w", ErrSignature, fp, err)
	}
	return bun, nil
}

func checkKeyIDs(b *Bundle, fp string) error {
	if b.KeyHint != "" && b.KeyHint != fp {
		return fmt.Errorf("%w: publicKey.hint %q, verifier key %q", ErrWrongKey, b.KeyHint, fp)
	}
	if id := b.Envelope.Signatures[0].KeyID; id != "" && id != fp {
		return fmt.Errorf("%w: dsse keyid %q, verifier key %q", ErrWrongKey, id, fp)
	}
	return nil
}

// isDER reports whether sig is exactly one DER SEQUENCE of two INTEGERs
// (encoding/asn1 refuses BER forms and returns any trailing bytes).
func isDER(sig []byte) bool {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &rs)
	return err == nil && len(rest) == 0
}
