package dossier

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/anchor"
	"github.com/dossier-audit/dossier/pkg/anchor/anchorer"
	"github.com/dossier-audit/dossier/pkg/tlog"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/tsa"
	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
	"github.com/dossier-audit/dossier/pkg/witness"
)

var _ AnchorSource = (*anchorer.Anchorer)(nil)

// TestExportWithAnchorer anchors the log's checkpoint with a loopback TSA
// before the export, exports with the anchorer as the anchor source, and
// verifies the package's anchors.json against its checkpoint: the run's
// records are anchored, the export record (logged later) is not.
func TestExportWithAnchorer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 4)
	vk, err := logVerifierOf(f)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := tsatest.NewCA(t, "TSA Root", now.Add(-time.Hour))
	fake := tsatest.NewFake(t, ca.Issue(t, "TSA", now.Add(-time.Hour), now.Add(time.Hour)), tsatest.OK)
	opts := tsaverify.Options{Roots: []*x509.Certificate{ca.Cert}}
	a := &anchorer.Anchorer{Log: vk, Store: anchorer.Store{Dir: t.TempDir()}, Prove: witness.TileProver(f.dir),
		TSAs: []anchorer.TSA{{Name: "tsa.internal", Client: &tsa.Client{URL: fake.URL(), Verify: opts}}}}
	before, err := tlog.ReadCheckpoint(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := a.Anchor(ctx, before); err != nil || len(r.Failed) != 0 {
		t.Fatalf("Anchor: %+v, %v", r, err)
	}
	res, p, err := exportWith(t, f, func(_ *ExportRequest, d *Deps) { d.Anchors = a })
	if err != nil {
		t.Fatal(err)
	}
	_, layers := p.metadata(t)
	file, err := anchor.Parse(p.blob(t, layers["anchors.json"].Digest.String()))
	if err != nil || res.Anchors != 1 {
		t.Fatalf("anchors.json: %v (%d entries)", err, res.Anchors)
	}
	pkg, err := tlogproof.VerifyCheckpoint(p.blob(t, layers["checkpoint"].Digest.String()), vk)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := anchor.Verify(file, pkg, anchor.TrustRoot{Log: vk, TSAs: []anchor.TSA{{Name: "tsa.internal", Options: opts}}})
	if err != nil {
		t.Fatalf("anchor.Verify: %v", err)
	}
	size := checkpointSize(before)
	for _, idx := range []uint64{0, size - 1} {
		if got := ver.For(idx); !got.Anchored || got.Size != size {
			t.Errorf("leaf %d: %+v, want anchored by the checkpoint of size %d", idx, got, size)
		}
	}
	if got := ver.For(size); got.Anchored {
		t.Errorf("the export record (leaf %d, logged after the anchor) is anchored: %+v", size, got)
	}
}
