package keyring

import (
	"fmt"
	"slices"
	"time"
)

// Reasons a key is revoked (SPEC.md §3.11). Compromised voids the key for
// every record logged after the version that says so, and is never undone;
// retired and departed keep the key valid for records logged before the
// revoking version, and void it for later ones.
const (
	ReasonCompromised = "compromised"
	ReasonRetired     = "retired"
	ReasonDeparted    = "departed"
)

// Next returns the draft of the version after prev: a deep copy of prev's
// document with version+1, previous = prev's envelope digest and issuedAt
// = at. The caller changes it (AddKeys, RotateRoots, Revoke), then has it
// signed by prev's rootThreshold root keys (VerifyNext checks that).
func Next(prev *Version, at time.Time) *Document {
	d := prev.Document.clone()
	d.Version = prev.Document.Version + 1
	digest := prev.Digest
	d.Previous = &digest
	d.IssuedAt = at.UTC().Format(time.RFC3339Nano)
	return d
}

// clone deep-copies the document (keys, roles, revocations, anchors).
func (d *Document) clone() *Document {
	c := *d
	c.Keys = make([]Key, len(d.Keys))
	for i, k := range d.Keys {
		k.Roles = slices.Clone(k.Roles)
		if k.ValidUntil != nil {
			u := *k.ValidUntil
			k.ValidUntil = &u
		}
		if k.Revocation != nil {
			r := *k.Revocation
			k.Revocation = &r
		}
		c.Keys[i] = k
	}
	c.TimestampAuthorities = slices.Clone(d.TimestampAuthorities)
	return &c
}

// AddKeys appends keys to the document; a key whose id the document
// already lists is an ErrInvalid (one key, one entry: change its roles by
// rotation or revocation, never by listing it twice).
func (d *Document) AddKeys(keys ...Key) error {
	for _, k := range keys {
		if _, ok := d.Key(k.ID); ok {
			return invalid("keys", "%s is already listed", k.ID)
		}
		d.Keys = append(d.Keys, k)
	}
	return nil
}

// RotateRoots replaces the root keys, as TUF does: every current unrevoked
// root key whose id is not in keep stops being a root key from this
// version on (a key that held only the root role is revoked as retired at
// at; a key with other roles keeps those and loses the root role); the
// keys of newRoots (which must hold the root role) are added; the root
// threshold becomes threshold. The document still has to be signed by
// the previous version's threshold of previous roots.
func (d *Document) RotateRoots(newRoots []Key, keep []string, threshold int, at time.Time) error {
	for _, id := range keep {
		if k, ok := d.Key(id); !ok || !k.HasRole(RoleRoot) || k.Revoked() {
			return invalid("keys", "keep %s: not an unrevoked root key of the previous version", id)
		}
	}
	stamp := at.UTC().Format(time.RFC3339Nano)
	for _, k := range d.activeRoots() {
		switch {
		case slices.Contains(keep, k.ID):
		case len(k.Roles) == 1:
			k.Revocation = &Revocation{At: stamp, Reason: ReasonRetired, Note: "root key rotated out"}
		default:
			k.Roles = slices.DeleteFunc(k.Roles, func(r string) bool { return r == RoleRoot })
		}
	}
	for _, k := range newRoots {
		if !k.HasRole(RoleRoot) {
			return invalid("keys", "new root %s lacks the root role", k.ID)
		}
	}
	if err := d.AddKeys(newRoots...); err != nil {
		return err
	}
	d.RootThreshold = threshold
	return nil
}

// Revoke marks key id revoked at the stated time with reason (compromised,
// retired or departed) and an optional note. A key already revoked may
// only be re-marked compromised (a retired key found compromised later);
// compromise is never undone. The stated time is advisory: validity is
// judged by the log position of this version (SPEC.md §3.11).
func (d *Document) Revoke(id, reason string, at time.Time, note string) error {
	if !slices.Contains(reasons, reason) {
		return invalid("revocation.reason", "%q, want one of %q", reason, reasons)
	}
	k, ok := d.Key(id)
	switch {
	case !ok:
		return invalid("keys", "%s is not listed by version %d", id, d.Version-1)
	case k.Revocation != nil && (k.Revocation.Reason == ReasonCompromised || reason != ReasonCompromised):
		return invalid("keys", "%s is already revoked (%s at %s)", id, k.Revocation.Reason, k.Revocation.At)
	}
	k.Revocation = &Revocation{At: at.UTC().Format(time.RFC3339Nano), Reason: reason, Note: note}
	return nil
}

// RevokePerson revokes every unrevoked key whose owner's personId is
// person (a person who left signs nothing new) and returns their ids; no
// such key is an ErrInvalid.
func (d *Document) RevokePerson(person, reason string, at time.Time, note string) ([]string, error) {
	var ids []string
	for i := range d.Keys {
		if k := &d.Keys[i]; k.Owner.PersonID == person && !k.Revoked() {
			ids = append(ids, k.ID)
		}
	}
	if len(ids) == 0 {
		return nil, invalid("keys", "no unrevoked key of person %q", person)
	}
	for _, id := range ids {
		if err := d.Revoke(id, reason, at, note); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// Change is what one keyring version changed relative to the previous
// one, for people reading the history (REPORT.html, 'keyring history').
type Change struct {
	Version       int      `json:"version"`
	IssuedAt      string   `json:"issuedAt"`
	Digest        string   `json:"digest"`
	SignedBy      []string `json:"signedBy"`
	RootThreshold int      `json:"rootThreshold"`
	Added         []string `json:"added,omitempty"`
	Removed       []string `json:"removed,omitempty"`
	RolesChanged  []string `json:"rolesChanged,omitempty"`
	Revoked       []string `json:"revoked,omitempty"`
	Roots         []string `json:"roots"`
}

// History lists the chain's versions with what each changed: keys added
// and removed, roles changed, revocations ("<id> <reason> at <time>") and
// the unrevoked root keys after the version.
func (c *Chain) History() []Change {
	out := make([]Change, len(c.Versions))
	var prev *Document
	for i, v := range c.Versions {
		d := v.Document
		ch := Change{Version: d.Version, IssuedAt: d.IssuedAt, Digest: v.Digest, SignedBy: v.Signatures(), RootThreshold: d.RootThreshold}
		for _, k := range d.Keys {
			ch.diff(prev, k)
		}
		if prev != nil {
			for _, k := range prev.Keys {
				if _, ok := d.Key(k.ID); !ok {
					ch.Removed = append(ch.Removed, k.ID)
				}
			}
		}
		for _, k := range d.activeRoots() {
			ch.Roots = append(ch.Roots, k.ID)
		}
		out[i], prev = ch, d
	}
	return out
}

func (ch *Change) diff(prev *Document, k Key) {
	var old *Key
	if prev != nil {
		old, _ = prev.Key(k.ID)
	}
	if old == nil {
		ch.Added = append(ch.Added, k.ID)
	} else if !slices.Equal(old.Roles, k.Roles) {
		ch.RolesChanged = append(ch.RolesChanged, fmt.Sprintf("%s %v -> %v", k.ID, old.Roles, k.Roles))
	}
	if r := k.Revocation; r != nil && (old == nil || old.Revocation == nil || old.Revocation.Reason != r.Reason) {
		ch.Revoked = append(ch.Revoked, fmt.Sprintf("%s %s at %s", k.ID, r.Reason, r.At))
	}
}
