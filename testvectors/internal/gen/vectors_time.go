package main

import (
	"sort"
	"strings"
)

// ---- step 9: time and key validity ----

func teVerdict(v string) func(*B) {
	return onRec("te", func(b *B, r *rec) { r.Pred = timeEvidencePred("2026-11-27T09:00:00.123456789Z", v) })
}

func policyWith(f func(p obj)) func(*B) obj {
	return func(*B) obj {
		p := defaultPolicy()
		f(p)
		return p
	}
}

// moveAfter moves the named log item right after another.
func moveAfter(name, after string) func(*B) {
	return func(b *B) {
		var item *rec
		var rest []*rec
		for _, r := range b.Log {
			if r.Name == name {
				item = r
			} else {
				rest = append(rest, r)
			}
		}
		var out []*rec
		for _, r := range rest {
			out = append(out, r)
			if r.Name == after {
				out = append(out, item)
			}
		}
		b.Log = out
	}
}

// insertAfter adds a record to the append order after another.
func insertAfter(b *B, after string, r *rec) {
	var out []*rec
	for _, x := range b.Recs {
		out = append(out, x)
		if x.Name == after {
			out = append(out, r)
		}
	}
	b.Recs = out
}

func te2(b *B) *rec {
	return &rec{Name: "te2", Kind: "time-evidence", Stream: "time-evidence", Logged: true, InPackage: true,
		Pred: timeEvidencePred("2026-11-27T09:01:40Z", "good"), Spec: bundleSpec{Signer: b.Keys["time"]}}
}

func dropKey(es []keyEntry, k *Key) []keyEntry {
	var out []keyEntry
	for _, e := range es {
		if e.ID != k.Fingerprint() {
			out = append(out, e)
		}
	}
	return out
}

func revokeProducer(d *keyringDoc, b *B, reason string) {
	keyEntryOf(d, b.Keys["producer"]).Revocation = obj{"at": "2026-11-27T09:01:15Z", "reason": reason, "note": "laptop lost"}
}

func timeVectors() []vector {
	addProducer2 := func(b *B) {
		addV2(b, func(d *keyringDoc) {
			d.Keys = sortedEntries(append(d.Keys, entryFor(b.Keys["producer2"], []string{"producer"}, "ml-platform", "")))
		})
		b.rec("eval").Spec.Signer = b.Keys["producer2"]
	}
	return []vector{
		rej("time-untraceable-rejected", "time-untraceable", "9", "the time evidence is untraceable; the package's policy (no trust/policy.json) does not accept untraceable time",
			Scenario{Setup: teVerdict("untraceable")}),
		ok("time-untraceable-accepted", "the time evidence is untraceable; the auditor's policy accepts untraceable time",
			Scenario{Setup: teVerdict("untraceable"), TrustPolicy: policyWith(func(p obj) { p["time"].(obj)["acceptUntraceable"] = true })}),
		rej("time-untraceable-auditor-policy-wins", "time-untraceable", "9", "the package proposes a policy that accepts untraceable time; the auditor's policy (trust/policy.json) does not, and replaces it",
			Scenario{Setup: func(b *B) {
				teVerdict("untraceable")(b)
				b.Policy["time"].(obj)["acceptUntraceable"] = true
			}, TrustPolicy: policyWith(func(obj) {})}),
		rej("time-bad-verdict", "time", "9", "the time evidence's verdict is bad", Scenario{Setup: teVerdict("bad")}),
		rej("time-degraded-rejected", "time", "9", "the time evidence's verdict is degraded; the policy accepts only good", Scenario{Setup: teVerdict("degraded")}),
		ok("time-degraded-accepted", "the time evidence's verdict is degraded; the auditor's policy accepts good and degraded",
			Scenario{Setup: teVerdict("degraded"), TrustPolicy: policyWith(func(p obj) { p["time"].(obj)["accept"] = []any{"good", "degraded"} })}),
		rej("time-evidence-ref-later", "time", "9", "the evaluation record references a time-evidence record logged after it",
			Scenario{Setup: func(b *B) { insertAfter(b, "eval", te2(b)); b.rec("eval").TE = "te2" }}),
		rej("time-evidence-ref-not-in-package", "time", "9", "the evaluation record references a time-evidence record that is logged but not in the package",
			Scenario{Setup: func(b *B) { insertAfter(b, "b-dataset", te2(b)); b.rec("eval").TE = "te2" },
				Select: func(b *B) { b.rec("te2").InPackage = false }}),
		rej("time-evidence-other-org", "key-role", "6", "the time-evidence record is signed by another organisation's time key, not in the keyring",
			Scenario{Setup: onRec("te", func(b *B, r *rec) { r.Spec.Signer = newEd25519("other-org-time") })}),
		ok("key-validity-added-before", "keyring v2 adds a second producer key and is logged before the evaluation record that key signed", Scenario{Setup: addProducer2}),
		rej("key-validity-added-after", "key-validity", "9", "the evaluation record is signed by a producer key that first appears in keyring v2, logged after the record",
			Scenario{Setup: addProducer2, Order: moveAfter("keyring-v2", "closed")}),
		rej("key-validity-compromised-before", "key-validity", "9", "keyring v2 marks the producer key compromised and is logged before the evaluation and run-closed records it signed",
			Scenario{Setup: func(b *B) { addV2(b, func(d *keyringDoc) { revokeProducer(d, b, "compromised") }) }, Order: moveAfter("keyring-v2", "training")}),
		rej("key-validity-retired-before", "key-validity", "9", "keyring v2 marks the producer key retired and is logged before the evaluation and run-closed records it signed",
			Scenario{Setup: func(b *B) { addV2(b, func(d *keyringDoc) { revokeProducer(d, b, "retired") }) }, Order: moveAfter("keyring-v2", "training")}),
		rej("key-validity-removed-before", "key-validity", "9", "keyring v2 no longer lists the producer key and is logged before the evaluation and run-closed records it signed",
			Scenario{Setup: func(b *B) { addV2(b, func(d *keyringDoc) { d.Keys = dropKey(d.Keys, b.Keys["producer"]) }) }, Order: moveAfter("keyring-v2", "training")}),
		rej("key-validity-compromise-not-undone", "key-validity", "9", "keyring v2 marks the producer key compromised (logged after the training record); v3 lists it again without revocation, logged before the evaluation record",
			Scenario{Setup: func(b *B) {
				addV2(b, func(d *keyringDoc) { revokeProducer(d, b, "compromised") })
				addV3(b, func(d *keyringDoc) { keyEntryOf(d, b.Keys["producer"]).Revocation = nil })
			}, Order: func(b *B) { moveAfter("keyring-v2", "training")(b); moveAfter("keyring-v3", "keyring-v2")(b) }}),
		ok("key-validity-retired-after", "keyring v2 marks the producer key retired and is logged after every record that key signed",
			Scenario{Setup: func(b *B) { addV2(b, func(d *keyringDoc) { revokeProducer(d, b, "retired") }) }, Order: moveAfter("keyring-v2", "closed")}),
		ok("key-validity-compromised-after", "keyring v2 marks the producer key compromised and is logged after every record that key signed",
			Scenario{Setup: func(b *B) { addV2(b, func(d *keyringDoc) { revokeProducer(d, b, "compromised") }) }, Order: moveAfter("keyring-v2", "closed")}),
	}
}

