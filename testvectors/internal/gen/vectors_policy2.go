package main

// ---- set v2, issue 8: verification policy v2 (spec/policy.md §3, §6) ----
//
// Each vector holds a run with approvals (or an evaluation plan) and gives
// the auditor's policy v2 in trust/policy.json; a rejection names the
// failure class a verifier MUST report (step 11, class policy, with the
// rule name in spec/policy.md §6; key validity by log position stays
// step 9, class key-validity, which also voids the approval for step 11).

const policyV2MediaType = "application/vnd.dossier.policy.v2+json"

// person is an approver: a key with an owner identity.
type person struct {
	key            string // name in b.Keys
	id, name, team string
}

var (
	rita   = person{"rita", "person:rita", "Rita Reviewer", "validation"}
	victor = person{"victor", "person:victor", "Victor Validator", "validation"}
	vera   = person{"vera", "person:vera", "Vera Planner", "validation"}
)

// personEntry is a keyring entry of p's key with roles.
func personEntry(b *B, p person, roles ...string) keyEntry {
	e := entryFor(b.Keys[p.key], roles, p.team, "")
	e.Owner = owner{Name: p.name, PersonID: p.id, Team: p.team}
	return e
}

// withPeople adds the approvers' (and the planner's) keys and lists them in
// keyring v1 with the reviewer role (the planner also producer, who may
// sign evaluation plans, SPEC.md §2).
func withPeople(b *B, people ...person) {
	b.Keys["rita"], b.Keys["victor"], b.Keys["vera"] = newECDSA("reviewer-rita"), newECDSA("reviewer-victor"), newECDSA("validator-vera")
	d := &b.KeyringDocs[0]
	for _, p := range people {
		roles := []string{"reviewer"}
		if p == vera {
			roles = []string{"producer", "reviewer"}
		}
		d.Keys = append(d.Keys, personEntry(b, p, roles...))
	}
	d.Keys = sortedEntries(d.Keys)
}

// approvalOf is p's approval of run A, reviewing all five run records.
func approvalOf(b *B, p person, name, at string) *rec {
	m := approvalPred(runAID, at, "")
	m["producer"] = obj{"id": p.id, "name": p.name, "kind": "person"}
	m["signer"] = obj{"printedName": p.name, "id": p.id, "function": "Model validation"}
	return &rec{Name: name, Kind: "approval", Run: b.RunA, TE: "te", Logged: true, InPackage: true,
		Reviewed: []string{"ds-train", "ds-eval", "training", "eval", "closed"},
		Pred:     m, Spec: bundleSpec{Signer: b.Keys[p.key]}}
}

// twoApprovals: Rita and Victor (team validation) approve run A after its
// run-closed record; the developers (producer key) are team ml-platform.
func twoApprovals(b *B) {
	withPeople(b, rita, victor)
	insertAfter(b, "closed", approvalOf(b, rita, "approval-rita", "2026-11-27T09:02:30Z"))
	insertAfter(b, "approval-rita", approvalOf(b, victor, "approval-victor", "2026-11-27T09:02:40Z"))
}

func then(fs ...func(*B)) func(*B) {
	return func(b *B) {
		for _, f := range fs {
			f(b)
		}
	}
}

// policyV2 is the auditor's policy: v1's time and kinds, plus run rules.
func policyV2(runs obj) func(*B) obj {
	return func(*B) obj {
		p := defaultPolicy()
		p["mediaType"], p["name"], p["runs"] = policyV2MediaType, "approvals by two independent reviewers", runs
		return p
	}
}

var approvalRules = obj{
	"approvals": obj{"min": 2, "role": "reviewer", "meanings": []any{"approval"},
		"cover": []any{"dataset", "evaluation", "run-closed", "training-run"}},
	"separationOfDuties": obj{"byPerson": true, "byTeam": true, "developerKinds": []any{"dataset", "training-run"}},
}

var planRules = obj{"evaluationPlan": obj{"role": "reviewer"}}

// keyringV2From appends keyring version 2, a copy of version 1 changed by
// f, signed by v1's root key.
func keyringV2From(b *B, f func(d *keyringDoc)) {
	d := b.KeyringDocs[0]
	d.Keys = append([]keyEntry{}, d.Keys...)
	d.Version, d.IssuedAt = 2, "2026-11-27T09:02:00Z"
	f(&d)
	b.KeyringDocs = append(b.KeyringDocs, d)
	b.KeyringSign = append(b.KeyringSign, []*Key{b.Keys["root"]})
}

