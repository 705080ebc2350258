package ingest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"github.com/dossier-audit/dossier/pkg/console"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/oci/ocitest"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/spool"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// producerKey is a pipeline key the daemon's keyring allows.
type producerKey struct {
	s signature.Signer
	d dsse.Signer
}

// withKeyring adds a keyring (root + one producer key) to cfg and returns
// the producer key.
func withKeyring(t *testing.T, cfg *Config, dir string) producerKey {
	t.Helper()
	root, err := keys.Generate(keys.ECDSAP256)
	must(t, err)
	prod, err := keys.Generate(keys.ECDSAP256)
	must(t, err)
	rs, _ := signature.LoadSigner(root, crypto.SHA256)
	rds, _ := keyring.NewSigner(context.Background(), rs)
	ps, _ := signature.LoadSigner(prod, crypto.SHA256)
	pds, _ := keyring.NewSigner(context.Background(), ps)
	owner := keyring.Owner{Name: "ML Platform", PersonID: "team:ml", Team: "ml"}
	rk, err := keyring.NewKey(root.Public(), []string{keyring.RoleRoot}, owner, "2026-11-27T00:00:00Z", "")
	must(t, err)
	pk, err := keyring.NewKey(prod.Public(), []string{keyring.RoleProducer}, owner, "2026-11-27T00:00:00Z", "")
	must(t, err)
	// The daemon's own keys: log, ingest (also time evidence), exporter.
	vkey, err := os.ReadFile(cfg.LogKey + ".pub")
	must(t, err)
	lk, err := keyring.NewKey(logPublic(t, string(vkey)), []string{keyring.RoleLog}, owner, "2026-11-27T00:00:00Z", string(vkey))
	must(t, err)
	ik, err := keyring.NewKey(ingestVerifierKey(t, *cfg), []string{keyring.RoleIngest, keyring.RoleTime}, owner, "2026-11-27T00:00:00Z", "")
	must(t, err)
	exp, err := keys.Generate(keys.ECDSAP256)
	must(t, err)
	ek, err := keyring.NewKey(exp.Public(), []string{keyring.RoleExporter}, owner, "2026-11-27T00:00:00Z", "")
	must(t, err)
	pem, err := keys.MarshalPrivateKeyUnencrypted(exp)
	must(t, err)
	cfg.ExporterKey = filepath.Join(dir, "exporter.key")
	must(t, os.WriteFile(cfg.ExporterKey, pem, 0o600))
	doc := &keyring.Document{MediaType: keyring.MediaType, Version: 1, IssuedAt: "2026-11-27T00:00:00Z", RootThreshold: 1,
		Keys: []keyring.Key{rk, pk, lk, ik, ek}}
	b, err := doc.Marshal()
	must(t, err)
	env, err := keyring.Sign(b, rds)
	must(t, err)
	p := filepath.Join(dir, "keyring-v1.json")
	must(t, os.WriteFile(p, env, 0o600))
	cfg.Keyring, cfg.KeyringRoot = []string{p}, keyring.RootFingerprint(b)
	return producerKey{s: ps, d: pds}
}

func TestSignedBundleAccepted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	pk := withKeyring(t, &cfg, dir)
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	pred := datasetPredicate(t, testRunID, 0)
	b := ocitest.Sign(t, pk.s, ocitestRoot(t, testRunID), "dataset", pred)
	r := submit(t, d, testRunID, []byte(`{"bundle":"`+b64(b)+`"}`), "")
	if r.status != http.StatusCreated {
		t.Fatalf("signed bundle: %d %s", r.status, r.body)
	}
	a := decodeResult(t, r)
	if a.Record != "sha256:"+hexSum(b) || contains(a.Flags, "signed-by-daemon") {
		t.Fatalf("answer %+v", a)
	}
	// Its bytes are served exactly as submitted.
	if got := do(t, "GET", d.url+"/v1/records/"+a.Record, tokReviewer, nil); !bytes.Equal(got.body, b) {
		t.Fatal("stored bundle differs from the submitted bytes")
	}
	// A signed bundle of another run is refused.
	other := ocitest.Sign(t, pk.s, ocitestRoot(t, "other-run"), "dataset", bytes.ReplaceAll(pred, []byte(testRunID), []byte("other-run")))
	if r := submit(t, d, testRunID, []byte(`{"bundle":"`+b64(other)+`"}`), ""); r.status != 422 || r.problem(t).Code != CodeInvalidRecord {
		t.Fatalf("other run's bundle: %d %s", r.status, r.body)
	}
}

