package keyring

import (
	"errors"
	"fmt"
	"sort"

	"github.com/dossier-audit/dossier/pkg/dsse"
)

// MaxVersions bounds a chain.
const MaxVersions = 10000

// Chain is a verified keyring chain, versions in order (Versions[i] is
// version i+1).
type Chain struct {
	Versions []*Version
}

// Latest returns the newest document of the chain.
func (c *Chain) Latest() *Document { return c.Versions[len(c.Versions)-1].Document }

// KeyState is a key as one keyring version lists it.
type KeyState struct {
	Version int
	Key     *Key
}

// Lookup returns the key with this fingerprint id as every version that
// lists it does, in version order; none when no version lists it.
func (c *Chain) Lookup(id string) []KeyState {
	var out []KeyState
	for _, v := range c.Versions {
		if k, ok := v.Document.Key(id); ok {
			out = append(out, KeyState{Version: v.Document.Version, Key: k})
		}
	}
	return out
}

// VerifyChain verifies keyring version envelopes, given in version order,
// from the pinned root fingerprint (spec/package.md §1, SPEC step 4):
// version 1's document hashes to pinned and is signed by its own
// rootThreshold root keys; each later version n+1 has version n+1,
// previous = the digest of version n's envelope, and valid signatures by
// at least version n's rootThreshold distinct unrevoked root keys of
// version n. Errors are *ChainError wrapping ErrFingerprint, ErrThreshold,
// ErrChain, ErrMalformed or ErrInvalid.
func VerifyChain(pinned string, envelopes ...[]byte) (*Chain, error) {
	if len(envelopes) == 0 {
		return nil, &ChainError{Version: 1, Err: fmt.Errorf("%w: no keyring versions", ErrChain)}
	}
	if len(envelopes) > MaxVersions {
		return nil, &ChainError{Version: MaxVersions + 1, Err: fmt.Errorf("%w: more than %d versions", ErrChain, MaxVersions)}
	}
	c := &Chain{}
	for i, b := range envelopes {
		v, err := Parse(b)
		if err != nil {
			return nil, &ChainError{Version: i + 1, Err: err}
		}
		if err := c.link(pinned, v); err != nil {
			return nil, &ChainError{Version: i + 1, Err: err}
		}
		c.Versions = append(c.Versions, v)
	}
	return c, nil
}

// VerifyNext checks that next is a valid successor of the already trusted
// version prev: version prev+1, previous = prev's envelope digest, and
// signed by prev's rootThreshold distinct unrevoked root keys (for writers
// rotating a keyring; auditors use VerifyChain from the pin).
func VerifyNext(prev, next []byte) (*Version, error) {
	p, err := Parse(prev)
	if err != nil {
		return nil, &ChainError{Version: 1, Err: err}
	}
	n, err := Parse(next)
	if err != nil {
		return nil, &ChainError{Version: p.Document.Version + 1, Err: err}
	}
	c := &Chain{Versions: make([]*Version, p.Document.Version)}
	c.Versions[len(c.Versions)-1] = p
	if err := c.link("", n); err != nil {
		return nil, &ChainError{Version: p.Document.Version + 1, Err: err}
	}
	return n, nil
}

// link checks v as the next version of c.
func (c *Chain) link(pinned string, v *Version) error {
	want := len(c.Versions) + 1
	d := v.Document
	if d.Version != want {
		return fmt.Errorf("%w: version %d, want %d (versions must be contiguous from 1)", ErrChain, d.Version, want)
	}
	signer := d
	if want == 1 {
		if got := RootFingerprint(v.Payload); got != pinned {
			return fmt.Errorf("%w: version 1 is %s, pinned %s", ErrFingerprint, got, pinned)
		}
	} else {
		prev := c.Versions[want-2]
		if *d.Previous != prev.Digest {
			return fmt.Errorf("%w: previous %s, want %s (digest of version %d's envelope)", ErrChain, *d.Previous, prev.Digest, want-1)
		}
		signer = prev.Document
	}
	return verifySignatures(v, signer)
}

// verifySignatures checks that v carries signatures by at least
// signer.RootThreshold distinct unrevoked root keys of signer.
func verifySignatures(v *Version, signer *Document) error {
	var vs []dsse.Verifier
	for _, k := range signer.activeRoots() {
		sv, err := k.Verifier()
		if err != nil {
			return err
		}
		vs = append(vs, &keyVerifier{id: k.ID, v: sv})
	}
	if _, err := dsse.Verify(v.env, []string{MediaType}, signer.RootThreshold, vs...); err != nil {
		return fmt.Errorf("%w: need %d signatures by root keys of version %d: %v", ErrThreshold, signer.RootThreshold, signer.Version, err)
	}
	return nil
}

// KeyValidAt decides whether key id held role for a record at log index
// recordIndex (spec/package.md §1): versionIndex[i] is the log index of
// version i+1. The key must be listed with the role by the newest version
// logged before the record, and no version logged before the record may
// have marked it compromised (compromise is never undone). A key with any
// revocation in that newest version is not valid either. It returns nil or
// an error wrapping ErrKeyNotValid.
func (c *Chain) KeyValidAt(id, role string, recordIndex uint64, versionIndex []uint64) error {
	if len(versionIndex) != len(c.Versions) {
		return fmt.Errorf("%w: %d log indices for %d keyring versions", ErrChain, len(versionIndex), len(c.Versions))
	}
	var current *Key
	known := false
	for i, v := range c.Versions {
		if versionIndex[i] >= recordIndex {
			break
		}
		known = true
		k, ok := v.Document.Key(id)
		current = nil
		if ok {
			current = k
			if k.Revocation != nil && k.Revocation.Reason == "compromised" {
				return fmt.Errorf("%w: %s marked compromised by keyring version %d (log index %d)", ErrKeyNotValid, id, i+1, versionIndex[i])
			}
		}
	}
	switch {
	case !known:
		return fmt.Errorf("%w: no keyring version logged before log index %d", ErrKeyNotValid, recordIndex)
	case current == nil:
		return fmt.Errorf("%w: %s is not listed by the keyring in force at log index %d", ErrKeyNotValid, id, recordIndex)
	case !current.HasRole(role):
		return fmt.Errorf("%w: %s lacks role %q at log index %d (roles %q)", ErrKeyNotValid, id, role, recordIndex, current.Roles)
	case current.Revocation != nil:
		return fmt.Errorf("%w: %s revoked (%s) before log index %d", ErrKeyNotValid, id, current.Revocation.Reason, recordIndex)
	}
	return nil
}

// SortEnvelopes parses envelopes and returns them in version order; it is
// for callers that hold a chain as an unordered set. Duplicated versions
// are an ErrChain.
func SortEnvelopes(envelopes [][]byte) ([][]byte, error) {
	type pair struct {
		v int
		b []byte
	}
	ps := make([]pair, 0, len(envelopes))
	for _, b := range envelopes {
		v, err := Parse(b)
		if err != nil {
			return nil, err
		}
		ps = append(ps, pair{v.Document.Version, b})
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].v < ps[j].v })
	out := make([][]byte, len(ps))
	for i, p := range ps {
		if i > 0 && ps[i-1].v == p.v {
			return nil, errors.Join(ErrChain, fmt.Errorf("version %d given twice", p.v))
		}
		out[i] = p.b
	}
	return out, nil
}
