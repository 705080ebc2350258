// Package verify implements the verification algorithms of SPEC.md. It is
// pure: it takes bytes, keys and options, never dials, reads the
// environment or calls time.Now, and it links no network code, so the
// standalone verifier can be built on it.
//
// VerifyRecord checks one record (SPEC.md "Verifying one record");
// VerifyPackage checks a whole compliance package (spec/package.md §4) and
// returns a *Result listing every check.
//
// Every rejection is a *Error carrying the failure class of SPEC.md "Error
// catalogue" and the step that rejected; branch on it with errors.As.
package verify

import (
	"errors"
	"fmt"
)

// Failure is a failure class of SPEC.md "Error catalogue". The set is
// append-only: a published class keeps its name and meaning.
type Failure string

// Failure classes of one record (SPEC.md "Verifying one record").
const (
	FailEnvelope  Failure = "envelope"
	FailSignature Failure = "signature"
	FailStatement Failure = "statement"
	FailPredicate Failure = "predicate"
	FailSubject   Failure = "subject"
	FailRunRoot   Failure = "run-root"
)

// Failure classes of a package (spec/package.md §4).
const (
	FailTar              Failure = "tar"
	FailLayout           Failure = "layout"
	FailIndex            Failure = "index"
	FailHumanCopy        Failure = "human-copy"
	FailKeyring          Failure = "keyring"
	FailPackageSignature Failure = "package-signature"
	FailKeyRole          Failure = "key-role"
	FailCheckpoint       Failure = "checkpoint"
	FailInclusion        Failure = "inclusion"
	FailSequence         Failure = "sequence"
	FailTime             Failure = "time"
	FailTimeUntraceable  Failure = "time-untraceable"
	FailKeyValidity      Failure = "key-validity"
	FailExport           Failure = "export"
	FailPolicy           Failure = "policy"
	FailConsistency      Failure = "consistency"
	// FailIO is the class of an inconclusive result: the package could
	// not be read, so nothing was decided.
	FailIO Failure = "io"
)

// Error is a rejection: the failure class, the SPEC.md step that rejected
// and the underlying error, which carries the evidence.
type Error struct {
	Class Failure
	Step  string
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s): %v", e.Class, e.Step, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func fail(class Failure, step string, err error) *Error {
	return &Error{Class: class, Step: step, Err: err}
}

// ClassOf returns the failure class of err, or "" when err is not a
// rejection by this package.
func ClassOf(err error) Failure {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ""
}
