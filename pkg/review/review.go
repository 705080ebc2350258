// Package review renders the canonical review document of a run: what a
// reviewer is about to approve, laid out for a person (datasets, training
// configuration, evaluations against the signed plan, time evidence,
// attachments), the exact sorted list of record digests an approval
// covers, and what changed since the model's last approved version.
//
// The rendering is deterministic: the same input gives the same bytes, so
// the digest of the document (an approval's renderedViewDigest) names what
// the signer saw (21 CFR 11.50(b), 11.70). It is static HTML without
// scripts, every value escaped for HTML text exactly as html/template
// escapes it (writer.go).
package review

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/record"
)

// MediaType is the media type of a review document.
const MediaType = "text/html; charset=utf-8"

// MaxRecords bounds the records of one review (an approval lists at most
// 100000 digests).
const MaxRecords = 100000

// ErrInput: the input cannot be rendered (no run, no records, a record
// without a predicate, a digest listed twice, too many records).
var ErrInput = errors.New("invalid review input")

// Input is what a review shows. Records are verified records of the run
// (run-scoped, any order) and the time-evidence records they cite; records
// of other runs are an error.
type Input struct {
	RunID   string
	RunRoot string // digest string of the run root manifest, optional
	Records []policy.Record
	// Previous are the records of the model's last approved version (its
	// run), compared with Records; empty for a first release.
	Previous      []policy.Record
	PreviousLabel string
	// Owners maps key fingerprints to their keyring owners, to print who
	// signed what; optional.
	Owners map[string]keyring.Owner
}

// Render returns the review document and its digest string.
func Render(in Input) (doc []byte, digest string, err error) {
	v, err := build(in)
	if err != nil {
		return nil, "", err
	}
	doc, err = document(v)
	if err != nil {
		return nil, "", err
	}
	return doc, Digest(doc), nil
}

// Digest returns the digest string of a rendered document's bytes.
func Digest(doc []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(doc)) }

// ReviewedRecords returns the digests an approval of this review lists:
// every run-scoped record of the run except approvals, sorted ascending.
func ReviewedRecords(in Input) ([]string, error) {
	if err := check(in); err != nil {
		return nil, err
	}
	return reviewed(in.Records), nil
}

func reviewed(recs []policy.Record) []string {
	var out []string
	for _, r := range recs {
		if r.Kind != "approval" && runScoped(r.Kind) {
			out = append(out, r.Digest)
		}
	}
	slices.Sort(out)
	return out
}

func runScoped(kind string) bool {
	k, ok := record.LookupKind(kind)
	return ok && k.RunScoped
}

func check(in Input) error {
	if in.RunID == "" {
		return fmt.Errorf("%w: no run id", ErrInput)
	}
	if len(in.Records) == 0 || len(in.Records)+len(in.Previous) > MaxRecords {
		return fmt.Errorf("%w: %d records, want 1..%d", ErrInput, len(in.Records)+len(in.Previous), MaxRecords)
	}
	seen := map[string]bool{}
	for _, r := range in.Records {
		switch {
		case r.Predicate == nil:
			return fmt.Errorf("%w: record %s has no predicate", ErrInput, r.Digest)
		case seen[r.Digest]:
			return fmt.Errorf("%w: record %s listed twice", ErrInput, r.Digest)
		case runScoped(r.Kind) && r.Predicate.CommonFields().RunID != in.RunID:
			return fmt.Errorf("%w: record %s is of run %q, not %q", ErrInput, r.Digest, r.Predicate.CommonFields().RunID, in.RunID)
		}
		seen[r.Digest] = true
	}
	for _, r := range in.Previous {
		if r.Predicate == nil {
			return fmt.Errorf("%w: previous record %s has no predicate", ErrInput, r.Digest)
		}
	}
	return nil
}
