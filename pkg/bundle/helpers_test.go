package bundle

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/sigstore/sigstore/pkg/signature"
)

// testStatement builds an in-toto Statement v1 by hand, padded with
// predicate text to about size bytes.
func testStatement(size int) []byte {
	st := map[string]any{
		"_type": "https://in-toto.io/Statement/v1",
		"subject": []any{map[string]any{
			"name":   "run:llm-ft-0042",
			"digest": map[string]string{"sha256": strings.Repeat("ab", 32)},
		}},
		"predicateType": "https://dossier.dev/predicates/training-run/v1",
		"predicate": map[string]any{
			"runId": "llm-ft-0042", "attempt": 1, "producedAt": "2026-11-27T02:00:00Z",
			"producer": map[string]string{"id": "ci-runner-7", "name": "CI runner", "kind": "workload"},
			"notes":    strings.Repeat("x", max(0, size-400)),
		},
	}
	b, err := json.Marshal(st)
	if err != nil {
		panic(err)
	}
	return b
}

func subjectDigest() []byte {
	d, _ := hex.DecodeString(strings.Repeat("ab", 32))
	return d
}

// rfc8032Key is the Ed25519 key of RFC 8032 §7.1 TEST 1, so that golden
// bundles are reproducible.
func rfc8032Key() ed25519.PrivateKey {
	seed, _ := hex.DecodeString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	return ed25519.NewKeyFromSeed(seed)
}

func newSigner(t testing.TB, alg keys.Algorithm) (signature.Signer, crypto.Signer) {
	t.Helper()
	priv, err := keys.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}

func newVerifier(t testing.TB, pub crypto.PublicKey) signature.Verifier {
	t.Helper()
	v, err := keys.NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustSign(t testing.TB, s signature.Signer, payload []byte) []byte {
	t.Helper()
	b, err := Sign(context.Background(), s, PayloadTypeInToto, payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutate decodes a bundle into generic JSON, applies f and re-encodes it.
func mutate(t testing.TB, b []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func obj(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

func firstSig(m map[string]any) map[string]any {
	return obj(m, "dsseEnvelope")["signatures"].([]any)[0].(map[string]any)
}
