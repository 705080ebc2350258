package bundle_test

import (
	"context"
	"crypto"
	"fmt"

	"github.com/dossier-audit/dossier/pkg/bundle"
	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/sigstore/sigstore/pkg/signature"
)

func Example() {
	priv, _ := keys.Generate(keys.ECDSAP256)
	signer, _ := signature.LoadSigner(priv, crypto.SHA256)
	statement := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"run:r1","digest":{"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}}],"predicateType":"https://dossier.dev/predicates/training-run/v1","predicate":{}}`)

	b, err := bundle.Sign(context.Background(), signer, bundle.PayloadTypeInToto, statement)
	if err != nil {
		panic(err)
	}
	verifier, _ := keys.NewVerifier(priv.Public())
	rec, err := bundle.Verify(b, verifier)
	if err != nil {
		panic(err)
	}
	fmt.Println(rec.KeyID() == keys.Fingerprint(priv.Public()), string(rec.Payload()) == string(statement))
	// Output: true true
}
