package verify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/record"
)

// RecordOptions are the expectations of SPEC.md "Verifying one record".
// Empty fields are not checked.
type RecordOptions struct {
	// RunID and RunRoot ("sha256:<hex>" or bare hex) name the run the
	// record must describe (step 8).
	RunID   string
	RunRoot string
	// PredicateType is the expected predicate type (step 7).
	PredicateType string
}

// Record is a verified record.
type Record struct {
	// Digest is the record's identity: "sha256:" of its bundle bytes.
	Digest    string
	KeyID     string
	Statement *record.Statement
	Common    record.Common
	Bundle    *bundle.Bundle
}

// VerifyRecord runs SPEC.md "Verifying one record" on the bundle bytes b
// with the trusted key v. The returned error is a *Error.
func VerifyRecord(b []byte, v signature.Verifier, opts RecordOptions) (*Record, error) {
	// Steps 1-5: size, bundle profile, key, payload type, signature.
	// Step 3 needs a non-empty hint (bundle.Verify accepts an empty one).
	if bun, err := bundle.Parse(b); err == nil && bun.KeyHint == "" {
		return nil, fail(FailSignature, "3", ErrEmptyHint)
	}
	bun, err := bundle.Verify(b, v)
	if err != nil {
		return nil, bundleFailure(err)
	}
	// Step 6-7: the statement profile and its predicate.
	st, err := record.ParseStatement(bun.Payload())
	if err != nil {
		return nil, statementFailure(err)
	}
	if opts.PredicateType != "" && st.PredicateType != opts.PredicateType {
		return nil, fail(FailPredicate, "7", fmt.Errorf("predicateType %q, want %q", st.PredicateType, opts.PredicateType))
	}
	rec := &Record{Digest: bun.Digest(), KeyID: bun.KeyID(), Statement: st, Bundle: bun}
	if p := st.Parsed(); p != nil {
		rec.Common = p.CommonFields()
	}
	// Step 8: the subject names the expected run.
	if err := checkRunSubject(st, rec.Common, opts); err != nil {
		return nil, err
	}
	return rec, nil
}

// ErrEmptyHint: the bundle's publicKey.hint is empty; SPEC.md §4 step 3
// requires it to name the signing key.
var ErrEmptyHint = errors.New("empty publicKey.hint: the bundle does not name its signing key")

func bundleFailure(err error) *Error {
	switch {
	case errors.Is(err, bundle.ErrWrongKey):
		return fail(FailSignature, "3", err)
	case errors.Is(err, bundle.ErrSignature), errors.Is(err, bundle.ErrKey):
		return fail(FailSignature, "5", err)
	case errors.Is(err, bundle.ErrPayloadType):
		return fail(FailEnvelope, "4", err)
	case errors.Is(err, bundle.ErrTooLarge):
		return fail(FailEnvelope, "1", err)
	default:
		return fail(FailEnvelope, "2", err)
	}
}

// statementFailure classes a statement parse error: class predicate only
// when every finding is a rule of the predicate's own page about a member
// inside the predicate; strict-JSON failures anywhere in the payload
// (duplicate members, syntax, UTF-8, depth) and statement-level rules
// (type, subjects, unknown predicate type) are class statement.
func statementFailure(err error) *Error {
	fs := record.Findings(err)
	if len(fs) == 0 {
		return fail(FailStatement, "6", err)
	}
	for _, f := range fs {
		if statementCodes[f.Code] || !insidePredicate(f.Path) {
			return fail(FailStatement, "6", err)
		}
	}
	return fail(FailPredicate, "7", err)
}

// statementCodes are finding codes that make the payload not a statement.
var statementCodes = map[string]bool{"too-large": true, "invalid-utf8": true, "syntax": true, "trailing-data": true,
	"too-deep": true, "duplicate-key": true, "statement-type": true, "no-subject": true, "too-many-subjects": true,
	"unknown-predicate-type": true, "unknown-kind": true, "invalid": true}

func insidePredicate(path string) bool {
	return path == "predicate" || strings.HasPrefix(path, "predicate.") || strings.HasPrefix(path, "predicate[")
}

func checkRunSubject(st *record.Statement, c record.Common, opts RecordOptions) error {
	if opts.RunRoot == "" && opts.RunID == "" {
		return nil
	}
	got := st.Subject[0]
	if opts.RunRoot != "" {
		want := strings.TrimPrefix(opts.RunRoot, "sha256:")
		if got.SHA256() != want {
			return fail(FailSubject, "8", fmt.Errorf("subject[0] is run root sha256:%s, want sha256:%s", got.SHA256(), want))
		}
	}
	if opts.RunID != "" {
		if c.RunID != opts.RunID || got.Name != "run:"+opts.RunID {
			return fail(FailSubject, "8", fmt.Errorf("record is of run %q (subject %q), want run %q", c.RunID, got.Name, opts.RunID))
		}
	}
	return nil
}
