package keyring

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/keys"
)

var opsAt = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

func mustParse(t *testing.T, env []byte) *Version {
	t.Helper()
	v, err := Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestNextIsIndependent checks that Next copies the document: editing the
// draft leaves the previous version as it was.
func TestNextIsIndependent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v1 := mustParse(t, sign(t, f.doc(t, 1, ""), f.roots[0], f.roots[1]))
	d := Next(v1, opsAt)
	if d.Version != 2 || *d.Previous != v1.Digest || d.IssuedAt != "2027-03-01T12:00:00Z" {
		t.Fatalf("Next = version %d previous %v issuedAt %s", d.Version, d.Previous, d.IssuedAt)
	}
	if err := d.Revoke(d.Keys[3].ID, ReasonRetired, opsAt, ""); err != nil {
		t.Fatal(err)
	}
	d.Keys[0].Roles[0] = "changed"
	if v1.Document.Keys[3].Revocation != nil || v1.Document.Keys[0].Roles[0] != RoleRoot {
		t.Fatal("Next shares keys with the previous version")
	}
}

func TestAddKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v1 := sign(t, f.doc(t, 1, ""), f.roots[0], f.roots[1])
	d := Next(mustParse(t, v1), opsAt)
	rev := newParty(t, keys.ECDSAP256)
	if err := d.AddKeys(rev.key(t, RoleReviewer)); err != nil {
		t.Fatal(err)
	}
	if err := d.AddKeys(rev.key(t, RoleProducer)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("same key twice: got %v, want ErrInvalid", err)
	}
	v2 := sign(t, d, f.roots[1], f.roots[2])
	c, err := VerifyChain(pin(t, v1), v1, v2)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.KeyValidAt(keys.Fingerprint(rev.pub), RoleReviewer, 11, []uint64{0, 10}); err != nil {
		t.Fatalf("added reviewer after version 2: %v", err)
	}
	if err := c.KeyValidAt(keys.Fingerprint(rev.pub), RoleReviewer, 5, []uint64{0, 10}); !errors.Is(err, ErrKeyNotValid) {
		t.Fatalf("added reviewer before version 2 is logged: got %v, want ErrKeyNotValid", err)
	}
}

// TestRotateRoots rotates three roots (threshold 2) to two new roots
// (threshold 2) keeping none: version 2 must be signed by the old roots,
// version 3 by the new ones only.
func TestRotateRoots(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v1 := sign(t, f.doc(t, 1, ""), f.roots[0], f.roots[1])
	n1, n2 := newParty(t, keys.ECDSAP256), newParty(t, keys.ECDSAP256)
	d2 := Next(mustParse(t, v1), opsAt)
	if err := d2.RotateRoots([]Key{n1.key(t, RoleRoot), n2.key(t, RoleRoot)}, nil, 2, opsAt); err != nil {
		t.Fatal(err)
	}
	if err := d2.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.roots {
		if k, _ := d2.Key(keys.Fingerprint(r.pub)); k.Revocation == nil || k.Revocation.Reason != ReasonRetired {
			t.Fatalf("old root %s not retired: %+v", k.ID, k.Revocation)
		}
	}
	byNew := sign(t, d2, n1, n2)
	byOld := sign(t, d2, f.roots[0], f.roots[2])
	oneOld := sign(t, d2, f.roots[0], n1)
	d3 := Next(mustParse(t, byOld), opsAt.Add(time.Hour))
	v3New := sign(t, d3, n1, n2)
	v3Old := sign(t, d3, f.roots[0], f.roots[1])
	p := pin(t, v1)
	for _, tc := range []struct {
		name string
		envs [][]byte
		want error
	}{
		{"rotation signed by the old threshold", [][]byte{v1, byOld}, nil},
		{"next version signed by the new roots", [][]byte{v1, byOld, v3New}, nil},
		{"rotation signed by the new roots only", [][]byte{v1, byNew}, ErrThreshold},
		{"rotation below the old threshold", [][]byte{v1, oneOld}, ErrThreshold},
		{"next version signed by retired roots", [][]byte{v1, byOld, v3Old}, ErrThreshold},
		{"gap in the chain", [][]byte{v1, v3New}, ErrChain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := VerifyChain(p, tc.envs...)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRotateRootsKeepsOtherRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d1 := f.doc(t, 1, "")
	d1.Keys[0].Roles = []string{RoleReviewer, RoleRoot}
	v1 := sign(t, d1, f.roots[0], f.roots[1])
	d2 := Next(mustParse(t, v1), opsAt)
	keep := []string{d2.Keys[1].ID}
	if err := d2.RotateRoots(nil, keep, 1, opsAt); err != nil {
		t.Fatal(err)
	}
	if k := d2.Keys[0]; !slices.Equal(k.Roles, []string{RoleReviewer}) || k.Revoked() {
		t.Fatalf("root+reviewer key after rotation: roles %v revoked %v", k.Roles, k.Revoked())
	}
	if k := d2.Keys[1]; k.Revoked() || !k.HasRole(RoleRoot) {
		t.Fatal("kept root was changed")
	}
	if err := d2.RotateRoots(nil, []string{"SHA256:nope"}, 1, opsAt); !errors.Is(err, ErrInvalid) {
		t.Fatalf("keep unknown: got %v, want ErrInvalid", err)
	}
	if err := d2.RotateRoots([]Key{newParty(t, keys.ECDSAP256).key(t, RoleProducer)}, keep, 1, opsAt); !errors.Is(err, ErrInvalid) {
		t.Fatalf("new root without the role: got %v, want ErrInvalid", err)
	}
}

// TestRevocationEffects checks the defined effects of each reason by log
// position: versions 1, 2 (revokes) and 3 (lists the key again) are
// logged at 0, 10 and 20.
func TestRevocationEffects(t *testing.T) {
	t.Parallel()
	idx := []uint64{0, 10, 20}
	for _, tc := range []struct {
		reason         string
		before, after  bool // valid for a record logged at 5, and at 15
		relistedAt25ok bool
	}{
		{ReasonCompromised, true, false, false},
		{ReasonRetired, true, false, true},
		{ReasonDeparted, true, false, true},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			v1 := sign(t, f.doc(t, 1, ""), f.roots[0], f.roots[1])
			d2 := Next(mustParse(t, v1), opsAt)
			prod := keys.Fingerprint(f.producer.pub)
			if err := d2.Revoke(prod, tc.reason, opsAt.Add(-24*time.Hour), "ticket 42"); err != nil {
				t.Fatal(err)
			}
			v2 := sign(t, d2, f.roots[0], f.roots[1])
			v3 := sign(t, f.doc(t, 3, Digest(v2)), f.roots[0], f.roots[1])
			c, err := VerifyChain(pin(t, v1), v1, v2, v3)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range []struct {
				at uint64
				ok bool
			}{{5, tc.before}, {15, tc.after}, {25, tc.relistedAt25ok}} {
				err := c.KeyValidAt(prod, RoleProducer, x.at, idx)
				if x.ok != (err == nil) || err != nil && !errors.Is(err, ErrKeyNotValid) {
					t.Errorf("record at %d: KeyValidAt = %v, want valid=%v", x.at, err, x.ok)
				}
			}
		})
	}
}

func TestRevokeRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v1 := mustParse(t, sign(t, f.doc(t, 1, ""), f.roots[0], f.roots[1]))
	prod := keys.Fingerprint(f.producer.pub)
	for _, tc := range []struct {
		name  string
		steps [][2]string // (id, reason)
		want  error
	}{
		{"retired then compromised", [][2]string{{prod, ReasonRetired}, {prod, ReasonCompromised}}, nil},
		{"compromised then retired", [][2]string{{prod, ReasonCompromised}, {prod, ReasonRetired}}, ErrInvalid},
		{"twice departed", [][2]string{{prod, ReasonDeparted}, {prod, ReasonDeparted}}, ErrInvalid},
		{"unknown reason", [][2]string{{prod, "lost"}}, ErrInvalid},
		{"unknown key", [][2]string{{"SHA256:nope", ReasonRetired}}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := Next(v1, opsAt)
			var err error
			for _, s := range tc.steps {
				if err = d.Revoke(s[0], s[1], opsAt, ""); err != nil {
					break
				}
			}
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Revoking roots below the threshold leaves an invalid document.
	d := Next(v1, opsAt)
	for _, r := range f.roots[:2] {
		if err := d.Revoke(keys.Fingerprint(r.pub), ReasonCompromised, opsAt, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "rootThreshold") {
		t.Fatalf("threshold above unrevoked roots: got %v", err)
	}
}

func TestRevokePerson(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v1 := mustParse(t, sign(t, f.doc(t, 1, ""), f.roots[0], f.roots[1]))
	d := Next(v1, opsAt)
	for i := range d.Keys {
		d.Keys[i].Owner.PersonID = "person:other"
	}
	d.Keys[3].Owner.PersonID = "person:leaver"
	ids, err := d.RevokePerson("person:leaver", ReasonDeparted, opsAt, "left the company")
	if err != nil || len(ids) != 1 || ids[0] != d.Keys[3].ID || d.Keys[3].Revocation.Reason != ReasonDeparted {
		t.Fatalf("RevokePerson = %v, %v", ids, err)
	}
	if _, err := d.RevokePerson("person:leaver", ReasonDeparted, opsAt, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no unrevoked key left: got %v, want ErrInvalid", err)
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v1 := sign(t, f.doc(t, 1, ""), f.roots[0], f.roots[1])
	d2 := Next(mustParse(t, v1), opsAt)
	rev := newParty(t, keys.ECDSAP256).key(t, RoleReviewer)
	prod := keys.Fingerprint(f.producer.pub)
	if err := errors.Join(d2.AddKeys(rev), d2.Revoke(prod, ReasonDeparted, opsAt, "")); err != nil {
		t.Fatal(err)
	}
	v2 := sign(t, d2, f.roots[0], f.roots[1])
	c, err := VerifyChain(pin(t, v1), v1, v2)
	if err != nil {
		t.Fatal(err)
	}
	h := c.History()
	if len(h) != 2 || len(h[0].Added) != 5 || len(h[0].Roots) != 3 || len(h[0].SignedBy) != 2 {
		t.Fatalf("version 1: %+v", h[0])
	}
	if h[1].Added[0] != rev.ID || len(h[1].Added) != 1 || len(h[1].Revoked) != 1 || !strings.HasPrefix(h[1].Revoked[0], prod+" departed at 2027-03-01T12:00:00Z") {
		t.Fatalf("version 2: %+v", h[1])
	}
}
