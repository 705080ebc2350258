package anchorer_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/anchor/anchorer"
	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/tsa"
	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
	"github.com/dossier-audit/dossier/pkg/witness"
	"github.com/dossier-audit/dossier/pkg/witness/witnesstest"
)

// TestAnchorFaults: what each misbehaving peer does to one Anchor call.
// A slow or wrong TSA and a witness that refuses an inconsistent
// checkpoint are reported (the checkpoint stays in the backlog, no token
// or cosignature is stored); Anchor itself returns within the client's
// timeout and never fails for them.
func TestAnchorFaults(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca := tsatest.NewCA(t, "TSA Root", now.Add(-3*time.Hour))
	good := ca.Issue(t, "TSA", now.Add(-time.Hour), now.Add(time.Hour))
	expired := ca.Issue(t, "Expired TSA", now.Add(-3*time.Hour), now.Add(-2*time.Hour))
	opts := tsaverify.Options{Roots: []*x509.Certificate{ca.Cert}}
	tests := []struct {
		name  string
		leaf  *tsatest.Leaf
		fault tsatest.Fault
		want  error
	}{
		{"slow", good, tsatest.Slow, tsa.ErrUnavailable},
		{"wrong imprint", good, tsatest.WrongImprint, tsaverify.ErrImprint},
		{"expired certificate", expired, tsatest.OK, tsaverify.ErrValidity},
		{"forged token", good, tsatest.Forged, tsaverify.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 4)
			fake := tsatest.NewFake(t, tt.leaf, tt.fault)
			a := &anchorer.Anchorer{Log: l.Verifier, Store: anchorer.Store{Dir: t.TempDir()},
				TSAs: []anchorer.TSA{{Name: "tsa", Client: &tsa.Client{URL: fake.URL(), Verify: opts, HTTP: &http.Client{Timeout: 300 * time.Millisecond}}}}}
			start := time.Now()
			r, err := a.Anchor(context.Background(), l.Checkpoint(t, 4))
			if err != nil || !errors.Is(r.Failed["tsa:tsa"], tt.want) || len(r.Stamped) != 0 {
				t.Fatalf("Anchor: %+v, %v; want tsa:tsa failed with %v", r, err, tt.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Anchor took %v with a %s TSA", d, tt.name)
			}
			if tok, _ := a.Store.Token(4, "tsa"); tok != nil {
				t.Error("a refused token was stored")
			}
			if b, _ := a.Backlog(); len(b) != 1 {
				t.Errorf("backlog %v, want [4]", b)
			}
		})
	}
}

// TestWitnessRefusesFork: a witness that cosigned the log refuses a
// checkpoint of a forked log (same key, other leaves) sent by another
// anchorer; no cosignature is stored for it, and the honest log's next
// checkpoint is still cosigned.
func TestWitnessRefusesFork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 12)
	fork := witnesstest.NewLog(t, l.Origin, "leaf", 4)
	fork.Signer, fork.Verifier, fork.VKey = l.Signer, l.Verifier, l.VKey
	fork.Grow("forged", 8)
	key := witnesstest.NewWitnessKey(t, "secops.example.internal/w")
	state, err := witness.OpenDirState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ws := httptest.NewServer(witness.NewServer(key.Signer, []note.Verifier{l.Verifier}, state))
	t.Cleanup(ws.Close)
	anchorerOf := func(log *witnesstest.Log) *anchorer.Anchorer {
		return &anchorer.Anchorer{Log: log.Verifier, Store: anchorer.Store{Dir: t.TempDir()},
			Witnesses: []anchorer.Witness{{Name: "secops", Client: &witness.Client{URL: ws.URL}}},
			Prove:     func(_ context.Context, old, size uint64) ([][32]byte, error) { return log.Proof(t, old, size), nil }}
	}
	honest, forger := anchorerOf(l), anchorerOf(fork)
	if r, err := honest.Anchor(ctx, l.Checkpoint(t, 8)); err != nil || len(r.Cosigned) != 1 {
		t.Fatalf("honest Anchor(8): %+v, %v", r, err)
	}
	r, err := forger.Anchor(ctx, fork.Checkpoint(t, 12))
	if err != nil || len(r.Cosigned) != 0 || !errors.Is(r.Failed["witness:secops"], witness.ErrProof) {
		t.Fatalf("forked Anchor(12): %+v, %v; want the witness to refuse the proof (ErrProof)", r, err)
	}
	if cos, _ := forger.Store.Cosignatures(12); cos != nil {
		t.Fatalf("a cosignature was stored for the fork: %q", cos)
	}
	if r, err := honest.Anchor(ctx, l.Checkpoint(t, 12)); err != nil || len(r.Cosigned) != 1 {
		t.Fatalf("honest Anchor(12) after the refused fork: %+v, %v", r, err)
	}
	cp, err := tlogproof.VerifyCheckpoint(l.Checkpoint(t, 12), l.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := honest.Build(ctx, cp, []uint64{9}); err != nil || len(f.Anchors) != 1 || f.Anchors[0].Cosignatures == "" {
		t.Fatalf("Build: %+v, %v", f, err)
	}
}
