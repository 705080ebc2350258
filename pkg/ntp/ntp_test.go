package ntp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/ntp/ntptest"
	"github.com/dossier-audit/dossier/pkg/timecheck"
)

func one(b ntptest.Behavior) func(*ntptest.Behavior) {
	return func(x *ntptest.Behavior) { *x = b }
}

func good(f func(*ntptest.Behavior)) ntptest.Behavior {
	b := ntptest.Good()
	f(&b)
	return b
}

// TestQueryBehaviors runs the real protocol against the test server, one
// behavior per case, and checks what the rules make of the answer.
func TestQueryBehaviors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		b        ntptest.Behavior
		answered bool
		reason   string
	}{
		{"healthy stratum 1", ntptest.Good(), true, "truechimer"},
		{"offset beyond limit", good(func(b *ntptest.Behavior) { b.Offset = 250 * time.Millisecond }), true, "truechimer"},
		{"stratum 16", good(func(b *ntptest.Behavior) { b.Stratum = 16 }), true, "not synchronized (stratum 16)"},
		{"unsynchronized leap", good(func(b *ntptest.Behavior) { b.Leap = 3 }), true, "leap indicator 3"},
		{"kiss of death", good(func(b *ntptest.Behavior) { b.Kiss = "DENY" }), true, "kiss-of-death DENY"},
		{"chrony local mode", ntptest.ChronyLocal(), true, "local mode (stratum 10, refid 127.127.1.1)"},
		{"stale reference", good(func(b *ntptest.Behavior) { b.ReferenceAge = 3 * time.Hour }), true, "stale"},
		{"never synchronized", good(func(b *ntptest.Behavior) { b.ReferenceAge = -1 }), true, "never synchronized"},
		{"large root dispersion", good(func(b *ntptest.Behavior) { b.RootDispersion = 300 * time.Millisecond }), true, "root distance 300."},
		{"slow reply", good(func(b *ntptest.Behavior) { b.Delay = 120 * time.Millisecond }), true, "RTT 12"},
		{"garbage", ntptest.Behavior{Garbage: true}, false, "no answer: invalid mode in response"},
		{"spoofed origin", good(func(b *ntptest.Behavior) { b.WrongOrigin = true }), false, "didn't match request"},
		{"silence", ntptest.Behavior{Silent: true}, false, "no answer: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := ntptest.New(t, tc.b)
			p := timecheck.DefaultPolicy()
			p.MinAgreeing = 1
			r := Check(t.Context(), []string{srv.Addr()}, p, Options{Timeout: 300 * time.Millisecond, Samples: 2})
			s := r.Sources[0]
			if s.Answered != tc.answered || !strings.Contains(s.Reason, tc.reason) {
				t.Fatalf("answered %v reason %q, want %v and %q", s.Answered, s.Reason, tc.answered, tc.reason)
			}
			if s.Server != srv.Addr() {
				t.Errorf("server %q, want %q", s.Server, srv.Addr())
			}
		})
	}
}

func TestCheckGoodMajority(t *testing.T) {
	t.Parallel()
	var addrs []string
	for range 3 {
		addrs = append(addrs, ntptest.New(t, ntptest.Good()).Addr())
	}
	liar := ntptest.New(t, good(func(b *ntptest.Behavior) { b.Offset = 2 * time.Second }))
	addrs = append(addrs, liar.Addr())
	r := Check(t.Context(), addrs, timecheck.DefaultPolicy(), Options{Samples: 3})
	if r.Verdict != timecheck.Good || r.Agreeing != 3 {
		t.Fatalf("verdict %s agreeing %d, want good 3: %s", r.Verdict, r.Agreeing, r.Diagnosis)
	}
	if s := r.Sources[3]; s.Accepted || !strings.Contains(s.Reason, "falseticker") {
		t.Errorf("liar accepted=%v reason %q, want a falseticker", s.Accepted, s.Reason)
	}
	if r.MaxError > 10*time.Millisecond {
		t.Errorf("loopback error bound %v, want under 10ms", r.MaxError)
	}
}

