package policy

import (
	"math/big"
	"slices"

	"github.com/dossier-audit/dossier/pkg/record"
)

// plans applies the evaluation-plan rules: every evaluation is governed by
// a plan of the run logged before it, signed by a key holding the rule's
// role, and its metrics meet the plan's thresholds (never the thresholds
// the evaluation states for itself).
func (e *evaluation) plans(prefix string, rule *PlanRule) {
	plans := e.ofKind("evaluation-plan")
	if len(plans) == 0 {
		e.add(prefix+RulePlanPresent, Fail, "", "run %s has no evaluation-plan record", e.in.RunID)
		return
	}
	e.add(prefix+RulePlanPresent, Pass, "", "%d evaluation plan(s)", len(plans))
	for _, p := range plans {
		e.planSigner(prefix, rule, p)
	}
	governed := map[string][]Record{}
	for _, ev := range e.ofKind("evaluation") {
		if p, ok := e.governingPlan(prefix, ev); ok {
			governed[p.Digest] = append(governed[p.Digest], ev)
			e.thresholds(prefix, p, ev)
		}
	}
	for _, p := range plans {
		e.planCoverage(prefix, p, governed[p.Digest])
	}
	e.releasedModel(prefix)
}

// releasedModel requires the plans' and the evaluations' model, when they
// name one, to be a weights file of the run's model release: a release
// stands on evaluations of the identical artifact (SR 11-7 change control).
func (e *evaluation) releasedModel(prefix string) {
	weights := map[string]bool{}
	for _, r := range e.ofKind("model-release") {
		if mr, ok := r.Predicate.(*record.ModelRelease); ok {
			for _, w := range mr.Weights {
				weights[w.SHA256()] = true
			}
		}
	}
	if len(weights) == 0 {
		return
	}
	for _, r := range e.ofKind("evaluation-plan", "evaluation") {
		var model *record.ResourceDescriptor
		if p, ok := r.Predicate.(*record.EvaluationPlan); ok {
			model = p.Scope.Model
		} else {
			model = r.Predicate.(*record.Evaluation).Model
		}
		switch {
		case model == nil:
		case weights[model.SHA256()]:
			e.add(prefix+RuleReleasedModel, Pass, r.Digest, "model %s is released", model.Name)
		default:
			e.add(prefix+RuleReleasedModel, Fail, r.Digest, "model %s (sha256:%s) is not a weights file of the run's model release", model.Name, model.SHA256())
		}
	}
}

func (e *evaluation) planSigner(prefix string, rule *PlanRule, p Record) {
	plan := p.Predicate.(*record.EvaluationPlan)
	st, err := e.in.Keys.KeyAt(p.Signer, p.LogIndex)
	switch {
	case err != nil:
		e.add(prefix+RulePlanSigner, Fail, p.Digest, "plan signer: %v", err)
	case !slices.Contains(st.Roles, rule.Role):
		e.add(prefix+RulePlanSigner, Fail, p.Digest, "plan signed by %s (%s), which lacks role %q", p.Signer, st.Owner.PersonID, rule.Role)
	case !slices.Contains(st.Roles, plan.SignedByRole):
		e.add(prefix+RulePlanSigner, Fail, p.Digest, "plan says it is signed by role %q; key %s lacks it", plan.SignedByRole, p.Signer)
	default:
		e.add(prefix+RulePlanSigner, Pass, p.Digest, "signed by %s (%s) with role %q", st.Owner.PersonID, st.Owner.Team, rule.Role)
	}
}

// governingPlan returns the plan an evaluation cites, or else the newest
// plan of the run logged before it; it reports the order rule.
func (e *evaluation) governingPlan(prefix string, ev Record) (Record, bool) {
	cited := ev.Predicate.(*record.Evaluation).Plan
	var plan Record
	found := false
	if cited != "" {
		p, ok := e.byDigest(cited)
		if !ok || p.Kind != "evaluation-plan" {
			e.add(prefix+RulePlanOrder, Fail, ev.Digest, "cites plan %s, which is not an evaluation plan of run %s", cited, e.in.RunID)
			return Record{}, false
		}
		plan, found = p, true
	} else {
		for _, p := range e.ofKind("evaluation-plan") {
			if p.LogIndex < ev.LogIndex {
				plan, found = p, true
			}
		}
	}
	if !found || plan.LogIndex >= ev.LogIndex {
		e.add(prefix+RulePlanOrder, Fail, ev.Digest, "no evaluation plan logged before this evaluation (log index %d)", ev.LogIndex)
		return Record{}, false
	}
	e.add(prefix+RulePlanOrder, Pass, ev.Digest, "governed by plan %s (log index %d < %d)", plan.Digest, plan.LogIndex, ev.LogIndex)
	return plan, true
}

// thresholds checks one evaluation's metrics against its plan.
func (e *evaluation) thresholds(prefix string, p, ev Record) {
	plan := p.Predicate.(*record.EvaluationPlan)
	eval := ev.Predicate.(*record.Evaluation)
	for _, m := range plan.Metrics {
		if m.Benchmark != "" && m.Benchmark != eval.Benchmark.Name {
			continue
		}
		value, ok := metricValue(eval, m.Metric)
		if !ok {
			continue
		}
		if Meets(value, m.Op, m.Threshold) {
			e.add(prefix+RulePlanThresholds, Pass, ev.Digest, "%s/%s = %s meets the plan's %s %s", eval.Benchmark.Name, m.Metric, value, m.Op, m.Threshold)
		} else {
			e.add(prefix+RulePlanThresholds, Fail, ev.Digest, "%s/%s = %s fails the plan's %s %s (the evaluation says %s)", eval.Benchmark.Name, m.Metric, value, m.Op, m.Threshold, eval.Verdict)
		}
	}
}

// planCoverage requires every metric of a plan to be measured by an
// evaluation it governs.
func (e *evaluation) planCoverage(prefix string, p Record, evs []Record) {
	plan := p.Predicate.(*record.EvaluationPlan)
	for _, m := range plan.Metrics {
		measured := slices.ContainsFunc(evs, func(ev Record) bool {
			eval := ev.Predicate.(*record.Evaluation)
			_, ok := metricValue(eval, m.Metric)
			return ok && (m.Benchmark == "" || m.Benchmark == eval.Benchmark.Name)
		})
		name := m.Benchmark + "/" + m.Metric
		if measured {
			e.add(prefix+RulePlanCoverage, Pass, p.Digest, "%s measured", name)
		} else {
			e.add(prefix+RulePlanCoverage, Fail, p.Digest, "the plan's metric %s is measured by no evaluation it governs", name)
		}
	}
}

func metricValue(ev *record.Evaluation, name string) (string, bool) {
	for _, m := range ev.Metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return "", false
}

// Meets reports whether value op threshold holds over decimal strings
// (ops >= > <= < ==); unparsable numbers and unknown ops never meet.
func Meets(value, op, threshold string) bool {
	v, ok1 := new(big.Rat).SetString(value)
	t, ok2 := new(big.Rat).SetString(threshold)
	if !ok1 || !ok2 {
		return false
	}
	c := v.Cmp(t)
	switch op {
	case ">=":
		return c >= 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	case "<":
		return c < 0
	case "==":
		return c == 0
	}
	return false
}
