package dossier

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/mod/sumdb/note"
	"k8s.io/klog/v2"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

func TestMain(m *testing.M) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
	os.Exit(m.Run())
}

const fixtureRunID = "llama3-ft-2026-11-27-001"

// fixture is a log holding a keyring, one time-evidence record and a
// run's records, and the keys that signed them.
type fixture struct {
	dir      string
	skey     string
	root     *run.Root
	keyring  []byte
	pin      string
	exporter signature.Signer
	producer signature.Signer
	te       string // digest of the time-evidence record
	records  []string
}

func ed25519Signer(t testing.TB, seed byte) (signature.Signer, crypto.PublicKey) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(rune('a'+seed)), 32)))
	s, err := DeterministicSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv.Public()
}

func ecdsaSigner(t testing.TB) (signature.Signer, crypto.PublicKey) {
	t.Helper()
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv.Public()
}

// newFixture builds a log in a temporary directory with n run records.
func newFixture(t testing.TB, n int) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	skey, vkey, err := tlog.GenerateKey("example.test/dossier-log")
	if err != nil {
		t.Fatal(err)
	}
	f.skey = skey
	f.root, err = run.New(run.Registration{RunID: fixtureRunID, Project: "support-assistant", Model: "acme/notes",
		StartedBy: run.Identity{ID: "workload:trainer", Kind: "workload"}, StartedAt: "2026-11-27T08:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	rootSigner, rootPub := ecdsaSigner(t)
	var producerPub, timePub, exporterPub crypto.PublicKey
	f.producer, producerPub = ecdsaSigner(t)
	timeSigner, timePub := ed25519Signer(t, 1)
	f.exporter, exporterPub = ed25519Signer(t, 2)
	f.keyring = signKeyring(t, rootSigner, vkey, map[string]crypto.PublicKey{
		"root": rootPub, "producer": producerPub, "time": timePub, "exporter": exporterPub})
	v1, err := keyring.Parse(f.keyring)
	if err != nil {
		t.Fatal(err)
	}
	f.pin = keyring.RootFingerprint(v1.Payload)
	l := f.open(t, f.dir)
	defer closeLog(t, l)
	ctx := context.Background()
	if _, err := l.Append(ctx, f.keyring, streamKeyring); err != nil {
		t.Fatal(err)
	}
	te := signRecord(t, timeSigner, "time-evidence", record.Template("time-evidence"), nil)
	if _, err := l.Append(ctx, te, streamTime); err != nil {
		t.Fatal(err)
	}
	f.te = keyring.Digest(te)
	f.records = appendAll(t, l, f.runRecords(t, n), f.root.Digest())
	return f
}

// runRecords signs n records of the run, cycling through four kinds.
func (f *fixture) runRecords(t testing.TB, n int) [][]byte {
	t.Helper()
	kinds := []string{"dataset", "training-run", "evaluation", "run-closed"}
	preds := map[string][]byte{}
	for _, k := range kinds {
		var m map[string]any
		if err := json.Unmarshal(record.Template(k), &m); err != nil {
			t.Fatal(err)
		}
		m["timeEvidence"] = map[string]any{"digest": f.te}
		delete(m, "plan")
		preds[k], _ = json.Marshal(m)
	}
	out := make([][]byte, n)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				k := kinds[i%len(kinds)]
				out[i] = signRecord(t, f.producer, k, preds[k], f.root)
			}
		})
	}
	wg.Wait()
	return out
}

