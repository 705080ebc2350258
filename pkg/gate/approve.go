package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/review"
	"github.com/dossier-audit/dossier/pkg/run"
)

// ErrApproval: an approval request is inconsistent with its review or
// breaks a rule of spec/predicates/approval.md.
var ErrApproval = errors.New("approval")

// ApprovalRequest is what a reviewer signs (21 CFR 11.50): who, when, the
// meaning and decision, and the review document they saw.
type ApprovalRequest struct {
	// Run is the run file's root; nil to take the run from the review's
	// manifest (offline review of a package, without the run file).
	Run *run.Root
	// Review is the review document exactly as rendered by pkg/review; the
	// approval lists its manifest's record digests and its digest.
	Review        []byte
	PrintedName   string
	SignerID      string // the person id the keyring binds to the key
	Function      string
	Meaning       string // review, approval, authorship, responsibility
	Decision      string // approve, approve-with-conditions, reject, withdraw
	StatementText string // default: a sentence naming the review
	Conditions    []string
	Findings      []string
	ExpiresAt     time.Time // zero: no expiry
	Withdraws     string    // digest of the approval withdrawn (decision withdraw)
	At            time.Time // signing time
}

// NewApproval builds and validates the approval predicate of a request.
func NewApproval(req ApprovalRequest) (*record.Approval, error) {
	m, err := review.ParseManifest(req.Review)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrApproval, err)
	}
	rid := m.RunID
	if req.Run != nil && (m.RunID != req.Run.Registration.RunID || (m.RunRoot != "" && m.RunRoot != req.Run.Digest())) {
		return nil, fmt.Errorf("%w: the review is of run %q (%s), not %q (%s)", ErrApproval, m.RunID, m.RunRoot, req.Run.Registration.RunID, req.Run.Digest())
	}
	if req.Run == nil && m.RunRoot == "" {
		return nil, fmt.Errorf("%w: the review names no run root; pass the run file", ErrApproval)
	}
	at := req.At.UTC().Format(time.RFC3339)
	view := review.Digest(req.Review)
	a := &record.Approval{
		Common: record.Common{RunID: rid, Attempt: 1, ProducedAt: at,
			Producer: record.Producer{ID: req.SignerID, Name: req.PrintedName, Kind: "person"}},
		Signer:   record.Signer{PrintedName: req.PrintedName, ID: req.SignerID, Function: req.Function},
		SignedAt: at, Meaning: req.Meaning, Decision: req.Decision, StatementText: req.StatementText,
		Conditions: req.Conditions, Findings: req.Findings, ReviewedRecords: m.ReviewedRecords,
		RenderedViewDigest: view, Withdraws: req.Withdraws,
	}
	if a.StatementText == "" {
		a.StatementText = fmt.Sprintf("I, %s, sign with the meaning %q and the decision %q the %d records of run %s listed in the review document %s.",
			req.PrintedName, req.Meaning, req.Decision, len(m.ReviewedRecords), rid, view)
	}
	if !req.ExpiresAt.IsZero() {
		a.ExpiresAt = req.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrApproval, err)
	}
	return a, nil
}

// SignApproval signs an approval as a record bundle of the run whose root
// manifest digest string is runRoot (subject[0] "run:<runId>").
func SignApproval(ctx context.Context, signer signature.Signer, runRoot string, a *record.Approval) ([]byte, error) {
	pred, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrApproval, err)
	}
	kind, _ := record.LookupKind("approval")
	subj := record.RunSubject(a.RunID, runRoot)
	subjects, err := record.Subjects(kind.PredicateType, pred, &subj)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrApproval, err)
	}
	stmt, err := record.NewStatement(subjects, kind.PredicateType, pred)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrApproval, err)
	}
	return bundle.Sign(ctx, signer, bundle.PayloadTypeInToto, stmt)
}
