package ingest

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// withAnchoredKeyring is withKeyring with a TSA in the trust root (the
// root key is replaced so the version can be signed again).
func withAnchoredKeyring(t *testing.T, cfg *Config, dir string, ta keyring.TimestampAuthority) {
	t.Helper()
	withKeyring(t, cfg, dir)
	env, err := os.ReadFile(cfg.Keyring[0])
	must(t, err)
	v, err := keyring.Parse(env)
	must(t, err)
	doc := v.Document
	root, err := keys.Generate(keys.ECDSAP256)
	must(t, err)
	rs, err := signature.LoadSigner(root, crypto.SHA256)
	must(t, err)
	rds, err := keyring.NewSigner(context.Background(), rs)
	must(t, err)
	if doc.Keys[0], err = keyring.NewKey(root.Public(), []string{keyring.RoleRoot}, doc.Keys[0].Owner, doc.IssuedAt, ""); err != nil {
		t.Fatal(err)
	}
	doc.TimestampAuthorities = []keyring.TimestampAuthority{ta}
	b, err := doc.Marshal()
	must(t, err)
	env, err = keyring.Sign(b, rds)
	must(t, err)
	must(t, os.WriteFile(cfg.Keyring[0], env, 0o600))
	cfg.KeyringRoot = keyring.RootFingerprint(b)
}

// flakyTSA forwards to a TSA unless down.
func flakyTSA(t *testing.T, target string) (*httptest.Server, *atomic.Bool) {
	t.Helper()
	u, err := url.Parse(target)
	must(t, err)
	down := &atomic.Bool{}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, down
}

// metric reads one sample of /metrics (-1 when absent).
func metric(t *testing.T, d *daemon, name string) float64 {
	t.Helper()
	r := do(t, "GET", d.url+"/metrics", tokOperator, nil)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(r.body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	must(t, err)
	return v
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestAnchorsInBackground: with its TSA down the daemon still acknowledges
// records, and /metrics shows the anchor backlog and the TSA's errors;
// when the TSA is back the backlog drains, and an export over the API
// carries anchors.json in which every run record is anchored.
func TestAnchorsInBackground(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	now := time.Now().UTC()
	ca := tsatest.NewCA(t, "TSA Root", now.Add(-time.Hour))
	leaf := ca.Issue(t, "TSA", now.Add(-time.Hour), now.Add(time.Hour))
	withAnchoredKeyring(t, &cfg, dir, keyring.TimestampAuthority{Name: "tsa.internal", ChainPEM: string(tsatest.PEM(leaf.Chain...)),
		ValidFrom: now.Add(-time.Hour).Format(time.RFC3339), ValidUntil: now.Add(time.Hour).Format(time.RFC3339)})
	tsaSrv, down := flakyTSA(t, tsatest.NewFake(t, leaf, tsatest.OK).URL())
	down.Store(true)
	cfg.Anchors.TSAs = []string{"tsa.internal=" + tsaSrv.URL + "/api/v1/timestamp"}
	cfg.Anchors.Interval, cfg.Anchors.MaxBackoff = Duration(20*time.Millisecond), Duration(100*time.Millisecond)
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	for i := range 3 {
		if r := submit(t, d, testRunID, datasetBody(t, testRunID, i), ""); r.status != http.StatusCreated {
			t.Fatalf("submit with the TSA down: %d %s", r.status, r.body)
		}
	}
	waitFor(t, "TSA errors and a backlog in /metrics", func() bool {
		return metric(t, d, `dossierd_anchor_errors_total{anchor="tsa:tsa.internal"}`) >= 1 && metric(t, d, "dossierd_anchor_backlog_checkpoints") >= 1
	})
	down.Store(false)
	waitFor(t, "the backlog to drain", func() bool {
		return metric(t, d, "dossierd_anchor_backlog_checkpoints") == 0 &&
			metric(t, d, `dossierd_anchor_last_success_timestamp_seconds{anchor="tsa:tsa.internal"}`) > 0
	})
	body := []byte(`{"runs":["` + testRunID + `"],"purpose":"anchors","recipient":{"organisation":"NB"}}`)
	r := do(t, "POST", d.url+"/v1/exports", tokExporter, body)
	if r.status != http.StatusCreated {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	var res ExportResult
	must(t, json.Unmarshal(r.body, &res))
	if res.Result.Anchors == 0 {
		t.Fatalf("the export carries no anchors.json: %+v", res.Result)
	}
	pkg := do(t, "GET", d.url+res.Download, tokExporter, nil)
	vr := verify.VerifyPackage(bytes.NewReader(pkg.body), int64(len(pkg.body)), verify.PackageOptions{RootFingerprint: cfg.KeyringRoot})
	for _, c := range vr.Checks {
		if c.Status == verify.Fail && (c.Class == verify.FailTSA || c.Class == verify.FailFork) {
			t.Errorf("anchor check %s failed: %s", c.Step, c.Message)
		}
	}
	if a := vr.Summary.Anchors; a == nil || a.Asserted != 0 || a.Anchored < 3 {
		t.Fatalf("anchors summary %+v, want every record anchored", a)
	}
}

// TestAnchorConfig: anchors need the keyring and NAME=VALUE entries.
func TestAnchorConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(*Config)
	}{
		{"no keyring", func(c *Config) { c.Anchors.TSAs = []string{"t=http://127.0.0.1:1"} }},
		{"not NAME=URL", func(c *Config) {
			c.Keyring = []string{"k"}
			c.KeyringRoot = "x"
			c.Anchors.Witnesses = []string{"http://w"}
		}},
		{"name twice", func(c *Config) {
			c.Keyring = []string{"k"}
			c.KeyringRoot = "x"
			c.Anchors.TSAs = []string{"t=http://a", "t=http://b"}
		}},
		{"zero interval", func(c *Config) {
			c.Keyring = []string{"k"}
			c.KeyringRoot = "x"
			c.Anchors.TSAs = []string{"t=http://a"}
			c.Anchors.Interval = 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			cfg.LogKey, cfg.IngestKey = "l", "i"
			tt.set(&cfg)
			if err := cfg.Validate(); !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate: %v, want ErrConfig", err)
			}
		})
	}
}
