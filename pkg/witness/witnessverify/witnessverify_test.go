package witnessverify_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
	"github.com/dossier-audit/dossier/pkg/witness/witnesstest"
	"github.com/dossier-audit/dossier/pkg/witness/witnessverify"
)

type fixture struct {
	log        *witnesstest.Log
	w1, w2, w3 *witnesstest.WitnessKey
	policy     *witnessverify.Policy
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{log: witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 10),
		w1: witnesstest.NewWitnessKey(t, "secops.example.internal/witness"),
		w2: witnesstest.NewWitnessKey(t, "compliance.example.internal/witness"),
		w3: witnesstest.NewWitnessKey(t, "auditor.example.org/witness")}
	text := fmt.Sprintf("# two of three custodians\nlog %s\nwitness secops %s https://secops.example.internal/w\nwitness compliance %s\nwitness auditor %s\ngroup custodians 2 secops compliance auditor\nquorum custodians\n",
		f.log.VKey, f.w1.VKey, f.w2.VKey, f.w3.VKey)
	p, err := witnessverify.ParsePolicy([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	f.policy = p
	return f
}

func TestVerifyQuorum(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	stranger := witnesstest.NewWitnessKey(t, "stranger.example.org/witness")
	cp := f.log.Checkpoint(t, 10)
	forged := forgeLastSignature(t, f.w2.Cosign(t, cp))
	tests := []struct {
		name    string
		note    []byte
		want    error
		signers int
	}{
		{"two of three", f.w2.Cosign(t, f.w1.Cosign(t, cp)), nil, 2},
		{"all three", f.w3.Cosign(t, f.w2.Cosign(t, f.w1.Cosign(t, cp))), nil, 3},
		{"one of three", f.w1.Cosign(t, cp), witnessverify.ErrQuorum, 1},
		{"none", cp, witnessverify.ErrQuorum, 0},
		{"unknown witness does not count", stranger.Cosign(t, f.w1.Cosign(t, cp)), witnessverify.ErrQuorum, 1},
		{"same witness twice counts once", f.w1.Cosign(t, f.w1.Cosign(t, cp)), witnessverify.ErrQuorum, -1},
		{"forged cosignature", f.w1.Cosign(t, forged), witnessverify.ErrCosignature, 0},
		{"log signature missing", f.w2.Cosign(t, f.w1.Cosign(t, f.log.SignWith(t, stranger.Signer, 10))), tlogproof.ErrCheckpointSignature, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := witnessverify.Verify(tt.note, f.policy)
			if !errors.Is(err, tt.want) || (tt.want != nil) == (err == nil) {
				t.Fatalf("Verify: got %v, want %v", err, tt.want)
			}
			if tt.signers > 0 && len(res.Cosignatures) != tt.signers {
				t.Errorf("cosignatures %v, want %d", res.Cosignatures, tt.signers)
			}
			if tt.want == nil && (res.AnchoredAt.IsZero() || !res.QuorumMet) {
				t.Errorf("quorum met %v at %v", res.QuorumMet, res.AnchoredAt)
			}
		})
	}
}

