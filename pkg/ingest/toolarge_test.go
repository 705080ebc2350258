package ingest

import (
	"context"
	"flag"
	"net/http"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/console"
)

// TestRunTooLargeForReview: with limits.maxReviewRunRecords lowered to 3,
// a run of 3 records is reviewed as before; once it holds a 4th, GET
// /v1/runs/{runId}/review and an approval import answer 422
// run-too-large naming the count, the limit and what to do, and the
// console lists the run as too large.
func TestRunTooLargeForReview(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	withKeyring(t, &cfg, dir)
	rita, _ := withReviewers(t, &cfg)
	cfg.Limits.MaxReviewRunRecords = 3
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	for i := range 3 {
		if r := submit(t, d, testRunID, datasetBody(t, testRunID, i), ""); r.status != http.StatusCreated {
			t.Fatalf("submit: %d %s", r.status, r.body)
		}
	}
	reviewURL := d.url + "/v1/runs/" + testRunID + "/review"
	rv := do(t, "GET", reviewURL, tokReviewer, nil)
	if rv.status != http.StatusOK || len(rv.body) == 0 {
		t.Fatalf("GET review of a run at the limit: %d %s", rv.status, rv.body)
	}
	approval := approveDoc(t, rita, "person:rita", rv.body)
	if r := submit(t, d, testRunID, datasetBody(t, testRunID, 3), ""); r.status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	tests := []struct {
		name, method, url string
		body              []byte
	}{
		{"review", "GET", reviewURL, nil},
		{"approval import", "POST", d.url + "/v1/runs/" + testRunID + "/approvals", approval},
	}
	for _, tc := range tests {
		r := do(t, tc.method, tc.url, tokReviewer, tc.body)
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("%s of a run above the limit: %d %s, want 422", tc.name, r.status, r.body)
		}
		p := r.problem(t)
		for _, want := range []string{"holds 4 records, more than the limit of 3", "dossier review --log", "--max-review-run-records"} {
			if p.Code != CodeRunTooLarge || p.Type != ErrorTypeBase+CodeRunTooLarge || !strings.Contains(p.Detail, want) {
				t.Fatalf("%s: problem %+v, want %s naming %q", tc.name, p, CodeRunTooLarge, want)
			}
		}
	}
	rb, err := d.s.reviewBackend()
	must(t, err)
	page, err := rb.Runs(context.Background(), console.Filter{Page: console.Page{Limit: 10}})
	if err != nil || len(page.Runs) != 1 || !page.Runs[0].TooLarge || page.Runs[0].Records != 4 {
		t.Fatalf("console list: %+v, %v; want the run, too large, 4 records", page, err)
	}
}

// TestMaxReviewRunRecordsOption: the limit is set by the file, the
// environment and the flag, and a negative one is refused.
func TestMaxReviewRunRecordsOption(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DOSSIERD_MAX_REVIEW_RUN_RECORDS": "20000", "DOSSIERD_LOG_KEY": "k", "DOSSIERD_INGEST_KEY": "k"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	parse := func(fs *flag.FlagSet, a []string) error { return fs.Parse(a) }
	cfg, err := ConfigFromArgs(flag.NewFlagSet("dossierd", flag.ContinueOnError), nil, lookup, parse)
	if err != nil || cfg.Limits.MaxReviewRunRecords != 20000 {
		t.Fatalf("from the environment: %d, %v; want 20000", cfg.Limits.MaxReviewRunRecords, err)
	}
	cfg, err = ConfigFromArgs(flag.NewFlagSet("dossierd", flag.ContinueOnError), []string{"-max-review-run-records", "100"}, lookup, parse)
	if err != nil || cfg.Limits.MaxReviewRunRecords != 100 {
		t.Fatalf("from the flag: %d, %v; want 100", cfg.Limits.MaxReviewRunRecords, err)
	}
	cfg = DefaultConfig()
	cfg.DataDir, cfg.LogKey, cfg.IngestKey = "d", "k", "k"
	cfg.Limits.MaxReviewRunRecords = -1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "maxReviewRunRecords") {
		t.Fatalf("a negative limit: %v, want refused", err)
	}
}
