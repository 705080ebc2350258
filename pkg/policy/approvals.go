package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/pkg/record"
)

// developers is who made the run's developer records (separation of
// duties): the persons who signed or submitted them, their teams and keys.
type developers struct {
	persons, teams, materials map[string]bool
}

func (e *evaluation) developers(sep *SeparationRule) developers {
	d := developers{persons: map[string]bool{}, teams: map[string]bool{}, materials: map[string]bool{}}
	if sep == nil {
		return d
	}
	for _, r := range e.ofKind(sep.DeveloperKinds...) {
		d.persons[r.Predicate.CommonFields().Producer.ID] = true
		if st, err := e.in.Keys.KeyAt(r.Signer, r.LogIndex); err == nil {
			d.persons[st.Owner.PersonID] = true
			d.teams[st.Owner.Team] = true
			d.materials[st.Material] = true
		}
	}
	return d
}

// counted is an approval that counts toward the quorum.
type counted struct {
	rec   Record
	state KeyState
}

// approvals applies the approval rules and the quorum.
func (e *evaluation) approvals(prefix string, rule *ApprovalRule, sep *SeparationRule) {
	devs := e.developers(sep)
	withdrawn := e.withdrawals(rule)
	expected := e.coverSet(rule)
	var valid []counted
	for _, r := range e.ofKind("approval") {
		ap := r.Predicate.(*record.Approval)
		if ap.Decision == "withdraw" {
			continue
		}
		st, ok := e.checkApproval(prefix, rule, sep, devs, r)
		if ok && e.counts(prefix, rule, r, ap, withdrawn, expected) {
			e.add(prefix+RuleDistinctPeople, Pass, r.Digest, "counts: %s (%s, team %s)", st.Owner.PersonID, st.Owner.Name, st.Owner.Team)
			valid = append(valid, counted{rec: r, state: st})
		}
	}
	e.quorum(prefix, rule, valid)
}

// checkApproval applies the rules whose failure fails the policy: key in
// force, role, identity, log order, digests of the run, separation.
func (e *evaluation) checkApproval(prefix string, rule *ApprovalRule, sep *SeparationRule, devs developers, r Record) (KeyState, bool) {
	ap := r.Predicate.(*record.Approval)
	st, err := e.in.Keys.KeyAt(r.Signer, r.LogIndex)
	if err != nil {
		e.add(prefix+RuleKeyValid, Fail, r.Digest, "approval key: %v", err)
		return st, false
	}
	ok := true
	fail := func(rule, format string, args ...any) {
		e.add(prefix+rule, Fail, r.Digest, format, args...)
		ok = false
	}
	if !slices.Contains(st.Roles, rule.Role) {
		fail(RuleSignerRole, "signed by %s (%s), which lacks role %q", r.Signer, st.Owner.PersonID, rule.Role)
	}
	if ap.Signer.ID != st.Owner.PersonID {
		fail(RuleSignerIdentity, "signer.id %q, but the keyring binds %s to %q", ap.Signer.ID, r.Signer, st.Owner.PersonID)
	}
	var foreign, late []string
	for _, d := range ap.ReviewedRecords {
		rec, in := e.byDigest(d)
		switch {
		case !in:
			foreign = append(foreign, d)
		case rec.LogIndex >= r.LogIndex:
			late = append(late, fmt.Sprintf("%s (index %d)", d, rec.LogIndex))
		}
	}
	if len(foreign) > 0 {
		fail(RuleCoverage, "reviews %d digest(s) that are not records of run %s: %s", len(foreign), e.in.RunID, list(foreign))
	}
	if len(late) > 0 {
		fail(RuleLogOrder, "reviews %d record(s) logged at or after the approval (index %d): %s", len(late), r.LogIndex, list(late))
	}
	if sep != nil && sep.ByPerson && (devs.persons[st.Owner.PersonID] || devs.persons[ap.Signer.ID] || devs.materials[st.Material]) {
		fail(RuleSeparationPerson, "approver %s signed or submitted the run's %s records", st.Owner.PersonID, strings.Join(sep.DeveloperKinds, "/"))
	}
	if sep != nil && sep.ByTeam && devs.teams[st.Owner.Team] {
		fail(RuleSeparationTeam, "approver %s is in team %q, a team that signed the run's %s records", st.Owner.PersonID, st.Owner.Team, strings.Join(sep.DeveloperKinds, "/"))
	}
	return st, ok
}

