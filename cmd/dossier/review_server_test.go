package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/client"
	"github.com/dossier-audit/dossier/pkg/ingest"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

const (
	srvProducerToken = "producer-token-0123456789abcdef0123456789abcdef"
	srvReviewerToken = "reviewer-token-0123456789abcdef0123456789abcdef"
)

// reviewDaemon is an in-process dossierd on loopback whose keyring holds
// the reviewers rita and victor (team validation); their keys are
// dir/rita.key and dir/victor.key, the keyring dir/keyring-v1.json.
func reviewDaemon(t *testing.T, dir string) string {
	t.Helper()
	p := func(s string) string { return filepath.Join(dir, s) }
	for _, k := range []string{"root", "ingest", "rita", "victor"} {
		if code, _, stderr := runCmd(t, "key generate", "--output", p(k)); code != 0 {
			t.Fatalf("key generate %s: %s", k, stderr)
		}
	}
	skey, vkey, err := tlog.GenerateKey("example.test/review-server")
	must0(t, err)
	must0(t, os.WriteFile(p("log.key"), []byte(skey), 0o600))
	must0(t, os.WriteFile(p("log.vkey"), []byte(vkey), 0o600))
	if code, _, stderr := runCmd(t, "keyring create", "--root-key", p("root.key"), "-o", p("keyring-v1.json"),
		"--add", "root:"+p("root.pub")+":Root Owner:person:root:security",
		"--add", "ingest,time:"+p("ingest.pub")+":Dossierd:workload:dossierd:ops",
		"--add", "log:"+p("log.vkey")+":Log:workload:dossierd-log:ops",
		"--add", "reviewer:"+p("rita.pub")+":Rita:person:rita:validation",
		"--add", "reviewer:"+p("victor.pub")+":Victor:person:victor:validation"); code != 0 {
		t.Fatalf("keyring create: %s", stderr)
	}
	_, pin, _ := runCmd(t, "keyring fingerprint", p("keyring-v1.json"))
	tokens, _ := json.Marshal(auth.TokenFile{Tokens: []auth.TokenEntry{
		{SHA256: auth.HashToken(srvProducerToken), Subject: "pipeline", Name: "Pipeline", Team: "ml", Roles: []string{"producer"}},
		{SHA256: auth.HashToken(srvReviewerToken), Subject: "rita", Name: "Rita", Team: "validation", Roles: []string{"reviewer"}},
	}})
	must0(t, os.WriteFile(p("tokens.json"), tokens, 0o600))
	must0(t, os.WriteFile(p("reviewer.tok"), []byte(srvReviewerToken+"\n"), 0o600))
	cfg := ingest.DefaultConfig()
	cfg.DataDir, cfg.Name, cfg.LogKey, cfg.IngestKey = p("data"), "test", p("log.key"), p("ingest.key")
	cfg.Ingest.Addr, cfg.Review.Addr, cfg.Ingest.Auth.TokensFile = "127.0.0.1:0", "", p("tokens.json")
	cfg.Keyring, cfg.KeyringRoot = []string{p("keyring-v1.json")}, strings.TrimSpace(pin)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := ingest.New(ctx, cfg, ingest.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Getenv: func(k string) string { return map[string]string{"DOSSIER_KEY_PASSWORD": "pw"}[k] }})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