func signKeyring(t testing.TB, root signature.Signer, vkey string, pubs map[string]crypto.PublicKey) []byte {
	t.Helper()
	owner := keyring.Owner{Name: "Erika Musterfrau", PersonID: "person:e30211", Team: "compliance"}
	doc := &keyring.Document{MediaType: keyring.MediaType, Version: 1, IssuedAt: "2026-11-27T00:00:00Z", RootThreshold: 1}
	for _, role := range []string{"root", "producer", "time", "exporter"} {
		k, err := keyring.NewKey(pubs[role], []string{role}, owner, "2026-11-27T00:00:00Z", "")
		if err != nil {
			t.Fatal(err)
		}
		doc.Keys = append(doc.Keys, k)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.SplitN(vkey, "+", 3)[2])
	lk, err := keyring.NewKey(ed25519.PublicKey(raw[1:]), []string{"log"}, owner, "2026-11-27T00:00:00Z", vkey)
	if err != nil {
		t.Fatal(err)
	}
	doc.Keys = append(doc.Keys, lk)
	b, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := keyring.NewSigner(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	env, err := keyring.Sign(b, ds)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func signRecord(t testing.TB, s signature.Signer, kind string, pred []byte, root *run.Root) []byte {
	t.Helper()
	pt := record.PredicateTypePrefix + kind + "/v1"
	var rs *record.ResourceDescriptor
	if root != nil {
		r := record.RunSubject(root.Registration.RunID, root.Digest())
		rs = &r
	}
	subjects, err := record.Subjects(pt, pred, rs)
	if err != nil {
		t.Fatal(err)
	}
	st, err := record.NewStatement(subjects, pt, pred)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Sign(context.Background(), s, bundle.PayloadTypeInToto, st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// appendAll appends bundles to stream from several goroutines and returns
// their digests.
func appendAll(t testing.TB, l *tlog.Log, bs [][]byte, stream string) []string {
	t.Helper()
	out := make([]string, len(bs))
	errs := make(chan error, len(bs))
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < len(bs); i += 64 {
				r, err := l.Append(context.Background(), bs[i], stream)
				if err != nil {
					errs <- err
					return
				}
				out[i] = r.Bundle
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) open(t testing.TB, dir string) *tlog.Log {
	t.Helper()
	signer, err := tlog.NewSigner(f.skey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tlog.Open(context.Background(), dir, tlog.Options{Signer: signer, BatchMaxAge: time.Millisecond, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func closeLog(t testing.TB, l *tlog.Log) {
	t.Helper()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// copyLog copies the (closed) fixture log to a new directory.
func (f *fixture) copyLog(t testing.TB) string {
	t.Helper()
	dst := t.TempDir() + "/log"
	if err := os.CopyFS(dst, os.DirFS(f.dir)); err != nil {
		t.Fatal(err)
	}
	return dst
}

var exportTime = time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)

func (f *fixture) request(out string) ExportRequest {
	return ExportRequest{Runs: []*run.Root{f.root}, Keyring: [][]byte{f.keyring}, Output: out, At: exportTime,
		Producer:    record.Producer{ID: "person:e30211", Name: "Erika Musterfrau", Kind: "person"},
		RequestedBy: record.Party{ID: "person:e30211", Name: "Erika Musterfrau"},
		Recipient:   record.Recipient{Organisation: "Notified Body 0123", Contact: "assessor@nb0123.example"},
		Purpose:     "Technical documentation requested by the notified body <NB-2026-0415> & co"}
}

// export opens dir, exports f's run to out and closes the log.
func (f *fixture) export(t testing.TB, dir, out string) *Result {
	t.Helper()
	l := f.open(t, dir)
	defer closeLog(t, l)
	res, err := Export(context.Background(), f.request(out), Deps{Log: l, Exporter: f.exporter, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return res
}

// logVerifierOf returns the checkpoint verifier of the fixture's keyring.
func logVerifierOf(f *fixture) (note.Verifier, error) {
	c, err := selfChain([][]byte{f.keyring})
	if err != nil {
		return nil, err
	}
	return logVerifier(c)
}

// keyringPath writes the keyring to a file and returns its path.
func (f *fixture) keyringPath(t testing.TB) string {
	t.Helper()
	path := t.TempDir() + "/keyring-v1.json"
	if err := os.WriteFile(path, f.keyring, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
