package main

// ---- set v2: who sets the bar (SPEC.md §3.14) ----
//
// Without trust/policy.json the verifier applies the built-in default
// policy (time accept good, no untraceable, skew 300 s, requiredKinds
// run-closed) tightened by the package's proposal: a proposal adds
// requirements, never removes one.

func whoSetsTheBarVectors() []vector {
	dropClosed := func(b *B) {
		var rs []*rec
		for _, r := range b.Recs {
			if r.Name != "closed" {
				rs = append(rs, r)
			}
		}
		b.Recs = rs
	}
	return []vector{
		ok("policy-package-absent-default", "the package proposes no policy (no policy.json layer) and the auditor gives none: the built-in default applies, which the run meets",
			Scenario{Setup: func(b *B) { b.Policy = nil }}),
		rej("policy-package-absent-default-run-closed", "policy", "11", "no policy.json and no auditor policy: the built-in default still requires a run-closed record, which the run lacks",
			Scenario{Setup: func(b *B) { dropClosed(b); b.Policy = nil }}),
		rej("policy-package-lowers-time-bar", "time-untraceable", "9", "the package proposes accepting untraceable time, the time evidence is untraceable, no auditor policy: the default (which does not accept it) is only tightened, never relaxed",
			Scenario{Setup: func(b *B) {
				teVerdict("untraceable")(b)
				b.Policy["time"].(obj)["acceptUntraceable"] = true
			}}),
		rej("policy-package-drops-run-closed", "policy", "11", "the package proposes requiredKinds without run-closed and the run has none; the default's run-closed requirement stays",
			Scenario{Setup: func(b *B) {
				dropClosed(b)
				b.Policy["requiredKinds"] = []any{"dataset"}
			}}),
		rej("policy-package-adds-requirement", "policy", "11", "the package's own policy (v2) requires two approvals, which the run does not have: a proposal may raise the bar",
			Scenario{Setup: func(b *B) {
				b.Policy["mediaType"], b.Policy["runs"] = policyV2MediaType, approvalRules
			}}),
	}
}

// ---- set v2: the package's specVersion (SPEC.md §5 step 3.7, §11) ----

var reviewDoc = []byte("<!DOCTYPE html>\n<html><body><pre id=\"dossier-review-manifest\">{}</pre></body></html>\n")

func inc(name, desc string, s Scenario) vector {
	return vector{Name: name, Expected: Expected{Outcome: "inconclusive", Description: desc}, S: s}
}

func specVersionVectors() []vector {
	version := func(v string) Scenario {
		return Scenario{Meta: func(b *B) { b.MetaConfig["specVersion"] = v }}
	}
	return []vector{
		inc("spec-version-newer", "the package descriptor says specVersion 0.3.0, later than the version this format defines (0.2.0): never verified by rules it does not follow", version("0.3.0")),
		rej("record-empty-hint", "signature", "6", "the evaluation record's bundle has an empty publicKey.hint (validly signed by the producer key): SPEC.md §4 step 3 requires the hint to name the key",
			Scenario{Setup: onRec("eval", func(b *B, r *rec) { r.Spec.NoHint = true })}),
		ok("review-document-named", "the package carries the review document whose digest the approval names as renderedViewDigest",
			Scenario{Setup: func(b *B) {
				withApproval("reviewer")(b)
				b.rec("approval").Pred["renderedViewDigest"] = digestOf(reviewDoc)
				b.Reviews = [][]byte{reviewDoc}
			}}),
		rej("review-document-unnamed", "index", "3", "the package carries a review document that no approval names (nothing in a package is unexplained)",
			Scenario{Setup: func(b *B) {
				withApproval("reviewer")(b)
				b.Reviews = [][]byte{reviewDoc}
			}}),
		inc("spec-version-malformed", "the package descriptor says specVersion \"0.2\" (not MAJOR.MINOR.PATCH)", version("0.2")),
	}
}
