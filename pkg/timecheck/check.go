package timecheck

import (
	"fmt"
	"time"
)

// NoServerDiagnosis is the diagnosis of a check with no server configured.
const NoServerDiagnosis = "no NTP server configured"

// Check judges the observations against the policy. It is pure: checkedAt is
// the time the caller took the observations (the evidence's checkedAt).
//
// With no observation at all the verdict is Untraceable with the diagnosis
// NoServerDiagnosis: a deployment without NTP states so honestly.
func Check(obs []Observation, p Policy, checkedAt time.Time) Result {
	r := Result{CheckedAt: checkedAt.UTC(), Required: p.MinAgreeing, Policy: p,
		Sources: make([]Source, 0, len(obs))}
	if len(obs) == 0 {
		r.Verdict, r.Diagnosis = Untraceable, NoServerDiagnosis
		return r
	}
	cands := r.evaluateAll(obs)
	if len(cands) == 0 {
		r.Verdict, r.Diagnosis = noCandidates(r.Sources)
		return r
	}
	m := intersect(intervalsOf(r.Sources, cands))
	r.mark(cands, m)
	if !m.ok {
		r.Verdict = Bad
		r.Diagnosis = fmt.Sprintf("sources disagree: no strict majority of the %d usable sources shares a "+
			"common time; compare their offsets and fix or remove the wrong servers", len(cands))
		return r
	}
	r.Agreeing, r.Offset, r.MaxError = m.depth, (m.lo+m.hi)/2, max(abs(m.lo), abs(m.hi))
	r.Verdict, r.Diagnosis = r.judge(cands)
	return r
}

// NoServers returns the honest result of a deployment that configured no NTP
// server: Untraceable, "no NTP server configured".
func NoServers(p Policy, checkedAt time.Time) Result { return Check(nil, p, checkedAt) }

// evaluateAll fills r.Sources and returns the indexes of the candidates. A
// server listed twice votes once.
func (r *Result) evaluateAll(obs []Observation) []int {
	var cands []int
	seen := map[string]int{}
	for i, o := range obs {
		s, ok := evaluate(o, r.Policy)
		if j, dup := seen[o.Server]; dup {
			s.Reason = fmt.Sprintf("rejected: duplicate of source %d (%s)", j+1, o.Server)
			ok = false
		} else {
			seen[o.Server] = i
		}
		r.Sources = append(r.Sources, s)
		if ok {
			cands = append(cands, i)
		}
	}
	return cands
}

func intervalsOf(src []Source, cands []int) []interval {
	iv := make([]interval, len(cands))
	for k, i := range cands {
		iv[k] = intervalOf(src[i])
	}
	return iv
}

// mark labels each candidate truechimer or falseticker.
func (r *Result) mark(cands []int, m majority) {
	for _, i := range cands {
		s := &r.Sources[i]
		v := intervalOf(*s)
		switch {
		case !m.ok:
			s.Reason = fmt.Sprintf("falseticker: no majority (interval [%v, %v])", v.lo, v.hi)
		case m.meets(v):
			s.Accepted = true
			s.Reason = fmt.Sprintf("truechimer: interval [%v, %v] meets the majority intersection", v.lo, v.hi)
			if s.untraceable {
				s.Reason += "; local mode: not traceable to UTC (allowed by policy)"
			}
		default:
			s.Reason = fmt.Sprintf("falseticker: interval [%v, %v] misses the majority intersection [%v, %v]",
				v.lo, v.hi, m.lo, m.hi)
		}
	}
}

// judge applies the verdict rules once a majority exists, worst first:
// bound too large → bad; an untraceable truechimer → untraceable; too few
// agreeing → degraded; else good.
func (r *Result) judge(cands []int) (Verdict, string) {
	p := r.Policy
	if r.MaxError > p.MaxError {
		if abs(r.Offset) > p.MaxError/2 {
			return Bad, fmt.Sprintf("local clock is off by %v (proved error bound %v > policy %v): "+
				"fix the time daemon on this host (check 'chronyc tracking')", human(r.Offset), human(r.MaxError), p.MaxError)
		}
		return Bad, fmt.Sprintf("error bound %v exceeds policy %v although the offset is only %v: "+
			"the sources are too imprecise or too far away; use closer servers", human(r.MaxError), p.MaxError, human(r.Offset))
	}
	if n := r.untraceableTruechimers(); n > 0 {
		return Untraceable, fmt.Sprintf("time agrees with %d local-mode source(s) within ±%v but is not "+
			"traceable to UTC (allowed by policy): point the servers at a GPS or upstream source", n, human(r.MaxError))
	}
	if r.Agreeing < p.MinAgreeing {
		return Degraded, fmt.Sprintf("only %d source(s) agree, policy requires %d (%d of %d servers usable): "+
			"configure more NTP servers (4-5) or lower min-agreeing in the policy",
			r.Agreeing, p.MinAgreeing, len(cands), len(r.Sources))
	}
	return Good, fmt.Sprintf("%d sources agree: local clock within ±%v of UTC (offset %v)",
		r.Agreeing, human(r.MaxError), human(r.Offset))
}

func (r *Result) untraceableTruechimers() int {
	n := 0
	for _, s := range r.Sources {
		if s.Accepted && s.untraceable {
			n++
		}
	}
	return n
}

// noCandidates explains a check where no source survived the per-source
// rules: nobody answered (bad), every answer came from a local-mode server
// (untraceable), or the answers failed other rules (bad).
func noCandidates(src []Source) (Verdict, string) {
	var answered, local []Source
	for _, s := range src {
		if s.Answered {
			answered = append(answered, s)
		}
		if s.untraceable {
			local = append(local, s)
		}
	}
	switch {
	case len(answered) == 0:
		return Bad, fmt.Sprintf("no NTP server answered (%d tried): check the addresses and that "+
			"UDP port 123 is reachable from this host", len(src))
	case len(local) == len(answered):
		s := local[0]
		who := "server " + s.Server + " runs"
		if len(local) > 1 {
			who = fmt.Sprintf("all %d answering servers (e.g. %s) run", len(local), s.Server)
		}
		return Untraceable, fmt.Sprintf("%s in local mode (stratum %d, refid %s): point it at a GPS "+
			"or upstream source, or accept untraceable time in the policy", who, s.Stratum, s.RefID)
	}
	s := answered[0]
	return Bad, fmt.Sprintf("no usable NTP source: %s %s", s.Server, s.Reason)
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// human rounds d for a diagnosis line: to the millisecond from one second
// up, to the microsecond from one millisecond up. The evidence keeps the
// exact nanoseconds.
func human(d time.Duration) time.Duration {
	switch a := abs(d); {
	case a >= time.Second:
		return d.Round(time.Millisecond)
	case a >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
}
