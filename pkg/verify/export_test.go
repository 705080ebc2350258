package verify

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/dossier"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

// exported is a package written by pkg/dossier.Export from a real log.
type exported struct {
	tar []byte
	pin string
}

// exportPackage appends a keyring, time evidence and n records of one run
// to a fresh Tessera log and exports the run with pkg/dossier.Export.
func exportPackage(t *testing.T, n int) exported {
	t.Helper()
	ctx := context.Background()
	kk := fixedKeys(t)
	skey, vkey, err := tlog.GenerateKey("example.test/verify-log")
	if err != nil {
		t.Fatal(err)
	}
	env := exportKeyring(t, kk, vkey)
	v1, err := keyring.Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := tlog.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	open := func() *tlog.Log {
		l, err := tlog.Open(ctx, dir, tlog.Options{Signer: signer, BatchMaxAge: time.Millisecond, CheckpointInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := open()
	root := appendRun(t, l, kk, env, n)
	if err := l.Close(ctx); err != nil { // reopened: every append is integrated
		t.Fatal(err)
	}
	l = open()
	defer l.Close(ctx)
	var buf bytes.Buffer
	_, err = dossier.Export(ctx, dossier.ExportRequest{Runs: []*run.Root{root}, Keyring: [][]byte{env},
		At:          time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC),
		Producer:    record.Producer{ID: "person:e30211", Name: "Erika Musterfrau", Kind: "person"},
		RequestedBy: record.Party{ID: "person:e30211", Name: "Erika Musterfrau"},
		Recipient:   record.Recipient{Organisation: "Notified Body 0123"}, Purpose: "verifier interop test"},
		dossier.Deps{Log: l, Exporter: kk.exporter, Writer: &buf, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return exported{tar: buf.Bytes(), pin: keyring.RootFingerprint(v1.Payload)}
}

func exportKeyring(t *testing.T, kk *testKeys, vkey string) []byte {
	t.Helper()
	owner := keyring.Owner{Name: "Erika Musterfrau", PersonID: "person:e30211", Team: "compliance"}
	doc := &keyring.Document{MediaType: keyring.MediaType, Version: 1, IssuedAt: "2026-11-27T00:00:00Z", RootThreshold: 1}
	for _, e := range []struct {
		role string
		s    signature.Signer
	}{{"root", kk.root}, {"producer", kk.producer}, {"time", kk.timeKey}, {"exporter", kk.exporter}} {
		p, err := e.s.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		k, err := keyring.NewKey(p, []string{e.role}, owner, "2026-11-27T00:00:00Z", "")
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
	rs, err := keyring.NewSigner(context.Background(), kk.root)
	if err != nil {
		t.Fatal(err)
	}
	env, err := keyring.Sign(b, rs)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// appendRun logs the keyring, one time-evidence record and n run records
// (cycling dataset, training-run, evaluation, run-closed) and returns the run.
func appendRun(t *testing.T, l *tlog.Log, kk *testKeys, env []byte, n int) *run.Root {
	t.Helper()
	ctx := context.Background()
	root, err := run.New(run.Registration{RunID: "interop-run", Project: "p", Model: "m",
		StartedBy: run.Identity{ID: "workload:trainer", Kind: "workload"}, StartedAt: "2026-11-27T08:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	appendOne := func(b []byte, stream string) string {
		r, err := l.Append(ctx, b, stream)
		if err != nil {
			t.Fatal(err)
		}
		return r.Bundle
	}
	appendOne(env, "keyring")
	b := &pkgBuilder{kk: kk, blobs: map[string][]byte{}}
	teBundle := signKind(t, b, kk.timeKey, "time-evidence", nil, func(map[string]any) {})
	te := appendOne(teBundle, "time-evidence")
	kinds := []string{"dataset", "training-run", "evaluation", "run-closed"}
	for i := 0; i < n; i++ {
		k := kinds[i%len(kinds)]
		appendOne(signKind(t, b, kk.producer, k, root, func(m map[string]any) {
			m["runId"], m["timeEvidence"] = root.Registration.RunID, map[string]any{"digest": te}
			delete(m, "plan")
		}), root.Digest())
	}
	return root
}

// signKind signs kind's template (edited) as a record of root (nil: log-scoped).
func signKind(t *testing.T, b *pkgBuilder, s signature.Signer, kind string, root *run.Root, edit func(map[string]any)) []byte {
	t.Helper()
	pt := record.PredicateTypePrefix + kind + "/v1"
	pred, err := predicate(kind, edit)
	if err != nil {
		t.Fatal(err)
	}
	var rs *record.ResourceDescriptor
	if root != nil {
		r := record.RunSubject(root.Registration.RunID, root.Digest())
		rs = &r
	}
	subjects, err := record.Subjects(pt, pred, rs)
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.sign(context.Background(), s, subjects, pt, pred)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestVerifyExportedPackage: a package written by pkg/dossier.Export from a
// real log verifies; edits to it are rejected with the right class.
func TestVerifyExportedPackage(t *testing.T) {
	t.Parallel()
	e := exportPackage(t, 8)
	res := VerifyPackage(bytes.NewReader(e.tar), int64(len(e.tar)), PackageOptions{RootFingerprint: e.pin})
	if res.Outcome != Verified {
		t.Fatalf("outcome %s, failures %+v", res.Outcome, res.Failures)
	}
	if res.Summary.RecordCount != 10 || len(res.Summary.Runs) != 1 || res.Summary.Runs[0].Records != 8 {
		t.Fatalf("summary %+v", res.Summary)
	}
	for _, tc := range []struct {
		name  string
		edit  func([]tarFile) []tarFile
		class Failure
	}{
		{"edited README", func(fs []tarFile) []tarFile { fs[0].data[0] ^= 1; return fs }, FailHumanCopy},
		{"withheld record", func(fs []tarFile) []tarFile { return dropLastRunRecordBundle(t, fs) }, FailLayout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := rewriteTar(t, tc.edit(tarFiles(t, e.tar)))
			res := VerifyPackage(bytes.NewReader(b), int64(len(b)), PackageOptions{RootFingerprint: e.pin})
			if res.Outcome != Rejected || !containsClass(res, tc.class) {
				t.Fatalf("outcome %s, failures %v, want class %s", res.Outcome, classes(res), tc.class)
			}
		})
	}
}

// dropLastRunRecordBundle removes one bundle blob: its descriptor then
// points at nothing.
func dropLastRunRecordBundle(t *testing.T, fs []tarFile) []tarFile {
	for i, f := range fs {
		if strings.HasPrefix(f.hdr.Name, "blobs/") && bytes.Contains(f.data, []byte(`"dsseEnvelope"`)) && bytes.Contains(f.data, []byte("hint")) {
			return append(fs[:i:i], fs[i+1:]...)
		}
	}
	t.Fatal("no bundle blob")
	return nil
}