// ---- approvals (step 6 key roles and subjects) ----

// withApproval adds the reviewer key to keyring v1 and an approval of run
// A (all its records) signed by signer, logged after the run-closed record.
func withApproval(signer string) func(*B) {
	return func(b *B) {
		d := &b.KeyringDocs[0]
		d.Keys = sortedEntries(append(d.Keys, entryFor(b.Keys["reviewer"], []string{"reviewer"}, "ml-review", "")))
		insertAfter(b, "closed", &rec{Name: "approval", Kind: "approval", Run: b.RunA, TE: "te", Logged: true, InPackage: true,
			Reviewed: []string{"ds-train", "ds-eval", "training", "eval", "closed"},
			Pred:     approvalPred(runAID, "2026-11-27T09:02:30Z", ""), Spec: bundleSpec{Signer: b.Keys[signer]}})
	}
}

func approvalVectors() []vector {
	return []vector{
		ok("approval-valid", "an approval of the run by a reviewer key, reviewing every record of the run", Scenario{Setup: withApproval("reviewer")}),
		rej("approval-by-producer", "key-role", "6", "the approval is signed by the producer key, which has no reviewer role", Scenario{Setup: withApproval("producer")}),
		rej("approval-from-other-run", "subject", "6", "a genuine approval of another run (reviewer key, logged) and the record it approves are packaged with this run's root as their OCI subject",
			Scenario{Setup: func(b *B) {
				withApproval("reviewer")(b)
				insertAfter(b, "b-dataset", &rec{Name: "b-approval", Kind: "approval", Run: b.RunB, TE: "te", Logged: true,
					Reviewed: []string{"b-dataset"}, Pred: approvalPred(runBID, "2026-11-27T09:01:20Z", ""), Spec: bundleSpec{Signer: b.Keys["reviewer"]}})
			}, Select: func(b *B) { b.rec("b-approval").InPackage, b.rec("b-dataset").InPackage = true, true }}),
	}
}

// ---- packages of two runs ----