// TestReviewFromServer is the online review path of issue 8 item 3: the
// reviewer fetches the run's review document from dossierd ('dossier
// review --server'), signs it with 'dossier approve' (no run file, no
// log) and sends it with 'dossier submit approval'; the daemon checks
// and logs it. A review made stale by a later record is refused; a fresh
// one is accepted.
func TestReviewFromServer(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	url := reviewDaemon(t, d)
	producer := map[string]string{"DOSSIER_URL": url, "DOSSIER_TOKEN": srvProducerToken, "HOME": d, "DOSSIER_KEY_PASSWORD": "pw"}
	reviewer := map[string]string{"DOSSIER_URL": url, "DOSSIER_TOKEN_FILE": p("reviewer.tok"), "HOME": d, "DOSSIER_KEY_PASSWORD": "pw"}
	must := func(name string, vars map[string]string, code int, args ...string) string {
		t.Helper()
		got, stdout, stderr := runWithEnv(t, vars, args...)
		if got != code {
			t.Fatalf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", name, got, code, stdout, stderr)
		}
		return stdout
	}
	const runID = "srv-run-1"
	must("run init", producer, 0, "run init", "--id", runID, "--project", "p", "--model", "acme/m", "--started-by", "workload:train",
		"--started-at", "2026-11-27T04:00:00Z", "-o", p("run.json"))
	must("register", producer, 0, "submit register", "--run", p("run.json"))
	dataset := func(n int) string {
		t.Helper()
		writeEdited(t, p("ds.json"), "dataset", runID, "", func(m map[string]any) {
			delete(m, "timeEvidence")
			m["producedAt"] = time.Now().UTC().Add(time.Duration(n) * time.Millisecond).Format(time.RFC3339Nano)
		})
		return strings.Fields(must("submit dataset", producer, 0, "submit", "--run-id", runID, "--type", "dataset", "--predicate", p("ds.json")))[0]
	}
	records := []string{dataset(1), dataset(2)}

	out := must("review --server", reviewer, 0, "review", "--server", url, "--run-id", runID, "-o", p("review.html"))
	doc, err := os.ReadFile(p("review.html"))
	must0(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "view "+client.ContentDigest(doc) {
		t.Fatalf("review --server prints %q, the file's digest is %s", lines[0], client.ContentDigest(doc))
	}
	for _, r := range records {
		if !slices.Contains(lines[1:], "record "+r) {
			t.Fatalf("review --server does not list record %s:\n%s", r, out)
		}
	}
	must("review --server over an existing file", reviewer, 3, "review", "--server", url, "--run-id", runID, "-o", p("review.html"))
	if b, _ := os.ReadFile(p("review.html")); string(b) != string(doc) {
		t.Fatal("review --server overwrote an existing file")
	}
	var js struct {
		RunID, View, Path string
		ReviewedRecords   []string
	}
	must0(t, json.Unmarshal([]byte(must("review --server --json", reviewer, 0, "review", "--server", url, "--run-id", runID, "--json", "-o", p("review2.html"))), &js))
	if js.RunID != runID || "view "+js.View != lines[0] || len(js.ReviewedRecords) != len(lines)-1 || js.Path != p("review2.html") {
		t.Fatalf("review --server --json: %+v", js)
	}

	approve := func(who, review, out string) {
		t.Helper()
		must("approve "+who, reviewer, 0, "approve", "--review", review, "--key", p(who+".key"), "--name", "Printed "+who,
			"--keyring", p("keyring-v1.json"), "--meaning", "approval", "--decision", "approve",
			"--at", time.Now().UTC().Format(time.RFC3339), "-o", p(out))
	}
	approve("rita", p("review.html"), "ap-rita.json")
	if out := must("submit approval", reviewer, 0, "submit approval", p("ap-rita.json")); !strings.HasPrefix(out, "logged sha256:") {
		t.Fatalf("submit approval: %s", out)
	}
	// A record logged after the review makes it stale: the daemon refuses
	// an approval of it, and accepts one of the review fetched again.
	records = append(records, dataset(3))
	approve("victor", p("review.html"), "ap-victor-stale.json")
	if code, _, stderr := runWithEnv(t, reviewer, "submit approval", p("ap-victor-stale.json")); code != 1 || !strings.Contains(stderr, "approval-refused") {
		t.Fatalf("submit a stale approval: exit %d (want 1, approval-refused)\n%s", code, stderr)
	}
	must("review again", reviewer, 0, "review", "--server", url, "--run-id", runID, "-o", p("review3.html"))
	approve("victor", p("review3.html"), "ap-victor.json")
	must("submit approval of the fresh review", reviewer, 0, "submit approval", p("ap-victor.json"))
}

// TestReviewFromServerRefusals: every way 'dossier review --server' fails
// leaves no file behind and exits with the class of the failure.
func TestReviewFromServerRefusals(t *testing.T) {
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	url := reviewDaemon(t, d)
	must0(t, os.WriteFile(p("producer.tok"), []byte(srvProducerToken), 0o600))
	must0(t, os.WriteFile(p("exists.html"), []byte("x"), 0o644))
	doc := []byte("<!DOCTYPE html><p>not a review</p>")
	var digest string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Dossier-View-Digest", digest)
		w.Write(doc)
	}))
	defer fake.Close()
	vars := map[string]string{"DOSSIER_TOKEN_FILE": p("reviewer.tok"), "HOME": d}
	for _, tc := range []struct {
		name   string
		digest string // of the fake daemon's answer
		args   []string
		code   int
		stderr string
	}{
		{"unknown run", "", []string{"--server", url, "--run-id", "no-such-run"}, 1, "no such run"},
		{"producer token", "", []string{"--server", url, "--run-id", "r", "--token-file", p("producer.tok")}, 1, "403"},
		{"unreachable", "", []string{"--server", "http://127.0.0.1:1", "--run-id", "r"}, 3, "unreachable"},
		{"digest mismatch", client.ContentDigest([]byte("other")), []string{"--server", fake.URL, "--run-id", "r"}, 1, "does not match its view digest"},
		{"no digest header", "", []string{"--server", fake.URL, "--run-id", "r"}, 1, "does not match its view digest"},
		{"not a review document", client.ContentDigest(doc), []string{"--server", fake.URL, "--run-id", "r"}, 1, "no valid review manifest"},
		{"with --log", "", []string{"--server", url, "--run-id", "r", "--log", d}, 2, "--server and --run-id"},
		{"without --run-id", "", []string{"--server", url}, 2, "--server and --run-id"},
		{"not a URL", "", []string{"--server", "dossierd:8444", "--run-id", "r"}, 2, "invalid dossierd URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			digest = tc.digest
			out := p(strings.ReplaceAll(tc.name, " ", "-") + ".html")
			code, _, stderr := runWithEnv(t, vars, append([]string{"review", "-o", out}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d (want %d), stderr (want %q):\n%s", code, tc.code, tc.stderr, stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("%s written (%v)", out, err)
			}
		})
	}
}

