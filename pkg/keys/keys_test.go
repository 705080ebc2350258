package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

var testPassword = []byte("correct horse battery staple")

func staticPass(pw []byte) PassFunc { return func(bool) ([]byte, error) { return pw, nil } }

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, alg := range []Algorithm{ECDSAP256, Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			key, err := Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			privPEM, err := MarshalPrivateKey(key, testPassword)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(privPEM, []byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")) {
				t.Fatalf("private PEM starts %q", privPEM[:40])
			}
			back, err := ParsePrivateKey(privPEM, staticPass(testPassword), false)
			if err != nil {
				t.Fatal(err)
			}
			if Fingerprint(back.Public()) != Fingerprint(key.Public()) {
				t.Fatal("round trip changed the key")
			}
			// sigstore's own reader (what cosign uses) reads our file too.
			cs, err := cryptoutils.UnmarshalPEMToPrivateKey(privPEM, cryptoutils.StaticPasswordFunc(testPassword))
			if err != nil {
				t.Fatalf("cryptoutils cannot read our key: %v", err)
			}
			if err := cryptoutils.EqualKeys(cs.(crypto.Signer).Public(), key.Public()); err != nil {
				t.Fatal(err)
			}
			pubPEM, err := MarshalPublicKey(key.Public())
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKey(pubPEM)
			if err != nil || Fingerprint(pub) != Fingerprint(key.Public()) {
				t.Fatalf("public round trip: %v", err)
			}
		})
	}
}

func TestReadsCosignKey(t *testing.T) {
	t.Parallel()
	// GeneratePEMEncodedECDSAKeyPair is how cosign generate-key-pair makes keys.
	privPEM, pubPEM, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKey(privPEM, staticPass(testPassword), false)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pubPEM)
	if err != nil || Fingerprint(pub) != Fingerprint(priv.Public()) {
		t.Fatalf("cosign key pair: %v", err)
	}
}

