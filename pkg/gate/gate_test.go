package gate

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
	"github.com/dossier-audit/dossier/pkg/run"
)

const releasePolicy = `{"mediaType":"application/vnd.dossier.policy.v2+json","name":"release",
 "time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},
 "requiredKinds":["dataset","training-run","evaluation","run-closed"],
 "releases":{"requiredKinds":["evaluation-plan","model-release","approval"],
  "evaluationPlan":{"role":"reviewer"},
  "approvals":{"min":2,"role":"reviewer","meanings":["approval"],
   "cover":["dataset","training-run","evaluation-plan","evaluation","model-release","run-closed"]},
  "separationOfDuties":{"byPerson":true,"byTeam":true,"developerKinds":["dataset","training-run"]}}}`

var at = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func (f *fixture) load(t *testing.T) *Facts {
	t.Helper()
	facts, err := Load(context.Background(), f.dir, f.root, [][]byte{f.keyring}, "")
	if err != nil {
		t.Fatal(err)
	}
	return facts
}

func (f *fixture) approval(t *testing.T, doc []byte, h holder, decision string) []byte {
	t.Helper()
	a, err := NewApproval(ApprovalRequest{Run: f.root, Review: doc, PrintedName: h.owner.Name, SignerID: h.owner.PersonID,
		Meaning: "approval", Decision: decision, At: at})
	if err != nil {
		t.Fatal(err)
	}
	b, err := SignApproval(context.Background(), h.signer, f.root.Digest(), a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReviewApproveRelease walks the whole gate: load, review, two
// approvals, policy, verification summary, checked by sigstore-go.
func TestReviewApproveRelease(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	facts := f.load(t)
	if n := len(facts.Records); n != 8 { // 7 run records and the time evidence
		t.Fatalf("loaded %d records, want 8", n)
	}
	doc, viewDigest, err := review.Render(facts.ReviewInput(nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse([]byte(releasePolicy))
	if err != nil {
		t.Fatal(err)
	}
	if rep := policy.Evaluate(facts.PolicyInput(pol, at, false)); rep.OK() {
		t.Fatal("policy passed without approvals")
	}
	f.appendAll(t, f.approval(t, doc, f.rita, "approve"), f.approval(t, doc, f.victor, "approve"))
	facts = f.load(t)
	rep := policy.Evaluate(facts.PolicyInput(pol, at, false))
	if !rep.OK() {
		t.Fatalf("policy failed: %s", rep.Error())
	}
	for _, r := range facts.Records {
		if a, ok := r.Predicate.(*record.Approval); ok && a.RenderedViewDigest != viewDigest {
			t.Errorf("approval names view %s, want %s", a.RenderedViewDigest, viewDigest)
		}
	}
	stmt, err := NewVSA(facts, rep, VSARequest{VerifierID: "https://dossier.example/verifier", ResourceURI: "oci://registry.example/acme/notes@sha256:" + weightsHex,
		PolicyURI: "https://dossier.example/policy/release.json", Policy: []byte(releasePolicy), At: at})
	if err != nil {
		t.Fatal(err)
	}
	vsaBundle, err := SignVSA(context.Background(), f.vera.signer, stmt)
	if err != nil {
		t.Fatal(err)
	}
	if err := sigstoreGoVerify(t, vsaBundle, f.vera, weightsHex); err != nil {
		t.Fatalf("sigstore-go rejects the summary: %v", err)
	}
	if err := sigstoreGoVerify(t, vsaBundle, f.vera, "00"+weightsHex[2:]); err == nil {
		t.Fatal("sigstore-go accepted the summary for other weights")
	}
}

// weightsHex is the weights digest of the model-release template.
const weightsHex = "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"

func sigstoreGoVerify(t *testing.T, b []byte, h holder, digestHex string) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vsa.sigstore.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	bun, err := sgbundle.LoadJSONFromPath(path)
	if err != nil {
		return err
	}
	v, err := keys.NewVerifier(h.pub)
	if err != nil {
		t.Fatal(err)
	}
	tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(v, time.Time{}, time.Time{}), nil
	})
	sv, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
	if err != nil {
		t.Fatal(err)
	}
	d, _ := hex.DecodeString(digestHex)
	res, err := sv.Verify(bun, verify.NewPolicy(verify.WithArtifactDigest("sha256", d), verify.WithKey()))
	if err != nil {
		return err
	}
	if res.Statement.GetPredicateType() != VSAPredicateType {
		t.Errorf("predicate type %q", res.Statement.GetPredicateType())
	}
	return nil
}

func TestVSARefusedWhenPolicyFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	facts := f.load(t)
	pol, _ := policy.Parse([]byte(releasePolicy))
	rep := policy.Evaluate(facts.PolicyInput(pol, at, false))
	_, err := NewVSA(facts, rep, VSARequest{VerifierID: "v", ResourceURI: "u", At: at})
	if !errors.Is(err, ErrNotApproved) {
		t.Fatalf("NewVSA error = %v, want ErrNotApproved", err)
	}
}

