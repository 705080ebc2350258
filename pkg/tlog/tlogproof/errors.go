package tlogproof

import (
	"errors"
	"fmt"
)

// Errors returned by parsing and verification. Each is wrapped with the
// evidence (got/want) by the function that returns it; test with errors.Is.
var (
	ErrMalformedLeaf       = errors.New("malformed leaf")
	ErrMalformedCheckpoint = errors.New("malformed checkpoint")
	ErrMalformedProof      = errors.New("malformed proof")
	// ErrCheckpointSignature: the checkpoint is not signed by the given
	// log key (unknown key, another key, or a bad signature).
	ErrCheckpointSignature = errors.New("checkpoint signature not verified")
	// ErrOrigin: the checkpoint names another log than the key's.
	ErrOrigin = errors.New("checkpoint origin mismatch")
	// ErrLeafMismatch: the leaf does not belong to the bundle, or the proof
	// carries another leaf than the one given.
	ErrLeafMismatch = errors.New("leaf does not match")
	// ErrInclusion: the inclusion proof does not lead from the leaf to the
	// checkpoint root (a proof for another leaf, a tampered hash or tile).
	ErrInclusion = errors.New("inclusion proof does not verify")
	// ErrConsistency: the two checkpoints are not one tree extending the
	// other (a fork, a rewritten history, or a tampered proof).
	ErrConsistency = errors.New("consistency proof does not verify")
	// ErrSmallerTree: the newer checkpoint is smaller than the older one, a
	// rollback.
	ErrSmallerTree = errors.New("checkpoint is smaller than the trusted one")
)

// RootMismatchError carries the root a proof led to and the root the
// checkpoint commits to.
type RootMismatchError struct {
	Size      uint64
	Got, Want [32]byte
}

func (e *RootMismatchError) Error() string {
	return fmt.Sprintf("root mismatch at size %d: proof gives %x, checkpoint has %x", e.Size, e.Got, e.Want)
}
