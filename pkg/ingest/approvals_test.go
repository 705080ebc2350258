package ingest

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/client"
	"github.com/dossier-audit/dossier/pkg/gate"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/oci/ocitest"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// withReviewers re-issues the keyring version 1 withKeyring wrote with a
// root of its own and two more keys: reviewers person:rita and
// person:omar, team validation. It returns their signers.
func withReviewers(t *testing.T, cfg *Config) (rita, omar signature.Signer) {
	t.Helper()
	b, err := os.ReadFile(cfg.Keyring[0])
	must(t, err)
	v, err := keyring.Parse(b)
	must(t, err)
	doc := v.Document
	root, err := keys.Generate(keys.ECDSAP256)
	must(t, err)
	rk, err := keyring.NewKey(root.Public(), []string{keyring.RoleRoot}, keyring.Owner{Name: "Root", PersonID: "person:root", Team: "security"}, doc.IssuedAt, "")
	must(t, err)
	doc.Keys[0] = rk
	var signers []signature.Signer
	for _, id := range []string{"person:rita", "person:omar"} {
		rev, err := keys.Generate(keys.ECDSAP256)
		must(t, err)
		vk, err := keyring.NewKey(rev.Public(), []string{keyring.RoleReviewer}, keyring.Owner{Name: id, PersonID: id, Team: "validation"}, doc.IssuedAt, "")
		must(t, err)
		must(t, doc.AddKeys(vk))
		s, err := signature.LoadSigner(rev, crypto.SHA256)
		must(t, err)
		signers = append(signers, s)
	}
	payload, err := doc.Marshal()
	must(t, err)
	rs, _ := signature.LoadSigner(root, crypto.SHA256)
	rds, err := keyring.NewSigner(context.Background(), rs)
	must(t, err)
	env, err := keyring.Sign(payload, rds)
	must(t, err)
	must(t, os.WriteFile(cfg.Keyring[0], env, 0o600))
	cfg.KeyringRoot = keyring.RootFingerprint(payload)
	return signers[0], signers[1]
}

// approveDoc signs an approval of the review document doc with signer as
// the person id.
func approveDoc(t *testing.T, signer signature.Signer, id string, doc []byte) []byte {
	t.Helper()
	a, err := gate.NewApproval(gate.ApprovalRequest{Review: doc, PrintedName: id, SignerID: id,
		Function: "model validation", Meaning: "approval", Decision: "approve", At: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)})
	must(t, err)
	m, err := review.ParseManifest(doc)
	must(t, err)
	b, err := gate.SignApproval(context.Background(), signer, m.RunRoot, a)
	must(t, err)
	return b
}

