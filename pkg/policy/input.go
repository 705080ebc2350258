package policy

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/record"
)

// Input is what a verifier already verified about one run.
type Input struct {
	Policy *Policy
	// RunID is the run evaluated; records of other runs are ignored.
	RunID string
	// Records are verified records (signature, inclusion, key validity),
	// any order; records whose runId is not RunID are ignored.
	Records []Record
	// Keys answers which key was in force at a log index.
	Keys KeyView
	// At is the evaluation time: an approval whose expiresAt is not after
	// At no longer counts.
	At time.Time
	// Release applies the policy's release rules even when the run has no
	// model-release record (an export or a verification summary for a
	// release about to happen).
	Release bool
}

// Record is one verified record.
type Record struct {
	// Digest is the record's identity: the digest string of its bundle.
	Digest string
	// Kind is the record kind name ("evaluation").
	Kind string
	// LogIndex is the record's leaf index in the log.
	LogIndex uint64
	// Signer is the fingerprint of the key that signed it (bundle hint,
	// after the signature verified).
	Signer string
	// Predicate is the parsed, validated predicate (*record.Approval, ...).
	Predicate record.Predicate
}

// KeyState is a key as the keyring in force at some log index lists it.
type KeyState struct {
	Fingerprint string
	// Material identifies the public key itself (key material), whatever
	// id or encoding names it: see KeyMaterial.
	Material string
	Roles    []string
	Owner    keyring.Owner
}

// KeyView answers, for a key fingerprint and a log index, the key's state
// in the keyring in force there; an error wrapping keyring.ErrKeyNotValid
// when the key was not listed, revoked, or compromised before the index.
type KeyView interface {
	KeyAt(fingerprint string, logIndex uint64) (KeyState, error)
}

// ChainView is the KeyView of a verified keyring chain whose version i+1
// was logged at Indices[i] (SPEC.md §3.11, the rule of
// keyring.Chain.KeyValidAt).
type ChainView struct {
	Chain   *keyring.Chain
	Indices []uint64
}

// KeyAt implements KeyView.
func (v ChainView) KeyAt(id string, index uint64) (KeyState, error) {
	if len(v.Indices) != len(v.Chain.Versions) {
		return KeyState{}, fmt.Errorf("%w: %d log indices for %d keyring versions", keyring.ErrChain, len(v.Indices), len(v.Chain.Versions))
	}
	var current *keyring.Key
	known := false
	for i, ver := range v.Chain.Versions {
		if v.Indices[i] >= index {
			break
		}
		known, current = true, nil
		if k, ok := ver.Document.Key(id); ok {
			current = k
			if k.Revocation != nil && k.Revocation.Reason == "compromised" {
				return KeyState{}, fmt.Errorf("%w: %s marked compromised by keyring version %d (log index %d)", keyring.ErrKeyNotValid, id, i+1, v.Indices[i])
			}
		}
	}
	switch {
	case !known:
		return KeyState{}, fmt.Errorf("%w: no keyring version logged before log index %d", keyring.ErrKeyNotValid, index)
	case current == nil:
		return KeyState{}, fmt.Errorf("%w: %s is not listed by the keyring in force at log index %d", keyring.ErrKeyNotValid, id, index)
	case current.Revocation != nil:
		return KeyState{}, fmt.Errorf("%w: %s revoked (%s) before log index %d", keyring.ErrKeyNotValid, id, current.Revocation.Reason, index)
	}
	return stateOf(current)
}

func stateOf(k *keyring.Key) (KeyState, error) {
	pub, err := k.Public()
	if err != nil {
		return KeyState{}, err
	}
	m, err := KeyMaterial(pub)
	if err != nil {
		return KeyState{}, err
	}
	return KeyState{Fingerprint: k.ID, Material: m, Roles: k.Roles, Owner: k.Owner}, nil
}

// ErrKeyType: a public key of a type Dossier does not use.
var ErrKeyType = errors.New("unsupported public key type")

// KeyMaterial names a public key by its material, independent of its
// encoding: "ecdsa-p256:<hex sha256 of the uncompressed point>" or
// "ed25519:<hex sha256 of the 32 bytes>". Two ids that name the same key
// have the same material.
func KeyMaterial(pub any) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		e, err := k.ECDH()
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrKeyType, err)
		}
		sum := sha256.Sum256(e.Bytes())
		return "ecdsa-" + curveName(k) + ":" + hex.EncodeToString(sum[:]), nil
	case ed25519.PublicKey:
		sum := sha256.Sum256(k)
		return "ed25519:" + hex.EncodeToString(sum[:]), nil
	}
	return "", fmt.Errorf("%w: %T", ErrKeyType, pub)
}

func curveName(k *ecdsa.PublicKey) string {
	switch k.Curve.Params().BitSize {
	case 256:
		return "p256"
	case 384:
		return "p384"
	}
	return "p521"
}

// run returns the records of the run, in log order, and the digests of
// records whose predicate does not have the type of their kind (dropped).
func (in *Input) run() (recs []Record, mistyped []string) {
	for _, r := range in.Records {
		if r.Predicate == nil || !typed(r) {
			mistyped = append(mistyped, r.Digest)
			continue
		}
		if r.Predicate.CommonFields().RunID == in.RunID {
			recs = append(recs, r)
		}
	}
	sortByIndex(recs)
	return recs, mistyped
}

// typed reports whether the predicate has the Go type of its kind, for the
// kinds Evaluate reads beyond the common fields.
func typed(r Record) bool {
	ok := true
	switch r.Kind {
	case "approval":
		_, ok = r.Predicate.(*record.Approval)
	case "evaluation-plan":
		_, ok = r.Predicate.(*record.EvaluationPlan)
	case "evaluation":
		_, ok = r.Predicate.(*record.Evaluation)
	}
	return ok
}