func TestApprovalChecksReview(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	facts := f.load(t)
	in := facts.ReviewInput(nil, "")
	doc, _, err := review.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	other := in
	other.RunID = "another-run"
	other.Records = nil
	tests := []struct {
		name string
		req  ApprovalRequest
	}{
		{"not a review", ApprovalRequest{Run: f.root, Review: []byte("<html>"), PrintedName: "R", SignerID: "person:rita", Meaning: "approval", Decision: "approve", At: at}},
		{"conditions without that decision", ApprovalRequest{Run: f.root, Review: doc, PrintedName: "R", SignerID: "person:rita", Meaning: "approval", Decision: "approve", Conditions: []string{"x"}, At: at}},
		{"unknown meaning", ApprovalRequest{Run: f.root, Review: doc, PrintedName: "R", SignerID: "person:rita", Meaning: "ok", Decision: "approve", At: at}},
		{"expiry before signing", ApprovalRequest{Run: f.root, Review: doc, PrintedName: "R", SignerID: "person:rita", Meaning: "approval", Decision: "approve", At: at, ExpiresAt: at.Add(-time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewApproval(tt.req); !errors.Is(err, ErrApproval) {
				t.Errorf("NewApproval error = %v, want ErrApproval", err)
			}
		})
	}
	a, err := NewApproval(ApprovalRequest{Run: f.root, Review: doc, PrintedName: "Rita", SignerID: "person:rita", Meaning: "approval",
		Decision: "approve-with-conditions", Conditions: []string{"re-evaluate in Q1"}, Findings: []string{"small sample"}, ExpiresAt: at.AddDate(1, 0, 0), At: at})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := review.ReviewedRecords(in)
	if !slices.Equal(a.ReviewedRecords, want) || a.RenderedViewDigest != review.Digest(doc) || a.SignedAt != "2026-11-29T10:00:00Z" {
		t.Errorf("approval = %+v", a)
	}
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := Load(context.Background(), f.dir, f.root, nil, ""); !errors.Is(err, ErrKeyring) {
		t.Errorf("Load without keyring: %v, want ErrKeyring", err)
	}
	if _, err := Load(context.Background(), t.TempDir(), f.root, [][]byte{f.keyring}, ""); !errors.Is(err, ErrLog) {
		t.Errorf("Load of an empty directory: %v, want ErrLog", err)
	}
	if _, err := Load(context.Background(), f.dir, f.root, [][]byte{f.keyring}, "SHA256:"+weightsHex); !errors.Is(err, ErrKeyring) {
		t.Errorf("Load with another pin: %v, want ErrKeyring", err)
	}
}

// TestTrainerApprovalNamesRule: an approval signed with the trainer's key
// fails the policy with the rules it breaks, end to end through the log.
func TestTrainerApprovalNamesRule(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	doc, _, err := review.Render(f.load(t).ReviewInput(nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	f.appendAll(t, f.approval(t, doc, f.rita, "approve"), f.approval(t, doc, f.alice, "approve"))
	pol, _ := policy.Parse([]byte(releasePolicy))
	rep := policy.Evaluate(f.load(t).PolicyInput(pol, at, false))
	want := []string{"release.approvals.distinct-people", "release.approvals.separation-of-duties.person",
		"release.approvals.separation-of-duties.team", "release.approvals.signer-role"}
	if got := rep.Failed(); !slices.Equal(got, want) {
		t.Fatalf("failed rules %q, want %q", got, want)
	}
}

func TestApprovalWithoutRunFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	doc, _, err := review.Render(f.load(t).ReviewInput(nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewApproval(ApprovalRequest{Review: doc, PrintedName: "Rita", SignerID: "person:rita", Meaning: "approval", Decision: "approve", At: at})
	if err != nil || a.RunID != runID {
		t.Fatalf("NewApproval = %+v, %v; want run %s from the manifest", a, err, runID)
	}
	other, _ := run.New(run.Registration{RunID: "other", Project: "p", Model: "m", StartedBy: run.Identity{ID: "x", Kind: "workload"}, StartedAt: "2026-11-27T08:00:00Z"})
	if _, err := NewApproval(ApprovalRequest{Run: other, Review: doc, PrintedName: "Rita", SignerID: "person:rita", Meaning: "approval", Decision: "approve", At: at}); !errors.Is(err, ErrApproval) {
		t.Fatalf("approval of another run's review: %v, want ErrApproval", err)
	}
}
