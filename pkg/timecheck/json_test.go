package timecheck

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func keys(m map[string]any) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

// TestResultJSON pins the time-evidence contract of brief/common.md: exactly
// these field names, integer nanoseconds, RFC 3339 UTC times.
func TestResultJSON(t *testing.T) {
	t.Parallel()
	local := base.In(time.FixedZone("CET", 3600))
	o := answer("a:123", ms, ms)
	o.T1, o.T4 = o.T1.In(local.Location()), o.T4.In(local.Location())
	r := Check([]Observation{o}, DefaultPolicy(), local)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := []string{"agreeing", "checkedAt", "diagnosis", "maxErrorNs", "offsetNs", "policy", "required", "sources", "verdict"}
	if got := keys(m); !slices.Equal(got, want) {
		t.Errorf("top-level keys %v, want %v", got, want)
	}
	wantPolicy := []string{"maxErrorNs", "maxRootDistanceNs", "maxRttNs", "maxStalenessNs", "minAgreeing"}
	if got := keys(m["policy"].(map[string]any)); !slices.Equal(got, wantPolicy) {
		t.Errorf("policy keys %v, want %v", got, wantPolicy)
	}
	src := m["sources"].([]any)[0].(map[string]any)
	wantSrc := []string{"accepted", "answered", "leap", "offsetNs", "reason", "refId", "rootDelayNs",
		"rootDispersionNs", "rootDistanceNs", "rttNs", "server", "stratum", "t1", "t2", "t3", "t4"}
	if got := keys(src); !slices.Equal(got, wantSrc) {
		t.Errorf("source keys %v, want %v", got, wantSrc)
	}
	s := string(b)
	for _, part := range []string{`"checkedAt":"2026-11-27T02:00:00Z"`, `"t1":"2026-11-27T02:00:00Z"`,
		`"t4":"2026-11-27T02:00:00.001Z"`, `"offsetNs":1000000,`, `"rttNs":1000000,`,
		`"maxErrorNs":50000000,`, `"maxStalenessNs":4096000000000`, `"verdict":"degraded"`, `"refId":"10.0.0.1"`} {
		if !strings.Contains(s, part) {
			t.Errorf("JSON lacks %s:\n%s", part, s)
		}
	}
}

func TestNoServersJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(NoServers(DefaultPolicy(), base))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"checkedAt":"2026-11-27T02:00:00Z","verdict":"untraceable","diagnosis":"no NTP server configured",` +
		`"offsetNs":0,"maxErrorNs":0,"agreeing":0,"required":3,"policy":{"maxErrorNs":50000000,"minAgreeing":3,` +
		`"maxRttNs":50000000,"maxRootDistanceNs":100000000,"maxStalenessNs":4096000000000},"sources":[]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestIntersect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		iv   []interval
		want majority
	}{
		{"single", []interval{{-1, 1}}, majority{-1, 1, 1, true}},
		{"touching intervals agree", []interval{{0, 5}, {5, 9}}, majority{5, 5, 2, true}},
		{"disjoint pair", []interval{{0, 1}, {2, 3}}, majority{depth: 1}},
		{"two majority regions give their hull", []interval{{0, 10}, {0, 1}, {9, 10}}, majority{0, 10, 2, true}},
		{"falseticker excluded", []interval{{0, 4}, {2, 6}, {20, 30}}, majority{2, 4, 2, true}},
		{"empty", nil, majority{}},
	}
	for _, tc := range tests {
		got := intersect(tc.iv)
		if got != tc.want {
			t.Errorf("%s: intersect = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestIntersectSound checks the proof obligation: whenever a strict majority
// of the intervals contains the true offset, the returned hull contains it.
func TestIntersectSound(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		truth := time.Duration(rng.IntN(2000) - 1000)
		n := 1 + rng.IntN(7)
		good := n/2 + 1 + rng.IntN(n-n/2)
		iv := make([]interval, n)
		for i := range iv {
			c, w := time.Duration(rng.IntN(4000)-2000), time.Duration(1+rng.IntN(500))
			if i < good { // a correct source: its interval contains the truth
				c = truth + time.Duration(rng.IntN(int(2*w+1))) - w
			}
			iv[i] = interval{c - w, c + w}
		}
		m := intersect(iv)
		if !m.ok || truth < m.lo || truth > m.hi {
			t.Fatalf("truth %v outside %+v for %v (%d correct)", truth, m, iv, good)
		}
	}
}
