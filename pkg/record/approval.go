package record

import "slices"

// Approval is the predicate of kind "approval": an electronic signature in
// the sense of 21 CFR 11.50, with the printed name, the signing time and the
// meaning inside the signed payload, over exactly the records reviewed
// (11.70), and the decision taken (EU AI Act Annex IV 2(g), SR 11-7).
type Approval struct {
	Common
	Signer             Signer   `json:"signer"`
	SignedAt           string   `json:"signedAt"`
	Meaning            string   `json:"meaning"`
	StatementText      string   `json:"statementText,omitempty"`
	Decision           string   `json:"decision"`
	Conditions         []string `json:"conditions,omitempty"`
	Findings           []string `json:"findings,omitempty"`
	ExpiresAt          string   `json:"expiresAt,omitempty"`
	ReviewedRecords    []string `json:"reviewedRecords"`
	RenderedViewDigest string   `json:"renderedViewDigest,omitempty"`
	Withdraws          string   `json:"withdraws,omitempty"`
}

// Signer is the person who signs: printed name (11.50(a)(1)) and the
// identity the keyring binds to a key.
type Signer struct {
	PrintedName string `json:"printedName"`
	ID          string `json:"id"`
	Function    string `json:"function,omitempty"`
}

// Signature meanings and decisions.
var (
	approvalMeanings  = []string{"review", "approval", "authorship", "responsibility"}
	approvalDecisions = []string{"approve", "approve-with-conditions", "reject", "withdraw"}
)

// CommonFields returns the common fields.
func (p *Approval) CommonFields() Common { return p.Common }

// Validate checks the predicate; see spec/predicates/approval.md.
func (p *Approval) Validate() error {
	c := &checker{}
	c.common(&p.Common, true)
	c.str("signer.printedName", p.Signer.PrintedName, true, MaxShort)
	c.str("signer.id", p.Signer.ID, true, MaxShort)
	c.str("signer.function", p.Signer.Function, false, MaxShort)
	signed, okSigned := c.timestamp("signedAt", p.SignedAt, true)
	c.enum("meaning", p.Meaning, true, approvalMeanings...)
	c.str("statementText", p.StatementText, false, MaxText)
	c.enum("decision", p.Decision, true, approvalDecisions...)
	c.strings("conditions", p.Conditions, p.Decision == "approve-with-conditions", MaxText)
	if p.Decision != "approve-with-conditions" && len(p.Conditions) > 0 {
		c.add("conditions", ErrInconsistent, "conditions with decision %q", p.Decision)
	}
	c.strings("findings", p.Findings, false, MaxText)
	if exp, ok := c.timestamp("expiresAt", p.ExpiresAt, false); ok && okSigned && !exp.After(signed) {
		c.add("expiresAt", ErrInconsistent, "%s is not after signedAt %s", p.ExpiresAt, p.SignedAt)
	}
	c.digests("reviewedRecords", p.ReviewedRecords, true, 100000)
	if !slices.IsSorted(p.ReviewedRecords) {
		c.add("reviewedRecords", ErrNotSorted, "digests must be in ascending byte order")
	}
	c.digest("renderedViewDigest", p.RenderedViewDigest, false)
	c.digest("withdraws", p.Withdraws, p.Decision == "withdraw")
	if p.Decision != "withdraw" && p.Withdraws != "" {
		c.add("withdraws", ErrInconsistent, "withdraws with decision %q", p.Decision)
	}
	return c.err()
}

const approvalTemplate = `{
 "runId": "llama3-ft-2026-11-27-001", "attempt": 1, "producedAt": "2026-11-28T09:05:12Z",
 "producer": {"id": "person:e12345", "name": "Jane Q. Doe", "kind": "person"},
 "timeEvidence": {"digest": "sha256:4d7a9e1c3b5f2a6d8e0c1b3a5f7e9d2c4b6a8f0e1d3c5b7a9f2e4d6c8b0a1f3e"},
 "signer": {"printedName": "Jane Q. Doe", "id": "person:e12345", "function": "Head of Model Validation"},
 "signedAt": "2026-11-28T09:05:12Z",
 "meaning": "approval",
 "statementText": "I approve release of support-assistant-de 1.3.0 for the intended use stated in its release record.",
 "decision": "approve-with-conditions",
 "conditions": ["Re-evaluate on the 2027-Q1 ticket sample before 2027-04-30."],
 "findings": ["Toxicity benchmark run on 2k samples only."],
 "expiresAt": "2027-11-28T00:00:00Z",
 "reviewedRecords": [
  "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
  "sha256:a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa",
  "sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"],
 "renderedViewDigest": "sha256:e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317"
}`
