package timecheck

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Verdict is the judgement of one time check.
type Verdict string

// The four verdicts of the time-evidence contract.
const (
	// Good: at least Policy.MinAgreeing UTC-traceable sources agree and the
	// proved error bound is within Policy.MaxError.
	Good Verdict = "good"
	// Degraded: the bound holds but fewer sources agree than the policy wants.
	Degraded Verdict = "degraded"
	// Untraceable: no path to UTC (no server configured, or only servers in
	// local mode, e.g. chrony "local stratum 10").
	Untraceable Verdict = "untraceable"
	// Bad: nothing usable answered, the sources disagree, or the bound is
	// larger than the policy allows.
	Bad Verdict = "bad"
)

// Leap indicator values (RFC 5905 §7.3).
const (
	LeapNone      uint8 = 0
	LeapAdd       uint8 = 1
	LeapDel       uint8 = 2
	LeapNotInSync uint8 = 3
)

// Reference IDs that mark a server whose time comes from its own free-running
// clock rather than from UTC: chrony's local reference (NTP_REFID_LOCAL,
// 127.127.1.1, reference.c) and ntpd's local clock driver ("LOCL").
const (
	RefIDChronyLocal uint32 = 0x7F7F0101 // 127.127.1.1
	RefIDLOCL        uint32 = 0x4C4F434C // "LOCL"
)

// Observation is one server's answer to one NTP exchange, or the failure to
// get one. pkg/ntp fills it from the wire; tests build it by hand.
type Observation struct {
	// Server is "host:port".
	Server string
	// Err is non-nil when no usable answer arrived (timeout, refused,
	// malformed or mismatched reply). The other fields are then ignored.
	Err error

	// T1 client transmit, T2 server receive, T3 server transmit, T4 client
	// receive (RFC 5905 §8). T1 and T4 are read from the local clock.
	T1, T2, T3, T4 time.Time

	Stratum        uint8
	RefID          uint32 // raw reference ID; the kiss code when Stratum is 0
	Leap           uint8
	RootDelay      time.Duration
	RootDispersion time.Duration
	Precision      time.Duration // 2^precision seconds, server-reported
	Poll           time.Duration
	ReferenceTime  time.Time // zero when the server never set its clock
	// KissCode is the ASCII kiss code of a stratum-0 reply ("RATE", "DENY").
	KissCode string
}

// Source is one server's line in the time evidence. The JSON field names are
// the shared time-evidence contract; durations are integer nanoseconds.
type Source struct {
	Server   string `json:"server"`
	Answered bool   `json:"answered"`
	Stratum  int    `json:"stratum"`
	RefID    string `json:"refId"`
	Leap     int    `json:"leap"`
	// Offset θ = ((T2−T1)+(T3−T4))/2: what to add to the local clock to get
	// the server's time.
	Offset time.Duration `json:"offsetNs"`
	// RTT δ = (T4−T1)−(T3−T2), at least 0.
	RTT            time.Duration `json:"rttNs"`
	RootDelay      time.Duration `json:"rootDelayNs"`
	RootDispersion time.Duration `json:"rootDispersionNs"`
	// RootDistance is λ, the half-width of the source's correctness interval
	// [θ − λ, θ + λ]:
	//   λ = (δ + rootDelay)/2 + rootDispersion + precision + PHI·(T4 − T1)
	// i.e. beevik/ntp's RootDistance plus the server's precision and the
	// 15 ppm dispersion accrued during the exchange (RFC 5905 §8, ε terms).
	RootDistance time.Duration `json:"rootDistanceNs"`
	T1           time.Time     `json:"t1"`
	T2           time.Time     `json:"t2"`
	T3           time.Time     `json:"t3"`
	T4           time.Time     `json:"t4"`
	// Accepted is true for a truechimer: it passed every per-source rule and
	// its interval meets the majority intersection.
	Accepted bool   `json:"accepted"`
	Reason   string `json:"reason"`

	untraceable bool // local-mode signature
}

// Result is the time evidence: the verdict, the proved bound, and every
// source with the reason it was accepted or rejected. It marshals to exactly
// the time-evidence JSON of the shared contract.
type Result struct {
	CheckedAt time.Time `json:"checkedAt"`
	Verdict   Verdict   `json:"verdict"`
	// Diagnosis is one line an operator can act on.
	Diagnosis string `json:"diagnosis"`
	// Offset is the midpoint of the majority intersection [L, H]: the
	// estimated correction to add to the local clock. Zero when no bound was
	// proved (Agreeing == 0).
	Offset time.Duration `json:"offsetNs"`
	// MaxError is max(|L|, |H|): the local clock is proved to be within
	// ±MaxError of the agreeing sources. Zero when Agreeing == 0, which means
	// no bound at all, not a perfect clock.
	MaxError time.Duration `json:"maxErrorNs"`
	// Agreeing is the number of sources whose intervals share one point.
	Agreeing int `json:"agreeing"`
	// Required is Policy.MinAgreeing.
	Required int      `json:"required"`
	Policy   Policy   `json:"policy"`
	Sources  []Source `json:"sources"`
}

// Answered returns how many sources sent a usable reply.
func (r Result) Answered() int {
	n := 0
	for _, s := range r.Sources {
		if s.Answered {
			n++
		}
	}
	return n
}

// Acceptable reports whether the result meets its policy: the verdict is good,
// or it is untraceable, the policy allows untraceable time and a bound
// within MaxError was proved.
func (r Result) Acceptable() bool {
	switch r.Verdict {
	case Good:
		return true
	case Untraceable:
		return r.Policy.AllowUntraceable && r.Agreeing > 0 && r.MaxError <= r.Policy.MaxError
	}
	return false
}

// ErrorAfter bounds the local clock's error elapsed after CheckedAt, as
// measured on a monotonic clock: MaxError plus the RFC 5905 frequency
// tolerance PHI (15 ppm) times elapsed (research §1e). ok is false when the
// result proved no bound (Agreeing == 0) or elapsed is negative; the caller
// decides when evidence is too old to use at all.
func (r Result) ErrorAfter(elapsed time.Duration) (bound time.Duration, ok bool) {
	if r.Agreeing == 0 || elapsed < 0 {
		return 0, false
	}
	return r.MaxError + time.Duration(phi*float64(elapsed)), true
}

// FormatRefID renders a reference ID the way the evidence shows it: the kiss
// code at stratum 0, the ASCII clock name at stratum 1 ("GPS"), "LOCL" for
// ntpd's local clock at any stratum, and a dotted quad otherwise.
func FormatRefID(stratum uint8, id uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], id)
	if id == RefIDLOCL || stratum <= 1 {
		if s, ok := asciiID(b); ok {
			return s
		}
	}
	return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
}

func asciiID(b [4]byte) (string, bool) {
	n := 0
	for n < 4 && b[n] != 0 {
		if b[n] < 32 || b[n] > 126 {
			return "", false
		}
		n++
	}
	for _, c := range b[n:] {
		if c != 0 {
			return "", false
		}
	}
	return string(b[:n]), n > 0
}
