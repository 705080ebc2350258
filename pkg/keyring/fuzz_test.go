package keyring

import (
	"testing"
)

// FuzzParse: hostile envelopes never panic, and whatever parses is a
// valid document whose version verifies only from its own fingerprint.
func FuzzParse(f *testing.F) {
	fx := newFixture(f)
	v1 := sign(f, fx.doc(f, 1, ""), fx.roots[0], fx.roots[1])
	f.Add(v1)
	f.Add([]byte(`{"payload":"e30=","payloadType":"application/vnd.dossier.keyring.v1+json","signatures":[{"sig":"AA=="}]}`))
	pin := pin(f, v1)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Parse(b)
		if err != nil {
			return
		}
		if err := v.Document.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid document: %v", err)
		}
		if c, err := VerifyChain(pin, b); err == nil && RootFingerprint(c.Versions[0].Payload) != pin {
			t.Fatal("chain verified under another fingerprint")
		}
	})
}
