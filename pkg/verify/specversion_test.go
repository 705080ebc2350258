package verify

import (
	"slices"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/anchor"
	"github.com/dossier-audit/dossier/pkg/keyring"
	"github.com/dossier-audit/dossier/pkg/witness/witnessverify"
)

func TestProfiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version   string
		known     bool
		additions bool
	}{
		{"0.2.0", true, false}, {"0.3.0", true, true},
		{"0.1.0", false, false}, {"0.2.1", false, false}, {"0.4.0", false, false},
		{"0.2", false, false}, {"v0.3.0", false, false}, {"", false, false},
	} {
		p, ok := profiles[tc.version]
		if ok != tc.known || p.additions030 != tc.additions {
			t.Errorf("profiles[%q] = %+v, %v; want known %v, additions %v", tc.version, p, ok, tc.known, tc.additions)
		}
	}
	if newest.version != SpecVersion || !newest.additions030 {
		t.Errorf("newest = %+v, want the profile of %s", newest, SpecVersion)
	}
}

func TestProfileRoles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		version string
		kind    string
		want    []string
	}{
		{"plan-0.2.0", "0.2.0", "evaluation-plan", []string{keyring.RoleProducer, keyring.RoleIngest}},
		{"plan-0.3.0", "0.3.0", "evaluation-plan", []string{keyring.RoleProducer, keyring.RoleIngest, keyring.RoleReviewer}},
		{"approval-0.2.0", "0.2.0", "approval", []string{keyring.RoleReviewer}},
		{"dataset-0.2.0", "0.2.0", "dataset", []string{keyring.RoleProducer, keyring.RoleIngest}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := profiles[tc.version].rolesFor(tc.kind); !slices.Equal(got, tc.want) {
				t.Errorf("rolesFor(%s) under %s = %v, want %v", tc.kind, tc.version, got, tc.want)
			}
		})
	}
}

func TestLaterLayer(t *testing.T) {
	t.Parallel()
	d := descriptor{Digest: "sha256:00"}
	for _, tc := range []struct {
		name string
		md   metadata
		want string
	}{
		{"none", metadata{Policy: descriptor{MediaType: PolicyMediaType, Digest: "sha256:00"}}, ""},
		{"anchors", metadata{Anchors: d}, "anchors.json"},
		{"policy-v2", metadata{Policy: descriptor{MediaType: PolicyV2MediaType, Digest: "sha256:00"}}, "policy v2 (" + PolicyV2MediaType + ")"},
		{"review", metadata{Reviews: []descriptor{d}}, "review document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.md.laterLayer(profiles["0.2.0"]); got != tc.want {
				t.Errorf("0.2.0: laterLayer = %q, want %q", got, tc.want)
			}
			if got := tc.md.laterLayer(profiles["0.3.0"]); got != "" {
				t.Errorf("0.3.0: laterLayer = %q, want none", got)
			}
		})
	}
}

// TestCoveredByQuorumNone: a none quorum is met without a cosignature
// and never anchors (SPEC.md Appendix A, P24).
func TestCoveredByQuorumNone(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 27, 9, 3, 30, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		w       *witnessverify.Result
		witness bool
	}{
		{"quorum-none", &witnessverify.Result{QuorumMet: true}, false},
		{"quorum-met", &witnessverify.Result{QuorumMet: true, AnchoredAt: at}, true},
		{"quorum-not-met", &witnessverify.Result{}, false},
		{"no-policy", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := &anchor.Result{Entries: []anchor.EntryResult{{Size: 10, Witness: tc.w}}}
			if _, got := coveredBy(res, 3); got != tc.witness {
				t.Errorf("witness = %v, want %v", got, tc.witness)
			}
		})
	}
}
