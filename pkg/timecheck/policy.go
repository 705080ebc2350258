// Package timecheck holds the pure rules that turn NTP observations into a
// time-evidence verdict with a proved error bound.
//
// It opens no sockets and never reads the clock: pkg/ntp does the queries and
// passes the four protocol timestamps of each exchange in. The rules follow
// research/time-and-logs.md §1b and §1e:
//
//  1. each answering server is pre-filtered (kiss-of-death, leap indicator 3,
//     stratum, stale or invalid reference time, RTT, root distance, and the
//     chrony/ntpd local-mode signature that marks time not traceable to UTC);
//  2. each surviving server contributes the RFC 5905 correctness interval
//     [θ − λ, θ + λ] (see Source.RootDistance for λ);
//  3. Marzullo's intersection keeps the region covered by a strict majority of
//     those intervals; under the assumption that a majority of the candidates
//     are correct, the local clock's true offset lies inside that region,
//     which is the proved error bound;
//  4. the verdict judges that bound and the number of agreeing sources
//     against the Policy.
package timecheck

import "time"

// Policy is what "good time" means for one deployment. The zero value is not
// useful; start from DefaultPolicy and override.
//
// Only the five fields with JSON names are part of the time-evidence record
// (the shared contract in brief/common.md); the others are local settings.
type Policy struct {
	// MaxError is the largest proved bound on the local clock's error that
	// still counts as good. Default 50 ms: FINRA Rule 4590's limit for
	// computer clocks that record events, easy on a LAN (research §1e,
	// "standard" tier).
	MaxError time.Duration `json:"maxErrorNs"`
	// MinAgreeing is how many sources must share a common point of their
	// intervals. Default 3: ntpd's minclock and research §1b/§1e; with fewer,
	// one wrong server cannot be outvoted. Configure 4–5 servers.
	MinAgreeing int `json:"minAgreeing"`
	// MaxRTT rejects a server whose round trip is longer. Default 50 ms
	// (research §1e): on a LAN the RTT is well under 1 ms, and half the RTT is
	// part of the error interval, so 50 ms alone would spend half of MaxError.
	MaxRTT time.Duration `json:"maxRttNs"`
	// MaxRootDistance rejects a server whose interval half-width λ is larger.
	// Default 100 ms (research §1e), tighter than RFC 5905's MAXDIST (1 s),
	// ntpd's maxdist (1.5 s) and chrony's maxdistance (3 s): a source twice as
	// imprecise as the whole error budget cannot help prove the bound, but
	// its wide interval can lend a false majority to sources that disagree.
	MaxRootDistance time.Duration `json:"maxRootDistanceNs"`
	// MaxStaleness rejects a server whose reference time (when it last set
	// its own clock) is older than this at its transmit time. Default 4096 s
	// (research §1e): 4 × the default maximum poll interval of chrony and
	// ntpd (1024 s); beevik/ntp's Validate alone allows 2^17 s (36 h).
	MaxStaleness time.Duration `json:"maxStalenessNs"`

	// MaxStratum is the highest stratum accepted. Default 15, the RFC 5905
	// range (16 means unsynchronized) and the chrony/ntpd default ceiling;
	// the root distance already measures how far a server is from its
	// reference, and a tighter value would also hide the local-mode reason.
	MaxStratum int `json:"-"`
	// AllowUntraceable lets servers with the local-mode signature take part
	// in the intersection. The verdict is still "untraceable" (never good),
	// but the result is Acceptable. Default false: time that is not
	// traceable to UTC is reported, not trusted (MiFID II RTS 25 Art. 4
	// requires traceability; research §1e).
	AllowUntraceable bool `json:"-"`
}

// DefaultPolicy returns the documented defaults (see each Policy field).
func DefaultPolicy() Policy {
	return Policy{
		MaxError:        50 * time.Millisecond,
		MinAgreeing:     3,
		MaxRTT:          50 * time.Millisecond,
		MaxRootDistance: 100 * time.Millisecond,
		MaxStaleness:    4096 * time.Second,
		MaxStratum:      15,
	}
}

// phi is the frequency tolerance RFC 5905 assumes for any clock (15 ppm,
// CLOCK_PHI in ntpd), used to grow the interval by the dispersion that
// accrues during the exchange itself.
const phi = 15e-6
