package tlogproof

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// ConsistencyHeader is the first line of a Dossier consistency proof.
const ConsistencyHeader = "dossier.dev/consistency-proof/v1"

// ConsistencyProof proves that the tree of Checkpoint extends the tree of
// size Old. Its text is the tlog-witness add-checkpoint body under a header
// line:
//
//	dossier.dev/consistency-proof/v1
//	old <size>
//	<base64 hash>            (RFC 9162 §2.1.4 proof, zero or more lines)
//
//	<new checkpoint note>
//
// The old checkpoint is not part of the proof: the verifier supplies the one
// it trusts.
type ConsistencyProof struct {
	Old        uint64
	Hashes     [][32]byte
	Checkpoint []byte
}

// Marshal returns the proof text.
func (p ConsistencyProof) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nold %d\n", ConsistencyHeader, p.Old)
	writeHashes(&b, p.Hashes)
	b.WriteByte('\n')
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseConsistencyProof parses a consistency proof strictly.
func ParseConsistencyProof(b []byte) (ConsistencyProof, error) {
	head, cp, err := splitProof(b)
	if err != nil {
		return ConsistencyProof{}, err
	}
	lines := strings.Split(head, "\n")
	if lines[0] != ConsistencyHeader || len(lines) < 2 {
		return ConsistencyProof{}, fmt.Errorf("%w: first line %q, want %q", ErrMalformedProof, lines[0], ConsistencyHeader)
	}
	old, ok := strings.CutPrefix(lines[1], "old ")
	if !ok {
		return ConsistencyProof{}, fmt.Errorf("%w: missing old line", ErrMalformedProof)
	}
	var p ConsistencyProof
	if p.Old, err = parseDecimal(old); err != nil {
		return ConsistencyProof{}, fmt.Errorf("%w: old: %v", ErrMalformedProof, err)
	}
	if p.Hashes, err = parseHashes(lines[2:]); err != nil {
		return ConsistencyProof{}, err
	}
	p.Checkpoint = []byte(cp)
	return p, nil
}

// VerifyConsistency verifies that the checkpoint in proofText extends the
// trusted checkpoint oldCheckpoint, both signed by the log key v. It returns
// the new checkpoint. A smaller new tree is ErrSmallerTree; trees that do not
// extend each other are ErrConsistency.
func VerifyConsistency(proofText, oldCheckpoint []byte, v note.Verifier) (*Checkpoint, error) {
	p, err := ParseConsistencyProof(proofText)
	if err != nil {
		return nil, err
	}
	oldCP, err := VerifyCheckpoint(oldCheckpoint, v)
	if err != nil {
		return nil, fmt.Errorf("old checkpoint: %w", err)
	}
	newCP, err := VerifyCheckpoint(p.Checkpoint, v)
	if err != nil {
		return nil, fmt.Errorf("new checkpoint: %w", err)
	}
	if newCP.Size < oldCP.Size {
		return nil, fmt.Errorf("%w: got size %d, trusted size %d", ErrSmallerTree, newCP.Size, oldCP.Size)
	}
	if p.Old != oldCP.Size {
		return nil, fmt.Errorf("%w: proof starts at size %d, the trusted checkpoint has size %d", ErrConsistency, p.Old, oldCP.Size)
	}
	if err := CheckConsistency(oldCP, newCP, p.Hashes); err != nil {
		return nil, err
	}
	return newCP, nil
}

// CheckConsistency checks that newCP extends oldCP with the given proof
// hashes (RFC 9162 §2.1.4.2). Equal sizes need equal roots and no hashes.
func CheckConsistency(oldCP, newCP *Checkpoint, hashes [][32]byte) error {
	if newCP.Size < oldCP.Size {
		return fmt.Errorf("%w: got size %d, trusted size %d", ErrSmallerTree, newCP.Size, oldCP.Size)
	}
	err := proof.VerifyConsistency(rfc6962.DefaultHasher, oldCP.Size, newCP.Size, toSlices(hashes), oldCP.Root[:], newCP.Root[:])
	if err != nil {
		return fmt.Errorf("%w: from size %d to %d: %v", ErrConsistency, oldCP.Size, newCP.Size, err)
	}
	return nil
}
