package policy

import "slices"

// Tighten returns the policy that is at least as strict as base and as
// proposal (SPEC.md §3.14 "Who sets the bar", extended to v2): a package's
// proposed policy may add requirements to the verifier's default, never
// remove one. Time: accepted verdicts intersected, untraceable accepted
// only if both accept it, the smaller skew. Kinds, covered kinds and
// developer kinds: unions. Approvals: the larger minimum, the meanings
// both count (base's when they share none), base's role when it names
// one. Separation of duties: either side's. Neither input is modified.
func Tighten(base, proposal *Policy) *Policy {
	out := &Policy{MediaType: base.MediaType, Name: base.Name,
		Time: TimePolicy{
			Accept:                 intersect(base.Time.Accept, proposal.Time.Accept),
			AcceptUntraceable:      base.Time.AcceptUntraceable && proposal.Time.AcceptUntraceable,
			MaxProducerSkewSeconds: min(base.Time.MaxProducerSkewSeconds, proposal.Time.MaxProducerSkewSeconds),
		},
		RequiredKinds: union(base.RequiredKinds, proposal.RequiredKinds),
		Runs:          tightenRules(base.Runs, proposal.Runs),
		Releases:      tightenRules(base.Releases, proposal.Releases),
	}
	if out.Time.Accept == nil {
		out.Time.Accept = []string{}
	}
	if out.Runs != nil || out.Releases != nil {
		out.MediaType = MediaTypeV2
	}
	return out
}

func tightenRules(a, b *Rules) *Rules {
	switch {
	case a == nil && b == nil:
		return nil
	case a == nil:
		a = &Rules{}
	case b == nil:
		b = &Rules{}
	}
	return &Rules{
		RequiredKinds:      union(a.RequiredKinds, b.RequiredKinds),
		EvaluationPlan:     firstPlan(a.EvaluationPlan, b.EvaluationPlan),
		Approvals:          tightenApprovals(a.Approvals, b.Approvals),
		SeparationOfDuties: tightenSeparation(a.SeparationOfDuties, b.SeparationOfDuties),
	}
}

func firstPlan(a, b *PlanRule) *PlanRule {
	if a != nil {
		return &PlanRule{Role: a.Role}
	}
	if b != nil {
		return &PlanRule{Role: b.Role}
	}
	return nil
}

func tightenApprovals(a, b *ApprovalRule) *ApprovalRule {
	if a == nil || b == nil {
		if a == nil {
			a = b
		}
		if a == nil {
			return nil
		}
		c := *a
		c.Meanings, c.Cover = slices.Clone(a.Meanings), slices.Clone(a.Cover)
		return &c
	}
	meanings := intersect(a.Meanings, b.Meanings)
	if len(meanings) == 0 {
		meanings = slices.Clone(a.Meanings)
	}
	return &ApprovalRule{Min: max(a.Min, b.Min), Role: a.Role, Meanings: meanings, Cover: union(a.Cover, b.Cover)}
}

func tightenSeparation(a, b *SeparationRule) *SeparationRule {
	switch {
	case a == nil && b == nil:
		return nil
	case a == nil:
		a = &SeparationRule{}
	case b == nil:
		b = &SeparationRule{}
	}
	return &SeparationRule{ByPerson: a.ByPerson || b.ByPerson, ByTeam: a.ByTeam || b.ByTeam,
		DeveloperKinds: union(a.DeveloperKinds, b.DeveloperKinds)}
}

// union returns the elements of a then those of b not in a.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