func TestCheckLocalClockOff(t *testing.T) {
	t.Parallel()
	srv := ntptest.New(t, ntptest.Good())
	p := timecheck.DefaultPolicy()
	p.MinAgreeing = 1
	skewed := func() time.Time { return time.Now().Add(-time.Hour) }
	r := Check(t.Context(), []string{srv.Addr()}, p, Options{Now: skewed})
	if r.Verdict != timecheck.Bad || !strings.Contains(r.Diagnosis, "local clock is off by 1h0m0s ") {
		t.Fatalf("verdict %s %q, want bad, local clock off by 1h", r.Verdict, r.Diagnosis)
	}
	if d := time.Since(r.CheckedAt); d < 59*time.Minute {
		t.Errorf("checkedAt %v is not from the injected clock", r.CheckedAt)
	}
}

// TestAsymmetricDelayStaysInBound checks the interval's soundness on the
// wire: a delay only on the request path biases θ by half of it, and λ still
// covers the true offset (zero).
func TestAsymmetricDelayStaysInBound(t *testing.T) {
	t.Parallel()
	srv := ntptest.New(t, good(func(b *ntptest.Behavior) { b.Delay = 30 * time.Millisecond }))
	p := timecheck.DefaultPolicy()
	p.MinAgreeing = 1
	r := Check(t.Context(), []string{srv.Addr()}, p, Options{})
	s := r.Sources[0]
	if s.RTT < 30*time.Millisecond || s.Offset-s.RootDistance > 0 || s.Offset+s.RootDistance < 0 {
		t.Fatalf("offset %v ± %v, RTT %v: want RTT ≥ 30ms and an interval that still contains 0",
			s.Offset, s.RootDistance, s.RTT)
	}
}

func TestSamples(t *testing.T) {
	t.Parallel()
	srv := ntptest.New(t, ntptest.Good())
	obs := Query(t.Context(), []string{srv.Addr()}, Options{Samples: 3})
	if obs[0].Err != nil || srv.Requests() != 3 {
		t.Fatalf("err %v requests %d, want nil 3", obs[0].Err, srv.Requests())
	}
	kod := ntptest.New(t, good(func(b *ntptest.Behavior) { b.Kiss = "RATE" }))
	obs = Query(t.Context(), []string{kod.Addr()}, Options{Samples: 3})
	if obs[0].KissCode != "RATE" || kod.Requests() != 1 {
		t.Fatalf("kiss %q requests %d, want RATE after 1 request", obs[0].KissCode, kod.Requests())
	}
}

func TestQueryCancelled(t *testing.T) {
	t.Parallel()
	srv := ntptest.New(t, ntptest.Good())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	obs := Query(ctx, []string{srv.Addr()}, Options{})
	if !errors.Is(obs[0].Err, context.Canceled) || srv.Requests() != 0 {
		t.Fatalf("err %v requests %d, want context.Canceled and no request", obs[0].Err, srv.Requests())
	}
}

func TestCheckNoServer(t *testing.T) {
	t.Parallel()
	r := Check(t.Context(), nil, timecheck.DefaultPolicy(), Options{})
	if r.Verdict != timecheck.Untraceable || r.Diagnosis != timecheck.NoServerDiagnosis {
		t.Fatalf("verdict %s %q, want untraceable, no NTP server configured", r.Verdict, r.Diagnosis)
	}
}

func TestNormalizeAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		err      bool
	}{
		{"ntp1", "ntp1:123", false},
		{"10.0.0.1:1123", "10.0.0.1:1123", false},
		{"::1", "[::1]:123", false},
		{"[::1]", "[::1]:123", false},
		{"[fe80::1]:124", "[fe80::1]:124", false},
		{"", "", true},
		{"host:0", "", true},
		{"host:ntp", "", true},
		{":123", "", true},
	}
	for _, tc := range tests {
		got, err := NormalizeAddr(tc.in)
		if tc.err {
			if !errors.Is(err, ErrAddress) {
				t.Errorf("NormalizeAddr(%q) error %v, want ErrAddress", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeAddr(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestBadAddressIsAnObservation(t *testing.T) {
	t.Parallel()
	obs := Query(t.Context(), []string{"host:99999"}, Options{})
	if !errors.Is(obs[0].Err, ErrAddress) || obs[0].Server != "host:99999" {
		t.Fatalf("observation %+v, want ErrAddress for host:99999", obs[0])
	}
}
