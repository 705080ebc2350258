package doctor

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/ingest"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

type deployment struct {
	cfg      ingest.Config
	dir      string
	ingestID crypto.PublicKey
}

func write(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newDeployment writes the keys, keyring and tokens of a small deployment.
// withIngestInKeyring=false leaves the ingest key out of the keyring.
func newDeployment(t *testing.T, withIngestInKeyring bool) *deployment {
	t.Helper()
	dir := t.TempDir()
	cfg := ingest.DefaultConfig()
	cfg.DataDir = filepath.Join(dir, "data")
	skey, vkey, err := tlog.GenerateKey("example.test/doctor")
	if err != nil {
		t.Fatal(err)
	}
	cfg.LogKey = write(t, filepath.Join(dir, "log.key"), []byte(skey+"\n"))
	ingestKey, _ := keys.Generate(keys.ECDSAP256)
	pem, _ := keys.MarshalPrivateKeyUnencrypted(ingestKey)
	cfg.IngestKey, cfg.IngestKeyUnencrypted = write(t, filepath.Join(dir, "ingest.key"), pem), true
	root, _ := keys.Generate(keys.ECDSAP256)
	rs, _ := signature.LoadSigner(root, crypto.SHA256)
	rds, _ := keyring.NewSigner(context.Background(), rs)
	owner := keyring.Owner{Name: "Ops", PersonID: "person:o1", Team: "ops"}
	rk, _ := keyring.NewKey(root.Public(), []string{keyring.RoleRoot}, owner, "2026-11-27T00:00:00Z", "")
	logPub := logPublic(t, vkey)
	lk, _ := keyring.NewKey(logPub, []string{keyring.RoleLog}, owner, "2026-11-27T00:00:00Z", vkey)
	doc := &keyring.Document{MediaType: keyring.MediaType, Version: 1, IssuedAt: "2026-11-27T00:00:00Z", RootThreshold: 1, Keys: []keyring.Key{rk, lk}}
	if withIngestInKeyring {
		ik, _ := keyring.NewKey(ingestKey.Public(), []string{keyring.RoleIngest}, owner, "2026-11-27T00:00:00Z", "")
		doc.Keys = append(doc.Keys, ik)
	}
	b, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	env, err := keyring.Sign(b, rds)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Keyring = []string{write(t, filepath.Join(dir, "keyring-v1.json"), env)}
	cfg.KeyringRoot = keyring.RootFingerprint(b)
	tokens := write(t, filepath.Join(dir, "tokens.json"), []byte(`{"tokens":[{"sha256":"`+auth.HashToken("t")+`","subject":"p","roles":["producer"]}]}`))
	cfg.Ingest = ingest.Listener{Addr: "127.0.0.1:0", Auth: auth.Config{TokensFile: tokens}}
	cfg.Review = ingest.Listener{}
	return &deployment{cfg: cfg, dir: dir}
}

func logPublic(t *testing.T, vkey string) ed25519.PublicKey {
	t.Helper()
	f := strings.SplitN(vkey, "+", 3)
	raw, err := base64.StdEncoding.DecodeString(f[2])
	if err != nil || len(raw) != 33 {
		t.Fatalf("vkey %q", vkey)
	}
	return ed25519.PublicKey(raw[1:])
}

func statuses(r *Report) map[string]Status {
	m := map[string]Status{}
	for _, c := range r.Checks {
		m[c.Name] = c.Status
	}
	return m
}

func run(t *testing.T, cfg ingest.Config) *Report {
	t.Helper()
	return Run(context.Background(), cfg, Options{NTPTimeout: 200 * time.Millisecond})
}

func TestHealthyDeployment(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, true)
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	defer reg.Close()
	d.cfg.Push.Registry, d.cfg.Push.PlainHTTP = strings.TrimPrefix(reg.URL, "http://")+"/ml", true
	// The log exists and is signed by the configured key.
	signer, _ := tlog.NewSigner(mustRead(t, d.cfg.LogKey))
	if err := tlog.Init(context.Background(), filepath.Join(d.cfg.DataDir, "log"), tlog.Options{Signer: signer}); err != nil {
		t.Fatal(err)
	}
	// A dossierd serving on the review address.
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte("ok"))
			return
		}
		http.NotFound(w, r)
	}))
	defer live.Close()
	d.cfg.Review = ingest.Listener{Addr: strings.TrimPrefix(live.URL, "http://"), Auth: d.cfg.Ingest.Auth}
	r := run(t, d.cfg)
	st := statuses(r)
	want := map[string]Status{"config": OK, "time": Warn, "ingest key": OK, "log key": OK, "keyring": OK,
		"ingest key role": OK, "log key role": OK, "data directory": OK, "log": OK, "registry": OK,
		"ingest listener 127.0.0.1:0": OK, "review listener " + d.cfg.Review.Addr: OK}
	for name, s := range want {
		if st[name] != s {
			t.Errorf("%s: %s, want %s (%+v)", name, st[name], s, r.Checks)
		}
	}
	if !r.Healthy {
		t.Fatalf("unhealthy: %+v", r.Checks)
	}
}

func TestBrokenDeployment(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, false)
	d.cfg.Push.Registry, d.cfg.Push.PlainHTTP = "127.0.0.1:1/ml", true
	d.cfg.Time.Servers, d.cfg.Time.OnBad = []string{"127.0.0.1:1"}, ingest.PolicyRefuse
	// A log signed by another key.
	skey, _, _ := tlog.GenerateKey("example.test/other")
	signer, _ := tlog.NewSigner(skey)
	if err := tlog.Init(context.Background(), filepath.Join(d.cfg.DataDir, "log"), tlog.Options{Signer: signer}); err != nil {
		t.Fatal(err)
	}
	// Something else on the ingest port.
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	d.cfg.Ingest.Addr = strings.TrimPrefix(other.URL, "http://")
	r := run(t, d.cfg)
	st := statuses(r)
	for _, name := range []string{"ingest key role", "log", "registry", "time", "ingest listener " + d.cfg.Ingest.Addr} {
		if st[name] != Fail {
			t.Errorf("%s: %s, want fail", name, st[name])
		}
	}
	for _, c := range r.Checks {
		if c.Status == Fail && c.Fix == "" {
			t.Errorf("%s fails without saying what to fix", c.Name)
		}
	}
	if r.Healthy {
		t.Fatal("broken deployment reported healthy")
	}
}

func TestConfigAndKeyErrors(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, true)
	d.cfg.IngestKey = filepath.Join(d.dir, "missing.key")
	d.cfg.Time.OnBad = "maybe"
	d.cfg.Ingest.Auth = auth.Config{}
	st := statuses(run(t, d.cfg))
	for _, name := range []string{"config", "ingest key", "ingest listener 127.0.0.1:0"} {
		if st[name] != Fail {
			t.Errorf("%s: %s, want fail", name, st[name])
		}
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
