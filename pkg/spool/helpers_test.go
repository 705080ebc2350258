package spool

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog"
)

var t0 = time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)

func now() time.Time { return t0 }

type key struct {
	s   signature.Signer
	pub crypto.PublicKey
	d   dsse.Signer
}

func newKey(t testing.TB) *key {
	t.Helper()
	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	d, err := keyring.NewSigner(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return &key{s: s, pub: priv.Public(), d: d}
}

func newRoot(t testing.TB, id string) *run.Root {
	t.Helper()
	r, err := run.New(run.Registration{RunID: id, Project: "llama-ft", Model: "llama-3-8b",
		StartedBy: run.Identity{ID: "workload:slurm", Kind: "workload"}, StartedAt: "2026-12-01T08:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// signRecord signs the template of kind as a record of root's run; n makes
// records of one kind distinct.
func signRecord(t testing.TB, k *key, root *run.Root, kind string, n int) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(record.Template(kind), &m); err != nil {
		t.Fatal(err)
	}
	m["runId"] = root.Registration.RunID
	m["producedAt"] = t0.Add(time.Duration(n) * time.Second).Format(time.RFC3339)
	pred, _ := json.Marshal(m)
	kd, _ := record.LookupKind(kind)
	rd := record.RunSubject(root.Registration.RunID, root.Digest())
	subjects, err := record.Subjects(kd.PredicateType, pred, &rd)
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := record.NewStatement(subjects, kd.PredicateType, pred)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Sign(context.Background(), k.s, bundle.PayloadTypeInToto, stmt)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture is a spool of three records over two runs, packed.
type fixture struct {
	producer *key
	roots    []*run.Root
	bundles  [][]byte
	tar      []byte
	packed   *Packed
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{producer: newKey(t), roots: []*run.Root{newRoot(t, "run-a"), newRoot(t, "run-b")}}
	d, err := Create(t.TempDir(), "spool-node17-1", "gpu-node-17.train.corp", now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, spec := range []struct {
		root int
		kind string
	}{{0, "dataset"}, {1, "dataset"}, {0, "training-run"}, {0, "run-closed"}} {
		b := signRecord(t, f.producer, f.roots[spec.root], spec.kind, i)
		if _, err := d.Add(ctx, f.roots[spec.root], b); err != nil {
			t.Fatal(err)
		}
		f.bundles = append(f.bundles, b)
	}
	var buf bytes.Buffer
	f.packed, err = d.Pack(ctx, &buf, PackOptions{PackedBy: record.Party{ID: "workload:slurm/llama-ft", Name: "llama-ft job"}, Signer: f.producer.d, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	f.tar = buf.Bytes()
	return f
}

func (f *fixture) keys(t testing.TB) KeySet {
	t.Helper()
	ks, err := NewKeySet(f.producer.pub)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// localLog opens a fresh log and layout.
func localLog(t testing.TB) (*LocalSink, func() *LocalSink) {
	t.Helper()
	dir := t.TempDir()
	skey, _, err := tlog.GenerateKey("example.test/spool-import")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := tlog.NewSigner(skey)
	opts := tlog.Options{Signer: signer, BatchMaxAge: time.Millisecond, CheckpointInterval: 100 * time.Millisecond}
	if err := tlog.Init(context.Background(), dir+"/log", opts); err != nil {
		t.Fatal(err)
	}
	importer := newKey(t)
	open := func() *LocalSink {
		l, err := tlog.Open(context.Background(), dir+"/log", opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close(context.Background()) })
		lay, err := oci.OpenLayout(dir + "/layout")
		if err != nil {
			t.Fatal(err)
		}
		return &LocalSink{Log: l, Layout: lay, Signer: importer.s, StateDir: dir + "/imports"}
	}
	return open(), open
}

// rewrite copies a tar, letting edit change or drop (nil) each entry.
func rewrite(t testing.TB, in []byte, edit func(name string, data []byte) []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(in))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		data = edit(h.Name, data)
		if data == nil {
			continue
		}
		h.Size = int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	return out.Bytes()
}

func bundle_Parse(b []byte) ([]byte, error) {
	bun, err := bundle.Parse(b)
	if err != nil {
		return nil, err
	}
	return bun.Payload(), nil
}
