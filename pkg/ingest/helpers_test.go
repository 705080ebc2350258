package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/oci/ocitest"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

// Test tokens and the roles the tokens file gives them.
const (
	tokProducer = "producer-token-0123456789abcdef0123456789abcdef"
	tokReviewer = "reviewer-token-0123456789abcdef0123456789abcdef"
	tokOperator = "operator-token-0123456789abcdef0123456789abcdef"
	tokExporter = "exporter-token-0123456789abcdef0123456789abcdef"
	testRunID   = "llama3-ft-2026-11-27-001"
)

// testConfig writes keys and a tokens file into a fresh directory and
// returns a config serving everything on one loopback listener.
func testConfig(t testing.TB) Config {
	t.Helper()
	return testConfigIn(t, t.TempDir())
}

func testConfigIn(t testing.TB, dir string) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Name = "test"
	cfg.LogKey = filepath.Join(dir, "log.key")
	cfg.IngestKey = filepath.Join(dir, "ingest.key")
	cfg.IngestKeyUnencrypted = true
	cfg.Ingest.Addr = "127.0.0.1:0"
	cfg.Review.Addr = ""
	cfg.Ingest.Auth.TokensFile = filepath.Join(dir, "tokens.json")
	cfg.Push.Interval = Duration(50 * time.Millisecond)
	if _, err := os.Stat(cfg.LogKey); err == nil {
		return cfg
	}
	skey, vkey, err := tlog.GenerateKey("dossier.test/ingest")
	must(t, err)
	must(t, os.WriteFile(cfg.LogKey, []byte(skey), 0o600))
	must(t, os.WriteFile(cfg.LogKey+".pub", []byte(vkey), 0o600))
	priv, err := keys.Generate(keys.ECDSAP256)
	must(t, err)
	pem, err := keys.MarshalPrivateKeyUnencrypted(priv)
	must(t, err)
	must(t, os.WriteFile(cfg.IngestKey, pem, 0o600))
	tokens := auth.TokenFile{Tokens: []auth.TokenEntry{
		{SHA256: auth.HashToken(tokProducer), Subject: "pipeline-a", Name: "Pipeline A", Team: "ml", Roles: []string{"producer"}},
		{SHA256: auth.HashToken(tokReviewer), Subject: "erika", Name: "Erika", Team: "compliance", Roles: []string{"reviewer"}},
		{SHA256: auth.HashToken(tokExporter), Subject: "erika.exporter", Name: "Erika Export", Team: "compliance", Roles: []string{"exporter"}},
		{SHA256: auth.HashToken(tokOperator), Subject: "ops", Name: "Ops", Roles: []string{"operator", "reviewer"}},
	}}
	b, err := json.Marshal(tokens)
	must(t, err)
	must(t, os.WriteFile(cfg.Ingest.Auth.TokensFile, b, 0o600))
	return cfg
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// daemon is a service serving on loopback for one test.
type daemon struct {
	s    *Service
	url  string
	stop func() error
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startDaemon(t testing.TB, cfg Config) *daemon {
	t.Helper()
	return startDaemonLogging(t, cfg, quietLogger())
}

func startDaemonLogging(t testing.TB, cfg Config, logger *slog.Logger) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, cfg, Deps{Logger: logger})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Ingest.Addr)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, nil) }()
	stopped := false
	d := &daemon{s: s, url: "http://" + ln.Addr().String()}
	d.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = d.stop() })
	return d
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) problem(t testing.TB) Problem {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("status %d body %q is not a problem: %v", r.status, r.body, err)
	}
	return p
}

func do(t testing.TB, method, url, token string, body []byte, hdr ...string) resp {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	must(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	must(t, err)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func registerRun(t testing.TB, d *daemon, runID string) RunResponse {
	t.Helper()
	body := fmt.Sprintf(`{"runId":%q,"project":"support-assistant","model":"acme/llama3-ft","startedBy":{"id":"workload:train","kind":"workload"},"startedAt":"2026-11-27T08:00:00Z"}`, runID)
	r := do(t, "POST", d.url+"/v1/runs", tokProducer, []byte(body))
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	var rr RunResponse
	must(t, json.Unmarshal(r.body, &rr))
	return rr
}

// datasetBody returns an unsigned submission of the dataset template for
// runID, made unique by n (its producedAt).
func datasetBody(t testing.TB, runID string, n int) []byte {
	t.Helper()
	var p map[string]any
	must(t, json.Unmarshal(record.Template("dataset"), &p))
	p["runId"] = runID
	delete(p, "timeEvidence") // the template's digest is not in a test log
	p["producedAt"] = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond).Format(time.RFC3339Nano)
	b, err := json.Marshal(map[string]any{"kind": "dataset", "predicate": p})
	must(t, err)
	return b
}

func submit(t testing.TB, d *daemon, runID string, body []byte, key string) resp {
	t.Helper()
	var hdr []string
	if key != "" {
		hdr = []string{"Idempotency-Key", key}
	}
	return do(t, "POST", d.url+"/v1/runs/"+runID+"/records", tokProducer, body, hdr...)
}

func decodeResult(t testing.TB, r resp) SubmitResult {
	t.Helper()
	var sr SubmitResult
	if err := json.Unmarshal(r.body, &sr); err != nil {
		t.Fatalf("status %d body %q: %v", r.status, r.body, err)
	}
	return sr
}

var errTest = errors.New("test")

func contains(s []string, v string) bool {
	for _, x := range s {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// signedBundle signs a dataset record of runID with a fresh key the
// daemon's keyring does not know.
func signedBundle(t testing.TB, runID string) []byte {
	t.Helper()
	root := ocitestRoot(t, runID)
	s := ocitest.Signer(t)
	var p map[string]any
	must(t, json.Unmarshal(record.Template("dataset"), &p))
	p["runId"] = runID
	pred, _ := json.Marshal(p)
	return ocitest.Sign(t, s, root, "dataset", pred)
}

func ocitestRoot(t testing.TB, runID string) *run.Root {
	t.Helper()
	root, err := run.New(run.Registration{RunID: runID, Project: "support-assistant", Model: "acme/llama3-ft",
		StartedBy: run.Identity{ID: "workload:train", Kind: "workload"}, StartedAt: "2026-11-27T08:00:00Z"})
	must(t, err)
	return root
}

func hexSum(b []byte) string { return fmt.Sprintf("%x", sum256(b)) }

func bytesReader(b []byte) io.Reader {
	if b == nil {
		return http.NoBody
	}
	return bytes.NewReader(b)
}
