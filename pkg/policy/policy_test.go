package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/keyring"
)

func TestParse(t *testing.T) {
	t.Parallel()
	const head = `{"mediaType":"application/vnd.dossier.policy.v2+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},"requiredKinds":[]`
	tests := []struct {
		name, doc string
		want      string // substring of the error; "" for valid
	}{
		{"release policy", releasePolicy, ""},
		{"v1 document", `{"mediaType":"application/vnd.dossier.policy.v1+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},"requiredKinds":["run-closed"]}`, ""},
		{"v1 with v2 members", `{"mediaType":"application/vnd.dossier.policy.v1+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},"requiredKinds":[],"runs":{}}`, "need mediaType"},
		{"unknown media type", strings.Replace(head, "v2", "v3", 1) + `}`, "mediaType"},
		{"unknown member", head + `,"approvers":2}`, "unknown"},
		{"duplicate member", head + `,"requiredKinds":[]}`, "duplicate"},
		{"unknown kind", head + `,"runs":{"requiredKinds":["modelrelease"]}}`, "unknown record kind"},
		{"kind twice", head + `,"runs":{"requiredKinds":["dataset","dataset"]}}`, "listed twice"},
		{"zero approvals", head + `,"releases":{"approvals":{"min":0,"role":"reviewer","meanings":["approval"],"cover":["evaluation"]}}}`, "min 0"},
		{"bad meaning", head + `,"releases":{"approvals":{"min":1,"role":"reviewer","meanings":["ok"],"cover":["evaluation"]}}}`, "unknown meaning"},
		{"approvals cover approvals", head + `,"releases":{"approvals":{"min":1,"role":"reviewer","meanings":["approval"],"cover":["approval"]}}}`, "not approval"},
		{"bad role", head + `,"releases":{"evaluationPlan":{"role":"Reviewer"}}}`, "not a role name"},
		{"separation without approvals", head + `,"releases":{"separationOfDuties":{"byPerson":true,"byTeam":true,"developerKinds":["training-run"]}}}`, "without approvals"},
		{"untraceable as a verdict", strings.Replace(head, `["good"]`, `["untraceable"]`, 1) + `}`, "acceptUntraceable"},
		{"trailing data", releasePolicy + `{}`, "invalid policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.doc))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Parse error = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

// TestChainViewAgreesWithKeyValidAt checks that ChainView applies the rule
// of keyring.Chain.KeyValidAt at every log index.
func TestChainViewAgreesWithKeyValidAt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.revoke(f.victor, "departed")
	f.revoke(f.rita, "compromised")
	in := f.input()
	view := in.Keys.(ChainView)
	for _, p := range []person{f.alice, f.rita, f.victor, f.vera} {
		for i := uint64(0); i < f.next+1; i++ {
			_, got := view.KeyAt(p.key.ID, i)
			want := view.Chain.KeyValidAt(p.key.ID, p.key.Roles[0], i, view.Indices)
			if (got == nil) != (want == nil) || (got != nil && !errors.Is(got, keyring.ErrKeyNotValid)) {
				t.Errorf("%s at %d: KeyAt error %v, KeyValidAt %v", p.key.Owner.PersonID, i, got, want)
			}
		}
	}
}

func TestKeyMaterial(t *testing.T) {
	t.Parallel()
	p := newPerson(t, "x", "y", "producer")
	a, err := KeyMaterial(&p.priv.PublicKey)
	if err != nil || !strings.HasPrefix(a, "ecdsa-p256:") {
		t.Fatalf("KeyMaterial = %q, %v", a, err)
	}
	if _, err := KeyMaterial("not a key"); !errors.Is(err, ErrKeyType) {
		t.Fatalf("KeyMaterial(string) error = %v, want ErrKeyType", err)
	}
}
