package keyring

import (
	"errors"
	"fmt"
	"slices"
)

// Validate checks the rules of spec/package.md §1 and reports every
// violation found, joined, each wrapping ErrInvalid.
func (d *Document) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if d.MediaType != MediaType {
		add(invalid("mediaType", "%q, want %q", d.MediaType, MediaType))
	}
	add(d.validateHeader())
	switch n := len(d.Keys); {
	case n == 0:
		add(invalid("keys", "empty"))
	case n > MaxKeys:
		add(invalid("keys", "%d keys, limit %d", n, MaxKeys))
	}
	seen := map[string]bool{}
	for i := range d.Keys {
		path := fmt.Sprintf("keys[%d]", i)
		add(d.Keys[i].validate(path))
		if seen[d.Keys[i].ID] {
			add(invalid(path+".id", "%s listed twice", d.Keys[i].ID))
		}
		seen[d.Keys[i].ID] = true
	}
	if roots := d.activeRoots(); d.RootThreshold > len(roots) {
		add(invalid("rootThreshold", "%d, but only %d unrevoked root keys", d.RootThreshold, len(roots)))
	}
	add(d.validateAnchors())
	return errors.Join(errs...)
}

func (d *Document) validateHeader() error {
	var errs []error
	if d.Version < 1 {
		errs = append(errs, invalid("version", "%d, want >= 1", d.Version))
	}
	switch {
	case d.Version == 1 && d.Previous != nil:
		errs = append(errs, invalid("previous", "version 1 has no previous version, want null"))
	case d.Version > 1 && (d.Previous == nil || !isDigest(*d.Previous)):
		errs = append(errs, invalid("previous", "want the sha256:<hex> digest of version %d's envelope", d.Version-1))
	}
	if _, err := parseTime("issuedAt", d.IssuedAt); err != nil {
		errs = append(errs, err)
	}
	if d.RootThreshold < 1 {
		errs = append(errs, invalid("rootThreshold", "%d, want >= 1", d.RootThreshold))
	}
	return errors.Join(errs...)
}

// activeRoots returns the root keys without a revocation.
func (d *Document) activeRoots() []*Key {
	var out []*Key
	for _, k := range d.KeysWithRole(RoleRoot) {
		if !k.Revoked() {
			out = append(out, k)
		}
	}
	return out
}

func (k *Key) validate(path string) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(k.validateKey(path))
	add(validateRoles(path+".roles", k.Roles))
	if k.Owner.Name == "" || k.Owner.PersonID == "" || k.Owner.Team == "" {
		add(invalid(path+".owner", "name, personId and team are required"))
	}
	add(k.validateTimes(path))
	return errors.Join(errs...)
}

// validateKey checks id, algorithm, publicKey and noteVerifierKey.
func (k *Key) validateKey(path string) error {
	pub, err := parsePublicPEM([]byte(k.PublicKey))
	if err != nil {
		return invalid(path+".publicKey", "%v", err)
	}
	if fp := Fingerprint(pub); k.ID != fp {
		return invalid(path+".id", "%q, want %q (fingerprint of publicKey)", k.ID, fp)
	}
	if alg := algorithmOf(pub); alg == "" || k.Algorithm != alg {
		return invalid(path+".algorithm", "%q, key is %q (want ecdsa-p256 or ed25519)", k.Algorithm, alg)
	}
	switch {
	case k.HasRole(RoleLog) && k.Algorithm != "ed25519":
		return invalid(path+".algorithm", "a log key must be ed25519")
	case k.HasRole(RoleLog) && k.NoteVerifierKey == "":
		return invalid(path+".noteVerifierKey", "required for a log key")
	case k.HasRole(RoleLog):
		return checkNoteKey(path+".noteVerifierKey", k.NoteVerifierKey, pub)
	case k.NoteVerifierKey != "":
		return invalid(path+".noteVerifierKey", "only log keys carry one")
	}
	return nil
}

func validateRoles(path string, rs []string) error {
	if len(rs) == 0 {
		return invalid(path, "empty")
	}
	for i, r := range rs {
		if !slices.Contains(roles, r) {
			return invalid(fmt.Sprintf("%s[%d]", path, i), "%q, want one of %q", r, roles)
		}
		if i > 0 && rs[i-1] >= r {
			return invalid(path, "not sorted and unique: %q", rs)
		}
	}
	return nil
}

func (k *Key) validateTimes(path string) error {
	from, err := parseTime(path+".validFrom", k.ValidFrom)
	if err != nil {
		return err
	}
	if k.ValidUntil != nil {
		until, err := parseTime(path+".validUntil", *k.ValidUntil)
		if err != nil {
			return err
		}
		if !until.After(from) {
			return invalid(path+".validUntil", "%s is not after validFrom %s", *k.ValidUntil, k.ValidFrom)
		}
	}
	if r := k.Revocation; r != nil {
		if _, err := parseTime(path+".revocation.at", r.At); err != nil {
			return err
		}
		if !slices.Contains(reasons, r.Reason) {
			return invalid(path+".revocation.reason", "%q, want one of %q", r.Reason, reasons)
		}
	}
	return nil
}