// counts applies the rules that void an approval without failing the
// policy: meaning, decision, withdrawal, expiry, exact coverage.
func (e *evaluation) counts(prefix string, rule *ApprovalRule, r Record, ap *record.Approval, withdrawn map[string]string, expected []string) bool {
	void := func(rule, format string, args ...any) bool {
		e.add(prefix+rule, Void, r.Digest, format, args...)
		return false
	}
	if !slices.Contains(rule.Meanings, ap.Meaning) {
		return void(RuleMeaning, "meaning %q is not one the policy counts (%s)", ap.Meaning, strings.Join(rule.Meanings, ", "))
	}
	if ap.Decision != "approve" && ap.Decision != "approve-with-conditions" {
		return void(RuleDecision, "decision %q", ap.Decision)
	}
	if by, ok := withdrawn[r.Digest]; ok {
		return void(RuleWithdrawn, "withdrawn by %s", by)
	}
	if ap.ExpiresAt != "" {
		exp, err := time.Parse(time.RFC3339Nano, ap.ExpiresAt)
		if err != nil || e.in.At.IsZero() || !exp.After(e.in.At) {
			return void(RuleExpired, "expired at %s (evaluated at %s)", ap.ExpiresAt, e.in.At.UTC().Format(time.RFC3339))
		}
	}
	var reviewed []string
	for _, d := range ap.ReviewedRecords {
		if rec, _ := e.byDigest(d); slices.Contains(rule.Cover, rec.Kind) {
			reviewed = append(reviewed, d)
		}
	}
	if missing := minus(expected, reviewed); len(missing) > 0 {
		return void(RuleCoverage, "does not review %d of the run's %s records: %s", len(missing), strings.Join(rule.Cover, "/"), list(missing))
	}
	return true
}

// withdrawals maps each withdrawn approval's digest to the withdrawing
// record; a withdrawal counts when its key was in force with the rule's
// role and it was logged after the approval it withdraws.
func (e *evaluation) withdrawals(rule *ApprovalRule) map[string]string {
	out := map[string]string{}
	for _, r := range e.ofKind("approval") {
		ap := r.Predicate.(*record.Approval)
		if ap.Decision != "withdraw" {
			continue
		}
		st, err := e.in.Keys.KeyAt(r.Signer, r.LogIndex)
		target, ok := e.byDigest(ap.Withdraws)
		if err == nil && slices.Contains(st.Roles, rule.Role) && ok && target.LogIndex < r.LogIndex {
			out[ap.Withdraws] = r.Digest
		}
	}
	return out
}

// coverSet is the sorted digests of the run's records of the covered kinds.
func (e *evaluation) coverSet(rule *ApprovalRule) []string {
	var out []string
	for _, r := range e.ofKind(rule.Cover...) {
		out = append(out, r.Digest)
	}
	slices.Sort(out)
	return out
}

// quorum counts distinct approvers: approvals are merged when they share a
// person id or key material (connected components), so one person with two
// keys and one key under two ids each count once.
func (e *evaluation) quorum(prefix string, rule *ApprovalRule, valid []counted) {
	parent := make([]int, len(valid))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		if parent[i] != i {
			parent[i] = find(parent[i])
		}
		return parent[i]
	}
	for i := range valid {
		for j := range i {
			a, b := valid[i].state, valid[j].state
			if a.Owner.PersonID == b.Owner.PersonID || a.Material == b.Material {
				parent[find(i)] = find(j)
			}
			if a.Material == b.Material && a.Fingerprint != b.Fingerprint {
				e.add(prefix+RuleKeyMaterial, Fail, valid[i].rec.Digest, "key %s is the same key material as %s (one key listed under two ids)", a.Fingerprint, b.Fingerprint)
			}
		}
	}
	people := map[int]bool{}
	for i := range valid {
		people[find(i)] = true
	}
	status := Pass
	if len(people) < rule.Min {
		status = Fail
	}
	e.add(prefix+RuleDistinctPeople, status, "", "%d distinct approver(s) (by person and by key material) of %d required, from %d counted approval record(s)", len(people), rule.Min, len(valid))
}

// list joins at most the first five items of xs for a message.
func list(xs []string) string {
	if len(xs) > 5 {
		return strings.Join(xs[:5], ", ") + fmt.Sprintf(", … (%d more)", len(xs)-5)
	}
	return strings.Join(xs, ", ")
}

// minus returns the elements of a not in b.
func minus(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}
