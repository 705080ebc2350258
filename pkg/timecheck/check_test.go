package timecheck

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var base = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

const (
	ms = time.Millisecond
	us = time.Microsecond
)

// answer builds the observation of a stratum-2 server whose clock is theta
// ahead of ours, over a symmetric path with round trip rtt.
func answer(server string, theta, rtt time.Duration, mods ...func(*Observation)) Observation {
	t1 := base
	t2 := t1.Add(rtt/2 + theta)
	o := Observation{
		Server: server, T1: t1, T2: t2, T3: t2, T4: t1.Add(rtt),
		Stratum: 2, RefID: 0x0A000001, RootDelay: 1 * ms, RootDispersion: 1 * ms,
		Precision: us, Poll: 64 * time.Second, ReferenceTime: t2.Add(-64 * time.Second),
	}
	for _, m := range mods {
		m(&o)
	}
	return o
}

func chronyLocal(o *Observation) {
	o.Stratum, o.RefID, o.RootDelay, o.RootDispersion = 10, RefIDChronyLocal, 0, 0
}

func with(f func(*Policy)) Policy {
	p := DefaultPolicy()
	f(&p)
	return p
}

func TestCheck(t *testing.T) {
	t.Parallel()
	def := DefaultPolicy()
	tests := []struct {
		name      string
		obs       []Observation
		policy    Policy
		verdict   Verdict
		agreeing  int
		diagnosis string
		reasons   []string // substring per source, in order
		accepted  []bool
	}{
		{name: "no server configured", policy: def, verdict: Untraceable, diagnosis: NoServerDiagnosis},
		{
			name:   "three good servers",
			obs:    []Observation{answer("a:123", 1*ms, ms), answer("b:123", 2*ms, ms), answer("c:123", 0, ms)},
			policy: def, verdict: Good, agreeing: 3, diagnosis: "3 sources agree",
			reasons: []string{"truechimer", "truechimer", "truechimer"}, accepted: []bool{true, true, true},
		},
		{
			name:   "chrony local mode is untraceable",
			obs:    []Observation{answer("l:123", 0, ms, chronyLocal)},
			policy: def, verdict: Untraceable,
			diagnosis: "server l:123 runs in local mode (stratum 10, refid 127.127.1.1): point it at a GPS",
			reasons:   []string{"local mode (stratum 10, refid 127.127.1.1): not traceable to UTC"},
			accepted:  []bool{false},
		},
		{
			name: "ntpd LOCL refid is untraceable",
			obs: []Observation{answer("l:123", 0, ms, func(o *Observation) {
				o.Stratum, o.RefID = 5, RefIDLOCL
			})},
			policy: def, verdict: Untraceable, diagnosis: "refid LOCL", reasons: []string{"local mode"},
		},
		{
			name: "zero root delay and dispersion at stratum 3 is a local-mode signature",
			obs: []Observation{answer("l:123", 0, ms, func(o *Observation) {
				o.Stratum, o.RootDelay, o.RootDispersion = 3, 0, 0
			})},
			policy: def, verdict: Untraceable, reasons: []string{"local-mode signature (stratum 3"},
		},
		{
			name: "all chrony servers local",
			obs: []Observation{answer("l1:123", 0, ms, chronyLocal), answer("l2:123", 0, ms, chronyLocal),
				answer("l3:123", 0, ms, chronyLocal)},
			policy: def, verdict: Untraceable, diagnosis: "all 3 answering servers (e.g. l1:123) run in local mode",
		},
		{
			name: "local mode allowed by policy is still untraceable",
			obs: []Observation{answer("l1:123", 0, ms, chronyLocal), answer("l2:123", ms, ms, chronyLocal),
				answer("l3:123", 0, ms, chronyLocal)},
			policy:  with(func(p *Policy) { p.AllowUntraceable = true }),
			verdict: Untraceable, agreeing: 3, diagnosis: "not traceable to UTC (allowed by policy)",
			reasons: []string{"truechimer", "truechimer", "allowed by policy"}, accepted: []bool{true, true, true},
		},
		{
			name: "one local server among three good ones is rejected",
			obs: []Observation{answer("a:123", 0, ms), answer("b:123", 0, ms), answer("c:123", 0, ms),
				answer("l:123", 0, ms, chronyLocal)},
			policy: def, verdict: Good, agreeing: 3,
			reasons: []string{"truechimer", "truechimer", "truechimer", "not traceable to UTC"},
		},
		{
			name:   "falseticker among three",
			obs:    []Observation{answer("a:123", 0, ms), answer("b:123", ms, ms), answer("f:123", time.Second, ms)},
			policy: def, verdict: Degraded, agreeing: 2, diagnosis: "only 2 source(s) agree, policy requires 3",
			reasons:  []string{"truechimer", "truechimer", "falseticker: interval"},
			accepted: []bool{true, true, false},
		},
		{
			name:    "falseticker among three with min-agreeing 2",
			obs:     []Observation{answer("a:123", 0, ms), answer("b:123", ms, ms), answer("f:123", time.Second, ms)},
			policy:  with(func(p *Policy) { p.MinAgreeing = 2 }),
			verdict: Good, agreeing: 2, accepted: []bool{true, true, false},
		},
		{
			name:   "no majority",
			obs:    []Observation{answer("a:123", 0, ms), answer("b:123", time.Second, ms), answer("c:123", -time.Second, ms)},
			policy: def, verdict: Bad, diagnosis: "sources disagree",
			reasons:  []string{"falseticker: no majority", "falseticker", "falseticker"},
			accepted: []bool{false, false, false},
		},
		{
			name:   "two servers that disagree",
			obs:    []Observation{answer("a:123", 0, ms), answer("b:123", 200*ms, ms)},
			policy: def, verdict: Bad, diagnosis: "no strict majority of the 2 usable sources",
		},
		{
			name:   "fewer than min-agreeing",
			obs:    []Observation{answer("a:123", 0, ms), answer("b:123", 0, ms)},
			policy: def, verdict: Degraded, agreeing: 2, diagnosis: "configure more NTP servers",
		},
		{
			name: "kiss of death",
			obs: []Observation{answer("k:123", 0, ms, func(o *Observation) {
				o.Stratum, o.RefID, o.KissCode = 0, 0x52415445, "RATE"
			})},
			policy: def, verdict: Bad, reasons: []string{"kiss-of-death RATE"}, diagnosis: "no usable NTP source: k:123",
		},
		{
			name:   "unsynchronized leap indicator",
			obs:    []Observation{answer("u:123", 0, ms, func(o *Observation) { o.Leap = LeapNotInSync })},
			policy: def, verdict: Bad, reasons: []string{"not synchronized (leap indicator 3)"},
		},
		{
			name: "stratum 1 GPS with zero root delay and dispersion is traceable",
			obs: []Observation{answer("g:123", 0, ms, func(o *Observation) {
				o.Stratum, o.RefID, o.RootDelay, o.RootDispersion = 1, 0x47505300, 0, 0
			})},
			policy:  with(func(p *Policy) { p.MinAgreeing = 1 }),
			verdict: Good, agreeing: 1, accepted: []bool{true},
		},
		{
			name:    "pending leap second is fine",
			obs:     []Observation{answer("a:123", 0, ms, func(o *Observation) { o.Leap = LeapAdd })},
			policy:  with(func(p *Policy) { p.MinAgreeing = 1 }),
			verdict: Good, agreeing: 1,
		},
		{
			name:   "stratum 16",
			obs:    []Observation{answer("u:123", 0, ms, func(o *Observation) { o.Stratum = 16 })},
			policy: def, verdict: Bad, reasons: []string{"not synchronized (stratum 16)"},
		},
		{
			name:   "stratum above policy",
			obs:    []Observation{answer("u:123", 0, ms, func(o *Observation) { o.Stratum = 5 })},
			policy: with(func(p *Policy) { p.MaxStratum = 4 }), verdict: Bad,
			reasons: []string{"stratum 5 above policy maximum 4"},
		},
		{
			name:    "RTT too high",
			obs:     []Observation{answer("s:123", 0, 80*ms)},
			policy:  with(func(p *Policy) { p.MaxRootDistance = time.Second }),
			verdict: Bad, reasons: []string{"RTT 80ms above policy maximum 50ms"},
		},
		{
			name:   "root distance too high",
			obs:    []Observation{answer("s:123", 0, ms, func(o *Observation) { o.RootDispersion = 200 * ms })},
			policy: def, verdict: Bad, reasons: []string{"root distance 201.001015ms above policy maximum 100ms"},
		},
		{
			name: "stale reference time",
			obs: []Observation{answer("s:123", 0, ms, func(o *Observation) {
				o.ReferenceTime = o.T3.Add(-5 * time.Hour)
			})},
			policy: def, verdict: Bad, reasons: []string{"stale: last synchronized 5h0m0s before its reply, policy maximum 1h8m16s"},
		},
		{
			name:   "never synchronized",
			obs:    []Observation{answer("s:123", 0, ms, func(o *Observation) { o.ReferenceTime = time.Time{} })},
			policy: def, verdict: Bad, reasons: []string{"never synchronized"},
		},
		{
			name:   "reference time in the future",
			obs:    []Observation{answer("s:123", 0, ms, func(o *Observation) { o.ReferenceTime = o.T3.Add(time.Hour) })},
			policy: def, verdict: Bad, reasons: []string{"reference time after transmit time"},
		},
		{
			name: "all rules reported at once",
			obs: []Observation{answer("s:123", 0, 80*ms, func(o *Observation) {
				o.Leap, o.RootDispersion = LeapNotInSync, time.Second
			})},
			policy: def, verdict: Bad, reasons: []string{"leap indicator 3); RTT 80ms above policy maximum 50ms; root distance"},
		},
		{
			name:   "no answer at all",
			obs:    []Observation{{Server: "a:123", Err: errors.New("i/o timeout")}, {Server: "b:123", Err: errors.New("refused")}},
			policy: def, verdict: Bad, diagnosis: "no NTP server answered (2 tried)",
			reasons: []string{"no answer: i/o timeout", "no answer: refused"},
		},
		{
			name:   "local clock off",
			obs:    []Observation{answer("a:123", 250*ms, ms), answer("b:123", 250*ms, ms), answer("c:123", 251*ms, ms)},
			policy: def, verdict: Bad, agreeing: 3, diagnosis: "local clock is off by 25",
		},
		{
			name: "sources too imprecise for the bound",
			obs: []Observation{answer("a:123", 0, ms, wide), answer("b:123", 0, ms, wide),
				answer("c:123", 0, ms, wide)},
			policy:  with(func(p *Policy) { p.MaxRootDistance = time.Second }),
			verdict: Bad, agreeing: 3, diagnosis: "too imprecise or too far away",
		},
		{
			name:   "duplicate server votes once",
			obs:    []Observation{answer("a:123", 0, ms), answer("a:123", 0, ms), answer("b:123", 0, ms)},
			policy: def, verdict: Degraded, agreeing: 2,
			reasons: []string{"truechimer", "duplicate of source 1 (a:123)", "truechimer"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Check(tc.obs, tc.policy, base)
			if r.Verdict != tc.verdict || r.Agreeing != tc.agreeing {
				t.Fatalf("verdict %s agreeing %d, want %s %d (%s)", r.Verdict, r.Agreeing, tc.verdict, tc.agreeing, r.Diagnosis)
			}
			if !strings.Contains(r.Diagnosis, tc.diagnosis) {
				t.Errorf("diagnosis %q, want it to contain %q", r.Diagnosis, tc.diagnosis)
			}
			if len(r.Sources) != len(tc.obs) {
				t.Fatalf("got %d sources, want %d", len(r.Sources), len(tc.obs))
			}
			for i, want := range tc.reasons {
				for _, part := range strings.Split(want, ", ") {
					if !strings.Contains(r.Sources[i].Reason, part) {
						t.Errorf("source %d reason %q, want it to contain %q", i, r.Sources[i].Reason, part)
					}
				}
			}
			for i, want := range tc.accepted {
				if r.Sources[i].Accepted != want {
					t.Errorf("source %d accepted = %v, want %v (%s)", i, r.Sources[i].Accepted, want, r.Sources[i].Reason)
				}
			}
		})
	}
}

