package console

import (
	"fmt"
	"slices"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/record"
)

// KeyLookup finds a key by fingerprint in the keyring in force.
type KeyLookup func(fingerprint string) (*keyring.Key, bool)

// ApprovalError tells why an uploaded approval bundle was refused; it
// wraps ErrApproval.
type ApprovalError struct {
	Reason    string
	Got, Want string
}

func (e *ApprovalError) Error() string {
	if e.Got == "" && e.Want == "" {
		return "approval refused: " + e.Reason
	}
	return fmt.Sprintf("approval refused: %s: got %s, want %s", e.Reason, e.Got, e.Want)
}

func (e *ApprovalError) Unwrap() error { return ErrApproval }

// VerifyApproval checks an uploaded approval bundle against the run it is
// for: signed by a reviewer key of the keyring (not revoked), an approval
// of this run (subject[0] the run root), listing exactly the run's review
// digests, naming the review document's digest, signed by the person the
// keyring binds to the key. It returns the approval and the record digest.
func VerifyApproval(b []byte, d *RunDetail, keys KeyLookup) (*record.Approval, string, error) {
	parsed, err := bundle.Parse(b)
	if err != nil {
		return nil, "", &ApprovalError{Reason: "not a record bundle: " + err.Error()}
	}
	k, ok := keys(parsed.KeyID())
	switch {
	case !ok:
		return nil, "", &ApprovalError{Reason: "signed by a key the keyring does not list", Got: parsed.KeyID(), Want: "a reviewer key"}
	case !k.HasRole(keyring.RoleReviewer) || k.Revoked():
		return nil, "", &ApprovalError{Reason: "the signing key is not a valid reviewer key", Got: fmt.Sprintf("roles %v, revoked %t", k.Roles, k.Revoked()), Want: "role reviewer, not revoked"}
	}
	v, err := k.Verifier()
	if err != nil {
		return nil, "", &ApprovalError{Reason: "unusable key: " + err.Error()}
	}
	bun, err := bundle.Verify(b, v)
	if err != nil {
		return nil, "", &ApprovalError{Reason: "the signature does not verify: " + err.Error()}
	}
	a, err := approvalOf(bun, d)
	if err != nil {
		return nil, "", err
	}
	if k.Owner.PersonID != "" && a.Signer.ID != k.Owner.PersonID {
		return nil, "", &ApprovalError{Reason: "the signer is not the key's owner", Got: a.Signer.ID, Want: k.Owner.PersonID}
	}
	return a, bun.Digest(), nil
}

func approvalOf(bun *bundle.Bundle, d *RunDetail) (*record.Approval, error) {
	st, err := record.ParseStatement(bun.Payload())
	if err != nil {
		return nil, &ApprovalError{Reason: "not a valid statement: " + err.Error()}
	}
	a, ok := st.Parsed().(*record.Approval)
	switch {
	case !ok:
		kind, _ := st.Kind()
		return nil, &ApprovalError{Reason: "not an approval record", Got: kind.Name, Want: "approval"}
	case d.RunRoot != "" && "sha256:"+st.Subject[0].SHA256() != d.RunRoot:
		return nil, &ApprovalError{Reason: "subject is another run root", Got: "sha256:" + st.Subject[0].SHA256(), Want: d.RunRoot}
	case a.RunID != d.Summary.RunID:
		return nil, &ApprovalError{Reason: "approval of another run", Got: a.RunID, Want: d.Summary.RunID}
	case a.RenderedViewDigest != d.ViewDigest && !slices.Contains(d.EarlierViews, a.RenderedViewDigest):
		return nil, &ApprovalError{Reason: "signed another review document", Got: a.RenderedViewDigest, Want: d.ViewDigest}
	case !slices.Equal(a.ReviewedRecords, d.Reviewed):
		return nil, &ApprovalError{Reason: "lists other records than the review", Got: fmt.Sprintf("%d digests", len(a.ReviewedRecords)), Want: fmt.Sprintf("the %d digests of the review", len(d.Reviewed))}
	}
	return a, nil
}
