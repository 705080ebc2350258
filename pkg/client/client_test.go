package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/client"
	"github.com/dossier-audit/dossier/pkg/client/clienttest"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func now() time.Time { return t0 }

var producer = &record.Producer{ID: "workload:test", Name: "test pipeline", Kind: "workload"}

func newClient(t *testing.T, url, outbox string) *client.Client {
	t.Helper()
	c, err := client.New(url, client.Options{Token: "tok", OutboxDir: outbox, Now: now, Producer: producer})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func dataset(name string) map[string]any {
	return map[string]any{"name": name}
}

// TestIdempotencyKeyRecipe pins the recipe; clients/python tests pin the
// same value.
func TestIdempotencyKeyRecipe(t *testing.T) {
	t.Parallel()
	got := client.IdempotencyKey("run-1", "dataset", 2, client.ContentDigest([]byte(`{"kind":"dataset"}`)))
	const want = "dk1-" + goldenKey
	if got != want {
		t.Fatalf("IdempotencyKey = %s, want %s", got, want)
	}
}

func TestSubmitDirect(t *testing.T) {
	t.Parallel()
	srv := clienttest.New("tok")
	defer srv.Close()
	c := newClient(t, srv.URL, "")
	res, err := c.Submit(context.Background(), "run-1", "dataset", dataset("train"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Queued || res.Record == "" || res.Key == "" {
		t.Fatalf("result %+v, want an acknowledged record", res)
	}
	got := srv.Accepted()
	if len(got) != 1 {
		t.Fatalf("%d accepted, want 1", len(got))
	}
	p := got[0].Predicate
	if p["runId"] != "run-1" || p["attempt"] != float64(1) || p["producedAt"] != "2026-11-27T12:00:00Z" {
		t.Fatalf("common fields not filled: %v", p)
	}
	// Same submission again: same key and body, the stored answer.
	res2, err := c.Submit(context.Background(), "run-1", "dataset", dataset("train"))
	if err != nil || res2.Record != res.Record || res2.Key != res.Key || len(srv.Accepted()) != 1 {
		t.Fatalf("resubmission: %+v, %v; %d accepted, want the stored answer and 1", res2, err, len(srv.Accepted()))
	}
}

func TestSubmitWithoutOutboxReturnsRetryable(t *testing.T) {
	t.Parallel()
	srv := clienttest.New("tok")
	defer srv.Close()
	srv.Refuse(true)
	_, err := newClient(t, srv.URL, "").Submit(context.Background(), "run-1", "dataset", dataset("a"))
	var perr *client.ProblemError
	if !errors.As(err, &perr) || perr.Code != "time-untrusted" || !perr.Retryable() || perr.RetryAfter != time.Second {
		t.Fatalf("got %v, want a retryable time-untrusted problem with Retry-After", err)
	}
}

func TestOutboxDeliversInOrderAfterRefusal(t *testing.T) {
	t.Parallel()
	srv := clienttest.New("tok")
	defer srv.Close()
	dir := t.TempDir()
	c := newClient(t, srv.URL, dir)
	ctx := context.Background()
	srv.Refuse(true)
	for _, n := range []string{"a", "b", "c"} {
		res, err := c.Submit(ctx, "run-1", "dataset", dataset(n))
		if err != nil || !res.Queued {
			t.Fatalf("submit %s while refused: %+v, %v; want queued", n, res, err)
		}
	}
	if n, _ := c.Pending(); n != 3 {
		t.Fatalf("pending %d, want 3", n)
	}
	srv.Refuse(false)
	rep, err := c.Flush(ctx)
	if err != nil || rep.Delivered != 3 || rep.Pending != 0 {
		t.Fatalf("flush: %+v, %v", rep, err)
	}
	assertOrder(t, srv, "a", "b", "c")
	if n, _ := c.Pending(); n != 0 {
		t.Fatalf("pending %d after flush, want 0", n)
	}
}

func assertOrder(t *testing.T, srv *clienttest.Server, names ...string) {
	t.Helper()
	got := srv.Accepted()
	if len(got) != len(names) {
		t.Fatalf("%d accepted, want %d", len(got), len(names))
	}
	for i, n := range names {
		if got[i].Predicate["name"] != n {
			t.Fatalf("record %d is %v, want %s", i, got[i].Predicate["name"], n)
		}
	}
}

func TestOutboxSurvivesRestartWhileDaemonDown(t *testing.T) {
	t.Parallel()
	srv := clienttest.New("tok")
	url := srv.URL
	srv.Close() // daemon down: connection refused
	dir := t.TempDir()
	c := newClient(t, url, dir)
	ctx := context.Background()
	for _, n := range []string{"a", "b"} {
		if res, err := c.Submit(ctx, "run-1", "dataset", dataset(n)); err != nil || !res.Queued {
			t.Fatalf("submit %s: %+v, %v; want queued", n, res, err)
		}
	}
	if res, err := c.CloseRun(ctx, "run-1", "failed", "OOM at step 1200"); err != nil || !res.Queued {
		t.Fatalf("close: %+v, %v", res, err)
	}
	// A new process with the same outbox and a daemon that is back.
	srv2 := clienttest.New("tok")
	defer srv2.Close()
	c2 := newClient(t, srv2.URL, dir)
	if _, err := c2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := srv2.Accepted()
	if len(got) != 3 || got[2].Kind != "run-closed" || got[2].Predicate["status"] != "failed" || got[2].Predicate["reason"] != "OOM at step 1200" {
		t.Fatalf("accepted %+v, want a, b and run-closed failed", got)
	}
}

func TestLostAnswerIsRetriedOnce(t *testing.T) {
	t.Parallel()
	srv := clienttest.New("tok")
	defer srv.Close()
	c := newClient(t, srv.URL, t.TempDir())
	srv.LoseAnswers(1)
	ctx := context.Background()
	res, err := c.Submit(ctx, "run-1", "dataset", dataset("a"))
	if err != nil || !res.Queued {
		t.Fatalf("submit with lost answer: %+v, %v; want queued", res, err)
	}
	if _, err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Accepted()); n != 1 {
		t.Fatalf("%d records after the retry, want 1", n)
	}
}

func TestPermanentRefusalGoesToDeadLetters(t *testing.T) {
	t.Parallel()
	srv := clienttest.New("tok")
	defer srv.Close()
	dir := t.TempDir()
	c := newClient(t, srv.URL, dir)
	ctx := context.Background()
	srv.Refuse(true)
	c.Submit(ctx, "run-1", "dataset", dataset("a"))
	c.Submit(ctx, "run-1", "evaluation", map[string]any{"name": "bad"})
	c.Submit(ctx, "run-1", "dataset", dataset("c"))
	srv.Refuse(false)
	srv.RejectKind("evaluation")
	rep, err := c.Flush(ctx)
	if err != nil || rep.Delivered != 2 || rep.Dead != 1 {
		t.Fatalf("flush: %+v, %v; want 2 delivered, 1 dead", rep, err)
	}
	assertOrder(t, srv, "a", "c")
	dead, _ := filepath.Glob(filepath.Join(dir, "dead", "*"))
	if len(dead) != 2 {
		t.Fatalf("dead letters %v, want the entry and its problem", dead)
	}
	// A direct submission refused for good is an error, and is not queued.
	_, err = c.Submit(ctx, "run-1", "evaluation", map[string]any{"name": "bad2"})
	var perr *client.ProblemError
	if !errors.As(err, &perr) || perr.Code != "invalid-record" {
		t.Fatalf("got %v, want invalid-record", err)
	}
}

func TestRegisterRunQueuedHasLocalDigest(t *testing.T) {
	t.Parallel()
	srv := clienttest.New("tok")
	defer srv.Close()
	c := newClient(t, srv.URL, t.TempDir())
	reg := run.Registration{RunID: "run-1", Project: "llama-ft", Model: "llama-3-8b", StartedAt: "2026-11-27T12:00:00Z"}
	srv.Refuse(true)
	r, err := c.RegisterRun(context.Background(), reg)
	if err != nil || !r.Queued {
		t.Fatalf("register while refused: %+v, %v", r, err)
	}
	reg.StartedBy = run.Identity{ID: producer.ID, Name: producer.Name, Kind: producer.Kind}
	root, err := run.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Digest != root.Digest() || r.Tag != root.Tag() {
		t.Fatalf("queued run %+v, want digest %s", r, root.Digest())
	}
	srv.Refuse(false)
	if _, err := c.Flush(context.Background()); err != nil || len(srv.Runs()) != 1 {
		t.Fatalf("flush: %v, runs %v", err, srv.Runs())
	}
	// Without startedAt the daemon stamps it; nothing to compute locally.
	r2, err := c.RegisterRun(context.Background(), run.Registration{RunID: "run-2", Project: "p", Model: "m"})
	if err != nil || r2.Queued || r2.RunID != "run-2" || len(srv.Runs()) != 2 {
		t.Fatalf("register without startedAt: %+v, %v", r2, err)
	}
	if _, err := c.RegisterRun(context.Background(), run.Registration{RunID: "bad id!", Project: "p", Model: "m"}); !errors.Is(err, run.ErrInvalid) {
		t.Fatalf("invalid run id: %v, want run.ErrInvalid", err)
	}
}

func TestUnauthenticatedIsFinal(t *testing.T) {
	t.Parallel()
	srv := clienttest.New("other")
	defer srv.Close()
	dir := t.TempDir()
	_, err := newClient(t, srv.URL, dir).Submit(context.Background(), "run-1", "dataset", dataset("a"))
	var perr *client.ProblemError
	if !errors.As(err, &perr) || perr.Status != 401 {
		t.Fatalf("got %v, want 401", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "dead")); len(ents) != 2 {
		t.Fatalf("dead letters %d, want 2", len(ents))
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "ftp://x", "localhost:8080", "http://"} {
		if _, err := client.New(u, client.Options{}); !errors.Is(err, client.ErrBadURL) {
			t.Errorf("New(%q) = %v, want ErrBadURL", u, err)
		}
	}
}

func TestUnknownKind(t *testing.T) {
	t.Parallel()
	_, err := newClient(t, "http://127.0.0.1:1", "").Submit(context.Background(), "r", "datasets", dataset("a"))
	if !errors.Is(err, client.ErrUnknownKind) {
		t.Fatalf("got %v, want ErrUnknownKind", err)
	}
}

func TestCorruptEntryIsSetAside(t *testing.T) {
	t.Parallel()
	srv := clienttest.New("tok")
	defer srv.Close()
	dir := t.TempDir()
	c := newClient(t, srv.URL, dir)
	ctx := context.Background()
	srv.Refuse(true)
	c.Submit(ctx, "run-1", "dataset", dataset("a"))
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000009.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Submit(ctx, "run-1", "dataset", dataset("b"))
	srv.Refuse(false)
	rep, err := c.Flush(ctx)
	if err != nil || rep.Delivered != 2 || rep.Dead != 1 {
		t.Fatalf("flush: %+v, %v", rep, err)
	}
	assertOrder(t, srv, "a", "b")
	if _, err := os.Stat(filepath.Join(dir, "dead", "00000000000000000009.json")); err != nil {
		t.Fatal(err)
	}
}