func wide(o *Observation) { o.RootDispersion = 80 * ms }

func TestCheckBound(t *testing.T) {
	t.Parallel()
	obs := []Observation{answer("a:123", 1*ms, 2*ms), answer("b:123", 2*ms, 2*ms), answer("c:123", 3*ms, 2*ms)}
	r := Check(obs, DefaultPolicy(), base)
	// λ = (2ms + 1ms)/2 + 1ms + 1µs + 15e-6·2ms = 2.50103ms for every source.
	lambda := 2*ms + 500*us + us + 30*time.Nanosecond
	if got := r.Sources[0].RootDistance; got != lambda {
		t.Fatalf("root distance %v, want %v", got, lambda)
	}
	// Majority hull: points covered by ≥ 2 of [θ−λ, θ+λ], θ ∈ {1, 2, 3} ms.
	lo, hi := 2*ms-lambda, 2*ms+lambda
	if r.Offset != (lo+hi)/2 || r.MaxError != max(-lo, hi) {
		t.Fatalf("offset %v max error %v, want %v %v", r.Offset, r.MaxError, (lo+hi)/2, max(-lo, hi))
	}
	if !r.Acceptable() || r.Answered() != 3 {
		t.Fatalf("acceptable %v answered %d, want true 3", r.Acceptable(), r.Answered())
	}
}