func TestImportSpoolTwice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	pk := withKeyring(t, &cfg, dir)
	d := startDaemon(t, cfg)
	root := ocitestRoot(t, testRunID)
	sp, err := spool.Create(filepath.Join(dir, "spool"), "gpu-cluster-7", "training-segment", time.Now)
	must(t, err)
	for i := range 3 {
		pred := datasetPredicate(t, testRunID, i)
		_, err := sp.Add(context.Background(), root, ocitest.Sign(t, pk.s, root, "dataset", pred))
		must(t, err)
	}
	var tarBuf bytes.Buffer
	_, err = sp.Pack(context.Background(), &tarBuf, spool.PackOptions{PackedBy: record.Party{ID: "person:p1", Name: "Pat"}, Signer: pk.d})
	must(t, err)
	post := func() resp {
		req := []string{"Content-Type", "application/x-tar"}
		return do(t, "POST", d.url+"/v1/import?carriedBy=person:c1&carriedByName=Casey", tokOperator, tarBuf.Bytes(), req...)
	}
	first := post()
	if first.status != http.StatusCreated {
		t.Fatalf("import: %d %s", first.status, first.body)
	}
	var rep spool.Report
	must(t, json.Unmarshal(first.body, &rep))
	if rep.Imported != 3 || rep.Transfer == "" {
		t.Fatalf("report %+v", rep)
	}
	again := post()
	var rep2 spool.Report
	must(t, json.Unmarshal(again.body, &rep2))
	if again.status != 200 || rep2.Imported != 0 || rep2.AlreadyPresent != 3 || rep2.Transfer != rep.Transfer {
		t.Fatalf("second import: %d %s", again.status, again.body)
	}
	// Each imported record has a receipt naming the importer.
	rc := do(t, "GET", d.url+"/v1/records/"+rep.Appended[0].Record+"/receipt", tokReviewer, nil)
	vr, err := verify.VerifyRecord(rc.body, ingestVerifier(t, cfg), verify.RecordOptions{PredicateType: receiptType})
	if err != nil {
		t.Fatalf("receipt: %d %v", rc.status, err)
	}
	if p := vr.Statement.Parsed().(*record.Receipt); p.Submitter.Method != "import" || p.Submitter.Subject != "ops" || !contains(p.Flags, "imported") {
		t.Fatalf("receipt %+v", p)
	}
	// A damaged tar is refused whole.
	bad := bytes.Clone(tarBuf.Bytes())
	bad[len(bad)/2] ^= 1
	r := do(t, "POST", d.url+"/v1/import?carriedBy=x&carriedByName=X", tokOperator, bad, "Content-Type", "application/x-tar")
	if r.status != 422 || r.problem(t).Code != CodeInvalidSpool {
		t.Fatalf("damaged tar: %d %s", r.status, r.body)
	}
}

// datasetPredicate is the dataset template for runID, unique by n.
func datasetPredicate(t testing.TB, runID string, n int) []byte {
	var sub struct {
		Predicate json.RawMessage `json:"predicate"`
	}
	must(t, json.Unmarshal(datasetBody(t, runID, n), &sub))
	return sub.Predicate
}

func logPublic(t *testing.T, vkey string) ed25519.PublicKey {
	t.Helper()
	f := strings.SplitN(strings.TrimSpace(vkey), "+", 3)
	raw, err := base64.StdEncoding.DecodeString(f[2])
	if err != nil || len(raw) != 33 {
		t.Fatalf("vkey %q", vkey)
	}
	return ed25519.PublicKey(raw[1:])
}

func ingestVerifierKey(t *testing.T, cfg Config) crypto.PublicKey {
	t.Helper()
	b, err := os.ReadFile(cfg.IngestKey)
	must(t, err)
	priv, err := keys.ParsePrivateKey(b, nil, true)
	must(t, err)
	return priv.Public()
}

func TestExportOverAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	withKeyring(t, &cfg, dir)
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	for i := range 3 {
		if r := submit(t, d, testRunID, datasetBody(t, testRunID, i), ""); r.status != 201 {
			t.Fatalf("submit: %d %s", r.status, r.body)
		}
	}
	body := []byte(`{"runs":["` + testRunID + `"],"purpose":"conformity assessment","recipient":{"organisation":"Notified Body 0123"}}`)
	if r := do(t, "POST", d.url+"/v1/exports", tokProducer, body); r.status != 403 {
		t.Fatalf("producer may not export: %d", r.status)
	}
	r := do(t, "POST", d.url+"/v1/exports", tokExporter, body)
	if r.status != http.StatusCreated {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	var res ExportResult
	must(t, json.Unmarshal(r.body, &res))
	if res.Result.RecordCount != 3 {
		t.Fatalf("export result %+v", res.Result)
	}
	pkg := do(t, "GET", d.url+res.Download, tokExporter, nil)
	if pkg.status != 200 || hexSum(pkg.body) != res.ID {
		t.Fatalf("download: %d, digest %s want %s", pkg.status, hexSum(pkg.body), res.ID)
	}
	vr := verify.VerifyPackage(bytes.NewReader(pkg.body), int64(len(pkg.body)), verify.PackageOptions{RootFingerprint: cfg.KeyringRoot})
	for _, c := range vr.Checks {
		if c.Status == verify.Fail && c.Class != verify.FailPolicy && c.Class != verify.FailTime {
			t.Errorf("package check %s %s failed: %s %s", c.Step, c.Class, c.Subject, c.Message)
		}
	}
	listed, err := os.ReadFile(filepath.Join(cfg.DataDir, consoleExportsDir, res.ID+".json"))
	must(t, err)
	var info console.ExportInfo
	must(t, json.Unmarshal(listed, &info))
	if info.Package != res.Result.Package || info.Reason != "conformity assessment" || info.Organisation != "Notified Body 0123" {
		t.Fatalf("the console lists the API export as %+v", info)
	}
	if r := do(t, "GET", d.url+"/v1/exports/"+strings.Repeat("0", 64), tokExporter, nil); r.status != 404 {
		t.Fatalf("unknown export: %d", r.status)
	}
}