// TestApprovalImport is the offline review round trip of issue 8 item 3:
// a "for review" export is downloaded, the reviewer renders its review
// document from the package alone and signs an approval; the approval is
// imported through POST /v1/runs/{runId}/approvals (checked, logged with a
// receipt naming the uploader), after which the release export passes the
// release policy. Refusals: the trainer's key, a stale review, the wrong
// role, an unknown run.
func TestApprovalImport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	pk := withKeyring(t, &cfg, dir)
	rita, omar := withReviewers(t, &cfg)
	cfg.Policy = filepath.Join(dir, "policy.json")
	must(t, os.WriteFile(cfg.Policy, []byte(releasePolicyJSON), 0o600))
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	for i := range 2 {
		if r := submit(t, d, testRunID, datasetBody(t, testRunID, i), ""); r.status != http.StatusCreated {
			t.Fatalf("submit: %d %s", r.status, r.body)
		}
	}
	// The controlled export, and the review rendered offline from it.
	r := do(t, "POST", d.url+"/v1/exports", tokExporter, exportBody(ExportReview))
	var res ExportResult
	must(t, json.Unmarshal(r.body, &res))
	pkg := do(t, "GET", d.url+res.Download, tokExporter, nil)
	facts, _, err := gate.LoadPackage(bytes.NewReader(pkg.body), int64(len(pkg.body)), testRunID, cfg.KeyringRoot)
	must(t, err)
	doc, _, err := review.Render(facts.ReviewInput(nil, ""))
	must(t, err)
	approval := approveDoc(t, rita, "person:rita", doc)
	url := d.url + "/v1/runs/" + testRunID + "/approvals"
	// The daemon serves the same review document (the online route).
	rv := do(t, "GET", d.url+"/v1/runs/"+testRunID+"/review", tokReviewer, nil)
	if rv.status != http.StatusOK || !bytes.Equal(rv.body, doc) || rv.header.Get("Dossier-View-Digest") != review.Digest(doc) {
		t.Fatalf("GET review: %d, same as the package's %v, digest %s", rv.status, bytes.Equal(rv.body, doc), rv.header.Get("Dossier-View-Digest"))
	}
	if rv := do(t, "GET", d.url+"/v1/runs/"+testRunID+"/review", tokProducer, nil); rv.status != http.StatusForbidden {
		t.Fatalf("GET review as producer: %d", rv.status)
	}

	if r := do(t, "POST", url, tokProducer, approval); r.status != http.StatusForbidden {
		t.Fatalf("producer uploads an approval: %d, want 403", r.status)
	}
	if r := do(t, "POST", url, tokReviewer, approveDoc(t, pk.s, "person:rita", doc)); r.status != http.StatusUnprocessableEntity || r.problem(t).Code != CodeApprovalRefused {
		t.Fatalf("approval signed with the trainer's key: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", d.url+"/v1/runs/no-such-run/approvals", tokReviewer, approval); r.status != http.StatusNotFound {
		t.Fatalf("unknown run: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", d.url+"/v1/exports", tokExporter, exportBody(ExportRelease)); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("release before the approval: %d %s", r.status, r.body)
	}
	r = do(t, "POST", url, tokReviewer, approval)
	if r.status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	ans := decodeResult(t, r)
	if ans.Record != "sha256:"+hexSum(approval) || !contains(ans.Flags, flagApprovalImported) {
		t.Fatalf("answer %+v", ans)
	}
	rc := do(t, "GET", d.url+"/v1/records/"+ans.Record+"/receipt", tokReviewer, nil)
	vr, err := verify.VerifyRecord(rc.body, ingestVerifier(t, cfg), verify.RecordOptions{PredicateType: receiptType})
	must(t, err)
	if p := vr.Statement.Parsed().(*record.Receipt); p.Submitter.Subject != "erika" || !contains(p.Flags, flagApprovalImported) {
		t.Fatalf("receipt %+v", p)
	}
	// The same approval again, through the Go client: the first answer.
	c, err := client.New(d.url, client.Options{Token: tokReviewer})
	must(t, err)
	again, err := c.SubmitApproval(context.Background(), testRunID, approval)
	if err != nil || again.Record != ans.Record || again.Receipt != ans.Receipt {
		t.Fatalf("the same upload again: %+v, %v", again, err)
	}
	if r := do(t, "POST", d.url+"/v1/exports", tokExporter, exportBody(ExportRelease)); r.status != http.StatusCreated {
		t.Fatalf("release export after the approval: %d %s", r.status, r.body)
	}
	// A second reviewer who rendered the same review before Rita's
	// approval was logged uploads it on the review console: the same
	// check, and a receipt naming the uploader.
	rb, err := d.s.reviewBackend()
	must(t, err)
	up, err := rb.SubmitApproval(context.Background(), testRunID, approveDoc(t, omar, "person:omar", doc), auth.Identity{Subject: "omar", Method: "token", Roles: []string{"reviewer"}})
	if err != nil {
		t.Fatalf("second approval over the same review, on the console: %v", err)
	}
	rc = do(t, "GET", d.url+"/v1/records/"+up.Digest+"/receipt", tokReviewer, nil)
	if vr, err := verify.VerifyRecord(rc.body, ingestVerifier(t, cfg), verify.RecordOptions{PredicateType: receiptType}); err != nil ||
		vr.Statement.Parsed().(*record.Receipt).Submitter.Subject != "omar" {
		t.Fatalf("receipt of the console upload: %d %v", rc.status, err)
	}
	// A record logged after the review makes it stale.
	if r := submit(t, d, testRunID, datasetBody(t, testRunID, 9), ""); r.status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	stale := approveDoc(t, omar, "person:omar", doc)
	var pe *client.ProblemError
	if _, err := c.SubmitApproval(context.Background(), testRunID, stale); !errors.As(err, &pe) || pe.Code != CodeApprovalRefused {
		t.Fatalf("approval over a stale review: got %v, want %s", err, CodeApprovalRefused)
	}
}

// planPredicate is the evaluation-plan template for runID, signed by a
// validator (person:rita, role reviewer).
func planPredicate(t *testing.T, runID string) []byte {
	var m map[string]any
	must(t, json.Unmarshal(record.Template("evaluation-plan"), &m))
	m["runId"], m["signedByRole"] = runID, "reviewer"
	m["producer"] = map[string]any{"id": "person:rita", "name": "Rita Reviewer", "kind": "person"}
	delete(m, "timeEvidence")
	b, err := json.Marshal(m)
	must(t, err)
	return b
}

// TestPlanImport: a validator's evaluation plan (signed with a reviewer
// key, SPEC.md §2) is logged through POST /v1/runs/{runId}/plans with a
// receipt; a producer key there, a plan sent to the producer path, and a
// record of another kind are refused.
func TestPlanImport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	pk := withKeyring(t, &cfg, dir)
	rita, _ := withReviewers(t, &cfg)
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	root := ocitestRoot(t, testRunID)
	plan := ocitest.Sign(t, rita, root, "evaluation-plan", planPredicate(t, testRunID))
	url := d.url + "/v1/runs/" + testRunID + "/plans"
	for _, tc := range []struct {
		name, url, token string
		body             []byte
		status           int
		code             string
	}{
		{"producer key", url, tokReviewer, ocitest.Sign(t, pk.s, root, "evaluation-plan", planPredicate(t, testRunID)), 403, CodeKeyNotAllowed},
		{"plan on the producer path", d.url + "/v1/runs/" + testRunID + "/records", tokProducer, []byte(`{"bundle":"` + b64(plan) + `"}`), 403, CodeKeyNotAllowed},
		{"not a plan", url, tokReviewer, ocitest.Sign(t, rita, root, "dataset", datasetPredicate(t, testRunID, 0)), 422, CodeInvalidRecord},
		{"producer token", url, tokProducer, plan, 403, CodeForbidden},
	} {
		if r := do(t, "POST", tc.url, tc.token, tc.body); r.status != tc.status || r.problem(t).Code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
		}
	}
	r := do(t, "POST", url, tokReviewer, plan)
	if r.status != http.StatusCreated {
		t.Fatalf("plan: %d %s", r.status, r.body)
	}
	if ans := decodeResult(t, r); ans.Record != "sha256:"+hexSum(plan) || !contains(ans.Flags, flagPlanImported) {
		t.Fatalf("answer %+v", ans)
	}
}
