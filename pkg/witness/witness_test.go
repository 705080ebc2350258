package witness_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/witness"
	"github.com/dossier-audit/dossier/pkg/witness/witnesstest"
	"github.com/dossier-audit/dossier/pkg/witness/witnessverify"
)

// startWitness runs a witness for log on loopback with its state in dir.
func startWitness(t *testing.T, key *witnesstest.WitnessKey, dir string, logs ...*witnesstest.Log) *witness.Client {
	t.Helper()
	state, err := witness.OpenDirState(dir)
	if err != nil {
		t.Fatal(err)
	}
	var vs []note.Verifier
	for _, l := range logs {
		vs = append(vs, l.Verifier)
	}
	srv := httptest.NewServer(witness.NewServer(key.Signer, vs, state))
	t.Cleanup(srv.Close)
	return &witness.Client{URL: srv.URL}
}

func policyFor(t *testing.T, l *witnesstest.Log, w *witnesstest.WitnessKey) *witnessverify.Policy {
	t.Helper()
	p, err := witnessverify.ParsePolicy([]byte(fmt.Sprintf("log %s\nwitness w %s\nquorum w\n", l.VKey, w.VKey)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAddCheckpointSequence drives one witness through the protocol's
// answers in order; each step depends on the state the previous left.
func TestAddCheckpointSequence(t *testing.T) {
	t.Parallel()
	l := witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 20)
	fork := witnesstest.NewLog(t, l.Origin, "leaf", 5)
	fork.Signer, fork.Verifier, fork.VKey = l.Signer, l.Verifier, l.VKey
	fork.Grow("other", 15)
	other := witnesstest.NewLog(t, "other.example.internal/log", "x", 3)
	impostor := witnesstest.NewLog(t, l.Origin, "leaf", 20) // same origin, another key
	key := witnesstest.NewWitnessKey(t, "secops.example.internal/witness")
	dir := t.TempDir()
	c := startWitness(t, key, dir, l, other)
	policy := policyFor(t, l, key)
	steps := []struct {
		name string
		req  witness.AddRequest
		want error
		size uint64 // for conflicts: the size the witness reports
	}{
		{"first checkpoint", witness.AddRequest{Old: 0, Checkpoint: l.Checkpoint(t, 5)}, nil, 0},
		{"stale old size", witness.AddRequest{Old: 0, Checkpoint: l.Checkpoint(t, 10)}, &witness.ConflictError{}, 5},
		{"consistent extension", witness.AddRequest{Old: 5, Proof: l.Proof(t, 5, 10), Checkpoint: l.Checkpoint(t, 10)}, nil, 0},
		{"same checkpoint again", witness.AddRequest{Old: 10, Checkpoint: l.Checkpoint(t, 10)}, nil, 0},
		{"fork at the same size", witness.AddRequest{Old: 10, Checkpoint: fork.Checkpoint(t, 10)}, witness.ErrProof, 0},
		{"fork with a proof of the fork", witness.AddRequest{Old: 10, Proof: fork.Proof(t, 10, 20), Checkpoint: fork.Checkpoint(t, 20)}, witness.ErrProof, 0},
		{"rollback", witness.AddRequest{Old: 10, Checkpoint: l.Checkpoint(t, 5)}, witness.ErrOldTooNew, 0},
		{"proof from the empty tree", witness.AddRequest{Old: 0, Proof: l.Proof(t, 5, 10), Checkpoint: other.Checkpoint(t, 3)}, witness.ErrProof, 0},
		{"unknown log", witness.AddRequest{Old: 0, Checkpoint: witnesstest.NewLog(t, "nobody.example/log", "y", 2).Checkpoint(t, 2)}, witness.ErrUnknownLog, 0},
		{"log key of an impostor", witness.AddRequest{Old: 10, Checkpoint: impostor.Checkpoint(t, 20)}, witness.ErrSignature, 0},
		{"malformed", witness.AddRequest{Old: 10, Checkpoint: []byte(l.Origin + "\nnot a checkpoint\n")}, witness.ErrMalformed, 0},
		{"still consistent after refusals", witness.AddRequest{Old: 10, Proof: l.Proof(t, 10, 20), Checkpoint: l.Checkpoint(t, 20)}, nil, 0},
	}
	for _, s := range steps {
		lines, err := c.AddCheckpoint(context.Background(), s.req)
		var conflict *witness.ConflictError
		switch {
		case errors.As(s.want, &conflict):
			if !errors.As(err, &conflict) || conflict.Size != s.size {
				t.Fatalf("%s: got %v, want conflict at size %d", s.name, err, s.size)
			}
		case !errors.Is(err, s.want) || (s.want != nil && err == nil):
			t.Fatalf("%s: got %v, want %v", s.name, err, s.want)
		case s.want == nil:
			res, err := witnessverify.Verify(witness.AppendCosignatures(s.req.Checkpoint, lines), policy)
			if err != nil || len(res.Cosignatures) != 1 {
				t.Fatalf("%s: cosignature %q: %v", s.name, lines, err)
			}
		}
	}
	t.Run("state survives a restart", func(t *testing.T) {
		c := startWitness(t, key, dir, l)
		_, err := c.AddCheckpoint(context.Background(), witness.AddRequest{Old: 10, Proof: l.Proof(t, 10, 20), Checkpoint: l.Checkpoint(t, 20)})
		var conflict *witness.ConflictError
		if !errors.As(err, &conflict) || conflict.Size != 20 {
			t.Fatalf("got %v, want conflict at size 20", err)
		}
	})
}

func TestSubmitReprovesAfterConflict(t *testing.T) {
	t.Parallel()
	l := witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 30)
	key := witnesstest.NewWitnessKey(t, "auditor.example.org/witness")
	c := startWitness(t, key, t.TempDir(), l)
	ctx := context.Background()
	prove := func(_ context.Context, old, size uint64) ([][32]byte, error) { return l.Proof(t, old, size), nil }
	if _, err := witness.Submit(ctx, c, l.Checkpoint(t, 7), 0, prove); err != nil {
		t.Fatal(err)
	}
	// The caller forgot the witness's size (0); Submit re-proves from 7.
	lines, err := witness.Submit(ctx, c, l.Checkpoint(t, 30), 0, prove)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if _, err := witnessverify.Verify(witness.AppendCosignatures(l.Checkpoint(t, 30), lines), policyFor(t, l, key)); err != nil {
		t.Fatalf("cosignature: %v", err)
	}
	// A stale checkpoint (smaller than what the witness has) stays a conflict.
	var conflict *witness.ConflictError
	if _, err := witness.Submit(ctx, c, l.Checkpoint(t, 20), 7, prove); !errors.As(err, &conflict) || conflict.Size != 30 {
		t.Fatalf("stale Submit: got %v, want conflict at 30", err)
	}
}

func TestWitnessDown(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close()
	l := witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 3)
	_, err := (&witness.Client{URL: url}).AddCheckpoint(context.Background(), witness.AddRequest{Checkpoint: l.Checkpoint(t, 3)})
	if !errors.Is(err, witness.ErrWitness) {
		t.Fatalf("got %v, want ErrWitness", err)
	}
}