func TestParsePrivateKeyRejects(t *testing.T) {
	t.Parallel()
	key, _ := Generate(ECDSAP256)
	enc, _ := MarshalPrivateKey(key, testPassword)
	plain, _ := MarshalPrivateKeyUnencrypted(key)
	block, _ := pem.Decode(enc)
	block.Bytes[len(block.Bytes)/2] ^= 0x55
	corrupt := pem.EncodeToMemory(block)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaPEM, _ := cryptoutils.MarshalPrivateKeyToPEM(rsaKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384PEM, _ := cryptoutils.MarshalPrivateKeyToPEM(p384)
	tests := []struct {
		name  string
		data  []byte
		pass  PassFunc
		allow bool
		want  error
	}{
		{"wrong password", enc, staticPass([]byte("nope")), false, ErrWrongPassword},
		{"empty password", enc, staticPass(nil), false, ErrWrongPassword},
		{"no pass func", enc, nil, false, ErrNoPassword},
		{"corrupt ciphertext", corrupt, staticPass(testPassword), false, ErrWrongPassword},
		{"unencrypted refused", plain, nil, false, ErrUnencrypted},
		{"not PEM", []byte("hello"), nil, false, ErrMalformedKey},
		{"truncated PEM", enc[:len(enc)/2], staticPass(testPassword), false, ErrMalformedKey},
		{"trailing garbage", append(append([]byte{}, enc...), "x"...), staticPass(testPassword), false, ErrMalformedKey},
		{"public key as private", mustPub(t, key), nil, true, ErrMalformedKey},
		{"rsa key", rsaPEM, nil, true, ErrUnsupportedAlgorithm},
		{"p384 key", p384PEM, nil, true, ErrUnsupportedAlgorithm},
		{"too large", bytes.Repeat([]byte{'\n'}, MaxKeyFileSize+1), nil, true, ErrMalformedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePrivateKey(tt.data, tt.pass, tt.allow)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParsePrivateKey: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := ParsePrivateKey(plain, nil, true); err != nil {
		t.Errorf("unencrypted allowed: %v", err)
	}
}

func mustPub(t *testing.T, k crypto.Signer) []byte {
	t.Helper()
	b, err := MarshalPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMarshalPrivateKeyNeedsPassword(t *testing.T) {
	t.Parallel()
	key, _ := Generate(Ed25519)
	if _, err := MarshalPrivateKey(key, nil); !errors.Is(err, ErrNoPassword) {
		t.Fatalf("MarshalPrivateKey(nil password): %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	// The Ed25519 key of RFC 8032 TEST 1; expected value from
	// `openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64`
	// with the padding removed (computed with OpenSSL 3.0).
	pubPEM := []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n")
	pub, err := ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	got := Fingerprint(pub)
	if !strings.HasPrefix(got, "SHA256:") || len(got) != len("SHA256:")+43 || strings.HasSuffix(got, "=") {
		t.Fatalf("Fingerprint = %q", got)
	}
	if want := "SHA256:BuP9j9opu2CrWVV95h7bCuzbIxE0vjDnW0Vfjht5L6k"; got != want {
		t.Errorf("Fingerprint = %q, want %q", got, want)
	}
	if Fingerprint(struct{}{}) != "" {
		t.Error("Fingerprint of a non-key must be empty")
	}
}

func TestLoadSignerAndVerifier(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, _ := Generate(ECDSAP256)
	enc, _ := MarshalPrivateKey(key, testPassword)
	plain, _ := MarshalPrivateKeyUnencrypted(key)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	encPath, plainPath, pubPath := write("k.key", enc), write("plain.key", plain), write("k.pub", mustPub(t, key))
	ctx := context.Background()
	s, err := LoadSigner(ctx, encPath, staticPass(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.SignMessage(strings.NewReader("msg"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := LoadVerifier(ctx, pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifySignature(bytes.NewReader(sig), strings.NewReader("msg")); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if _, err := LoadSigner(ctx, plainPath, nil); !errors.Is(err, ErrUnencrypted) {
		t.Errorf("unencrypted without option: %v", err)
	}
	if _, err := LoadSigner(ctx, plainPath, nil, AllowUnencrypted()); err != nil {
		t.Errorf("unencrypted with option: %v", err)
	}
	if _, err := LoadSigner(ctx, filepath.Join(dir, "missing.key"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadVerifier(ctx, encPath); !errors.Is(err, ErrMalformedKey) {
		t.Errorf("private key as public: %v", err)
	}
}

func TestKMSDispatch(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no sigstore-kms-* plugin can be found
	ctx := context.Background()
	for _, ref := range []string{"nosuchkms://key/1", "pkcs11://slot/2"} {
		if _, err := LoadSigner(ctx, ref, nil); !errors.Is(err, ErrUnknownKMS) || !strings.Contains(err.Error(), "sigstore-kms-") {
			t.Errorf("LoadSigner(%q): %v, want %v naming the plugin", ref, err, ErrUnknownKMS)
		}
		if _, err := LoadVerifier(ctx, ref); !errors.Is(err, ErrUnknownKMS) {
			t.Errorf("LoadVerifier(%q): %v, want %v", ref, err, ErrUnknownKMS)
		}
	}
}

func TestIsKMSRef(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"hashivault://mykey": true, "sigstore-kms-x://a": true, "awskms:///arn": true,
		"keys/k.key": false, "./a://b": false, "/tmp/x://y": false, "://x": false, "k.key": false,
	}
	for ref, want := range tests {
		if got := IsKMSRef(ref); got != want {
			t.Errorf("IsKMSRef(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestPasswordSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	os.WriteFile(file, []byte("from-file\r\nsecond line\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == PasswordEnv {
				return v
			}
			return ""
		}
	}
	answers := func(a ...string) func(string) ([]byte, error) {
		return func(string) ([]byte, error) { s := a[0]; a = a[1:]; return []byte(s), nil }
	}
	tests := []struct {
		name    string
		src     PasswordSource
		confirm bool
		want    string
		err     error
	}{
		{"env wins", PasswordSource{Getenv: env("from-env"), File: file, Prompt: answers("p")}, true, "from-env", nil},
		{"file first line", PasswordSource{Getenv: env(""), File: file}, false, "from-file", nil},
		{"empty file", PasswordSource{File: empty}, false, "", ErrNoPassword},
		{"missing file", PasswordSource{File: filepath.Join(dir, "nope")}, false, "", os.ErrNotExist},
		{"prompt", PasswordSource{Prompt: answers("p1")}, false, "p1", nil},
		{"prompt confirmed", PasswordSource{Prompt: answers("p1", "p1")}, true, "p1", nil},
		{"prompt mismatch", PasswordSource{Prompt: answers("p1", "p2")}, true, "", ErrPasswordMismatch},
		{"no source", PasswordSource{Getenv: env("")}, false, "", ErrNoPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pw, err := tt.src.PassFunc()(tt.confirm)
			if !errors.Is(err, tt.err) || string(pw) != tt.want {
				t.Fatalf("got %q, %v; want %q, %v", pw, err, tt.want, tt.err)
			}
		})
	}
}

func TestParseAlgorithm(t *testing.T) {
	t.Parallel()
	if a, err := ParseAlgorithm("ed25519"); err != nil || a != Ed25519 {
		t.Errorf("ParseAlgorithm(ed25519) = %v, %v", a, err)
	}
	if _, err := ParseAlgorithm("rsa"); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("ParseAlgorithm(rsa): %v", err)
	}
	if _, err := Generate("rsa"); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("Generate(rsa): %v", err)
	}
}