func revokeKey(b *B, k, reason string) func(d *keyringDoc) {
	return func(d *keyringDoc) {
		keyEntryOf(d, b.Keys[k]).Revocation = obj{"at": "2026-11-27T09:02:05Z", "reason": reason, "note": "per HR record"}
	}
}

// planOf is Vera's evaluation plan for run A: exact_match op threshold on
// the evaluation's benchmark.
func planOf(b *B, threshold string) *rec {
	m := common(runAID, "2026-11-27T09:01:20Z", "")
	m["producer"] = obj{"id": vera.id, "name": vera.name, "kind": "person"}
	m["scope"] = obj{"modelId": "support-llm"}
	m["benchmarks"] = []any{obj{"name": "support-qa-de", "version": "3"}}
	m["metrics"] = []any{obj{"benchmark": "support-qa-de", "metric": "exact_match", "op": ">=", "threshold": threshold}}
	m["signedByRole"] = "reviewer"
	return &rec{Name: "plan", Kind: "evaluation-plan", Run: b.RunA, TE: "te", Logged: true, InPackage: true,
		Pred: m, Spec: bundleSpec{Signer: b.Keys["vera"]}}
}

func withPlan(threshold string) func(*B) {
	return func(b *B) {
		withPeople(b, vera)
		insertAfter(b, "training", planOf(b, threshold))
	}
}

