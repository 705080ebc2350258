package dossier

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestReleaseExport checks ExportRequest.Release: a release export whose
// records do not meet the proposal is refused with the failed rules and
// logs nothing; one that meets it is written and not marked for review.
func TestReleaseExport(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4)
	l := f.open(t, f.dir)
	before, err := l.Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req := f.request(filepath.Join(t.TempDir(), "refused.tar"))
	req.Policy, req.Release, req.RequirePolicy = []byte(forReviewPolicy), true, true
	_, err = Export(context.Background(), req, Deps{Log: l, Exporter: f.exporter, PollInterval: 10 * time.Millisecond})
	var pe *PolicyError
	if !errors.Is(err, ErrPolicy) || !errors.As(err, &pe) || !slices.Contains(pe.Failed, fixtureRunID+": approvals.distinct-people") {
		t.Fatalf("release export below the policy: got %v, want a PolicyError naming approvals.distinct-people", err)
	}
	after, err := l.Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	closeLog(t, l)
	if after != before {
		t.Fatalf("a refused release export logged %d leaves", after-before)
	}
	v1 := []byte(`{"mediaType":"application/vnd.dossier.policy.v1+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},"requiredKinds":["dataset"]}`)
	res, _, err := exportWith(t, f, func(r *ExportRequest, _ *Deps) { r.Policy, r.Release, r.RequirePolicy = v1, true, true })
	if err != nil || res.ForReview != nil {
		t.Fatalf("release export meeting the policy: %v, forReview %q", err, res.ForReview)
	}
	missing := []byte(`{"mediaType":"application/vnd.dossier.policy.v1+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},"requiredKinds":["model-release"]}`)
	_, _, err = exportWith(t, f, func(r *ExportRequest, _ *Deps) { r.Policy, r.Release, r.RequirePolicy = missing, true, true })
	if !errors.As(err, &pe) || !slices.Contains(pe.Failed, fixtureRunID+": kinds.required") {
		t.Fatalf("release export lacking a required kind (v1 policy): got %v", err)
	}
}
