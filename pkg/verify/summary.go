package verify

import "fmt"

// summarize fills the parts of Summary a human auditor reads first: runs,
// record counts and what was verified, asserted and not checked.
func (s *pkgState) summarize() {
	sum := &s.c.res.Summary
	if s.meta != nil {
		sum.PackageID, sum.Created = s.meta.Config.PackageID, s.meta.Config.Created
	}
	runs := map[string]*RunSummary{}
	for _, rr := range s.roots {
		sum.Runs = append(sum.Runs, RunSummary{RunID: rr.RunID, Root: rr.Digest, Kinds: map[string]int{}})
	}
	for i := range sum.Runs {
		runs[sum.Runs[i].RunID] = &sum.Runs[i]
	}
	sum.RecordCount = len(s.recordDigs)
	for i := range s.records {
		ri := &s.records[i]
		if ri.Kind == "" {
			continue
		}
		sum.Kinds[ri.Kind]++
		if r := runs[ri.RunID]; r != nil {
			r.Records++
			r.Kinds[ri.Kind]++
		}
	}
	sum.Verified = append(sum.Verified, verifiedClaims...)
	sum.Asserted = append(sum.Asserted, assertedClaims...)
	if s.untraceableAccepted {
		sum.Asserted = append(sum.Asserted, "record times: the policy accepted time evidence that is untraceable to UTC, so every time is the operator's clock only")
	}
	sum.NotChecked = append(sum.NotChecked, notCheckedClaims...)
	s.summarizePolicyAndAnchors(sum)
}

// summarizePolicyAndAnchors says what step 11 and the anchors established:
// approval rules are verified only under a v2 policy; record times are
// anchored (bounded above by a TSA or a witness quorum of the trust root)
// or only asserted by the log operator.
func (s *pkgState) summarizePolicyAndAnchors(sum *Summary) {
	if s.policy != nil && s.policy.hasRules() {
		sum.Verified = append(sum.Verified, "the policy's run and release rules (approvals by distinct people, separation of duties, evaluation plans) hold on the verified records")
	} else {
		sum.NotChecked = append(sum.NotChecked, "approvals: N-of-M, separation of duties, evaluation plans (the policy has no v2 rules)")
	}
	a := sum.Anchors
	switch {
	case a == nil:
		sum.NotChecked = append(sum.NotChecked, "RFC 3161 timestamps and witness cosignatures (the checkpoint did not verify)")
	case a.Anchored > 0:
		sum.Verified = append(sum.Verified, fmt.Sprintf("%d record(s) existed no later than the time of an RFC 3161 token or witness quorum of the trust root (anchored)", a.Anchored))
	}
	if a != nil && a.Asserted > 0 {
		sum.Asserted = append(sum.Asserted, fmt.Sprintf("the log position times of %d record(s): no anchor outside the operator's control bounds them (asserted by the operator)", a.Asserted))
	}
}

// verifiedClaims are what a passing result proves cryptographically.
var verifiedClaims = []string{
	"the package tar is canonical and every blob matches its digest and size",
	"the package index lists exactly the package content; README.txt and REPORT.html are the signed copies",
	"the keyring chains from the pinned root fingerprint",
	"the package attestation is signed by an exporter key and binds the package index",
	"every record's signature verifies with a keyring key holding a role allowed for its kind",
	"every record, keyring version and the export record is included in the signed log checkpoint",
	"each run's records are contiguous in the log (none withheld) with matching previous-record links",
	"each signing key was valid at the record's log position",
	"the export record lists exactly the records of the package",
}

// assertedClaims are statements of signers that no signature proves true.
var assertedClaims = []string{
	"producer-stated times (producedAt) and identities",
	"dataset licences, legal bases, metrics and other predicate contents",
	"time-evidence verdicts: what the time checker observed from its NTP servers",
}

// notCheckedClaims are outside what this verifier checks.
var notCheckedClaims = []string{
	"producer-stated times against the appender's receipt times (receipts are not in package format v1)",
	"completeness of the log-scoped time-evidence and export streams (a package holds a subset)",
}