func TestAcceptable(t *testing.T) {
	t.Parallel()
	locals := []Observation{answer("l:123", 0, ms, chronyLocal)}
	allow := with(func(p *Policy) { p.AllowUntraceable = true })
	tests := []struct {
		name string
		r    Result
		want bool
	}{
		{"untraceable rejected by default", Check(locals, DefaultPolicy(), base), false},
		{"untraceable allowed", Check(locals, allow, base), true},
		{"no server is never acceptable", NoServers(allow, base), false},
		{"degraded", Check([]Observation{answer("a:123", 0, ms)}, DefaultPolicy(), base), false},
	}
	for _, tc := range tests {
		if got := tc.r.Acceptable(); got != tc.want {
			t.Errorf("%s: Acceptable() = %v, want %v (%s: %s)", tc.name, got, tc.want, tc.r.Verdict, tc.r.Diagnosis)
		}
	}
}

func TestFormatRefID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stratum uint8
		id      uint32
		want    string
	}{
		{1, 0x47505300, "GPS"},
		{1, 0x50505300, "PPS"},
		{0, 0x52415445, "RATE"},
		{2, 0x0A000001, "10.0.0.1"},
		{10, RefIDChronyLocal, "127.127.1.1"},
		{10, RefIDLOCL, "LOCL"},
		{1, 0x01020304, "1.2.3.4"},
		{1, 0, "0.0.0.0"},
	}
	for _, tc := range tests {
		if got := FormatRefID(tc.stratum, tc.id); got != tc.want {
			t.Errorf("FormatRefID(%d, %#x) = %q, want %q", tc.stratum, tc.id, got, tc.want)
		}
	}
}

func TestErrorAfter(t *testing.T) {
	t.Parallel()
	good := Check([]Observation{answer("a:123", 0, ms)}, DefaultPolicy(), base)
	tests := []struct {
		name    string
		r       Result
		elapsed time.Duration
		want    time.Duration
		ok      bool
	}{
		{"at check time", good, 0, good.MaxError, true},
		{"1000 s later grows by 15 ms", good, 1000 * time.Second, good.MaxError + 15*ms, true},
		{"negative elapsed", good, -time.Second, 0, false},
		{"no bound proved", NoServers(DefaultPolicy(), base), 0, 0, false},
	}
	for _, tc := range tests {
		got, ok := tc.r.ErrorAfter(tc.elapsed)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: ErrorAfter(%v) = %v, %v, want %v, %v", tc.name, tc.elapsed, got, ok, tc.want, tc.ok)
		}
	}
}
