package bundle

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"testing"

	"github.com/dossier-audit/dossier/pkg/dsse"
	"github.com/sigstore/sigstore/pkg/signature"
)

// FuzzParse feeds arbitrary bytes to Parse and Verify. Oracles: neither
// panics; every error wraps one of the package's sentinels; and Verify
// accepts an input against the golden key only if it is the golden bundle
// itself or carries exactly the golden statement and signature (what
// DSSE's base64 and JSON leeway allow), so a mutated bundle never verifies
// with different signed content.
func FuzzParse(f *testing.F) {
	golden, err := os.ReadFile("testdata/ed25519.sigstore.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(golden[:len(golden)/2])
	f.Add([]byte(`{"mediaType":"` + MediaType + `","verificationMaterial":{"publicKey":{}},"dsseEnvelope":{"payload":"","payloadType":"` + PayloadTypeInToto + `","signatures":[{"sig":""}]}}`))
	f.Add([]byte(`{}`))
	priv := rfc8032Key()
	v, err := signature.LoadVerifier(priv.Public(), 0)
	if err != nil {
		f.Fatal(err)
	}
	want, err := Parse(golden)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Parse(b); err != nil {
			checkSentinel(t, err)
		}
		bun, err := Verify(b, v)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		if !bytes.Equal(bun.Payload(), want.Payload()) || !bytes.Equal(bun.Signature(), want.Signature()) {
			t.Fatalf("mutated bundle verified with other content: %q", b)
		}
		if !ed25519.Verify(priv.Public().(ed25519.PublicKey), dsse.PAE(bun.Envelope.PayloadType, bun.Payload()), bun.Signature()) {
			t.Fatal("Verify accepted a signature the standard library rejects")
		}
	})
}

func checkSentinel(t *testing.T, err error) {
	t.Helper()
	for _, s := range allSentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error wraps no bundle sentinel: %v", err)
}
