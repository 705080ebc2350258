package client_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/dossier-audit/dossier/pkg/client"
	"github.com/dossier-audit/dossier/pkg/ingest"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

const itToken = "client-it-token-0123456789abcdef"

// realDaemon starts pkg/ingest's service (the real dossierd) in process.
func realDaemon(t *testing.T) *ingest.Service {
	t.Helper()
	return realDaemonWith(t, func(*ingest.Config) {})
}

// realDaemonWith is realDaemon with a configuration edit.
func realDaemonWith(t *testing.T, edit func(*ingest.Config)) *ingest.Service {
	t.Helper()
	dir := t.TempDir()
	cfg := ingest.DefaultConfig()
	cfg.DataDir, cfg.Name = filepath.Join(dir, "data"), "client-it"
	cfg.LogKey, cfg.IngestKey, cfg.IngestKeyUnencrypted = filepath.Join(dir, "log.key"), filepath.Join(dir, "ingest.key"), true
	cfg.Ingest.Addr, cfg.Review.Addr = "127.0.0.1:0", ""
	cfg.Ingest.Auth.TokensFile = filepath.Join(dir, "tokens.json")
	skey, _, err := tlog.GenerateKey("dossier.test/client-it")
	check(t, err)
	check(t, os.WriteFile(cfg.LogKey, []byte(skey), 0o600))
	priv, err := keys.Generate(keys.ECDSAP256)
	check(t, err)
	pem, err := keys.MarshalPrivateKeyUnencrypted(priv)
	check(t, err)
	check(t, os.WriteFile(cfg.IngestKey, pem, 0o600))
	b, _ := json.Marshal(auth.TokenFile{Tokens: []auth.TokenEntry{{SHA256: auth.HashToken(itToken), Subject: "pipeline-it", Name: "it", Roles: []string{"producer", "reviewer", "operator"}}}})
	check(t, os.WriteFile(cfg.Ingest.Auth.TokensFile, b, 0o600))
	edit(&cfg)
	s, err := ingest.New(context.Background(), cfg, ingest.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	check(t, err)
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func datasetPredicate(t *testing.T, name string) map[string]any {
	t.Helper()
	var m map[string]any
	check(t, json.Unmarshal(record.Template("dataset"), &m))
	for _, k := range []string{"runId", "attempt", "producedAt", "producer", "timeEvidence"} {
		delete(m, k)
	}
	m["name"] = name
	return m
}

// TestAgainstRealDaemon: records submitted while the daemon is down wait
// in the outbox and are delivered once, in order, when it is back; the
// real daemon's answers decode; a resubmission is answered from its
// idempotency store.
func TestAgainstRealDaemon(t *testing.T) {
	s := realDaemon(t)
	in, _ := s.Handlers()
	down := httptest.NewServer(in)
	url := down.URL
	down.Close()
	outbox := t.TempDir()
	opts := client.Options{Token: itToken, OutboxDir: outbox, Producer: producer}
	c, err := client.New(url, opts)
	check(t, err)
	ctx := context.Background()
	r, err := c.RegisterRun(ctx, run.Registration{RunID: "go-it-1", Project: "p", Model: "m"})
	if err != nil || !r.Queued {
		t.Fatalf("register while down: %+v, %v", r, err)
	}
	for _, n := range []string{"train", "eval"} {
		if res, err := c.Submit(ctx, "go-it-1", "dataset", datasetPredicate(t, n), client.WithStep("dataset:"+n)); err != nil || !res.Queued {
			t.Fatalf("submit %s while down: %+v, %v", n, res, err)
		}
	}
	up := httptest.NewServer(in)
	defer up.Close()
	c2, err := client.New(up.URL, opts)
	check(t, err)
	rep, err := c2.Flush(ctx)
	if err != nil || rep.Delivered != 3 || rep.Dead != 0 {
		t.Fatalf("flush: %+v, %v", rep, err)
	}
	fixed := datasetPredicate(t, "test")
	fixed["producedAt"] = "2026-11-27T12:00:00Z"
	first, err := c2.Submit(ctx, "go-it-1", "dataset", fixed)
	check(t, err)
	again, err := c2.Submit(ctx, "go-it-1", "dataset", fixed)
	check(t, err)
	if first.Seq != 2 || again.Record != first.Record || again.Seq != first.Seq || first.Receipt == "" || first.TimeVerdict == "" {
		t.Fatalf("direct %+v then %+v; want seq 2 answered twice", first, again)
	}
	closed, err := c2.CloseRun(ctx, "go-it-1", "completed", "")
	if err != nil || closed.Seq != 3 {
		t.Fatalf("close: %+v, %v", closed, err)
	}
}
