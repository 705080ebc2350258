package keyring

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/mod/sumdb/note"
)

// party is a generated key with its DSSE signer.
type party struct {
	pub    crypto.PublicKey
	signer dsse.Signer
}

func newParty(t testing.TB, alg keys.Algorithm) party {
	t.Helper()
	priv, err := keys.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := NewSigner(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return party{pub: priv.Public(), signer: ds}
}

func (p party) key(t testing.TB, roles ...string) Key {
	t.Helper()
	vkey := ""
	if len(roles) == 1 && roles[0] == RoleLog {
		var err error
		if vkey, err = note.NewEd25519VerifierKey("log.example/dossier", p.pub.(ed25519.PublicKey)); err != nil {
			t.Fatal(err)
		}
	}
	k, err := NewKey(p.pub, roles, Owner{Name: "Erika Musterfrau", PersonID: "person:e30211", Team: "compliance"}, "2026-11-27T00:00:00Z", vkey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixture is a three-root keyring with threshold 2 plus producer and log
// keys.
type fixture struct {
	roots         []party
	producer, log party
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{producer: newParty(t, keys.ECDSAP256), log: newParty(t, keys.Ed25519)}
	for range 3 {
		f.roots = append(f.roots, newParty(t, keys.ECDSAP256))
	}
	return f
}

func (f *fixture) doc(t testing.TB, version int, previous string) *Document {
	t.Helper()
	d := &Document{MediaType: MediaType, Version: version, IssuedAt: "2026-11-27T09:00:00Z", RootThreshold: 2}
	if previous != "" {
		d.Previous = &previous
	}
	for _, r := range f.roots {
		d.Keys = append(d.Keys, r.key(t, RoleRoot))
	}
	d.Keys = append(d.Keys, f.producer.key(t, RoleProducer, RoleIngest), f.log.key(t, RoleLog))
	return d
}

func sign(t testing.TB, d *Document, signers ...party) []byte {
	t.Helper()
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ss := make([]dsse.Signer, len(signers))
	for i, p := range signers {
		ss[i] = p.signer
	}
	env, err := Sign(b, ss...)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func pin(t testing.TB, env []byte) string {
	t.Helper()
	v, err := Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	return RootFingerprint(v.Payload)
}

func TestVerifyChain(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v1 := sign(t, f.doc(t, 1, ""), f.roots[0], f.roots[1])
	v2 := sign(t, f.doc(t, 2, Digest(v1)), f.roots[1], f.roots[2])
	v3 := sign(t, f.doc(t, 3, Digest(v2)), f.roots[0], f.roots[2])
	good := pin(t, v1)
	if !strings.HasPrefix(good, "SHA256:") || len(good) != 7+64 {
		t.Fatalf("root fingerprint %q", good)
	}
	oneSig := sign(t, f.doc(t, 2, Digest(v1)), f.roots[0])
	sameTwice := sign(t, f.doc(t, 2, Digest(v1)), f.roots[0], f.roots[0])
	wrongPrev := sign(t, f.doc(t, 2, Digest(v2)), f.roots[0], f.roots[1])
	outsider := newParty(t, keys.ECDSAP256)
	byOutsider := sign(t, f.doc(t, 2, Digest(v1)), f.roots[0], outsider)
	for _, tc := range []struct {
		name    string
		pinned  string
		envs    [][]byte
		want    error
		version int
	}{
		{"one version", good, [][]byte{v1}, nil, 0},
		{"three versions", good, [][]byte{v1, v2, v3}, nil, 0},
		{"wrong fingerprint", "SHA256:" + strings.Repeat("0", 64), [][]byte{v1, v2}, ErrFingerprint, 1},
		{"below threshold", good, [][]byte{v1, oneSig}, ErrThreshold, 2},
		{"same key twice counts once", good, [][]byte{v1, sameTwice}, ErrThreshold, 2},
		{"signature by a key not in the previous version", good, [][]byte{v1, byOutsider}, ErrThreshold, 2},
		{"gap", good, [][]byte{v1, v3}, ErrChain, 2},
		{"out of order", good, [][]byte{v2, v1}, ErrChain, 1},
		{"previous names another envelope", good, [][]byte{v1, wrongPrev}, ErrChain, 2},
		{"empty", good, nil, ErrChain, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := VerifyChain(tc.pinned, tc.envs...)
			if tc.want == nil {
				if err != nil || len(c.Versions) != len(tc.envs) {
					t.Fatalf("VerifyChain: %v", err)
				}
				return
			}
			var ce *ChainError
			if !errors.Is(err, tc.want) || !errors.As(err, &ce) || ce.Version != tc.version {
				t.Fatalf("got %v, want %v at version %d", err, tc.want, tc.version)
			}
		})
	}
}

func TestRevokedRootCannotSign(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d1 := f.doc(t, 1, "")
	d1.Keys[0].Revocation = &Revocation{At: "2026-11-27T10:00:00Z", Reason: "compromised"}
	v1 := sign(t, d1, f.roots[1], f.roots[2])
	v2 := sign(t, f.doc(t, 2, Digest(v1)), f.roots[0], f.roots[1])
	if _, err := VerifyChain(pin(t, v1), v1, v2); !errors.Is(err, ErrThreshold) {
		t.Fatalf("got %v, want ErrThreshold (revoked root key counted)", err)
	}
}

func TestDocumentRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base, err := f.doc(t, 1, "").Marshal()
	if err != nil {
		t.Fatal(err)
	}
	other := newParty(t, keys.ECDSAP256).key(t, RoleProducer)
	for _, tc := range []struct {
		name string
		edit func(d *Document)
		raw  func(s string) string
		want error
	}{
		{name: "wrong media type", edit: func(d *Document) { d.MediaType = "application/json" }, want: ErrInvalid},
		{name: "version 0", edit: func(d *Document) { d.Version = 0 }, want: ErrInvalid},
		{name: "v1 with previous", edit: func(d *Document) { p := Digest(nil); d.Previous = &p }, want: ErrInvalid},
		{name: "v2 without previous", edit: func(d *Document) { d.Version = 2 }, want: ErrInvalid},
		{name: "issuedAt not UTC", edit: func(d *Document) { d.IssuedAt = "2026-11-27T09:00:00+01:00" }, want: ErrInvalid},
		{name: "threshold above roots", edit: func(d *Document) { d.RootThreshold = 4 }, want: ErrInvalid},
		{name: "threshold zero", edit: func(d *Document) { d.RootThreshold = 0 }, want: ErrInvalid},
		{name: "id not the fingerprint", edit: func(d *Document) { d.Keys[3].ID = other.ID }, want: ErrInvalid},
		{name: "algorithm lies", edit: func(d *Document) { d.Keys[3].Algorithm = "ed25519" }, want: ErrInvalid},
		{name: "duplicate key", edit: func(d *Document) { d.Keys = append(d.Keys, d.Keys[3]) }, want: ErrInvalid},
		{name: "unsorted roles", edit: func(d *Document) { d.Keys[3].Roles = []string{"producer", "ingest"} }, want: ErrInvalid},
		{name: "unknown role", edit: func(d *Document) { d.Keys[3].Roles = []string{"admin"} }, want: ErrInvalid},
		{name: "no roles", edit: func(d *Document) { d.Keys[3].Roles = []string{} }, want: ErrInvalid},
		{name: "log key without note key", edit: func(d *Document) { d.Keys[4].NoteVerifierKey = "" }, want: ErrInvalid},
		{name: "note key of another key", edit: func(d *Document) {
			vk, _ := note.NewEd25519VerifierKey("log.example/dossier", make(ed25519.PublicKey, 32))
			d.Keys[4].NoteVerifierKey = vk
		}, want: ErrInvalid},
		{name: "ecdsa log key", edit: func(d *Document) { d.Keys[3].Roles = []string{"log"} }, want: ErrInvalid},
		{name: "note key on producer", edit: func(d *Document) { d.Keys[3].NoteVerifierKey = d.Keys[4].NoteVerifierKey }, want: ErrInvalid},
		{name: "owner without team", edit: func(d *Document) { d.Keys[3].Owner.Team = "" }, want: ErrInvalid},
		{name: "validUntil before validFrom", edit: func(d *Document) { u := "2026-01-01T00:00:00Z"; d.Keys[3].ValidUntil = &u }, want: ErrInvalid},
		{name: "revocation reason", edit: func(d *Document) { d.Keys[3].Revocation = &Revocation{At: "2026-11-28T00:00:00Z", Reason: "lost"} }, want: ErrInvalid},
		{name: "no keys", edit: func(d *Document) { d.Keys = []Key{}; d.RootThreshold = 1 }, want: ErrInvalid},
		{name: "unknown member", raw: func(s string) string { return strings.Replace(s, `"version":1`, `"version":1,"extra":true`, 1) }, want: ErrMalformed},
		{name: "case-folded member", raw: func(s string) string { return strings.Replace(s, `"issuedAt"`, `"IssuedAt"`, 1) }, want: ErrMalformed},
		{name: "duplicate member", raw: func(s string) string { return strings.Replace(s, `"version":1`, `"version":1,"version":1`, 1) }, want: ErrMalformed},
		{name: "missing previous", raw: func(s string) string { return strings.Replace(s, `"previous":null,`, ``, 1) }, want: ErrMalformed},
		{name: "null validFrom", raw: func(s string) string {
			return strings.Replace(s, `"validFrom":"2026-11-27T00:00:00Z"`, `"validFrom":null`, 1)
		}, want: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := base
			if tc.edit != nil {
				var d Document
				if err := json.Unmarshal(base, &d); err != nil {
					t.Fatal(err)
				}
				tc.edit(&d)
				b, _ = d.Marshal()
			} else {
				b = []byte(tc.raw(string(base)))
			}
			if _, err := ParseDocument(b); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := ParseDocument(base); err != nil {
		t.Fatalf("base document: %v", err)
	}
}

func TestParseEnvelope(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v1 := sign(t, f.doc(t, 1, ""), f.roots[0], f.roots[1])
	v, err := Parse(v1)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Signatures(); len(got) != 2 || got[0] != f.roots[0].signer.KeyID() {
		t.Fatalf("signatures %q", got)
	}
	env, _ := dsse.Sign("application/json", v.Payload, f.roots[0].signer)
	other, _ := env.MarshalJSON()
	if _, err := Parse(other); !errors.Is(err, ErrMalformed) {
		t.Fatalf("wrong payload type: got %v, want ErrMalformed", err)
	}
	if _, err := Parse([]byte(`{"payload":"e30=","payloadType":"` + MediaType + `","signatures":[]}`)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty document: got %v, want ErrMalformed", err)
	}
}

func TestLookupAndKeyValidAt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v1 := sign(t, f.doc(t, 1, ""), f.roots[0], f.roots[1])
	d2 := f.doc(t, 2, Digest(v1))
	d2.Keys[3].Revocation = &Revocation{At: "2026-11-28T00:00:00Z", Reason: "compromised"}
	v2 := sign(t, d2, f.roots[0], f.roots[1])
	d3 := f.doc(t, 3, Digest(v2)) // lists the producer again without revocation
	v3 := sign(t, d3, f.roots[0], f.roots[1])
	c, err := VerifyChain(pin(t, v1), v1, v2, v3)
	if err != nil {
		t.Fatal(err)
	}
	prod := keys.Fingerprint(f.producer.pub)
	if hist := c.Lookup(prod); len(hist) != 3 || hist[1].Key.Revocation == nil || hist[0].Version != 1 {
		t.Fatalf("Lookup = %+v", hist)
	}
	if k, ok := c.Latest().Key(prod); !ok || !k.HasRole(RoleIngest) || k.HasRole(RoleReviewer) {
		t.Fatalf("Latest().Key = %+v, %v", k, ok)
	}
	idx := []uint64{0, 10, 20}
	for _, tc := range []struct {
		name  string
		id    string
		role  string
		index uint64
		ok    bool
	}{
		{"before any version", prod, RoleProducer, 0, false},
		{"after version 1", prod, RoleProducer, 5, true},
		{"wrong role", prod, RoleReviewer, 5, false},
		{"after compromise", prod, RoleProducer, 11, false},
		{"compromise is not undone", prod, RoleProducer, 25, false},
		{"unknown key", "SHA256:nope", RoleProducer, 5, false},
		{"log key", keys.Fingerprint(f.log.pub), RoleLog, 25, true},
	} {
		err := c.KeyValidAt(tc.id, tc.role, tc.index, idx)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrKeyNotValid)) {
			t.Errorf("%s: KeyValidAt = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if err := c.KeyValidAt(prod, RoleProducer, 5, idx[:2]); !errors.Is(err, ErrChain) {
		t.Errorf("index count mismatch: got %v, want ErrChain", err)
	}
}

func TestVerifyNext(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v1 := sign(t, f.doc(t, 1, ""), f.roots[0], f.roots[1])
	v2 := sign(t, f.doc(t, 2, Digest(v1)), f.roots[1], f.roots[2])
	v3 := sign(t, f.doc(t, 3, Digest(v2)), f.roots[0], f.roots[2])
	if v, err := VerifyNext(v2, v3); err != nil || v.Document.Version != 3 {
		t.Fatalf("VerifyNext(v2, v3) = %v", err)
	}
	if _, err := VerifyNext(v1, v3); !errors.Is(err, ErrChain) {
		t.Fatalf("gap: got %v, want ErrChain", err)
	}
	weak := sign(t, f.doc(t, 2, Digest(v1)), f.roots[2])
	if _, err := VerifyNext(v1, weak); !errors.Is(err, ErrThreshold) {
		t.Fatalf("one signature: got %v, want ErrThreshold", err)
	}
}
