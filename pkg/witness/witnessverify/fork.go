package witnessverify

import (
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// ForkEvidenceType is the type of a fork evidence document.
const ForkEvidenceType = "dossier.dev/fork-evidence/v1"

// Kinds of fork evidence.
const (
	// ForkSameSize: two checkpoints of one size with different roots. The
	// two signed notes alone prove the log signed two histories.
	ForkSameSize = "same-size-different-root"
	// ForkRollback is not emitted: a smaller checkpoint seen later is not
	// misbehaviour by itself (it may simply be older).
	// ForkInconsistent: the consistency proof between the two checkpoints
	// fails. Anyone holding the log's tiles can rebuild the proof; if no
	// proof verifies, the log forked.
	ForkInconsistent = "consistency-proof-fails"
)

// ForkEvidence is a transferable record of two validly signed checkpoints
// of one log that cannot both be right. Checkpoints are the signed notes
// exactly as received, smaller first.
type ForkEvidence struct {
	Type        string    `json:"type"`
	Kind        string    `json:"kind"`
	Log         string    `json:"log"`
	Detail      string    `json:"detail"`
	Checkpoints [2]string `json:"checkpoints"`
	// Proof is the consistency proof that failed (hex hashes), for
	// ForkInconsistent.
	ProofOld    uint64   `json:"proofOld,omitempty"`
	ProofHashes []string `json:"proofHashes,omitempty"`
}

// Marshal returns the evidence as indented JSON.
func (f *ForkEvidence) Marshal() []byte {
	b, _ := json.MarshalIndent(f, "", "  ")
	return append(b, '\n')
}

// CheckFork verifies both checkpoints with the log key and returns evidence
// when they cannot be consistent: equal sizes with different roots, or a
// consistency proof (hashes, from the smaller to the larger) that fails. It
// returns nil, nil when they are consistent, and an error when a checkpoint
// is not validly signed (then there is no evidence against the log).
func CheckFork(a, b []byte, logV note.Verifier, vkey string, hashes [][32]byte) (*ForkEvidence, error) {
	ca, err := tlogproof.VerifyCheckpoint(a, logV)
	if err != nil {
		return nil, fmt.Errorf("first checkpoint: %w", err)
	}
	cb, err := tlogproof.VerifyCheckpoint(b, logV)
	if err != nil {
		return nil, fmt.Errorf("second checkpoint: %w", err)
	}
	if cb.Size < ca.Size {
		ca, cb = cb, ca
	}
	ev := &ForkEvidence{Type: ForkEvidenceType, Log: vkey, Checkpoints: [2]string{string(ca.Raw), string(cb.Raw)}}
	if ca.Size == cb.Size {
		if ca.Root == cb.Root {
			return nil, nil
		}
		ev.Kind = ForkSameSize
		ev.Detail = fmt.Sprintf("two roots for size %d: %x and %x", ca.Size, ca.Root, cb.Root)
		return ev, nil
	}
	err = tlogproof.CheckConsistency(ca, cb, hashes)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, tlogproof.ErrConsistency) {
		return nil, err
	}
	ev.Kind, ev.Detail, ev.ProofOld = ForkInconsistent, err.Error(), ca.Size
	for _, h := range hashes {
		ev.ProofHashes = append(ev.ProofHashes, fmt.Sprintf("%x", h))
	}
	return ev, nil
}
