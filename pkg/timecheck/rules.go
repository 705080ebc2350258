package timecheck

import (
	"fmt"
	"strings"
	"time"
)

// maxStratumNTP is RFC 5905's MAXSTRAT: stratum 16 means unsynchronized.
const maxStratumNTP = 16

// evaluate turns one observation into its evidence line and reports whether
// the source may take part in the intersection. Every failing rule is named
// in Reason, so the operator sees all problems at once.
func evaluate(o Observation, p Policy) (Source, bool) {
	s := Source{Server: o.Server}
	if o.Err != nil {
		s.Reason = "no answer: " + o.Err.Error()
		return s, false
	}
	fill(&s, o)
	if o.Stratum == 0 {
		s.Reason = "kiss-of-death " + kissName(o) + ": the server refuses to serve us"
		return s, false
	}
	reasons := qualityReasons(o, s, p)
	if local := localMode(o); local != "" {
		s.untraceable = true
		if !p.AllowUntraceable {
			reasons = append(reasons, local+": not traceable to UTC")
		}
	}
	if len(reasons) > 0 {
		s.Reason = "rejected: " + strings.Join(reasons, "; ")
		return s, false
	}
	return s, true
}

// fill copies the wire values and derives θ, δ and λ from T1..T4.
func fill(s *Source, o Observation) {
	s.Answered = true
	s.Stratum, s.Leap = int(o.Stratum), int(o.Leap)
	s.RefID = FormatRefID(o.Stratum, o.RefID)
	s.T1, s.T2, s.T3, s.T4 = o.T1.UTC(), o.T2.UTC(), o.T3.UTC(), o.T4.UTC()
	s.RootDelay, s.RootDispersion = o.RootDelay, o.RootDispersion
	s.Offset = (o.T2.Sub(o.T1) + o.T3.Sub(o.T4)) / 2
	s.RTT = max(o.T4.Sub(o.T1)-o.T3.Sub(o.T2), 0)
	accrued := time.Duration(phi * float64(max(o.T4.Sub(o.T1), 0)))
	s.RootDistance = (s.RTT+o.RootDelay)/2 + o.RootDispersion + o.Precision + accrued
}

// qualityReasons applies the limits beevik/ntp's Validate does not (RTT, root
// distance, staleness beyond a policy) and repeats those it does, so the
// rules hold for observations from any source.
func qualityReasons(o Observation, s Source, p Policy) []string {
	var r []string
	if o.Leap == LeapNotInSync {
		r = append(r, "not synchronized (leap indicator 3)")
	}
	if int(o.Stratum) >= maxStratumNTP {
		r = append(r, fmt.Sprintf("not synchronized (stratum %d)", o.Stratum))
	} else if int(o.Stratum) > p.MaxStratum {
		r = append(r, fmt.Sprintf("stratum %d above policy maximum %d", o.Stratum, p.MaxStratum))
	}
	if o.T3.Before(o.T2) {
		r = append(r, "server clock ticked backwards (transmit before receive)")
	}
	r = append(r, staleness(o, p)...)
	if s.RTT > p.MaxRTT {
		r = append(r, fmt.Sprintf("RTT %v above policy maximum %v", s.RTT, p.MaxRTT))
	}
	if s.RootDistance > p.MaxRootDistance {
		r = append(r, fmt.Sprintf("root distance %v above policy maximum %v", s.RootDistance, p.MaxRootDistance))
	}
	return r
}

func staleness(o Observation, p Policy) []string {
	switch age := o.T3.Sub(o.ReferenceTime); {
	case o.ReferenceTime.IsZero():
		return []string{"never synchronized (reference time is zero)"}
	case age < 0:
		return []string{"reference time after transmit time"}
	case age > p.MaxStaleness:
		return []string{fmt.Sprintf("stale: last synchronized %v before its reply, policy maximum %v",
			age.Round(time.Second), p.MaxStaleness)}
	}
	return nil
}

// localMode returns a description of the local-mode signature, or "". A
// server in chrony's "local" mode (or ntpd's local clock driver) answers with
// refid 127.127.1.1 or LOCL; chrony also reports root delay and dispersion 0,
// which no server synchronized to an upstream at stratum ≥ 2 can (it measured
// a non-zero delay to that upstream).
func localMode(o Observation) string {
	if o.RefID == RefIDChronyLocal || o.RefID == RefIDLOCL {
		return fmt.Sprintf("local mode (stratum %d, refid %s)", o.Stratum, FormatRefID(o.Stratum, o.RefID))
	}
	if o.Stratum >= 2 && o.RootDelay == 0 && o.RootDispersion == 0 {
		return fmt.Sprintf("local-mode signature (stratum %d with zero root delay and dispersion)", o.Stratum)
	}
	return ""
}

func kissName(o Observation) string {
	if o.KissCode != "" {
		return o.KissCode
	}
	return "(stratum 0)"
}
