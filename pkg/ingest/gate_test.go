package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// releasePolicyJSON needs one approval by a reviewer for a release.
const releasePolicyJSON = `{"mediaType":"application/vnd.dossier.policy.v2+json","name":"test release policy",
 "time":{"accept":["good"],"acceptUntraceable":true,"maxProducerSkewSeconds":300},
 "requiredKinds":["dataset"],
 "releases":{"approvals":{"min":1,"role":"reviewer","meanings":["approval"],"cover":["dataset"]}}}`

func exportBody(kind string) []byte {
	return []byte(`{"runs":["` + testRunID + `"],"purpose":"release of the support assistant","recipient":{"organisation":"Notified Body 0123"},"kind":"` + kind + `"}`)
}

// TestReleaseGate: with a release policy configured, a release export of
// a run without the approvals the policy needs is refused with
// release-policy-unmet naming the rule, and nothing is exported; a review
// export of the same run is written and says what it lacks.
func TestReleaseGate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	withKeyring(t, &cfg, dir)
	cfg.Policy = filepath.Join(dir, "policy.json")
	must(t, os.WriteFile(cfg.Policy, []byte(releasePolicyJSON), 0o600))
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	for i := range 2 {
		if r := submit(t, d, testRunID, datasetBody(t, testRunID, i), ""); r.status != http.StatusCreated {
			t.Fatalf("submit: %d %s", r.status, r.body)
		}
	}
	want := testRunID + ": release.approvals.distinct-people"
	r := do(t, "POST", d.url+"/v1/exports", tokExporter, exportBody(ExportRelease))
	p := r.problem(t)
	if r.status != http.StatusUnprocessableEntity || p.Code != CodeReleasePolicy || !slices.Contains(p.Rules, want) {
		t.Fatalf("release export without approval: %d %s, want 422 %s naming %s", r.status, r.body, CodeReleasePolicy, want)
	}
	if ents, _ := os.ReadDir(filepath.Join(cfg.DataDir, "exports")); len(ents) != 0 {
		t.Fatalf("a refused release export left %d files", len(ents))
	}
	r = do(t, "POST", d.url+"/v1/exports", tokExporter, exportBody(ExportReview))
	if r.status != http.StatusCreated {
		t.Fatalf("review export: %d %s", r.status, r.body)
	}
	var res ExportResult
	must(t, json.Unmarshal(r.body, &res))
	if res.Kind != ExportReview || !slices.Contains(res.Result.ForReview, want) {
		t.Fatalf("review export: kind %q, forReview %q; want review naming %s", res.Kind, res.Result.ForReview, want)
	}
	if r := do(t, "POST", d.url+"/v1/exports", tokExporter, exportBody("final")); r.status != http.StatusBadRequest || r.problem(t).Code != CodeMalformed {
		t.Fatalf("unknown kind: %d %s", r.status, r.body)
	}
}

// TestReleaseGateNeedsPolicy: without a policy, a release export cannot be
// checked and is refused (review exports work as before); a policy file
// that does not parse stops the daemon at start.
func TestReleaseGateNeedsPolicy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	withKeyring(t, &cfg, dir)
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	if r := do(t, "POST", d.url+"/v1/exports", tokExporter, exportBody(ExportRelease)); r.status != http.StatusNotImplemented || r.problem(t).Code != CodeNotImplemented {
		t.Fatalf("release export without a policy: %d %s", r.status, r.body)
	}
	must(t, d.stop())
	bad := cfg
	bad.DataDir = filepath.Join(dir, "other")
	bad.Policy = filepath.Join(dir, "bad-policy.json")
	must(t, os.WriteFile(bad.Policy, []byte(`{"mediaType":"application/vnd.dossier.policy.v2+json"}`), 0o600))
	if s, err := New(context.Background(), bad, Deps{Logger: quietLogger()}); !errors.Is(err, ErrConfig) {
		if s != nil {
			_ = s.Close(context.Background())
		}
		t.Fatalf("invalid policy file: got %v, want ErrConfig", err)
	}
}
