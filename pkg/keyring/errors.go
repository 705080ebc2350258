package keyring

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrMalformed: the envelope or document is not strict JSON of the
	// right shape, or exceeds a size limit.
	ErrMalformed = errors.New("malformed keyring")
	// ErrInvalid: the document parses but breaks a rule of
	// spec/package.md §1 (ids, roles, algorithms, times, threshold).
	ErrInvalid = errors.New("invalid keyring")
	// ErrFingerprint: version 1 does not hash to the pinned fingerprint.
	ErrFingerprint = errors.New("keyring root fingerprint mismatch")
	// ErrThreshold: fewer valid signatures by distinct root keys than the
	// threshold requires.
	ErrThreshold = errors.New("keyring signatures below threshold")
	// ErrChain: versions missing, out of order, or not linked by previous.
	ErrChain = errors.New("broken keyring chain")
	// ErrKeyNotValid: a key was not listed with the role, removed or
	// revoked at the log position asked about.
	ErrKeyNotValid = errors.New("key not valid")
)

// ChainError reports which version of a chain failed and why.
type ChainError struct {
	Version int // 1-based position in the chain
	Err     error
}

func (e *ChainError) Error() string { return fmt.Sprintf("keyring version %d: %v", e.Version, e.Err) }

// Unwrap returns the cause.
func (e *ChainError) Unwrap() error { return e.Err }

func invalid(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, path, fmt.Sprintf(format, args...))
}
