package dossier

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/run"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

func TestExportReplayIsByteIdentical(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 12)
	a, b := f.copyLog(t), f.copyLog(t)
	outA, outB := filepath.Join(t.TempDir(), "a.tar"), filepath.Join(t.TempDir(), "b.tar")
	ra, rb := f.export(t, a, outA), f.export(t, b, outB)
	ba, _ := os.ReadFile(outA)
	bb, _ := os.ReadFile(outB)
	if !bytes.Equal(ba, bb) || ra.Package != rb.Package || ra.SealedRecord != rb.SealedRecord {
		t.Fatalf("replays differ: %s vs %s (sealed %s vs %s)", ra.Package, rb.Package, ra.SealedRecord, rb.SealedRecord)
	}
	if ra.RecordCount != 13 || ra.KeyringLength != 1 || ra.LedgerHeads != 0 {
		t.Fatalf("result %+v", ra)
	}
}

func TestLedgerAcrossTwoExports(t *testing.T) {
	t.Parallel()
	e := exportOnce(t, 4)
	out := filepath.Join(t.TempDir(), "second.tar")
	l := e.f.open(t, e.dir)
	req := e.f.request(out)
	req.At = exportTime.Add(24 * time.Hour)
	res2, err := Export(context.Background(), req, Deps{Log: l, Exporter: e.f.exporter, PollInterval: 10 * time.Millisecond})
	closeLog(t, l)
	if err != nil {
		t.Fatal(err)
	}
	if res2.LedgerHeads != 1 || res2.RecordList != e.res.RecordList || res2.ExportRecord == e.res.ExportRecord {
		t.Fatalf("second export %+v", res2)
	}
	p2 := readPackage(t, out)
	_, layers := p2.metadata(t)
	var led ledgerDoc
	if err := json.Unmarshal(p2.blob(t, layers["ledger.json"].Digest.String()), &led); err != nil {
		t.Fatal(err)
	}
	vk, _ := logVerifierOf(e.f)
	cp, err := tlogproof.VerifyCheckpoint(p2.blob(t, layers["checkpoint"].Digest.String()), vk)
	if err != nil {
		t.Fatal(err)
	}
	h := led.Heads[0]
	if len(led.Heads) != 1 || h.Export != e.res.SealedRecord || h.Package != e.res.Package || h.Size != e.res.TreeSize {
		t.Fatalf("ledger %+v, first export %+v", led, e.res)
	}
	old := tlogproof.Checkpoint{Origin: cp.Origin, Size: h.Size}
	root, _ := base64.StdEncoding.DecodeString(h.RootHash)
	copy(old.Root[:], root)
	if err := tlogproof.CheckConsistency(&old, cp, toArrays(h.Consistency)); err != nil {
		t.Fatalf("ledger head not consistent: %v", err)
	}
	old.Root[0] ^= 1
	if err := tlogproof.CheckConsistency(&old, cp, toArrays(h.Consistency)); err == nil {
		t.Fatal("a changed head root is consistent")
	}
}

func TestExportRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	other, err := run.New(run.Registration{RunID: "other-run", Project: "p", Model: "m",
		StartedBy: run.Identity{ID: "workload:trainer", Kind: "workload"}, StartedAt: "2026-11-27T08:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := ed25519Signer(t, 7)
	otherRing := newFixture(t, 1).keyring
	for _, tc := range []struct {
		name string
		edit func(r *ExportRequest, d *Deps)
		want error
	}{
		{"no runs", func(r *ExportRequest, d *Deps) { r.Runs = nil }, ErrRequest},
		{"no time", func(r *ExportRequest, d *Deps) { r.At = time.Time{} }, ErrRequest},
		{"no keyring", func(r *ExportRequest, d *Deps) { r.Keyring = nil }, ErrRequest},
		{"run without records", func(r *ExportRequest, d *Deps) { r.Runs = append(r.Runs, other) }, ErrNotLogged},
		{"run twice", func(r *ExportRequest, d *Deps) { r.Runs = append(r.Runs, f.root) }, ErrRequest},
		{"exporter not in keyring", func(r *ExportRequest, d *Deps) { d.Exporter = stranger }, ErrKeyring},
		{"keyring of another log", func(r *ExportRequest, d *Deps) { r.Keyring = [][]byte{otherRing} }, ErrLog},
		{"bad policy", func(r *ExportRequest, d *Deps) { r.Policy = []byte("{") }, ErrRequest},
		{"existing output", func(r *ExportRequest, d *Deps) { r.Output = f.keyringPath(t) }, os.ErrExist},
		{"no output directory", func(r *ExportRequest, d *Deps) { r.Output = filepath.Join(t.TempDir(), "no", "p.tar") }, ErrRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := f.copyLog(t)
			l := f.open(t, dir)
			defer closeLog(t, l)
			req := f.request(filepath.Join(t.TempDir(), "p.tar"))
			deps := Deps{Log: l, Exporter: f.exporter, PollInterval: 10 * time.Millisecond}
			tc.edit(&req, &deps)
			if _, err := Export(context.Background(), req, deps); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if rc, err := l.Append(context.Background(), []byte(`{"probe":1}`), "export"); err != nil || rc.Seq != 0 {
				t.Fatalf("a refused export left records in the export stream (next seq %d, %v)", rc.Seq, err)
			}
		})
	}
}