func policyV2Vectors() []vector {
	approvals, onVictor := policyV2(approvalRules), func(f func(b *B, r *rec)) func(*B) { return onRec("approval-victor", f) }
	return []vector{
		ok("policy-v2-two-approvals", "two reviewers of team validation approve every record of the run after its run-closed record; the auditor's policy v2 wants 2 approvals by distinct people with separation of duties by person and team",
			Scenario{Setup: twoApprovals, TrustPolicy: approvals}),
		rej("policy-v2-one-approval", "policy", "11", "only Rita's approval is in the run (release.approvals.distinct-people / approvals.distinct-people: 1 of 2)",
			Scenario{Setup: func(b *B) {
				withPeople(b, rita)
				insertAfter(b, "closed", approvalOf(b, rita, "approval-rita", "2026-11-27T09:02:30Z"))
			}, TrustPolicy: approvals}),
		rej("policy-v2-one-person-two-keys", "policy", "11", "both approvals are by person:rita, with two different reviewer keys (approvals.distinct-people: counted by person, not by key)",
			Scenario{Setup: then(func(b *B) {
				victor2 := victor
				victor2.id, victor2.name = rita.id, rita.name
				withPeople(b, rita, victor2)
			},
				func(b *B) {
					insertAfter(b, "closed", approvalOf(b, rita, "approval-rita", "2026-11-27T09:02:30Z"))
					p := rita
					p.key = "victor"
					insertAfter(b, "approval-rita", approvalOf(b, p, "approval-victor", "2026-11-27T09:02:40Z"))
				}), TrustPolicy: approvals}),
		rej("policy-v2-one-key-listed-twice", "keyring", "4", "keyring v1 lists Victor's key a second time under another owner (a second id for one key cannot exist: the id is the key's fingerprint, so the keyring is invalid)",
			Scenario{Setup: then(twoApprovals, func(b *B) {
				e := personEntry(b, person{"victor", "person:rita", "Rita Reviewer", "validation"}, "reviewer")
				b.KeyringDocs[0].Keys = sortedEntries(append(b.KeyringDocs[0].Keys, e))
			}), TrustPolicy: approvals}),
		rej("policy-v2-approvers-developers-team", "policy", "11", "both approvers belong to team ml-platform, the team of the key that signed the datasets and the training run (approvals.separation-of-duties.team)",
			Scenario{Setup: then(func(b *B) {
				r, v := rita, victor
				r.team, v.team = "ml-platform", "ml-platform"
				withPeople(b, r, v)
				insertAfter(b, "closed", approvalOf(b, r, "approval-rita", "2026-11-27T09:02:30Z"))
				insertAfter(b, "approval-rita", approvalOf(b, v, "approval-victor", "2026-11-27T09:02:40Z"))
			}), TrustPolicy: approvals}),
		rej("policy-v2-approval-by-developer", "policy", "11", "the second approval is signed with the trainer's key (producer key, which keyring v1 also gives the reviewer role) (approvals.separation-of-duties.person and .team)",
			Scenario{Setup: then(twoApprovals, func(b *B) {
				keyEntryOf(&b.KeyringDocs[0], b.Keys["producer"]).Roles = []string{"producer", "reviewer"}
				trainer := person{"producer", "workload:producer", "producer", "ml-platform"}
				b.rec("approval-victor").Pred = approvalOf(b, trainer, "x", "2026-11-27T09:02:40Z").Pred
				b.rec("approval-victor").Spec.Signer = b.Keys["producer"]
			}), TrustPolicy: approvals}),
		rej("policy-v2-approval-covers-other-digests", "policy", "11", "Victor's approval also lists a record of another run (logged, not in this run) among reviewedRecords (approvals.coverage: covers other digests)",
			Scenario{Setup: then(twoApprovals, onVictor(func(b *B, r *rec) { r.Reviewed = append(r.Reviewed, "b-dataset") })), TrustPolicy: approvals}),
		rej("policy-v2-approval-before-covered-record", "policy", "11", "Victor's approval, which lists the run-closed record, is logged before that record (approvals.log-order)",
			Scenario{Setup: twoApprovals, Order: moveAfter("approval-victor", "eval"), TrustPolicy: approvals}),
		rej("policy-v2-approval-expired", "policy", "11", "Victor's approval expired at 10:00, before the verification time 12:00: it no longer counts (approvals.expired void, so approvals.distinct-people fails)",
			Scenario{Setup: then(twoApprovals, onVictor(func(b *B, r *rec) { r.Pred["expiresAt"] = "2026-11-27T10:00:00Z" })), TrustPolicy: approvals}),
		rej("policy-v2-key-compromised-before-approval", "key-validity", "9", "keyring v2, logged between the two approvals, marks Victor's key compromised; his approval is logged after it (step 9; approvals.key-valid)",
			Scenario{Setup: then(twoApprovals, func(b *B) { keyringV2From(b, revokeKey(b, "victor", "compromised")) }),
				Order: moveAfter("keyring-v2", "approval-rita"), TrustPolicy: approvals}),
		ok("policy-v2-departed-reviewer-earlier-approval", "keyring v2 marks Victor departed and is logged after his approval: the earlier approval stays valid and counts",
			Scenario{Setup: then(twoApprovals, func(b *B) { keyringV2From(b, revokeKey(b, "victor", "departed")) }),
				Order: moveAfter("keyring-v2", "approval-victor"), TrustPolicy: approvals}),
		rej("policy-v2-departed-reviewer-later-approval", "key-validity", "9", "keyring v2 marks Victor departed and is logged before his approval: a person who has left signs nothing new (step 9; approvals.key-valid)",
			Scenario{Setup: then(twoApprovals, func(b *B) { keyringV2From(b, revokeKey(b, "victor", "departed")) }),
				Order: moveAfter("keyring-v2", "approval-rita"), TrustPolicy: approvals}),
		ok("policy-v2-plan-met", "Vera (reviewer and producer roles) signs an evaluation plan (exact_match >= 0.85) logged before the evaluation, which measures 0.873",
			Scenario{Setup: withPlan("0.85"), TrustPolicy: policyV2(planRules)}),
		rej("policy-v2-metrics-fail-signed-plan", "policy", "11", "the evaluation measures exact_match 0.873 and passes its own threshold >= 0.85, but the signed plan logged before it requires >= 0.90 (evaluation.plan-thresholds)",
			Scenario{Setup: withPlan("0.90"), TrustPolicy: policyV2(planRules)}),
		rej("policy-v2-plan-after-evaluation", "policy", "11", "the evaluation plan is logged after the evaluation it would govern (evaluation-plan.before-evaluations)",
			Scenario{Setup: withPlan("0.85"), Order: moveAfter("plan", "eval"), TrustPolicy: policyV2(planRules)}),
		ok("policy-v2-plan-by-validator", "Vera holds only the reviewer role (validation) and signs the evaluation plan: reviewer keys may sign evaluation plans (SPEC.md §2), and the policy wants the plan signed by a reviewer",
			Scenario{Setup: then(withPlan("0.85"), func(b *B) { keyEntryOf(&b.KeyringDocs[0], b.Keys["vera"]).Roles = []string{"reviewer"} }),
				TrustPolicy: policyV2(planRules)}),
		rej("policy-v2-plan-by-pipeline", "policy", "11", "the training pipeline's producer key signs the evaluation plan for itself (signedByRole producer); the policy wants it signed by a reviewer (evaluation-plan.signer-role)",
			Scenario{Setup: then(withPlan("0.85"), func(b *B) {
				r := b.rec("plan")
				r.Spec.Signer = b.Keys["producer"]
				r.Pred["producer"] = obj{"id": "workload:producer", "name": "producer", "kind": "workload"}
				r.Pred["signedByRole"] = "producer"
			}), TrustPolicy: policyV2(planRules)}),
	}
}
