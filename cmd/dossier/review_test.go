package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/record"
)

// writeEdited writes kind's template for runID citing te, edited by edit.
func writeEdited(t *testing.T, path, kind, runID, te string, edit func(map[string]any)) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(record.Template(kind), &m); err != nil {
		t.Fatal(err)
	}
	m["runId"], m["timeEvidence"], m["producedAt"] = runID, map[string]any{"digest": te}, "2026-11-27T10:00:00Z"
	if edit != nil {
		edit(m)
	}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

const cliReleasePolicy = `{"mediaType":"application/vnd.dossier.policy.v2+json","name":"release",
 "time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},
 "requiredKinds":["dataset","training-run","evaluation","run-closed"],
 "releases":{"requiredKinds":["evaluation-plan","model-release","approval"],
  "evaluationPlan":{"role":"reviewer"},
  "approvals":{"min":2,"role":"reviewer","meanings":["approval"],
   "cover":["dataset","training-run","evaluation-plan","evaluation","model-release","run-closed"]},
  "separationOfDuties":{"byPerson":true,"byTeam":true,"developerKinds":["dataset","training-run"]}}}`

// TestReviewApprovePolicyVSACommands: review a run from a log, two
// reviewers approve, the policy passes, the summary is issued.
func TestReviewApprovePolicyVSACommands(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	must := func(name string, code int, args ...string) string {
		t.Helper()
		got, stdout, stderr := runCmd(t, args...)
		if got != code {
			t.Fatalf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", name, got, code, stdout, stderr)
		}
		return stdout + stderr
	}
	for _, k := range []string{"root", "pipeline", "alice", "vera", "rita", "victor", "time", "exporter"} {
		must("key "+k, 0, "key generate", "--output", p(k))
	}
	must("run", 0, "run init", "--id", "cli-run-2", "--project", "p", "--model", "acme/m", "--started-by", "workload:train",
		"--started-at", "2026-11-27T08:00:00Z", "-o", p("run.json"))
	must("log init", 0, "log init", "--dir", p("log"), "--origin", "example.test/review", "--key-out", p("logkey"))
	must("keyring", 0, "keyring create", "--root-key", p("root.key"), "-o", p("keyring-v1.json"),
		"--add", "root:"+p("root.pub")+":Root Owner:person:root:security",
		"--add", "producer:"+p("pipeline.pub")+":Pipeline:workload:pipeline:ml-platform",
		"--add", "producer:"+p("alice.pub")+":Alice:person:alice:ml-platform",
		"--add", "producer,reviewer:"+p("vera.pub")+":Vera:person:vera:validation",
		"--add", "exporter:"+p("exporter.pub")+":Erika:person:erika:compliance",
		"--add", "reviewer:"+p("rita.pub")+":Rita:person:rita:validation",
		"--add", "reviewer:"+p("victor.pub")+":Victor:person:victor:validation",
		"--add", "time:"+p("time.pub")+":Time:workload:timecheck:ops",
		"--add", "log:"+p("logkey.vkey")+":Log:workload:dossierd:ops")
	must("append keyring", 0, "log append", "--dir", p("log"), "--key", p("logkey.key"), "--stream", "keyring", p("keyring-v1.json"))
	te := signTimeEvidence(t, p("te.json"), p("time.key"))
	rec := func(name, kind, key string, edit func(map[string]any)) string {
		t.Helper()
		writeEdited(t, p(name+".pred.json"), kind, "cli-run-2", te, edit)
		out := must("record "+name, 0, "record create", "--run", p("run.json"), "--type", kind, "--predicate", p(name+".pred.json"),
			"--key", p(key+".key"), "-o", p(name+".json"))
		return strings.Fields(out)[0]
	}
	rec("a-dataset", "dataset", "pipeline", nil)
	rec("b-training", "training-run", "alice", nil)
	plan := rec("c-plan", "evaluation-plan", "vera", nil)
	rec("d-eval-qa", "evaluation", "pipeline", func(m map[string]any) { m["plan"] = plan })
	rec("e-eval-tox", "evaluation", "pipeline", func(m map[string]any) {
		m["plan"], m["benchmark"] = plan, map[string]any{"name": "toxicity-de", "version": "1"}
		m["metrics"] = []any{map[string]any{"name": "toxic_rate", "value": "0.0004"}}
		delete(m, "dataset")
		delete(m, "thresholds")
	})
	run := must("run show", 0, "run show", p("run.json"))
	rootDigest := strings.Fields(strings.Split(run, "\n")[1])[1]
	rec("f-release", "model-release", "pipeline", func(m map[string]any) { m["runs"] = []any{rootDigest} })
	rec("g-closed", "run-closed", "pipeline", nil)
	must("append records", 0, "log append", "--dir", p("log"), "--key", p("logkey.key"), p("te.json"), p("a-dataset.json"),
		p("b-training.json"), p("c-plan.json"), p("d-eval-qa.json"), p("e-eval-tox.json"), p("f-release.json"), p("g-closed.json"))
	if err := os.WriteFile(p("policy.json"), []byte(cliReleasePolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	must("policy lint", 0, "policy lint", p("policy.json"))
	must("policy lint of a record", 1, "policy lint", p("a-dataset.pred.json"))
	logArgs := []string{"--log", p("log"), "--run", p("run.json"), "--keyring", p("keyring-v1.json")}
	check := append([]string{"policy check", "--policy", p("policy.json"), "--at", "2026-12-01T00:00:00Z"}, logArgs...)
	if out := must("policy check without approvals", 1, check...); !strings.Contains(out, "release.approvals.distinct-people") {
		t.Fatalf("policy check does not name the rule:\n%s", out)
	}
	out := must("review", 0, append([]string{"review", "-o", p("review.html")}, logArgs...)...)
	if !strings.HasPrefix(out, "view sha256:") || strings.Count(out, "\nrecord sha256:") != 7 {
		t.Fatalf("review output:\n%s", out)
	}
	pin := strings.TrimSpace(must("pin", 0, "keyring fingerprint", p("keyring-v1.json")))
	must("export for review", 0, "export", "--log", p("log"), "--log-key", p("logkey.key"), "--exporter-key", p("exporter.key"),
		"--keyring", p("keyring-v1.json"), "--run", p("run.json"), "--purpose", "review", "--requested-by", "person:erika:Erika",
		"--recipient", "Model risk committee", "--at", "2026-11-28T12:00:00Z", "-o", p("for-review.tar"))
	release := func(out string) []string {
		return []string{"export", "--release", "--policy", p("policy.json"), "--log", p("log"), "--log-key", p("logkey.key"),
			"--exporter-key", p("exporter.key"), "--keyring", p("keyring-v1.json"), "--run", p("run.json"), "--purpose", "release",
			"--requested-by", "person:erika:Erika", "--recipient", "Deployment", "--at", "2026-11-28T13:00:00Z", "-o", p(out)}
	}
	if out := must("release export without approvals", 1, release("refused.tar")...); !strings.Contains(out, "release.approvals.distinct-people") {
		t.Fatalf("a refused release export does not name the rule:\n%s", out)
	}
	if _, err := os.Stat(p("refused.tar")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused release export left a file: %v", err)
	}
	must("release export without --policy", 2, slices.Delete(release("x.tar"), 1, 3)...)
	fromPkg := must("review of the package", 0, "review", "--package", p("for-review.tar"), "--root-fingerprint", pin, "-o", p("review-pkg.html"))
	if strings.Fields(fromPkg)[1] != strings.Fields(out)[1] {
		t.Fatalf("review of the package %s differs from the log's %s", strings.Fields(fromPkg)[1], strings.Fields(out)[1])
	}
	must("review: --package and --log", 2, "review", "--package", p("for-review.tar"), "--root-fingerprint", pin, "--log", p("log"), "-o", p("x.html"))
	must("review over an existing file", 3, append([]string{"review", "-o", p("review.html")}, logArgs...)...)
	approve := func(who, out string, extra ...string) {
		t.Helper()
		must("approve "+who, 0, append([]string{"approve", "--run", p("run.json"), "--review", p("review.html"), "--key", p(who + ".key"),
			"--name", "Printed " + who, "--keyring", p("keyring-v1.json"), "--meaning", "approval", "--decision", "approve",
			"--at", "2026-11-29T10:00:00Z", "-o", p(out)}, extra...)...)
	}
	approve("rita", "ap-rita.json", "--expires", "2027-11-29T00:00:00Z", "--finding", "small toxicity sample")
	must("approve victor from the package's review, without the run file", 0, "approve", "--review", p("review-pkg.html"),
		"--key", p("victor.key"), "--name", "Victor", "--keyring", p("keyring-v1.json"), "--meaning", "approval", "--decision", "approve",
		"--at", "2026-11-29T10:00:00Z", "-o", p("ap-victor.json"))
	must("approve: conditions without that decision", 1, "approve", "--run", p("run.json"), "--review", p("review.html"), "--key", p("rita.key"),
		"--name", "R", "--signer-id", "person:rita", "--meaning", "approval", "--decision", "approve", "--condition", "x", "-o", p("bad.json"))
	must("append approvals", 0, "log append", "--dir", p("log"), "--key", p("logkey.key"), p("ap-rita.json"), p("ap-victor.json"))
	if out := must("policy check", 0, append(check, "--json")...); !strings.Contains(out, `"release":true`) {
		t.Fatalf("policy check JSON:\n%s", out)
	}
	vsa := append([]string{"vsa", "--policy", p("policy.json"), "--key", p("vera.key"), "--verifier-id", "https://dossier.example/gate",
		"--resource-uri", "oci://registry.example/acme/m@sha256:18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4",
		"--at", "2026-12-01T00:00:00Z", "-o", p("vsa.json")}, logArgs...)
	if out := must("vsa", 0, vsa...); !strings.Contains(out, "verification-summary") {
		t.Fatalf("vsa output:\n%s", out)
	}
	// The summary on the weights' OCI artifact (a layout here).
	modelLayout(t, p("model"), "1.0.0", "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4")
	modelLayout(t, p("model"), "other", "00ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4")
	vsaArt := append(vsa[:len(vsa):len(vsa)], "--artifact", "layout:"+p("model"))
	must("vsa: --artifact without --artifact-tag", 2, vsaArt...)
	must("vsa: an artifact without the weights", 1, append(vsaArt[:len(vsaArt):len(vsaArt)], "--artifact-tag", "other")...)
	vsaArt = append(vsaArt, "--artifact-tag", "1.0.0")
	vsaArt[slices.Index(vsaArt, p("vsa.json"))] = p("vsa-art.json")
	must("vsa about the artifact", 0, vsaArt...)
	must("vsa attach: a summary not about the artifact", 1, "vsa attach", "--tag", "1.0.0", "layout:"+p("model"), p("vsa.json"))
	must("vsa attach: to other weights", 1, "vsa attach", "--tag", "other", "layout:"+p("model"), p("vsa-art.json"))
	must("vsa attach: usage", 2, "vsa attach", "layout:"+p("model"), p("vsa-art.json"))
	if out := must("vsa attach", 0, "vsa attach", "--tag", "1.0.0", "layout:"+p("model"), p("vsa-art.json")); !strings.Contains(out, "cosign verify-attestation") {
		t.Fatalf("vsa attach output:\n%s", out)
	}
	must("usage", 2, "policy check", "--policy", p("policy.json"))
	must("export approved", 0, "export", "--log", p("log"), "--log-key", p("logkey.key"), "--exporter-key", p("exporter.key"),
		"--keyring", p("keyring-v1.json"), "--run", p("run.json"), "--purpose", "release", "--requested-by", "person:erika:Erika",
		"--recipient", "Deployment", "--at", "2026-11-30T12:00:00Z", "-o", p("approved.tar"))
	must("release export once approved", 0, release("released.tar")...)
	pkgArgs := []string{"--package", p("approved.tar"), "--root-fingerprint", pin}
	must("policy check of the package", 0, append([]string{"policy check", "--policy", p("policy.json"), "--at", "2026-12-01T00:00:00Z"}, pkgArgs...)...)
	must("policy check of the for-review package", 1, "policy check", "--policy", p("policy.json"), "--package", p("for-review.tar"), "--root-fingerprint", pin)
	must("vsa from the package", 0, append([]string{"vsa", "--policy", p("policy.json"), "--key", p("vera.key"), "--verifier-id", "https://dossier.example/gate",
		"--resource-uri", "oci://registry.example/acme/m", "--at", "2026-12-01T00:00:00Z", "-o", p("vsa-pkg.json")}, pkgArgs...)...)
	must("vsa from the for-review package", 1, "vsa", "--policy", p("policy.json"), "--key", p("vera.key"), "--verifier-id", "v",
		"--resource-uri", "u", "--package", p("for-review.tar"), "--root-fingerprint", pin, "-o", p("vsa-x.json"))
}

// modelLayout stores, in the layout dir, an image manifest whose layers
// have the digests layerHex, tagged tag.
func modelLayout(t *testing.T, dir, tag string, layerHex ...string) {
	t.Helper()
	s, err := oci.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: oci.EmptyConfig.Descriptor}
	m.SchemaVersion = 2
	for _, h := range layerHex {
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.NewDigestFromEncoded(digest.SHA256, h), Size: 1})
	}
	b, _ := json.Marshal(m)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := s.PushManifest(context.Background(), desc, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(context.Background(), desc, tag); err != nil {
		t.Fatal(err)
	}
}
