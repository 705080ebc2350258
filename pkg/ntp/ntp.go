// Package ntp is the only code in Dossier that opens NTP sockets. It queries
// NTP servers with github.com/beevik/ntp and hands the raw exchanges to
// pkg/timecheck, which holds every rule.
package ntp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	bntp "github.com/beevik/ntp"

	"github.com/dossier-audit/dossier/pkg/timecheck"
)

// DefaultPort is the NTP port used when a server address has none.
const DefaultPort = 123

// DefaultTimeout bounds one query when Options.Timeout is zero.
const DefaultTimeout = 2 * time.Second

// ErrAddress is wrapped by errors about malformed server addresses.
var ErrAddress = errors.New("invalid NTP server address")

// Options tune Query. The zero value is usable.
type Options struct {
	// Timeout bounds each query (default DefaultTimeout), and so does the
	// context's deadline. Servers are queried in parallel, so a check takes
	// about Samples × Timeout at worst.
	Timeout time.Duration
	// Samples is how many exchanges to make with each server (default 1);
	// the one with the smallest RTT is kept, as ntpd's clock filter does.
	// Samples are sent back to back: a server with rate limiting (ntpd
	// "restrict limited", chrony "ratelimit") may drop them or answer RATE.
	Samples int
	// Now is the local clock that stamps T1 and T4 and the check. Nil means
	// the system clock, and then T4 is the kernel receive timestamp
	// (SO_TIMESTAMPNS on Linux); a non-nil Now disables kernel timestamps.
	Now func() time.Time
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// Check queries servers and judges the answers with policy: the time
// evidence of this moment. With no server at all it returns the honest
// Untraceable result "no NTP server configured".
func Check(ctx context.Context, servers []string, policy timecheck.Policy, opts Options) timecheck.Result {
	obs := Query(ctx, servers, opts)
	return timecheck.Check(obs, policy, opts.now())
}

// Query asks every server in parallel and returns one observation per
// server, in the order given. A server that does not answer usably gets an
// observation whose Err says why; Query itself never fails.
func Query(ctx context.Context, servers []string, opts Options) []timecheck.Observation {
	obs := make([]timecheck.Observation, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() { obs[i] = queryServer(ctx, s, opts) })
	}
	wg.Wait()
	return obs
}

// queryServer makes opts.Samples exchanges with one server and keeps the
// answer with the smallest RTT. A kiss-of-death ends the exchanges at once.
func queryServer(ctx context.Context, server string, opts Options) timecheck.Observation {
	addr, err := NormalizeAddr(server)
	if err != nil {
		return timecheck.Observation{Server: server, Err: err}
	}
	var best timecheck.Observation
	for n := range max(opts.Samples, 1) {
		o := exchange(ctx, addr, opts)
		if n == 0 || better(o, best) {
			best = o
		}
		if o.Err == nil && o.Stratum == 0 || ctx.Err() != nil {
			break
		}
	}
	return best
}

// better reports whether o should replace best: any answer beats a failure,
// and a shorter round trip beats a longer one.
func better(o, best timecheck.Observation) bool {
	if o.Err != nil {
		return false
	}
	if best.Err != nil || best.Stratum == 0 {
		return true
	}
	return rtt(o) < rtt(best)
}

func rtt(o timecheck.Observation) time.Duration {
	return o.T4.Sub(o.T1) - o.T3.Sub(o.T2)
}

// exchange performs one NTPv4 query. beevik/ntp already rejects short
// replies, a wrong mode, a zero transmit time, receive after transmit and an
// origin that does not echo our random transmit cookie; every other rule is
// timecheck's.
func exchange(ctx context.Context, addr string, opts Options) timecheck.Observation {
	timeout := opts.timeout()
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if ctx.Err() != nil || timeout <= 0 {
		return timecheck.Observation{Server: addr, Err: cmp.Or(ctx.Err(), context.DeadlineExceeded)}
	}
	// The context bounds the query through its deadline only: wrapping the
	// connection to close it on cancellation would hide the *net.UDPConn
	// from beevik/ntp and lose kernel receive timestamps.
	qo := bntp.QueryOptions{Timeout: timeout}
	if opts.Now != nil {
		qo.GetSystemTime = opts.Now
	}
	r, err := bntp.QueryWithOptions(addr, qo)
	if err != nil {
		return timecheck.Observation{Server: addr, Err: err}
	}
	return observation(addr, r)
}

// observation copies a beevik/ntp response. T1..T4 come straight from
// Response.Timestamps (ClientXmit, ServerRecv, ServerXmit, ClientRecv).
func observation(addr string, r *bntp.Response) timecheck.Observation {
	ts := r.Timestamps
	return timecheck.Observation{
		Server: addr,
		T1:     ts.ClientXmit, T2: ts.ServerRecv, T3: ts.ServerXmit, T4: ts.ClientRecv,
		Stratum: r.Stratum, RefID: r.ReferenceID, Leap: uint8(r.Leap),
		RootDelay: r.RootDelay, RootDispersion: r.RootDispersion,
		Precision: r.Precision, Poll: r.Poll,
		ReferenceTime: referenceTime(r.ReferenceTime), KissCode: r.KissCode,
	}
}

// A zero reference timestamp (the server never set its clock) reaches us from
// beevik/ntp as the start of NTP era 1 (it reads timestamps below 1970 as
// era 1), or as era 0 after RequestSupportedVersions.
var (
	ntpEra0 = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	ntpEra1 = time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)
)

func referenceTime(t time.Time) time.Time {
	if t.Equal(ntpEra0) || t.Equal(ntpEra1) {
		return time.Time{}
	}
	return t
}

// NormalizeAddr returns "host:port" for "host", "host:port", "[v6]" or
// "[v6]:port", adding DefaultPort when there is none.
func NormalizeAddr(s string) (string, error) {
	if s == "" {
		return "", errorf("empty address")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, strconv.Itoa(DefaultPort)
		if len(s) > 1 && s[0] == '[' && s[len(s)-1] == ']' {
			host = s[1 : len(s)-1]
		}
	}
	if p, perr := strconv.Atoi(port); perr != nil || p < 1 || p > 65535 {
		return "", errorf("port %q of %q is not 1-65535", port, s)
	}
	if host == "" {
		return "", errorf("no host in %q", s)
	}
	return net.JoinHostPort(host, port), nil
}

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrAddress}, args...)...)
}
