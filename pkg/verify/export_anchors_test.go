package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/anchor/anchorer"
	"github.com/dossier-audit/dossier/pkg/dossier"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tsa"
	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
	"github.com/dossier-audit/dossier/pkg/witness"
)

const forReviewProposal = `{"mediaType":"application/vnd.dossier.policy.v2+json","name":"two reviewers",
 "time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},
 "requiredKinds":["dataset","training-run","evaluation","run-closed"],
 "runs":{"approvals":{"min":2,"role":"reviewer","meanings":["approval"],"cover":["dataset","evaluation","run-closed","training-run"]}}}`

// TestVerifyExportedAnchorsAndReviews: a real log whose checkpoint a
// loopback TSA (named in the keyring's trust root) stamped, one approval
// naming a review document, exported by pkg/dossier.Export with the
// anchorer, the review and a v2 proposal wanting two approvals: the
// verifier finds the run's records anchored, accepts the review layer,
// and, without --policy, applies the proposal's rule (a "for review"
// package is rejected naming approvals.distinct-people); with a v1
// auditor policy it verifies.
func TestVerifyExportedAnchorsAndReviews(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kk := fixedKeys(t)
	reviewer := newSigner(t)
	now := time.Now().UTC().Truncate(time.Second)
	ca := tsatest.NewCA(t, "TSA Root", now.Add(-2*time.Hour))
	leaf := ca.Issue(t, "TSA", now.Add(-2*time.Hour), now.Add(2*time.Hour))
	fake := tsatest.NewFake(t, leaf, tsatest.OK)
	skey, vkey, err := tlog.GenerateKey("example.test/anchored-log")
	if err != nil {
		t.Fatal(err)
	}
	env := anchoredKeyring(t, kk, reviewer, vkey, keyring.TimestampAuthority{Name: "tsa.internal", ChainPEM: string(tsatest.PEM(leaf.Chain...)),
		ValidFrom: now.Add(-2 * time.Hour).Format(time.RFC3339), ValidUntil: now.Add(2 * time.Hour).Format(time.RFC3339)})
	v1, err := keyring.Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := tlog.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	open := func() *tlog.Log {
		l, err := tlog.Open(ctx, dir, tlog.Options{Signer: signer, BatchMaxAge: time.Millisecond, CheckpointInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := open()
	root := appendRun(t, l, kk, env, 4)
	doc := []byte("<!DOCTYPE html><p>the review of interop-run</p>")
	ap := signKind(t, &pkgBuilder{kk: kk, blobs: map[string][]byte{}}, reviewer, "approval", root, func(m map[string]any) {
		m["runId"], m["renderedViewDigest"] = root.Registration.RunID, review.Digest(doc)
		delete(m, "timeEvidence")
	})
	if _, err := l.Append(ctx, ap, root.Digest()); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	vk, err := logVerifierOfKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	a := &anchorer.Anchorer{Log: vk, Store: anchorer.Store{Dir: t.TempDir()}, Prove: witness.TileProver(dir),
		TSAs: []anchorer.TSA{{Name: "tsa.internal", Client: &tsa.Client{URL: fake.URL(), Verify: tsaverify.Options{Roots: []*x509.Certificate{ca.Cert}}}}}}
	cp, err := tlog.ReadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := a.Anchor(ctx, cp); err != nil || len(r.Failed) != 0 {
		t.Fatalf("Anchor: %+v, %v", r, err)
	}
	l = open()
	defer l.Close(ctx)
	var buf bytes.Buffer
	res, err := dossier.Export(ctx, dossier.ExportRequest{Runs: []*run.Root{root}, Keyring: [][]byte{env}, At: now,
		Producer:    record.Producer{ID: "person:e30211", Name: "Erika Musterfrau", Kind: "person"},
		RequestedBy: record.Party{ID: "person:e30211", Name: "Erika Musterfrau"},
		Recipient:   record.Recipient{Organisation: "Model risk committee"}, Purpose: "review",
		Policy: []byte(forReviewProposal), Reviews: [][]byte{doc}},
		dossier.Deps{Log: l, Exporter: kk.exporter, Writer: &buf, PollInterval: 10 * time.Millisecond, Anchors: a})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if res.Anchors != 1 || len(res.Reviews) != 1 || len(res.ForReview) == 0 {
		t.Fatalf("export result %+v: want one anchor, one review, a for-review label", res)
	}
	pin := keyring.RootFingerprint(v1.Payload)
	got := VerifyPackage(bytes.NewReader(buf.Bytes()), int64(buf.Len()), PackageOptions{RootFingerprint: pin})
	if got.Outcome != Rejected || !hasRule(got, "approvals.distinct-people") {
		t.Fatalf("without --policy: outcome %s, failures %+v; want the proposal's approvals rule", got.Outcome, got.Failures)
	}
	auditor, err := ParsePolicy([]byte(`{"mediaType":"application/vnd.dossier.policy.v2+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},"requiredKinds":["run-closed"],"anchors":{"require":"tsa"}}`))
	if err != nil {
		t.Fatal(err)
	}
	got = VerifyPackage(bytes.NewReader(buf.Bytes()), int64(buf.Len()), PackageOptions{RootFingerprint: pin, Policy: auditor})
	if got.Outcome != Verified {
		t.Fatalf("with the auditor's policy: outcome %s, failures %+v", got.Outcome, got.Failures)
	}
	an := got.Summary.Anchors
	if an == nil || an.Entries != 1 || an.Anchored != 6 || an.Asserted != 0 || an.Records[0].By[0] != "tsa:tsa.internal" {
		t.Fatalf("anchors summary %+v: want the time evidence, four run records and the approval anchored by the TSA", an)
	}
}

func hasRule(r *Result, rule string) bool {
	for _, f := range r.Failures {
		if f.Class == FailPolicy && f.Rule == rule {
			return true
		}
	}
	return false
}

func newSigner(t *testing.T) signature.Signer {
	t.Helper()
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// anchoredKeyring is exportKeyring's keyring plus a reviewer key and a TSA.
func anchoredKeyring(t *testing.T, kk *testKeys, reviewer signature.Signer, vkey string, tsaEntry keyring.TimestampAuthority) []byte {
	t.Helper()
	owner := keyring.Owner{Name: "Erika Musterfrau", PersonID: "person:e30211", Team: "compliance"}
	doc := &keyring.Document{MediaType: keyring.MediaType, Version: 1, IssuedAt: "2026-11-27T00:00:00Z", RootThreshold: 1,
		TimestampAuthorities: []keyring.TimestampAuthority{tsaEntry}}
	for _, e := range []struct {
		role string
		s    signature.Signer
	}{{"root", kk.root}, {"producer", kk.producer}, {"time", kk.timeKey}, {"exporter", kk.exporter}, {"reviewer", reviewer}} {
		p, err := e.s.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		k, err := keyring.NewKey(p, []string{e.role}, owner, "2026-11-27T00:00:00Z", "")
		if err != nil {
			t.Fatal(err)
		}
		doc.Keys = append(doc.Keys, k)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.SplitN(vkey, "+", 3)[2])
	lk, err := keyring.NewKey(ed25519.PublicKey(raw[1:]), []string{"log"}, owner, "2026-11-27T00:00:00Z", vkey)
	if err != nil {
		t.Fatal(err)
	}
	doc.Keys = append(doc.Keys, lk)
	b, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := keyring.NewSigner(context.Background(), kk.root)
	if err != nil {
		t.Fatal(err)
	}
	env, err := keyring.Sign(b, rs)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func logVerifierOfKey(vkey string) (note.Verifier, error) { return note.NewVerifier(vkey) }
