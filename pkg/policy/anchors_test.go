package policy_test

import (
	"errors"
	"testing"

	"github.com/dossier-audit/dossier/pkg/policy"
	"github.com/dossier-audit/dossier/pkg/verify"
)

// TestAnchorsSection: the anchors section (spec/anchors.md §4) is accepted
// by policy lint (policy.Parse) exactly when the verifier accepts it.
func TestAnchorsSection(t *testing.T) {
	t.Parallel()
	const v2 = `{"mediaType":"application/vnd.dossier.policy.v2+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},"requiredKinds":["run-closed"]`
	const v1 = `{"mediaType":"application/vnd.dossier.policy.v1+json","time":{"accept":["good"],"acceptUntraceable":false,"maxProducerSkewSeconds":300},"requiredKinds":["run-closed"]`
	tests := []struct {
		name, doc string
		valid     bool
	}{
		{"none", v2 + `,"anchors":{"require":"none"}}`, true},
		{"tsa", v2 + `,"anchors":{"require":"tsa"}}`, true},
		{"witness", v2 + `,"anchors":{"require":"witness"}}`, true},
		{"either", v2 + `,"anchors":{"require":"either"}}`, true},
		{"both", v2 + `,"anchors":{"require":"both"}}`, true},
		{"absent", v2 + `}`, true},
		{"unknown requirement", v2 + `,"anchors":{"require":"notary"}}`, false},
		{"empty requirement", v2 + `,"anchors":{"require":""}}`, false},
		{"missing require", v2 + `,"anchors":{}}`, false},
		{"unknown member", v2 + `,"anchors":{"require":"tsa","quorum":2}}`, false},
		{"in a v1 document", v1 + `,"anchors":{"require":"tsa"}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := policy.Parse([]byte(tt.doc))
			_, verr := verify.ParsePolicy([]byte(tt.doc))
			if tt.valid != (err == nil) || tt.valid != (verr == nil) {
				t.Fatalf("policy.Parse: %v; verify.ParsePolicy: %v; want valid=%v", err, verr, tt.valid)
			}
			if !tt.valid && !errors.Is(err, policy.ErrInvalid) {
				t.Fatalf("policy.Parse error %v, want ErrInvalid", err)
			}
			if tt.valid && tt.name != "absent" && p.Anchors.Require != tt.name {
				t.Fatalf("anchors.require = %q, want %q", p.Anchors.Require, tt.name)
			}
		})
	}
}