// withRunB completes run B (training, evaluation, run closed after run A's
// records) and exports both runs.
func withRunB(b *B) {
	p, B := b.Keys["producer"], b.RunB
	insertAfter(b, "closed", &rec{Name: "b-closed", Kind: "run-closed", Run: B, TE: "te", Logged: true, Pred: runClosedPred(runBID, "2026-11-27T09:02:40Z", ""), Spec: bundleSpec{Signer: p}})
	insertAfter(b, "closed", &rec{Name: "b-eval", Kind: "evaluation", Run: B, TE: "te", Logged: true, Pred: evaluationPred(runBID, "2026-11-27T09:02:20Z", "", "0.861"), Spec: bundleSpec{Signer: p}})
	insertAfter(b, "closed", &rec{Name: "b-training", Kind: "training-run", Run: B, TE: "te", Logged: true, DSRefs: []string{"b-dataset"},
		Pred: trainingPred(runBID, "2026-11-27T09:02:10Z", "", nil), Spec: bundleSpec{Signer: p}})
	b.Runs = []*run{b.RunA, b.RunB}
}

func selectRunB(b *B) {
	for _, r := range b.Recs {
		if r.Run == b.RunB {
			r.InPackage = true
		}
	}
}

func multiRunVectors() []vector {
	return []vector{
		ok("multi-run-valid", "a package of two complete runs whose records interleave in the log (two run roots, no cosign kind annotation)",
			Scenario{Setup: withRunB, Select: selectRunB}),
		rej("multi-run-gap", "sequence", "8", "a package of two runs; the second run's evaluation record (seq 2 of its stream) is withheld",
			Scenario{Setup: withRunB, Select: func(b *B) { selectRunB(b); b.rec("b-eval").InPackage = false }}),
		rej("multi-run-root-missing", "layout", "2", "a package of two runs without the second run's root manifest (its records' OCI subject is missing)",
			Scenario{Setup: withRunB, Select: selectRunB, IndexJSON: func(b *B) {
				d := rootDesc(b.RunB).Digest
				b.IndexJSON.Manifests = dropDesc(b.IndexJSON.Manifests, d)
				b.PkgIndex.Manifests = dropDesc(b.PkgIndex.Manifests, d)
			}, Files: onFiles(func(b *B) []file {
				i := fileIndex(b.Files, blobName(b.RunB.Manifest))
				return append(b.Files[:i:i], b.Files[i+1:]...)
			})}),
	}
}

// ---- steps 10 and 11: export and policy ----

// listWithout is the record list digest of the package minus one record.
func listWithout(b *B, name string) string {
	skip := b.rec(name).Digest()
	var ls []string
	for _, r := range b.Log {
		if r.InPackage && r.Kind != "keyring" && r.Kind != "export" && r.Digest() != skip {
			ls = append(ls, r.Digest()+"\n")
		}
	}
	sort.Strings(ls)
	return digestOf([]byte(strings.Join(ls, "")))
}

func exportPolicyVectors() []vector {
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
		rej("export-record-list-digest-mismatch", "export", "10", "the signed, logged export record's recordListDigest covers the package minus the evaluation record",
			Scenario{ExportSpec: func(b *B) { b.Export.Pred["recordListDigest"] = listWithout(b, "eval") }}),
		rej("export-record-count-mismatch", "export", "10", "the signed, logged export record's recordCount is one more than the records in the package",
			Scenario{ExportSpec: func(b *B) { b.Export.Pred["recordCount"] = b.Export.Pred["recordCount"].(int) + 1 }}),
		rej("export-metadata-names-other-record", "export", "10", "the package descriptor's exportRecord names the time-evidence record instead of the export record",
			Scenario{Meta: func(b *B) { b.MetaConfig["exportRecord"] = b.rec("te").Digest() }}),
		rej("export-record-not-in-package", "export", "10", "the export record is logged but its bundle, manifest and proof are not in the package",
			Scenario{ExportSpec: func(b *B) { b.Export.InPackage = false }}),
		rej("policy-missing-run-closed", "policy", "11", "the run has no run-closed record (its stream is complete, just shorter)",
			Scenario{Setup: dropClosed}),
		rej("policy-auditor-requires-approval", "policy", "11", "the auditor's policy also requires an approval record, which the run does not have",
			Scenario{TrustPolicy: policyWith(func(p obj) {
				p["requiredKinds"] = []any{"approval", "dataset", "evaluation", "run-closed", "training-run"}
			})}),
		rej("policy-package-lax-auditor-strict", "policy", "11", "the run has no run-closed record; the package's own policy does not require one, the auditor's does",
			Scenario{Setup: func(b *B) {
				dropClosed(b)
				b.Policy["requiredKinds"] = []any{"dataset", "training-run", "evaluation"}
			}, TrustPolicy: policyWith(func(obj) {})}),
	}
}