// TestPackItemMatchesPkgOCI guards against drift from pkg/oci's canonical
// record manifests (verifiers may repack and compare).
func TestPackItemMatchesPkgOCI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4)
	l := f.open(t, f.dir)
	defer closeLog(t, l)
	vk, _ := logVerifierOf(f)
	lv, err := openView(f.dir, vk)
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := lv.leaves(context.Background())
	for _, e := range ls {
		if e.Leaf.Stream != f.root.Digest() {
			continue
		}
		it, err := fetch(context.Background(), l, e)
		if err != nil {
			t.Fatal(err)
		}
		it.root = f.root
		got, err := packItem(it)
		if err != nil {
			t.Fatal(err)
		}
		want, err := oci.PackRecord(f.root.Descriptor, it.bytes, e.Leaf.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Manifest, want.Manifest) || got.Descriptor.Digest != want.Descriptor.Digest {
			t.Fatalf("manifest of %s differs from pkg/oci:\n%s\n%s", it.digest(), got.Manifest, want.Manifest)
		}
	}
}

func TestOmittedListsUnselectedRunsAndDocuments(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	otherRun := "sha256:" + strings.Repeat("c", 64)
	edit := func(kind string, m map[string]any) []byte {
		var p map[string]any
		if err := json.Unmarshal(record.Template(kind), &p); err != nil {
			t.Fatal(err)
		}
		p["timeEvidence"] = map[string]any{"digest": f.te}
		for k, v := range m {
			p[k] = v
		}
		b, _ := json.Marshal(p)
		return b
	}
	mr := signRecord(t, f.producer, "model-release", edit("model-release", map[string]any{"runs": []any{f.root.Digest(), otherRun}}), f.root)
	att := signRecord(t, f.producer, "attachment", edit("attachment", nil), f.root)
	other, err := run.New(run.Registration{RunID: "other-run", Project: "p", Model: "m",
		StartedBy: run.Identity{ID: "workload:trainer", Kind: "workload"}, StartedAt: "2026-11-27T08:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	otherRec := signRecord(t, f.producer, "run-closed", edit("run-closed", map[string]any{"runId": "other-run"}), other)
	l := f.open(t, f.dir)
	appendAll(t, l, [][]byte{mr, att}, f.root.Digest())
	appendAll(t, l, [][]byte{otherRec}, other.Digest())
	closeLog(t, l)
	out := filepath.Join(t.TempDir(), "p.tar")
	if res := f.export(t, f.dir, out); res.RecordCount != 5 {
		t.Fatalf("%d records exported, want 5 (4 of the run, 1 time evidence; not the other run's)", res.RecordCount)
	}
	p := readPackage(t, out)
	m, _ := p.metadata(t)
	var cfg packageConfig
	if err := json.Unmarshal(p.blob(t, m.Config.Digest.String()), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Omitted) != 2 || !slices.ContainsFunc(cfg.Omitted, func(o Omitted) bool { return o.Kind == "run" && o.Digest == otherRun }) ||
		!slices.ContainsFunc(cfg.Omitted, func(o Omitted) bool { return o.Kind == "attachment-document" }) ||
		cfg.Omitted[0].Digest > cfg.Omitted[1].Digest {
		t.Fatalf("omitted %+v", cfg.Omitted)
	}
}
