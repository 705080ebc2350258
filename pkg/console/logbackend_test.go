package console_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/gate"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

const logRunID = "notes-ft-001"

type holder struct {
	signer signature.Signer
	pub    crypto.PublicKey
	owner  keyring.Owner
	roles  []string
}

func newHolder(t testing.TB, person string, roles ...string) holder {
	t.Helper()
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return holder{signer: s, pub: priv.Public(), owner: keyring.Owner{Name: "Name of " + person, PersonID: person, Team: "t-" + person}, roles: roles}
}

// logFixture is a real log with a keyring and one complete run, open for
// appends, and a LogBackend over it.
type logFixture struct {
	log                          *tlog.Log
	root                         *run.Root
	b                            *console.LogBackend
	cfg                          console.LogConfig
	pipeline, rita, exporter, rt holder
}

func newLogFixture(t testing.TB) *logFixture { return newLogFixtureN(t, 1) }

// newLogFixtureN logs a run with datasets dataset records.
func newLogFixtureN(t testing.TB, datasets int) *logFixture {
	t.Helper()
	dir := t.TempDir()
	f := &logFixture{}
	skey, vkey, err := tlog.GenerateKey("example.test/console-log")
	if err != nil {
		t.Fatal(err)
	}
	f.root, err = run.New(run.Registration{RunID: logRunID, Project: "notes", Model: "acme/notes",
		StartedBy: run.Identity{ID: "workload:trainer", Kind: "workload"}, StartedAt: "2026-11-27T08:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	f.rt, f.pipeline = newHolder(t, "person:root", "root"), newHolder(t, "workload:pipeline", "producer", "time")
	f.rita, f.exporter = newHolder(t, "rita", "reviewer"), newHolder(t, "erika", "exporter")
	kr := signKeyring(t, vkey, f.rt, f.rt, f.pipeline, f.rita, f.exporter)
	signer, err := tlog.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	f.log, err = tlog.Open(context.Background(), dir, tlog.Options{Signer: signer, BatchMaxAge: time.Millisecond, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.log.Close(context.Background()) })
	f.append(t, kr, "keyring")
	te := f.append(t, f.sign(t, "time-evidence", record.Template("time-evidence"), false), "time-evidence")
	rec := func(kind string, i int) []byte {
		var m map[string]any
		_ = json.Unmarshal(record.Template(kind), &m)
		m["timeEvidence"], m["producedAt"], m["runId"] = map[string]any{"digest": te}, "2026-11-27T10:00:00Z", logRunID
		if kind == "dataset" {
			m["name"] = fmt.Sprintf("<img src=x onerror=alert(%d)>", i)
		}
		delete(m, "plan")
		p, _ := json.Marshal(m)
		return f.sign(t, kind, p, true)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // datasets are appended concurrently, as a busy pipeline would
	for i := range datasets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := f.log.Append(context.Background(), rec("dataset", i), f.root.Digest()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, kind := range []string{"training-run", "evaluation", "run-closed"} {
		f.append(t, rec(kind, 0), f.root.Digest())
	}
	runs := filepath.Join(dir, "runs")
	if err := os.MkdirAll(runs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runs, logRunID+".json"), f.root.MarshalFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse([]byte(`{"mediaType":"application/vnd.dossier.policy.v2+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},
		"requiredKinds":["dataset","training-run","evaluation","run-closed"],
		"runs":{"approvals":{"min":1,"role":"reviewer","meanings":["approval"],"cover":["dataset","training-run","evaluation","run-closed"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	f.cfg = console.LogConfig{Log: f.log, RunsDir: runs, Keyrings: [][]byte{kr}, Policy: pol,
		Exporter: f.exporter.signer, ExportsDir: filepath.Join(dir, "exports")}
	f.b, err = console.NewLogBackend(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.await(t)
	return f
}

func signKeyring(t testing.TB, vkey string, signer holder, hs ...holder) []byte {
	t.Helper()
	doc := &keyring.Document{MediaType: keyring.MediaType, Version: 1, IssuedAt: "2026-11-27T00:00:00Z", RootThreshold: 1}
	for _, h := range hs {
		k, err := keyring.NewKey(h.pub, h.roles, h.owner, "2026-11-27T00:00:00Z", "")
		if err != nil {
			t.Fatal(err)
		}
		doc.Keys = append(doc.Keys, k)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.SplitN(vkey, "+", 3)[2])
	lk, err := keyring.NewKey(ed25519.PublicKey(raw[1:]), []string{"log"}, keyring.Owner{Name: "Log", PersonID: "workload:log", Team: "ops"}, "2026-11-27T00:00:00Z", vkey)
	if err != nil {
		t.Fatal(err)
	}
	doc.Keys = append(doc.Keys, lk)
	b, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := keyring.NewSigner(context.Background(), signer.signer)
	if err != nil {
		t.Fatal(err)
	}
	env, err := keyring.Sign(b, ds)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func (f *logFixture) sign(t testing.TB, kind string, pred []byte, runScoped bool) []byte {
	t.Helper()
	pt := record.PredicateTypePrefix + kind + "/v1"
	var rs *record.ResourceDescriptor
	if runScoped {
		r := record.RunSubject(logRunID, f.root.Digest())
		rs = &r
	}
	subjects, err := record.Subjects(pt, pred, rs)
	if err != nil {
		t.Fatal(err)
	}
	st, err := record.NewStatement(subjects, pt, pred)
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	b, err := bundle.Sign(context.Background(), f.pipeline.signer, bundle.PayloadTypeInToto, st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *logFixture) append(t testing.TB, b []byte, stream string) string {
	t.Helper()
	r, err := f.log.Append(context.Background(), b, stream)
	if err != nil {
		t.Fatal(err)
	}
	return r.Bundle
}

// await waits until the published checkpoint covers every append.
func (f *logFixture) await(t testing.TB) {
	t.Helper()
	want, _ := f.log.Size(context.Background())
	for range 200 {
		if st, err := f.b.Log(context.Background()); err == nil && st.Size >= want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("checkpoint never reached size %d", want)
}

func TestLogBackend(t *testing.T) {
	f := newLogFixture(t)
	ctx := context.Background()
	queue, err := f.b.Runs(ctx, console.Filter{Page: console.Page{Limit: 10}, WaitingFor: "rita"})
	if err != nil || queue.Total != 1 || len(queue.Runs[0].Lacks) == 0 {
		t.Fatalf("rita's queue: %+v, %v; want the run, lacking an approval", queue, err)
	}
	d, err := f.b.Run(ctx, logRunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Reviewed) != 4 || !strings.Contains(string(d.Review), "&lt;img src=x") {
		t.Fatalf("run detail: %d reviewed records, hostile name escaped: %t", len(d.Reviewed), strings.Contains(string(d.Review), "&lt;img"))
	}
	approve := func(h holder, runRoot string) []byte {
		a, err := gate.NewApproval(gate.ApprovalRequest{Review: d.Review, PrintedName: h.owner.Name, SignerID: h.owner.PersonID,
			Meaning: "approval", Decision: "approve", At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		b, err := gate.SignApproval(ctx, h.signer, runRoot, a)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var ae *console.ApprovalError
	if _, err := f.b.SubmitApproval(ctx, logRunID, approve(f.pipeline, d.RunRoot), auth.Identity{Subject: "rita"}); !errors.As(err, &ae) || !strings.Contains(ae.Reason, "reviewer") {
		t.Fatalf("approval signed by a producer key: %v, want an ApprovalError (not a reviewer key)", err)
	}
	res, err := f.b.SubmitApproval(ctx, logRunID, approve(f.rita, d.RunRoot), auth.Identity{Subject: "rita"})
	if err != nil {
		t.Fatal(err)
	}
	f.await(t)
	d, err = f.b.Run(ctx, logRunID) // stale: the log grew; refreshed in the background
	if err != nil || d.Stale && len(d.Summary.Approvals) != 0 {
		t.Fatalf("first read after the approval: stale %t, %d approvals, %v; want the view read before it, at once", d.Stale, len(d.Summary.Approvals), err)
	}
	for range 250 {
		if d, err = f.b.Run(ctx, logRunID); err != nil || !d.Stale {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || d.Stale || len(d.Summary.Approvals) != 1 || d.Summary.Approvals[0].Digest != res.Digest || len(d.Summary.Lacks) != 0 {
		t.Fatalf("after the approval: stale %t, %+v, %v", d.Stale, d.Summary, err)
	}
	info, err := f.b.Export(ctx, console.ExportRequest{Runs: []string{logRunID}, Reason: "inspection", Organisation: "EMA"}, auth.Identity{Subject: "erika"})
	if err != nil {
		t.Fatal(err)
	}
	rc, got, err := f.b.OpenExport(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, _ := io.Copy(io.Discard, rc)
	if n != info.Size || got.Package != info.Package {
		t.Fatalf("opened export: %d bytes, %s; want %d, %s", n, got.Package, info.Size, info.Package)
	}
	if _, _, err := f.b.OpenExport(ctx, strings.Repeat("0", 64)); !errors.Is(err, console.ErrNotFound) {
		t.Fatalf("unknown export: %v, want ErrNotFound", err)
	}
}
