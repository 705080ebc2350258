package audit_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/dossier-audit/dossier/pkg/oci"
	"github.com/dossier-audit/dossier/pkg/oci/audit"
	"github.com/dossier-audit/dossier/pkg/oci/ocitest"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

type fixture struct {
	log     *audit.Log
	store   *oci.LayoutStore
	dir     string
	bundles [][]byte
	root    string
}

// setup logs n records of the run (and one of another run), and stores the
// first stored of them in a layout.
func setup(t *testing.T, n, stored int) fixture {
	t.Helper()
	ctx := context.Background()
	root, s := ocitest.Root(t), ocitest.Signer(t)
	bs := ocitest.Records(t, s, root, n, "dataset", "evaluation")
	other := ocitest.Records(t, s, ocitest.OtherRoot(t), 1, "dataset")
	logDir := t.TempDir()
	vkey := ocitest.Log(t, logDir, append(bs, other...))
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := audit.ReadLog(ctx, logDir, v)
	if err != nil {
		t.Fatal(err)
	}
	seq := func(d string) (string, uint64, bool) {
		lf, ok := lg.Lookup(d)
		return lf.Stream, lf.Seq, ok
	}
	rc, _, err := oci.PackRun(root, bs[:stored], nil, seq)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, _ := oci.OpenLayout(dir)
	if err := oci.WriteRun(ctx, store, rc); err != nil {
		t.Fatal(err)
	}
	return fixture{log: lg, store: store, dir: dir, bundles: bs, root: root.Digest()}
}

func kinds(rep *audit.Report) map[string]int {
	m := map[string]int{}
	for _, f := range rep.Findings {
		m[f.Kind]++
	}
	return m
}

func TestAuditCleanStore(t *testing.T) {
	t.Parallel()
	f := setup(t, 5, 5)
	rep, err := audit.Audit(context.Background(), f.store, f.log, []audit.Run{{ID: ocitest.RunID, Root: f.root}}, false)
	if err != nil || !rep.OK() || !rep.LogVerified || rep.Runs[0].Logged != 5 || rep.Runs[0].Stored != 5 {
		t.Fatalf("Audit = %+v, %v; want a clean report of 5 records", rep, err)
	}
}

func TestAuditFindings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 5, 3)
	// Corrupt one stored bundle blob.
	p := filepath.Join(f.dir, "blobs", "sha256", digest.FromBytes(f.bundles[0]).Encoded())
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, []byte("gone"), 0o644); err != nil {
		t.Fatal(err)
	}
	// An extra record: signed for the run but never logged.
	root := ocitest.Root(t)
	extra, err := oci.PackRecord(root.Descriptor, ocitest.Records(t, ocitest.Signer(t), root, 1, "dataset")[0], 99)
	if err != nil {
		t.Fatal(err)
	}
	rc := oci.NewRunContent(root)
	rc.Records = []*oci.Record{extra}
	if err := oci.WriteRun(ctx, f.store, rc); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Audit(ctx, f.store, f.log, []audit.Run{{ID: ocitest.RunID}}, true)
	if err != nil {
		t.Fatal(err)
	}
	got := kinds(rep)
	// missing: 2 never stored + the corrupt one; the other run's record.
	want := map[string]int{audit.Missing: 4, audit.Corrupt: 1, audit.Extra: 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s findings = %d, want %d (%+v)", k, got[k], n, rep.Findings)
		}
	}
}

func TestAuditRunMissingFromStore(t *testing.T) {
	t.Parallel()
	f := setup(t, 2, 2)
	other := ocitest.OtherRoot(t)
	rep, err := audit.Audit(context.Background(), f.store, f.log, []audit.Run{{ID: "not-here", Root: other.Digest()}}, false)
	if err != nil || kinds(rep)[audit.Missing] != 1 {
		t.Fatalf("Audit = %+v, %v; want the other run's record missing", rep, err)
	}
}

func TestReadLogRefusesAlteredLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root := ocitest.Root(t)
	ocitest.Log(t, dir, ocitest.Records(t, ocitest.Signer(t), root, 3, "dataset"))
	cp := filepath.Join(dir, "checkpoint")
	b, _ := os.ReadFile(cp)
	// Claim a different, well-formed root hash in the checkpoint body.
	i := bytes.Index(b, []byte("\n\n"))
	body, err := tlogproof.ParseCheckpointBody(b[:i+1])
	if err != nil {
		t.Fatal(err)
	}
	body.Root[0] ^= 1
	forged := append(tlogproof.FormatCheckpointBody(body.Origin, body.Size, body.Root), b[i+1:]...)
	os.Chmod(cp, 0o644)
	os.WriteFile(cp, forged, 0o644)
	if _, err := audit.ReadLog(context.Background(), dir, nil); !errors.Is(err, audit.ErrLogMismatch) {
		t.Fatalf("ReadLog = %v, want ErrLogMismatch", err)
	}
}
