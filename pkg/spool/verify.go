package spool

import (
	"bytes"
	"crypto"
	"fmt"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// Keys resolves the key that signed a record or the spool document (by
// fingerprint, SHA256:<base64>) to a verifier, or refuses the key.
type Keys interface {
	Verifier(keyID string) (signature.Verifier, error)
}

// KeySet trusts a fixed set of public keys.
type KeySet map[string]signature.Verifier

// NewKeySet returns a KeySet of pubs.
func NewKeySet(pubs ...crypto.PublicKey) (KeySet, error) {
	s := KeySet{}
	for _, p := range pubs {
		v, err := keys.NewVerifier(p)
		if err != nil {
			return nil, err
		}
		s[keys.Fingerprint(p)] = v
	}
	return s, nil
}

// Verifier implements Keys.
func (s KeySet) Verifier(id string) (signature.Verifier, error) {
	if v, ok := s[id]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("%w: key %s is not trusted", ErrUntrusted, id)
}

// KeyringKeys trusts the keys the newest keyring version lists with one of
// roles (default producer) and does not revoke.
func KeyringKeys(doc *keyring.Document, roles ...string) Keys {
	if len(roles) == 0 {
		roles = []string{keyring.RoleProducer}
	}
	return keyringKeys{doc: doc, roles: roles}
}

type keyringKeys struct {
	doc   *keyring.Document
	roles []string
}

func (k keyringKeys) Verifier(id string) (signature.Verifier, error) {
	key, ok := k.doc.Key(id)
	if !ok {
		return nil, fmt.Errorf("%w: key %s is not in keyring version %d", ErrUntrusted, id, k.doc.Version)
	}
	if key.Revoked() {
		return nil, fmt.Errorf("%w: key %s is revoked in keyring version %d", ErrUntrusted, id, k.doc.Version)
	}
	for _, r := range k.roles {
		if key.HasRole(r) {
			return key.Verifier()
		}
	}
	return nil, fmt.Errorf("%w: key %s lacks the role %v in keyring version %d", ErrUntrusted, id, k.roles, k.doc.Version)
}

// Verified is a spool tar whose document and records all verified.
type Verified struct {
	*Tar
	// Records are the verified records, in spool order.
	Records []*verify.Record
	// PackerKey is the fingerprint that signed the document.
	PackerKey string
}

// Verify checks the spool document's signature and every record (SPEC.md
// "Verifying one record", against its run root) with keys. Any failure
// rejects the whole spool.
func Verify(t *Tar, k Keys) (*Verified, error) {
	if len(t.Envelope.Signatures) != 1 {
		return nil, fmt.Errorf("%w: the spool document has %d signatures, want 1", ErrUntrusted, len(t.Envelope.Signatures))
	}
	id := t.Envelope.Signatures[0].KeyID
	sv, err := k.Verifier(id)
	if err != nil {
		return nil, fmt.Errorf("spool document: %w", err)
	}
	if _, err := dsse.Verify(t.Envelope, []string{DocumentMediaType}, 1, &dsseVerifier{id: id, v: sv}); err != nil {
		return nil, fmt.Errorf("%w: spool document: %v", ErrUntrusted, err)
	}
	v := &Verified{Tar: t, PackerKey: id}
	for _, it := range t.Items {
		rec, err := verifyItem(it, k)
		if err != nil {
			return nil, fmt.Errorf("record %d (%s): %w", it.Entry.Seq, it.Entry.Record, err)
		}
		v.Records = append(v.Records, rec)
	}
	return v, nil
}

func verifyItem(it *Item, k Keys) (*verify.Record, error) {
	b, err := bundle.Parse(it.Bundle)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTar, err)
	}
	sv, err := k.Verifier(b.KeyID())
	if err != nil {
		return nil, err
	}
	kind, _ := record.LookupKind(it.Entry.Kind)
	rec, err := verify.VerifyRecord(it.Bundle, sv, verify.RecordOptions{
		RunID: it.Root.Registration.RunID, RunRoot: it.Root.Digest(), PredicateType: kind.PredicateType})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	return rec, nil
}

// dsseVerifier adapts a sigstore verifier to dsse.Verifier.
type dsseVerifier struct {
	id string
	v  signature.Verifier
}

func (d *dsseVerifier) Verify(data, sig []byte) error {
	return d.v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(data))
}
func (d *dsseVerifier) KeyID() string { return d.id }
