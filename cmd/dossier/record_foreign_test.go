package main

import (
	"context"
	"crypto"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keys"
)

func TestVerifyForeign(t *testing.T) {
	t.Parallel()
	priv, err := keys.Generate(keys.DefaultAlgorithm)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := keys.NewVerifier(priv.Public())
	sum := strings.Repeat("ab", 32)
	stmt := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x.tar","digest":{"sha256":"` + sum +
		`"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{}}}`
	b, err := bundle.Sign(context.Background(), signer, bundle.PayloadTypeInToto, []byte(stmt))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := keys.Generate(keys.DefaultAlgorithm)
	otherV, _ := keys.NewVerifier(other.Public())
	for _, tc := range []struct {
		name, ptype, subject string
		v                    signature.Verifier
		want                 error
	}{
		{"good", "https://slsa.dev/provenance/v1", sum, v, nil},
		{"good without subject", "https://slsa.dev/provenance/v1", "", v, nil},
		{"other type", "https://dossier.dev/predicates/dataset/v1", "", v, errForeignStatement},
		{"other subject", "https://slsa.dev/provenance/v1", strings.Repeat("cd", 32), v, errForeignStatement},
		{"other key", "https://slsa.dev/provenance/v1", "", otherV, bundle.ErrWrongKey},
	} {
		_, err := verifyForeign(b, tc.v, tc.ptype, tc.subject)
		if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}
