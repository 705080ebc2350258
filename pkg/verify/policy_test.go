package verify

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParsePolicyVersions(t *testing.T) {
	t.Parallel()
	const time = `"time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},"requiredKinds":["run-closed"]`
	rules := `"runs":{"approvals":{"min":2,"role":"reviewer","meanings":["approval"],"cover":["dataset"]}}`
	for _, tc := range []struct {
		name, doc string
		ok        bool
		want      string
	}{
		{"v1", `{"mediaType":"application/vnd.dossier.policy.v1+json",` + time + `}`, true, ""},
		{"v2 with rules and anchors", `{"mediaType":"application/vnd.dossier.policy.v2+json",` + time + `,` + rules + `,"anchors":{"require":"either"}}`, true, ""},
		{"v1 with rules", `{"mediaType":"application/vnd.dossier.policy.v1+json",` + time + `,` + rules + `}`, false, "need mediaType"},
		{"v1 with anchors", `{"mediaType":"application/vnd.dossier.policy.v1+json",` + time + `,"anchors":{"require":"tsa"}}`, false, "need mediaType"},
		{"unknown anchor requirement", `{"mediaType":"application/vnd.dossier.policy.v2+json",` + time + `,"anchors":{"require":"always"}}`, false, "anchors.require"},
		{"invalid v2 rule", `{"mediaType":"application/vnd.dossier.policy.v2+json",` + time + `,` + strings.Replace(rules, `"min":2`, `"min":0`, 1) + `}`, false, "min"},
		{"unknown member", `{"mediaType":"application/vnd.dossier.policy.v2+json",` + time + `,"extra":1}`, false, "extra"},
		{"other media type", `{"mediaType":"application/json",` + time + `}`, false, "mediaType"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePolicy([]byte(tc.doc))
			if tc.ok != (err == nil) || (err != nil && (!errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), tc.want))) {
				t.Fatalf("ParsePolicy = %v, want ok %v (ErrPolicy mentioning %q)", err, tc.ok, tc.want)
			}
		})
	}
}

func TestTightenNeverLowersTheBar(t *testing.T) {
	t.Parallel()
	lax := &Policy{MediaType: PolicyMediaType, Time: TimePolicy{Accept: []string{"good", "degraded"}, AcceptUntraceable: true, MaxProducerSkewSeconds: 9999},
		RequiredKinds: []string{"dataset"}}
	got := Tighten(DefaultPolicy(), lax)
	if !slices.Equal(got.Time.Accept, []string{"good"}) || got.Time.AcceptUntraceable || got.Time.MaxProducerSkewSeconds != 300 ||
		!slices.Equal(got.RequiredKinds, []string{"run-closed", "dataset"}) || got.MediaType != PolicyMediaType {
		t.Fatalf("Tighten(default, lax) = %+v", got)
	}
	for _, tc := range []struct{ a, b, want string }{
		{"", "tsa", "tsa"}, {"tsa", "witness", "both"}, {"either", "tsa", "tsa"}, {"none", "either", "either"}, {"none", "", "none"},
	} {
		pol := func(r string) *Policy {
			p := DefaultPolicy()
			if r != "" {
				p.MediaType, p.Anchors = PolicyV2MediaType, &AnchorPolicy{Require: r}
			}
			return p
		}
		got := Tighten(pol(tc.a), pol(tc.b))
		if got.Anchors == nil || got.Anchors.Require != tc.want || got.MediaType != PolicyV2MediaType {
			t.Errorf("anchors %q + %q = %+v, want %q", tc.a, tc.b, got.Anchors, tc.want)
		}
	}
}
