package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Result statuses. A void result marks an approval that does not count
// (expired, withdrawn, a rejection, stale coverage) without by itself
// failing the policy; a fail fails it.
const (
	Pass = "pass"
	Fail = "fail"
	Void = "void"
)

// Rule names (spec/policy.md §3). Release-scope rules carry the prefix
// "release." (e.g. "release.approvals.distinct-people").
const (
	RuleRequiredKinds    = "kinds.required"
	RulePlanPresent      = "evaluation-plan.present"
	RulePlanSigner       = "evaluation-plan.signer-role"
	RulePlanOrder        = "evaluation-plan.before-evaluations"
	RulePlanThresholds   = "evaluation.plan-thresholds"
	RulePlanCoverage     = "evaluation.plan-coverage"
	RuleReleasedModel    = "evaluation.released-model"
	RuleKeyValid         = "approvals.key-valid"
	RuleSignerRole       = "approvals.signer-role"
	RuleSignerIdentity   = "approvals.signer-identity"
	RuleMeaning          = "approvals.meaning"
	RuleDecision         = "approvals.decision"
	RuleWithdrawn        = "approvals.withdrawn"
	RuleExpired          = "approvals.expired"
	RuleLogOrder         = "approvals.log-order"
	RuleCoverage         = "approvals.coverage"
	RuleSeparationPerson = "approvals.separation-of-duties.person"
	RuleSeparationTeam   = "approvals.separation-of-duties.team"
	RuleKeyMaterial      = "approvals.key-material"
	RuleDistinctPeople   = "approvals.distinct-people"
	releasePrefix        = "release."
)

// Result is one rule applied to one subject (a kind, a record digest or
// the run).
type Result struct {
	Rule    string `json:"rule"`
	Status  string `json:"status"`
	Subject string `json:"subject,omitempty"`
	Message string `json:"message"`
}

// Report is the outcome of Evaluate: every rule applied, in a fixed order.
type Report struct {
	RunID   string   `json:"runId"`
	Release bool     `json:"release"`
	Results []Result `json:"results"`
}

// OK reports whether no rule failed.
func (r Report) OK() bool { return len(r.Failed()) == 0 }

// Failed returns the names of the failed rules, sorted, each once.
func (r Report) Failed() []string {
	var out []string
	for _, res := range r.Results {
		if res.Status == Fail && !slices.Contains(out, res.Rule) {
			out = append(out, res.Rule)
		}
	}
	sort.Strings(out)
	return out
}

// Error summarizes the failures as one line ("" when OK).
func (r Report) Error() string {
	var msgs []string
	for _, res := range r.Results {
		if res.Status == Fail {
			msgs = append(msgs, res.Rule+": "+res.Message)
		}
	}
	return strings.Join(msgs, "; ")
}

// Evaluate applies the policy to the run's verified records. It never
// fails: a missing policy or key view is a failed rule, not an error.
func Evaluate(in Input) Report {
	e := &evaluation{in: in, rep: Report{RunID: in.RunID}}
	if in.Policy == nil || in.Keys == nil {
		e.add("policy.input", Fail, "", "no policy or no keyring view given")
		return e.rep
	}
	var mistyped []string
	e.recs, mistyped = in.run()
	for _, d := range mistyped {
		e.add("policy.input", Fail, d, "record without a predicate of its kind's type (ignored)")
	}
	e.index = make(map[string]Record, len(e.recs))
	for _, r := range e.recs {
		e.index[r.Digest] = r
	}
	e.rep.Release = in.Release || e.has("model-release")
	e.requiredKinds("", in.Policy.RequiredKinds)
	e.rules("", in.Policy.Runs)
	if e.rep.Release {
		e.rules(releasePrefix, in.Policy.Releases)
	}
	return e.rep
}

// evaluation is the state of one Evaluate call.
type evaluation struct {
	in    Input
	recs  []Record          // the run's records in log order
	index map[string]Record // the run's records by digest
	rep   Report
}

func (e *evaluation) add(rule, status, subject, format string, args ...any) {
	e.rep.Results = append(e.rep.Results, Result{Rule: rule, Status: status, Subject: subject, Message: fmt.Sprintf(format, args...)})
}

func (e *evaluation) rules(prefix string, r *Rules) {
	if r == nil {
		return
	}
	e.requiredKinds(prefix, r.RequiredKinds)
	if r.EvaluationPlan != nil {
		e.plans(prefix, r.EvaluationPlan)
	}
	if r.Approvals != nil {
		e.approvals(prefix, r.Approvals, r.SeparationOfDuties)
	}
}

func (e *evaluation) requiredKinds(prefix string, kinds []string) {
	for _, k := range kinds {
		if n := len(e.ofKind(k)); n > 0 {
			e.add(prefix+RuleRequiredKinds, Pass, k, "%d %s record(s)", n, k)
		} else {
			e.add(prefix+RuleRequiredKinds, Fail, k, "run %s has no %s record", e.in.RunID, k)
		}
	}
}

func (e *evaluation) has(kind string) bool { return len(e.ofKind(kind)) > 0 }

func (e *evaluation) ofKind(kinds ...string) []Record {
	var out []Record
	for _, r := range e.recs {
		if slices.Contains(kinds, r.Kind) {
			out = append(out, r)
		}
	}
	return out
}

func (e *evaluation) byDigest(d string) (Record, bool) {
	r, ok := e.index[d]
	return r, ok
}

func sortByIndex(rs []Record) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].LogIndex < rs[j].LogIndex })
}
