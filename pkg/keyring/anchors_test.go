package keyring

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
	"github.com/dossier-audit/dossier/pkg/witness/witnesstest"
)

func anchoredDoc(t *testing.T) *Document {
	t.Helper()
	f := newFixture(t)
	d := f.doc(t, 1, "")
	ca := tsatest.NewCA(t, "Test TSA root", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	leaf := ca.Issue(t, "Test TSA", ca.Cert.NotBefore, ca.Cert.NotAfter)
	d.TimestampAuthorities = []TimestampAuthority{{
		Name: "tsa.internal", ChainPEM: string(tsatest.PEM(leaf.Chain...)),
		ValidFrom: "2026-01-01T00:00:00Z", ValidUntil: "2031-01-01T00:00:00Z", Policy: "1.3.6.1.4.1.57264.2",
	}}
	w := witnesstest.NewWitnessKey(t, "witness.example/a")
	d.WitnessPolicy = "log " + d.KeysWithRole(RoleLog)[0].NoteVerifierKey + "\nwitness a " + w.VKey + "\nquorum a\n"
	return d
}

func TestAnchorTrustRoot(t *testing.T) {
	t.Parallel()
	d := anchoredDoc(t)
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseDocument(b)
	if err != nil {
		t.Fatalf("ParseDocument: %v", err)
	}
	roots, inter, err := got.TimestampAuthorities[0].Chain()
	if err != nil || len(roots) != 1 || len(inter) != 1 {
		t.Fatalf("Chain = %d roots, %d intermediates, %v; want 1, 1, nil", len(roots), len(inter), err)
	}
	if oid, err := got.TimestampAuthorities[0].PolicyOID(); err != nil || oid.String() != "1.3.6.1.4.1.57264.2" {
		t.Errorf("PolicyOID = %v, %v", oid, err)
	}
	p, err := got.Witnesses()
	if err != nil || p == nil || p.Quorum != "a" {
		t.Errorf("Witnesses = %+v, %v; want quorum a", p, err)
	}
}

func TestAnchorTrustRootAbsent(t *testing.T) {
	t.Parallel()
	d := newFixture(t).doc(t, 1, "")
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "timestampAuthorities") || strings.Contains(string(b), "witnessPolicy") {
		t.Fatalf("a document without anchors marshals anchor members: %s", b)
	}
	got, err := ParseDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := got.Witnesses(); p != nil || err != nil {
		t.Errorf("Witnesses = %v, %v; want nil, nil", p, err)
	}
}

func TestAnchorTrustRootInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Document)
		want   string
	}{
		{"name twice", func(d *Document) {
			d.TimestampAuthorities = append(d.TimestampAuthorities, d.TimestampAuthorities[0])
		}, "listed twice"},
		{"empty name", func(d *Document) { d.TimestampAuthorities[0].Name = "" }, ".name"},
		{"no certificate", func(d *Document) { d.TimestampAuthorities[0].ChainPEM = "" }, "chainPem"},
		{"not a certificate", func(d *Document) {
			d.TimestampAuthorities[0].ChainPEM = "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n"
		}, "chainPem"},
		{"validity reversed", func(d *Document) { d.TimestampAuthorities[0].ValidUntil = "2025-01-01T00:00:00Z" }, "validUntil"},
		{"time not UTC", func(d *Document) { d.TimestampAuthorities[0].ValidFrom = "2026-01-01T00:00:00+01:00" }, "validFrom"},
		{"policy not an OID", func(d *Document) { d.TimestampAuthorities[0].Policy = "tsa-policy" }, ".policy"},
		{"witness policy malformed", func(d *Document) { d.WitnessPolicy = "quorum nobody\n" }, "witnessPolicy"},
		{"witness policy other log", func(d *Document) {
			other := witnesstest.NewLog(t, "other.example/log", "", 1)
			d.WitnessPolicy = "log " + other.VKey + "\nquorum none\n"
		}, "is not a log key of this keyring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := anchoredDoc(t)
			tt.mutate(d)
			b, err := d.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseDocument(b)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseDocument = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}