// TestReviewFromServerTLS: --ca trusts a daemon's private CA; without it
// the certificate is refused (exit 3, nothing written).
func TestReviewFromServerTLS(t *testing.T) {
	d := t.TempDir()
	doc := []byte(`<!DOCTYPE html><pre id="dossier-review-manifest">{&#34;mediaType&#34;:&#34;application/vnd.dossier.review-manifest.v1+json&#34;,` +
		`&#34;runId&#34;:&#34;r1&#34;,&#34;reviewedRecords&#34;:[&#34;sha256:` + strings.Repeat("01", 32) + `&#34;]}</pre>`)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/runs/r1/review" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Dossier-View-Digest", client.ContentDigest(doc))
		w.Write(doc)
	}))
	defer srv.Close()
	ca := filepath.Join(d, "ca.pem")
	must0(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))
	vars := map[string]string{"DOSSIER_TOKEN": "tok"}
	out := filepath.Join(d, "untrusted.html")
	if code, _, stderr := runWithEnv(t, vars, "review", "--server", srv.URL, "--run-id", "r1", "-o", out); code != 3 || !strings.Contains(stderr, "hint: pass --ca") {
		t.Fatalf("without --ca: exit %d (want 3)\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("%s written (%v)", out, err)
	}
	out = filepath.Join(d, "review.html")
	code, stdout, stderr := runWithEnv(t, vars, "review", "--server", srv.URL, "--run-id", "r1", "--ca", ca, "-o", out)
	if want := "view " + client.ContentDigest(doc) + "\nrecord sha256:" + strings.Repeat("01", 32) + "\n"; code != 0 || stdout != want {
		t.Fatalf("with --ca: exit %d, stdout %q (want %q)\n%s", code, stdout, want, stderr)
	}
}
