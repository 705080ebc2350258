package dsse

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"testing"
)

type vectorFile struct {
	Keys map[string]struct {
		Seed   string `json:"seed"`
		Public string `json:"public"`
	} `json:"keys"`
	Vectors []struct {
		ID                    string          `json:"id"`
		Envelope              json.RawMessage `json:"envelope"`
		TrustedKeys           []string        `json:"trustedKeys"`
		Threshold             int             `json:"threshold"`
		SupportedPayloadTypes []string        `json:"supportedPayloadTypes"`
		PAE                   string          `json:"pae"`
		Expect                string          `json:"expect"`
	} `json:"vectors"`
}

// edKey signs and verifies with an Ed25519 key; it is the test's adapter
// from crypto to the two-method interfaces.
type edKey struct {
	id   string
	priv ed25519.PrivateKey
}

func (k edKey) Sign(data []byte) ([]byte, error) { return ed25519.Sign(k.priv, data), nil }
func (k edKey) KeyID() string                    { return k.id }
func (k edKey) Verify(data, sig []byte) error {
	if !ed25519.Verify(k.priv.Public().(ed25519.PublicKey), data, sig) {
		return errors.New("ed25519: invalid signature")
	}
	return nil
}

func loadVectors(t *testing.T) (vectorFile, map[string]edKey) {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	keys := map[string]edKey{}
	for name, k := range vf.Keys {
		seed, _ := hex.DecodeString(k.Seed)
		priv := ed25519.NewKeyFromSeed(seed)
		if got := hex.EncodeToString(priv.Public().(ed25519.PublicKey)); got != k.Public {
			t.Fatalf("key %s: public key %s, want %s", name, got, k.Public)
		}
		keys[name] = edKey{id: name, priv: priv}
	}
	return vf, keys
}

// wantReason names the sentinel each rejected vector must fail with.
var wantReason = map[string]error{
	"payload-type-swapped":        ErrThreshold, // the signature covers the other type
	"empty-payload-type":          ErrPayloadType,
	"threshold-two-one-key-twice": ErrThreshold,
}

func TestVectors(t *testing.T) {
	t.Parallel()
	vf, keys := loadVectors(t)
	if len(vf.Vectors) != 9 {
		t.Fatalf("got %d vectors, want 9", len(vf.Vectors))
	}
	for _, v := range vf.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			t.Parallel()
			env, err := Parse(v.Envelope)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want, _ := hex.DecodeString(v.PAE)
			if v.ID != "payload-type-swapped" && string(PAE(env.PayloadType, env.Payload)) != string(want) {
				t.Errorf("PAE = %x, want %s", PAE(env.PayloadType, env.Payload), v.PAE)
			}
			var vs []Verifier
			for _, name := range v.TrustedKeys {
				vs = append(vs, keys[name])
			}
			_, err = Verify(env, v.SupportedPayloadTypes, v.Threshold, vs...)
			if v.Expect == "accept" {
				if err != nil {
					t.Fatalf("Verify: %v, want accept", err)
				}
				reproduceSignatures(t, env, keys)
				return
			}
			if !errors.Is(err, ErrVerify) || !errors.Is(err, wantReason[v.ID]) {
				t.Fatalf("Verify: %v, want %v", err, wantReason[v.ID])
			}
		})
	}
}

// reproduceSignatures checks that signing our PAE with a vector key gives
// the published signature (Ed25519 is deterministic).
func reproduceSignatures(t *testing.T, env *Envelope, keys map[string]edKey) {
	t.Helper()
	for _, s := range env.Signatures {
		found := false
		for _, k := range keys {
			got, _ := k.Sign(PAE(env.PayloadType, env.Payload))
			found = found || string(got) == string(s.Sig)
		}
		if !found {
			t.Errorf("no vector key reproduces signature %x", s.Sig)
		}
	}
}

type protocolExample struct {
	PayloadType string          `json:"payloadType"`
	Body        string          `json:"body"`
	PAE         string          `json:"pae"`
	Envelope    json.RawMessage `json:"envelope"`
}

// rawECDSA verifies raw r||s P-256/SHA-256 signatures, the encoding of the
// protocol.md example.
type rawECDSA struct{ priv *ecdsa.PrivateKey }

func (k rawECDSA) KeyID() string { return "" }
func (k rawECDSA) Verify(data, sig []byte) error {
	if len(sig) != 64 {
		return errors.New("ecdsa: signature is not 64 bytes")
	}
	h := sha256.Sum256(data)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(&k.priv.PublicKey, h[:], r, s) {
		return errors.New("ecdsa: invalid signature")
	}
	return nil
}

func TestProtocolExample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/protocol-example.json")
	if err != nil {
		t.Fatal(err)
	}
	var ex protocolExample
	var nums struct{ X, Y, D string }
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &nums); err != nil {
		t.Fatal(err)
	}
	if got := string(PAE(ex.PayloadType, []byte(ex.Body))); got != ex.PAE {
		t.Fatalf("PAE = %q, want %q", got, ex.PAE)
	}
	key := exampleKey(t, nums.X, nums.Y, nums.D)
	env, err := Parse(ex.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	if string(env.Payload) != ex.Body || env.PayloadType != ex.PayloadType {
		t.Fatalf("parsed %q %q", env.PayloadType, env.Payload)
	}
	if err := key.Verify(PAE(env.PayloadType, env.Payload), env.Signatures[0].Sig); err != nil {
		t.Fatalf("published signature does not verify over our PAE: %v", err)
	}
	// Go signs deterministically per RFC 6979 when rand is nil.
	h := sha256.Sum256(PAE(ex.PayloadType, []byte(ex.Body)))
	der, err := key.priv.Sign(nil, h[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.StdEncoding.EncodeToString(derToRaw(t, der)); got != base64.StdEncoding.EncodeToString(env.Signatures[0].Sig) {
		t.Errorf("RFC 6979 signature = %s, want the published one", got)
	}
}

func exampleKey(t *testing.T, x, y, d string) rawECDSA {
	t.Helper()
	dec := func(s string) *big.Int {
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("bad number %q", s)
		}
		return n
	}
	priv := &ecdsa.PrivateKey{PublicKey: ecdsa.PublicKey{Curve: elliptic.P256(), X: dec(x), Y: dec(y)}, D: dec(d)}
	return rawECDSA{priv: priv}
}

func derToRaw(t *testing.T, der []byte) []byte {
	t.Helper()
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 64)
	sig.R.FillBytes(raw[:32])
	sig.S.FillBytes(raw[32:])
	return raw
}