// forgeLastSignature flips one bit of the last signature line's signature
// bytes, keeping the line well-formed base64.
func forgeLastSignature(t *testing.T, n []byte) []byte {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(n), "\n"), "\n")
	last := lines[len(lines)-1]
	i := strings.LastIndexByte(last, ' ')
	sig, err := base64.StdEncoding.DecodeString(last[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)-1] ^= 1
	lines[len(lines)-1] = last[:i+1] + base64.StdEncoding.EncodeToString(sig)
	return []byte(strings.Join(lines, "\n") + "\n")
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name, text string
		ok         bool
	}{
		{"quorum none", "log " + f.log.VKey + "\nquorum none\n", true},
		{"single witness quorum", "log " + f.log.VKey + "\nwitness a " + f.w1.VKey + "\nquorum a\n", true},
		{"nested groups", "log " + f.log.VKey + "\nwitness a " + f.w1.VKey + "\nwitness b " + f.w2.VKey + "\nwitness c " + f.w3.VKey +
			"\ngroup ab any a b\ngroup all all ab c\nquorum all\n", true},
		{"no quorum", "log " + f.log.VKey + "\n", false},
		{"no log", "quorum none\n", false},
		{"unknown keyword", "log " + f.log.VKey + "\ntrust me\nquorum none\n", false},
		{"undefined quorum", "log " + f.log.VKey + "\nquorum x\n", false},
		{"group before member", "log " + f.log.VKey + "\ngroup g any a\nwitness a " + f.w1.VKey + "\nquorum g\n", false},
		{"threshold too high", "log " + f.log.VKey + "\nwitness a " + f.w1.VKey + "\ngroup g 2 a\nquorum g\n", false},
		{"threshold zero", "log " + f.log.VKey + "\nwitness a " + f.w1.VKey + "\ngroup g 0 a\nquorum g\n", false},
		{"duplicate name", "log " + f.log.VKey + "\nwitness a " + f.w1.VKey + "\nwitness a " + f.w2.VKey + "\nquorum a\n", false},
		{"duplicate key", "log " + f.log.VKey + "\nwitness a " + f.w1.VKey + "\nwitness b " + f.w1.VKey + "\nquorum a\n", false},
		{"repeated member", "log " + f.log.VKey + "\nwitness a " + f.w1.VKey + "\ngroup g 2 a a\nquorum g\n", false},
		{"bad witness key", "log " + f.log.VKey + "\nwitness a nokey\nquorum a\n", false},
		{"two quorums", "log " + f.log.VKey + "\nquorum none\nquorum none\n", false},
		{"too large", strings.Repeat("#", witnessverify.MaxPolicySize+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := witnessverify.ParsePolicy([]byte(tt.text))
			if tt.ok && err != nil {
				t.Fatalf("ParsePolicy: %v", err)
			}
			if !tt.ok && !errors.Is(err, witnessverify.ErrPolicy) {
				t.Fatalf("ParsePolicy: got %v, want ErrPolicy", err)
			}
		})
	}
}

func TestCheckFork(t *testing.T) {
	t.Parallel()
	a := witnesstest.NewLog(t, "audit.example.internal/log", "leaf", 8)
	// b is a second history signed with the same key: same first 5 leaves,
	// different leaves after.
	b := &witnesstest.Log{Origin: a.Origin, VKey: a.VKey, Signer: a.Signer, Verifier: a.Verifier, Tree: nil}
	b.Tree = witnesstest.NewLog(t, a.Origin, "leaf", 5).Tree
	b.Grow("other", 5)
	tests := []struct {
		name   string
		x, y   []byte
		proof  [][32]byte
		kind   string
		errors bool
	}{
		{"consistent", a.Checkpoint(t, 5), a.Checkpoint(t, 8), a.Proof(t, 5, 8), "", false},
		{"same checkpoint", a.Checkpoint(t, 8), a.Checkpoint(t, 8), nil, "", false},
		{"same size, two roots", a.Checkpoint(t, 8), b.Checkpoint(t, 8), nil, witnessverify.ForkSameSize, false},
		{"no consistency proof verifies", a.Checkpoint(t, 8), b.Checkpoint(t, 10), b.Proof(t, 8, 10), witnessverify.ForkInconsistent, false},
		{"unsigned checkpoint is no evidence", a.Checkpoint(t, 8), bytes.Replace(b.Checkpoint(t, 8), []byte("8\n"), []byte("9\n"), 1), nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := witnessverify.CheckFork(tt.x, tt.y, a.Verifier, a.VKey, tt.proof)
			if (err != nil) != tt.errors {
				t.Fatalf("CheckFork error %v, want error %v", err, tt.errors)
			}
			switch {
			case tt.kind == "" && ev != nil:
				t.Fatalf("evidence %s for consistent checkpoints", ev.Marshal())
			case tt.kind != "" && (ev == nil || ev.Kind != tt.kind):
				t.Fatalf("evidence %+v, want kind %s", ev, tt.kind)
			case ev != nil && !bytes.Contains(ev.Marshal(), []byte(witnessverify.ForkEvidenceType)):
				t.Fatalf("evidence JSON lacks its type: %s", ev.Marshal())
			}
		})
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("log example.com/log+12345678+AQ==\nwitness a b\ngroup g any a\nquorum g\n"))
	f.Add([]byte("quorum none\n# comment\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := witnessverify.ParsePolicy(b)
		if err == nil {
			_ = p.Satisfied(map[string]bool{}) // must terminate without panic
		}
	})
}
