package dossier

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/anchor"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// fakeAnchors anchors the package checkpoint itself with one token.
type fakeAnchors struct {
	none    bool
	indices []uint64
}

func (a *fakeAnchors) Build(_ context.Context, pkg *tlogproof.Checkpoint, indices []uint64) (*anchor.File, error) {
	a.indices = indices
	if a.none {
		return &anchor.File{Anchors: []anchor.Entry{}}, nil
	}
	return &anchor.File{Anchors: []anchor.Entry{{Checkpoint: pkg.Raw, Consistency: [][]byte{},
		Timestamps: []anchor.Timestamp{{TSA: "tsa.internal", Response: []byte("token")}}, Cosignatures: ""}}}, nil
}

// exportWith exports a fresh fixture of n records with the request and
// deps changed by mutate.
func exportWith(t *testing.T, f *fixture, mutate func(*ExportRequest, *Deps)) (*Result, *pkgFile, error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "package.tar")
	l := f.open(t, f.dir)
	defer closeLog(t, l)
	req, deps := f.request(out), Deps{Log: l, Exporter: f.exporter, PollInterval: 10 * time.Millisecond}
	mutate(&req, &deps)
	res, err := Export(context.Background(), req, deps)
	if err != nil {
		return nil, nil, err
	}
	return res, readPackage(t, out), nil
}

func TestExportAnchors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4)
	src := &fakeAnchors{}
	res, p, err := exportWith(t, f, func(_ *ExportRequest, d *Deps) { d.Anchors = src })
	if err != nil {
		t.Fatal(err)
	}
	_, layers := p.metadata(t)
	l, ok := layers["anchors.json"]
	if !ok || l.MediaType != AnchorsMediaType || res.Anchors != 1 {
		t.Fatalf("anchors layer %+v present %v, result anchors %d; want one entry", l, ok, res.Anchors)
	}
	file, err := anchor.Parse(p.blob(t, l.Digest.String()))
	if err != nil || string(file.Anchors[0].Checkpoint) != string(p.blob(t, layers["checkpoint"].Digest.String())) {
		t.Fatalf("anchors.json %v, %v; want the package checkpoint", file, err)
	}
	// records, export record and keyring version, in log order.
	if len(src.indices) != 4+1+1+1 || !slices.IsSorted(src.indices) {
		t.Errorf("Build asked for indices %v", src.indices)
	}
	readme := string(p.blob(t, layers["README.txt"].Digest.String()))
	for _, want := range []string{"openssl ts -verify -data checkpoint -in checkpoint.tsr", "blobs/sha256/" + l.Digest.Encoded(), "tokens: tsa.internal"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.txt lacks %q", want)
		}
	}
	if report := string(p.blob(t, layers["REPORT.html"].Digest.String())); !strings.Contains(report, "Independent anchors") {
		t.Errorf("REPORT.html lacks the anchors section")
	}
}

func TestExportNothingAnchored(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	res, p, err := exportWith(t, f, func(_ *ExportRequest, d *Deps) { d.Anchors = &fakeAnchors{none: true} })
	if err != nil {
		t.Fatal(err)
	}
	_, layers := p.metadata(t)
	if _, ok := layers["anchors.json"]; ok || res.Anchors != 0 {
		t.Fatalf("nothing anchored but an anchors layer (%d entries)", res.Anchors)
	}
	if readme := string(p.blob(t, layers["README.txt"].Digest.String())); strings.Contains(readme, "openssl ts") {
		t.Errorf("README.txt explains tokens the package does not hold")
	}
}

const forReviewPolicy = `{"mediaType":"application/vnd.dossier.policy.v2+json","name":"release",
 "time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},
 "requiredKinds":["dataset"],
 "runs":{"approvals":{"min":2,"role":"reviewer","meanings":["approval"],"cover":["dataset"]}}}`

func TestExportForReview(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4)
	res, p, err := exportWith(t, f, func(r *ExportRequest, _ *Deps) { r.Policy = []byte(forReviewPolicy) })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.ForReview, fixtureRunID+": approvals.distinct-people") {
		t.Fatalf("ForReview = %q, want the quorum rule", res.ForReview)
	}
	_, layers := p.metadata(t)
	if l := layers["policy.json"]; l.MediaType != PolicyV2MediaType {
		t.Errorf("policy layer media type %q, want %q", l.MediaType, PolicyV2MediaType)
	}
	for _, name := range []string{"README.txt", "REPORT.html"} {
		text := string(p.blob(t, layers[name].Digest.String()))
		if !strings.Contains(strings.ToLower(text), "for review") || !strings.Contains(text, "approvals.distinct-people") {
			t.Errorf("%s does not say it is for review and why", name)
		}
	}
}

func TestExportV1PolicyIsNotForReview(t *testing.T) {
	t.Parallel()
	res, p, err := exportWith(t, newFixture(t, 1), func(*ExportRequest, *Deps) {})
	if err != nil {
		t.Fatal(err)
	}
	_, layers := p.metadata(t)
	if res.ForReview != nil || layers["policy.json"].MediaType != PolicyMediaType {
		t.Fatalf("default export: forReview %q, policy media type %q", res.ForReview, layers["policy.json"].MediaType)
	}
}

func TestExportRefusesInvalidPolicy(t *testing.T) {
	t.Parallel()
	bad := strings.Replace(forReviewPolicy, `"min":2`, `"min":0`, 1)
	_, _, err := exportWith(t, newFixture(t, 1), func(r *ExportRequest, _ *Deps) { r.Policy = []byte(bad) })
	if !errors.Is(err, ErrRequest) {
		t.Fatalf("Export = %v, want ErrRequest", err)
	}
}

func TestExportPacksNamedReviews(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	named, other := []byte("<!DOCTYPE html><p>review</p>"), []byte("<!DOCTYPE html><p>other</p>")
	var pred map[string]any
	if err := json.Unmarshal(record.Template("approval"), &pred); err != nil {
		t.Fatal(err)
	}
	pred["renderedViewDigest"] = review.Digest(named)
	pred["timeEvidence"] = map[string]any{"digest": f.te}
	b, _ := json.Marshal(pred)
	l := f.open(t, f.dir)
	appendAll(t, l, [][]byte{signRecord(t, f.producer, "approval", b, f.root)}, f.root.Digest())
	closeLog(t, l)
	res, p, err := exportWith(t, f, func(r *ExportRequest, _ *Deps) { r.Reviews = [][]byte{other, named, named} })
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Reviews) != 1 || res.Reviews[0] != review.Digest(named) {
		t.Fatalf("Reviews = %q, want only the named document once", res.Reviews)
	}
	m, _ := p.metadata(t)
	var docs int
	for _, l := range m.Layers {
		if l.MediaType == ReviewMediaType {
			docs++
			if string(p.blob(t, l.Digest.String())) != string(named) {
				t.Errorf("review layer holds other bytes")
			}
		}
	}
	if docs != 1 {
		t.Fatalf("%d review layers, want 1", docs)
	}
}
