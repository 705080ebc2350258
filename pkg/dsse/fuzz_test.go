package dsse

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, fails only with ErrMalformed or
// ErrTooLarge, and whatever it accepts survives MarshalJSON + ParseStrict
// unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(okEnv))
	f.Add([]byte(`{"payload":"-_-_Pj8","payloadType":"","signatures":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		out, err := e.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseStrict(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if back.PayloadType != e.PayloadType || !bytes.Equal(back.Payload, e.Payload) || len(back.Signatures) != len(e.Signatures) {
			t.Fatalf("round trip changed the envelope: %s", out)
		}
	})
}
