package console_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
)

// tooLargeFixture is a log fixture whose run's stream holds 8 records (5
// datasets, the training run, evaluation and run end), read through a
// LogBackend limited to max records that counts the bundles it reads.
func tooLargeFixture(t *testing.T, f *logFixture, max int) (*console.LogBackend, *countingLog) {
	t.Helper()
	cl := &countingLog{Log: f.log}
	cfg := f.cfg
	cfg.Log, cfg.MaxRunRecords = cl, max
	b, err := console.NewLogBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b, cl
}

const fixtureRecords = 8 // newLogFixtureN(t, 5)'s run

// TestRunAboveTheLimit: a run holding more records than MaxRunRecords is
// listed (queue and all runs) with its record count and TooLarge without
// reading any of its bundles; its page, its current review and an
// approval of it fail with a TooLargeError naming the count and the
// limit, still without reading a bundle. A run at the limit loads as
// before.
func TestRunAboveTheLimit(t *testing.T) {
	t.Parallel()
	f := newLogFixtureN(t, 5)
	ctx := context.Background()
	tests := []struct {
		name     string
		max      int
		tooLarge bool
	}{
		{"above the limit", fixtureRecords - 1, true},
		{"at the limit", fixtureRecords, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, cl := tooLargeFixture(t, f, tc.max)
			for _, filter := range []console.Filter{{Page: console.Page{Limit: 10}}, {Page: console.Page{Limit: 10}, WaitingFor: "rita"}} {
				p, err := b.Runs(ctx, filter)
				if err != nil || len(p.Runs) != 1 {
					t.Fatalf("list (waiting for %q): %+v, %v; want the run", filter.WaitingFor, p, err)
				}
				if s := p.Runs[0]; s.TooLarge != tc.tooLarge || tc.tooLarge && s.Records != fixtureRecords {
					t.Fatalf("listed: too large %t, %d records; want %t, %d", s.TooLarge, s.Records, tc.tooLarge, fixtureRecords)
				}
			}
			d, err := b.Run(ctx, logRunID)
			_, curErr := b.CurrentRun(ctx, logRunID)
			_, subErr := b.SubmitApproval(ctx, logRunID, []byte(`{"not":"read"}`), auth.Identity{Subject: "rita"})
			if !tc.tooLarge {
				if err != nil || len(d.Review) == 0 || curErr != nil || !errors.Is(subErr, console.ErrApproval) {
					t.Fatalf("at the limit: run %v, current %v, approval %v; want the review, and the approval checked", err, curErr, subErr)
				}
				return
			}
			for name, err := range map[string]error{"run page": err, "current review": curErr, "approval": subErr} {
				var tl *console.TooLargeError
				if !errors.As(err, &tl) || !errors.Is(err, console.ErrTooLarge) || tl.Records != fixtureRecords || tl.Limit != tc.max || tl.RunID != logRunID {
					t.Errorf("%s: %v; want a TooLargeError of %d records, limit %d", name, err, fixtureRecords, tc.max)
				}
			}
			if n := cl.reads.Load(); n != 0 {
				t.Fatalf("a run above the limit: %d bundles read, want none", n)
			}
		})
	}
}

// TestTooLargePages: the console lists a run above the limit as too large
// to review, and its page, review and upload say so, name the limit and
// what to do, with status 422.
func TestTooLargePages(t *testing.T) {
	t.Parallel()
	f := newLogFixtureN(t, 5)
	b, cl := tooLargeFixture(t, f, fixtureRecords-1)
	mux := http.NewServeMux()
	mux.Handle("/console/", console.New(b, console.Options{Auth: testTokens, Now: time.Now, IdleTimeout: 10 * time.Minute, PageSize: 20}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &env{srv: srv}
	c := e.client(t)
	e.signIn(t, c, "rev-token")
	for _, path := range []string{"/console/queue", "/console/runs"} {
		status, page := get(t, c, srv.URL+path)
		if status != http.StatusOK || !strings.Contains(page, `href="/console/runs/`+logRunID+`"`) || !strings.Contains(page, "too large to review in the console") {
			t.Fatalf("%s: status %d, the run not listed as too large:\n%s", path, status, page)
		}
	}
	want := []string{"holds 8 records, more than the 7 this console loads", "dossier review --log DIR", "--max-review-run-records", "too large to review in the console"}
	status, page := get(t, c, srv.URL+"/console/runs/"+logRunID)
	checkPage(t, "run page", status, page, want)
	status, body := get(t, c, srv.URL+"/console/runs/"+logRunID+"/review.html")
	checkPage(t, "review", status, body, want)
	status, body = upload(t, c, srv.URL+"/console/runs/"+logRunID+"/approvals", csrfOf(t, page), []byte(`{"not":"read"}`))
	checkPage(t, "upload", status, body, want)
	if n := cl.reads.Load(); n != 0 {
		t.Fatalf("the pages of a run above the limit read %d bundles, want none", n)
	}
}

func checkPage(t *testing.T, name string, status int, page string, want []string) {
	t.Helper()
	if status != http.StatusUnprocessableEntity {
		t.Errorf("%s: status %d, want 422", name, status)
	}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("%s lacks %q:\n%s", name, w, page)
		}
	}
}
