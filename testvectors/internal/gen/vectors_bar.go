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
		inc("spec-version-newer", "the package descriptor says specVersion 0.4.0, later than the newest version this format defines (0.3.0): never verified by rules it does not follow", version("0.4.0")),
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

// ---- set v2: the 0.2.0 profile (SPEC.md §11) ----
//
// A verifier implementing 0.3.0 verifies 0.2.0 packages by the rules of
// 0.2.0: such a package holds none of the 0.3.0 additions.

func specProfileVectors() []vector {
	v020 := func(b *B) { b.MetaConfig["specVersion"] = "0.2.0" }
	tsa := theTSA()
	return []vector{
		ok("spec-version-0.3.0", "a package of specVersion 0.3.0 (the version this format defines) carrying anchors.json, verified",
			Scenario{Setup: withTrustRoot(tsa, nil), Logged: anchored(anchorSpec{tsa: tsa})}),
		ok("spec-version-0.2.0", "a package of specVersion 0.2.0 without any 0.3.0 addition: verified by the rules of 0.2.0",
			Scenario{Meta: v020}),
		inc("spec-version-0.1.0", "the package descriptor says specVersion 0.1.0, a version that defines no package format (0.2.0 is the first)",
			Scenario{Meta: func(b *B) { b.MetaConfig["specVersion"] = "0.1.0" }}),
		rej("spec-version-0.2.0-anchors", "index", "3", "a package of specVersion 0.2.0 carrying an anchors.json layer, which 0.3.0 added: a layer its version does not define",
			Scenario{Setup: withTrustRoot(tsa, nil), Logged: anchored(anchorSpec{tsa: tsa}), Meta: v020}),
		rej("spec-version-0.2.0-policy-v2", "index", "3", "a package of specVersion 0.2.0 proposing a policy v2 document (media type application/vnd.dossier.policy.v2+json, added in 0.3.0)",
			Scenario{Setup: func(b *B) { b.Policy["mediaType"] = policyV2MediaType }, Meta: v020}),
		rej("spec-version-0.2.0-review-document", "index", "3", "a package of specVersion 0.2.0 carrying a review document layer (added in 0.3.0) that its approval names",
			Scenario{Setup: func(b *B) {
				withApproval("reviewer")(b)
				b.rec("approval").Pred["renderedViewDigest"] = digestOf(reviewDoc)
				b.Reviews = [][]byte{reviewDoc}
			}, Meta: v020}),
		rej("spec-version-0.2.0-keyring-trust-root", "keyring", "4", "a package of specVersion 0.2.0 whose keyring version names timestampAuthorities and a witnessPolicy (the anchor trust root, added in 0.3.0)",
			Scenario{Setup: withTrustRoot(tsa, nil), Meta: v020}),
		rej("spec-version-0.2.0-plan-by-validator", "key-role", "6", "a package of specVersion 0.2.0 whose evaluation plan is signed by a key holding only the reviewer role: 0.2.0 allows producer and ingest keys only (reviewer keys since 0.3.0)",
			Scenario{Setup: then(withPlan("0.85"), func(b *B) { keyEntryOf(&b.KeyringDocs[0], b.Keys["vera"]).Roles = []string{"reviewer"} }), Meta: v020}),
	}
}
