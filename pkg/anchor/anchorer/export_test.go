package anchorer_test

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/anchor/anchorer"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/tsa"
	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
	"github.com/dossier-audit/dossier/pkg/witness/witnesstest"
)

// TestExportSource: with a TSA configured, Export anchors the package
// checkpoint itself and every proved leaf is covered; without one it
// builds from what the store holds (tokens of a TSA no longer configured
// included), and counts the leaves logged after the last anchor.
func TestExportSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	ca := tsatest.NewCA(t, "TSA Root", now.Add(-time.Hour))
	fake := tsatest.NewFake(t, ca.Issue(t, "TSA", now.Add(-time.Hour), now.Add(time.Hour)), tsatest.OK)
	l := witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 10)
	store := anchorer.Store{Dir: t.TempDir()}
	withTSA := &anchorer.Anchorer{Log: l.Verifier, Store: store,
		Prove: func(_ context.Context, old, size uint64) ([][32]byte, error) { return l.Proof(t, old, size), nil },
		TSAs:  []anchorer.TSA{{Name: "tsa", Client: &tsa.Client{URL: fake.URL(), Verify: tsaverify.Options{Roots: []*x509.Certificate{ca.Cert}}}}}}
	cp6, err := tlogproof.VerifyCheckpoint(l.Checkpoint(t, 6), l.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	fresh := &anchorer.Export{Anchorer: withTSA}
	f, err := fresh.Build(ctx, cp6, []uint64{0, 5})
	if err != nil || len(f.Anchors) != 1 || fresh.Fresh == nil || len(fresh.Fresh.Stamped) != 1 ||
		fresh.Asserted != 0 || fresh.AnchoredSize != 6 || fresh.Proved != 2 {
		t.Fatalf("fresh export: %+v (%d entries), %v", fresh, len(f.Anchors), err)
	}
	cp10, err := tlogproof.VerifyCheckpoint(l.Checkpoint(t, 10), l.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	stored := &anchorer.Export{Anchorer: &anchorer.Anchorer{Log: l.Verifier, Store: store, Prove: withTSA.Prove}}
	f, err = stored.Build(ctx, cp10, []uint64{2, 5, 6, 9})
	if err != nil || len(f.Anchors) != 1 || len(f.Anchors[0].Timestamps) != 1 || len(f.Anchors[0].Consistency) == 0 {
		t.Fatalf("build from the store: %+v, %v", f, err)
	}
	if stored.Fresh != nil || stored.AnchoredSize != 6 || stored.Asserted != 2 || stored.Size != 10 {
		t.Fatalf("coverage %+v, want leaves 6 and 9 asserted", stored)
	}
}
