package anchorer_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/anchor"
	"github.com/dossier-audit/dossier/pkg/anchor/anchorer"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/tsa"
	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
	"github.com/dossier-audit/dossier/pkg/witness"
	"github.com/dossier-audit/dossier/pkg/witness/witnesstest"
	"github.com/dossier-audit/dossier/pkg/witness/witnessverify"
)

func TestAnchorBacklogBuild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	l := witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 20)
	ca := tsatest.NewCA(t, "TSA Root", now.Add(-time.Hour))
	fake := tsatest.NewFake(t, ca.Issue(t, "TSA", now.Add(-time.Hour), now.Add(time.Hour)), tsatest.BadStatus) // down at first
	opts := tsaverify.Options{Roots: []*x509.Certificate{ca.Cert}}
	wkey := witnesstest.NewWitnessKey(t, "secops.example.internal/w")
	state, err := witness.OpenDirState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ws := httptest.NewServer(witness.NewServer(wkey.Signer, []note.Verifier{l.Verifier}, state))
	t.Cleanup(ws.Close)
	a := &anchorer.Anchorer{Log: l.Verifier, Store: anchorer.Store{Dir: t.TempDir()},
		TSAs:      []anchorer.TSA{{Name: "tsa.internal", Client: &tsa.Client{URL: fake.URL(), Verify: opts}}},
		Witnesses: []anchorer.Witness{{Name: "secops", Client: &witness.Client{URL: ws.URL}}},
		Prove:     func(_ context.Context, old, size uint64) ([][32]byte, error) { return l.Proof(t, old, size), nil }}
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	r, err := a.Anchor(ctx, l.Checkpoint(t, 5))
	if err != nil || len(r.Cosigned) != 1 || r.Failed["tsa:tsa.internal"] == nil {
		t.Fatalf("Anchor(5) with the TSA down: %+v, %v", r, err)
	}
	if b, _ := a.Backlog(); fmt.Sprint(b) != "[5]" {
		t.Fatalf("backlog %v, want [5]", b)
	}
	fake.Fault = tsatest.OK // the TSA is back; the next call fills the gap
	for _, size := range []uint64{5, 12} {
		if r, err := a.Anchor(ctx, l.Checkpoint(t, size)); err != nil || len(r.Failed) != 0 {
			t.Fatalf("Anchor(%d): %+v, %v", size, r, err)
		}
	}
	if b, _ := a.Backlog(); len(b) != 0 {
		t.Fatalf("backlog %v, want empty", b)
	}
	pkg, err := tlogproof.VerifyCheckpoint(l.Checkpoint(t, 20), l.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	f, err := a.Build(ctx, pkg, []uint64{0, 3, 7, 15})
	if err != nil || len(f.Anchors) != 2 {
		t.Fatalf("Build: %d entries, %v; want 2", len(f.Anchors), err)
	}
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := anchor.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	policy, err := witnessverify.ParsePolicy([]byte(fmt.Sprintf("log %s\nwitness secops %s\nquorum secops\n", l.VKey, wkey.VKey)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := anchor.Verify(parsed, pkg, anchor.TrustRoot{Log: l.Verifier, LogVKey: l.VKey, Witnesses: policy,
		TSAs: []anchor.TSA{{Name: "tsa.internal", Options: opts}}})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for index, size := range map[uint64]uint64{0: 5, 7: 12, 15: 0} {
		if got := res.For(index); got.Size != size || got.Anchored != (size != 0) {
			t.Errorf("For(%d) = %+v, want size %d", index, got, size)
		}
	}
}

func TestPutFork(t *testing.T) {
	t.Parallel()
	l := witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 8)
	fork := witnesstest.NewLog(t, l.Origin, "other", 8)
	fork.Signer, fork.Verifier = l.Signer, l.Verifier
	a := &anchorer.Anchorer{Log: l.Verifier, Store: anchorer.Store{Dir: t.TempDir()}}
	if _, err := a.Anchor(context.Background(), l.Checkpoint(t, 8)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Anchor(context.Background(), fork.Checkpoint(t, 8)); !errors.Is(err, anchorer.ErrFork) {
		t.Fatalf("a second root at a stored size: got %v, want ErrFork", err)
	}
}
