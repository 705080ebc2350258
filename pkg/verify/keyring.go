package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/keyring"
)

// maxKeyringBytes bounds the whole keyring chain a package may carry.
const maxKeyringBytes = 64 << 20

// ErrUnknownKey: a signature names a key that no keyring version lists.
var ErrUnknownKey = errors.New("key not in the keyring")

// ErrRole: a key signed something its roles do not allow.
var ErrRole = errors.New("key lacks the role")

// ErrSignature: a signature does not verify.
var ErrSignature = errors.New("signature does not verify")

// checkKeyring implements spec/package.md §4 step 4:
//
//	> `keyring` — version 1's document hashes to the pinned fingerprint;
//	> each later version's `previous` is the digest of the one before and it
//	> carries ≥ `rootThreshold` valid signatures by distinct root keys of the
//	> previous version; versions contiguous.
func (s *pkgState) checkKeyring() bool {
	envs := make([][]byte, 0, len(s.meta.Keyrings))
	var total int64
	for _, d := range s.meta.Keyrings {
		if total += d.Size; total > maxKeyringBytes {
			s.c.failf(FailKeyring, "4", d.Digest, "keyring versions exceed %d bytes in total", maxKeyringBytes)
			return false
		}
		b, err := s.blob(d.Digest, keyring.MaxEnvelopeBytes)
		if err != nil {
			s.c.failf(FailKeyring, "4", d.Digest, "keyring envelope: %v", err)
			return false
		}
		envs = append(envs, b)
	}
	chain, err := keyring.VerifyChain(s.opts.RootFingerprint, envs...)
	if err != nil {
		s.c.fail(fail(FailKeyring, "4", err), "")
		return false
	}
	kr := &keyringState{chain: chain, pubs: map[string]crypto.PublicKey{}}
	for _, v := range chain.Versions {
		kr.digests = append(kr.digests, v.Digest)
		if !s.profile.additions030 && (len(v.Document.TimestampAuthorities) > 0 || v.Document.WitnessPolicy != "") {
			s.c.failf(FailKeyring, "4", v.Digest, "keyring version %d has an anchor trust root (timestampAuthorities, witnessPolicy), which specVersion %s does not define (added in 0.3.0)", v.Document.Version, s.profile.version)
			return false
		}
		if err := kr.addKeys(v.Document); err != nil {
			s.c.fail(fail(FailKeyring, "4", err), v.Digest)
			return false
		}
		s.c.res.Summary.Keyring = append(s.c.res.Summary.Keyring, KeyringSummary{Version: v.Document.Version,
			Digest: v.Digest, IssuedAt: v.Document.IssuedAt, Keys: len(v.Document.Keys)})
	}
	s.keyring = kr
	s.c.pass("4", FailKeyring, s.opts.RootFingerprint, fmt.Sprintf("%d keyring versions chain from the pinned root", len(chain.Versions)))
	return true
}

// keyringState is the verified keyring chain with parsed public keys.
type keyringState struct {
	chain   *keyring.Chain
	digests []string
	pubs    map[string]crypto.PublicKey
}

func (k *keyringState) addKeys(d *keyring.Document) error {
	for i := range d.Keys {
		key := &d.Keys[i]
		if _, done := k.pubs[key.ID]; done {
			continue
		}
		pub, err := key.Public()
		if err != nil {
			return fmt.Errorf("key %s: %w", key.ID, err)
		}
		k.pubs[key.ID] = pub
	}
	return nil
}

// hasRole reports whether any keyring version lists key id with one of roles.
func (k *keyringState) hasRole(id string, roles []string) bool {
	for _, st := range k.chain.Lookup(id) {
		for _, r := range roles {
			if st.Key.HasRole(r) {
				return true
			}
		}
	}
	return false
}

// logVerifier returns the note verifier of the newest log key.
func (k *keyringState) logVerifier() (note.Verifier, error) {
	keys := k.chain.Latest().KeysWithRole(keyring.RoleLog)
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no %s key in the newest keyring version", ErrUnknownKey, keyring.RoleLog)
	}
	return note.NewVerifier(keys[0].NoteVerifierKey)
}

// verifySig checks sig over msg with pub: ECDSA P-256 over SHA-256 as
// exactly one ASN.1 DER SEQUENCE of two INTEGERs, or Ed25519.
func verifySig(pub crypto.PublicKey, msg, sig []byte) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if !isDER(sig) {
			return fmt.Errorf("%w: ecdsa signature is not ASN.1 DER", ErrSignature)
		}
		h := sha256.Sum256(msg)
		if !ecdsa.VerifyASN1(k, h[:], sig) {
			return ErrSignature
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(k, msg, sig) {
			return ErrSignature
		}
	default:
		return fmt.Errorf("%w: unsupported key type %T", ErrSignature, pub)
	}
	return nil
}

func isDER(sig []byte) bool {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &rs)
	return err == nil && len(rest) == 0
}