func TestParseAddRequest(t *testing.T) {
	t.Parallel()
	l := witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 9)
	good := witness.AddRequest{Old: 4, Proof: l.Proof(t, 4, 9), Checkpoint: l.Checkpoint(t, 9)}
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"round trip", string(good.Marshal()), true},
		{"leading zero", "old 04\n\n" + string(good.Checkpoint), false},
		{"no old line", "4\n\n" + string(good.Checkpoint), false},
		{"bad hash", "old 4\nAAAA\n\n" + string(good.Checkpoint), false},
		{"no blank line", "old 4\n" + string(good.Checkpoint), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := witness.ParseAddRequest([]byte(tt.body))
			if tt.ok && (err != nil || r.Old != 4 || len(r.Proof) != len(good.Proof)) {
				t.Fatalf("ParseAddRequest: %+v, %v", r, err)
			}
			if !tt.ok && !errors.Is(err, witness.ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

// failingState loses its disk after n successful stores.
type failingState struct {
	witness.State
	n int
}

func (f *failingState) Store(origin string, cp []byte) error {
	if f.n == 0 {
		return errors.New("disk full")
	}
	f.n--
	return f.State.Store(origin, cp)
}

// TestNoCosignatureWithoutDurableState checks the witness never answers
// with a cosignature it has not persisted the checkpoint for, and that a
// failed store leaves the previous state in force.
func TestNoCosignatureWithoutDurableState(t *testing.T) {
	t.Parallel()
	l := witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 12)
	key := witnesstest.NewWitnessKey(t, "secops.example.internal/witness")
	dir, err := witness.OpenDirState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := witness.NewServer(key.Signer, []note.Verifier{l.Verifier}, &failingState{State: dir, n: 1})
	if _, err := srv.Add(witness.AddRequest{Old: 0, Checkpoint: l.Checkpoint(t, 4)}); err != nil {
		t.Fatal(err)
	}
	lines, err := srv.Add(witness.AddRequest{Old: 4, Proof: l.Proof(t, 4, 12), Checkpoint: l.Checkpoint(t, 12)})
	if !errors.Is(err, witness.ErrWitness) || lines != nil {
		t.Fatalf("Add with a failing store: lines %q, error %v; want no lines and ErrWitness", lines, err)
	}
	stored, err := dir.Load(l.Origin)
	if err != nil || string(stored) != string(l.Checkpoint(t, 4)) {
		t.Fatalf("state after the failed store: %q, %v; want the size-4 checkpoint", stored, err)
	}
}

func FuzzParseAddRequest(f *testing.F) {
	l := witnesstest.NewLog(f, "audit.example.internal/log", "leaf", 9)
	f.Add(witness.AddRequest{Old: 4, Proof: l.Proof(f, 4, 9), Checkpoint: l.Checkpoint(f, 9)}.Marshal())
	f.Add([]byte("old 0\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := witness.ParseAddRequest(b)
		if err == nil && !bytes.Equal(r.Marshal(), b) {
			t.Fatalf("accepted a non-canonical request %q", b)
		}
	})
}
