package dsse

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

const okEnv = `{"payload":"aGVsbG8=","payloadType":"t","signatures":[{"sig":"AAEC","keyid":"k"}]}`

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"duplicate top-level key", `{"payload":"aGVsbG8=","payload":"eA==","payloadType":"t","signatures":[{"sig":"AAEC"}]}`, strictjson.ErrDuplicateKey},
		{"duplicate key in signature", `{"payload":"","payloadType":"t","signatures":[{"sig":"AAEC","sig":"AAEC"}]}`, strictjson.ErrDuplicateKey},
		{"case variant key", `{"Payload":"aGVsbG8=","payloadType":"t","signatures":[{"sig":"AAEC"}]}`, strictjson.ErrUnknownField},
		{"missing payload", `{"payloadType":"t","signatures":[{"sig":"AAEC"}]}`, ErrMalformed},
		{"null payload", `{"payload":null,"payloadType":"t","signatures":[{"sig":"AAEC"}]}`, ErrMalformed},
		{"missing payloadType", `{"payload":"","signatures":[{"sig":"AAEC"}]}`, ErrMalformed},
		{"missing signatures", `{"payload":"","payloadType":"t"}`, ErrMalformed},
		{"missing sig", `{"payload":"","payloadType":"t","signatures":[{"keyid":"k"}]}`, ErrMalformed},
		{"null signature", `{"payload":"","payloadType":"t","signatures":[null]}`, ErrMalformed},
		{"number payload", `{"payload":1,"payloadType":"t","signatures":[{"sig":"AAEC"}]}`, strictjson.ErrType},
		{"bad base64", `{"payload":"a$==","payloadType":"t","signatures":[{"sig":"AAEC"}]}`, ErrMalformed},
		{"mixed base64 alphabets", `{"payload":"+-8=","payloadType":"t","signatures":[{"sig":"AAEC"}]}`, ErrMalformed},
		{"non-zero padding bits", `{"payload":"aGVsbG9=","payloadType":"t","signatures":[{"sig":"AAEC"}]}`, ErrMalformed},
		{"trailing data", okEnv + `{}`, strictjson.ErrTrailingData},
		{"truncated", okEnv[:len(okEnv)-3], strictjson.ErrSyntax},
		{"not an object", `[]`, ErrMalformed},
		{"too large", `{"payload":"` + strings.Repeat("A", MaxEnvelopeSize) + `"}`, ErrTooLarge},
		{"too many signatures", `{"payload":"","payloadType":"t","signatures":[` + strings.Repeat(`{"sig":""},`, MaxSignatures) + `{"sig":""}]}`, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseUnknownFields(t *testing.T) {
	t.Parallel()
	in := []byte(`{"payload":"aGVsbG8=","payloadType":"t","extra":1,"signatures":[{"sig":"AAEC","other":"x"}]}`)
	if _, err := Parse(in); err != nil {
		t.Errorf("Parse must ignore unknown members (envelope.md): %v", err)
	}
	if _, err := ParseStrict(in); !errors.Is(err, strictjson.ErrUnknownField) {
		t.Errorf("ParseStrict: %v, want %v", err, strictjson.ErrUnknownField)
	}
}

func TestDecodeBase64(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"-_-_Pj8=", "-_-_Pj8", "+/+/Pj8=", "+/+/Pj8"} {
		b, err := DecodeBase64(s)
		if err != nil || !bytes.Equal(b, []byte{0xfb, 0xff, 0xbf, 0x3e, 0x3f}) {
			t.Errorf("DecodeBase64(%q) = %x, %v", s, b, err)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	k := edKey{id: "k1", priv: ed25519.NewKeyFromSeed(make([]byte, 32))}
	env, err := Sign("application/vnd.in-toto+json", []byte(`{"a":"<&>"}`), k)
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"payload":"eyJhIjoiPCY+In0=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"`) {
		t.Errorf("unexpected JSON %s", b)
	}
	back, err := ParseStrict(b)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := Verify(back, []string{"application/vnd.in-toto+json"}, 1, k)
	if err != nil || len(ids) != 1 || ids[0] != "k1" {
		t.Fatalf("Verify = %v, %v", ids, err)
	}
}

func TestVerifyConfigErrors(t *testing.T) {
	t.Parallel()
	k := edKey{id: "k1", priv: ed25519.NewKeyFromSeed(make([]byte, 32))}
	env, _ := Sign("t", nil, k)
	tests := []struct {
		name      string
		threshold int
		vs        []Verifier
		want      error
	}{
		{"zero threshold", 0, []Verifier{k}, nil},
		{"threshold above verifiers", 2, []Verifier{k}, nil},
		{"same key twice", 2, []Verifier{k, k}, ErrDuplicateKey},
		{"empty key id", 1, []Verifier{edKey{priv: k.priv}}, ErrDuplicateKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Verify(env, []string{"t"}, tt.threshold, tt.vs...)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
	env.Signatures = nil
	if _, err := Verify(env, []string{"t"}, 1, k); !errors.Is(err, ErrNoSignatures) {
		t.Fatalf("Verify without signatures: %v", err)
	}
}
