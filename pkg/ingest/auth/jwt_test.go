package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

type signingKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func jwks(t *testing.T, keys ...signingKey) string {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.key.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	}
	return writeJSON(t, set)
}

func mint(t *testing.T, k signingKey, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if k.kid != "" {
		opts = opts.WithHeader("kid", k.kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func baseClaims() map[string]any {
	return map[string]any{
		"iss": "https://kubernetes.default.svc", "aud": []string{"dossierd"},
		"sub": "system:serviceaccount:training:pipeline",
		"exp": t0.Add(time.Hour).Unix(), "iat": t0.Add(-time.Minute).Unix(), "nbf": t0.Add(-time.Minute).Unix(),
		"ext": map[string]any{"team": "ml", "roles": []any{"producer", "admin"}},
	}
}

func with(k string, v any) map[string]any {
	c := baseClaims()
	if v == nil {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

func TestJWT(t *testing.T) {
	t.Parallel()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	forger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs := signingKey{"rsa-1", jose.RS256, rsaKey}
	es := signingKey{"ec-1", jose.ES256, ecKey}
	ed := signingKey{"ed-1", jose.EdDSA, edKey}
	forged := signingKey{"ec-1", jose.ES256, forger}
	unknownKid := signingKey{"ec-9", jose.ES256, ecKey}

	a, err := Load(Config{JWT: JWTConfig{
		JWKSFile: jwks(t, rs, es, ed), Issuer: "https://kubernetes.default.svc", Audience: "dossierd",
		TeamClaim: "ext/team", RolesClaim: "ext/roles",
		Bindings: []JWTBinding{{Subject: "system:serviceaccount:training:pipeline", Name: "training pipeline", Roles: []string{RoleOperator}}},
	}}, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tok  string
		ok   bool
	}{
		{"RS256", mint(t, rs, baseClaims()), true},
		{"ES256", mint(t, es, baseClaims()), true},
		{"EdDSA", mint(t, ed, baseClaims()), true},
		{"within skew after exp", mint(t, es, with("exp", t0.Add(-30*time.Second).Unix())), true},
		{"forged signature, known kid", mint(t, forged, baseClaims()), false},
		{"unknown kid", mint(t, unknownKid, baseClaims()), false},
		{"HS256 with the public key as secret", hmacToken(t, "ec-1", ecKey), false},
		{"expired", mint(t, es, with("exp", t0.Add(-2*time.Minute).Unix())), false},
		{"no exp", mint(t, es, with("exp", nil)), false},
		{"not yet valid", mint(t, es, with("nbf", t0.Add(10*time.Minute).Unix())), false},
		{"issued in the future", mint(t, es, with("iat", t0.Add(10*time.Minute).Unix())), false},
		{"wrong audience", mint(t, es, with("aud", "someone-else")), false},
		{"wrong issuer", mint(t, es, with("iss", "https://evil")), false},
		{"no subject", mint(t, es, with("sub", nil)), false},
		{"alg none", noneToken(t), false},
		{"garbage", "a.b.c", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id, err := a.Authenticate(newReq("Bearer " + tc.tok))
			if !tc.ok {
				if !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("got %+v, %v; want ErrUnauthenticated", id, err)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Identity{Subject: "system:serviceaccount:training:pipeline", Name: "training pipeline", Team: "ml",
				Roles: []string{RoleProducer, RoleOperator}, Method: MethodJWT}
			if id.Subject != want.Subject || id.Name != want.Name || id.Team != want.Team || id.Method != want.Method || !slices.Equal(id.Roles, want.Roles) {
				t.Fatalf("got %+v, want %+v", id, want)
			}
		})
	}
}

// hmacToken signs with HS256, using the DER public key as the secret (the
// classic algorithm-confusion attack).
func hmacToken(t *testing.T, kid string, k *ecdsa.PrivateKey) string {
	t.Helper()
	secret := elliptic.MarshalCompressed(k.Curve, k.X, k.Y)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, (&jose.SignerOptions{}).WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(baseClaims()).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// noneToken is a token with alg "none" and no signature.
func noneToken(t *testing.T) string {
	return "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0."
}

func TestJWTSingleKeyWithoutKid(t *testing.T) {
	t.Parallel()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k := signingKey{"", jose.ES256, ecKey}
	a, err := Load(Config{JWT: JWTConfig{JWKSFile: jwks(t, k), Issuer: "https://kubernetes.default.svc", Audience: "dossierd"}}, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Authenticate(newReq("Bearer " + mint(t, k, baseClaims())))
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Roles) != 0 {
		t.Fatalf("roles %v without roles claim or binding, want none", id.Roles)
	}
}

func TestJWTConfigErrors(t *testing.T) {
	t.Parallel()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set := jwks(t, signingKey{"k", jose.ES256, ecKey})
	cases := map[string]JWTConfig{
		"no issuer":    {JWKSFile: set, Audience: "a"},
		"no audience":  {JWKSFile: set, Issuer: "i"},
		"HS256":        {JWKSFile: set, Issuer: "i", Audience: "a", Algorithms: []string{"HS256"}},
		"none":         {JWKSFile: set, Issuer: "i", Audience: "a", Algorithms: []string{"none"}},
		"empty jwks":   {JWKSFile: writeFile(t, []byte(`{"keys":[]}`)), Issuer: "i", Audience: "a"},
		"bad jwks":     {JWKSFile: writeFile(t, []byte(`{`)), Issuer: "i", Audience: "a"},
		"binding role": {JWKSFile: set, Issuer: "i", Audience: "a", Bindings: []JWTBinding{{Subject: "s", Roles: []string{"root"}}}},
	}
	for name, cfg := range cases {
		if _, err := Load(Config{JWT: cfg}, fixedNow); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}

func TestTokenBeforeJWT(t *testing.T) {
	t.Parallel()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tokens := writeJSON(t, TokenFile{Tokens: []TokenEntry{{SHA256: HashToken("a.b.c"), Subject: "dotted", Roles: []string{RoleProducer}}}})
	a, err := Load(Config{TokensFile: tokens, JWT: JWTConfig{JWKSFile: jwks(t, signingKey{"k", jose.ES256, ecKey}), Issuer: "i", Audience: "a"}}, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Authenticate(newReq("Bearer a.b.c"))
	if err != nil || id.Subject != "dotted" || id.Method != MethodToken {
		t.Fatalf("got %+v, %v; want the token identity", id, err)
	}
}

// TestKubernetesServiceAccountToken: a projected service-account token
// (nested kubernetes.io claims, audience list, no roles claim) gets its
// name from a nested claim and its roles from a subject binding.
func TestKubernetesServiceAccountToken(t *testing.T) {
	t.Parallel()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	k := signingKey{"k8s-1", jose.RS256, key}
	sub := "system:serviceaccount:training:llama-ft"
	a, err := Load(Config{JWT: JWTConfig{JWKSFile: jwks(t, k), Issuer: "https://kubernetes.default.svc.cluster.local",
		Audience: "dossierd", NameClaim: "kubernetes.io/serviceaccount/name", TeamClaim: "kubernetes.io/namespace",
		Bindings: []JWTBinding{{Subject: sub, Roles: []string{RoleProducer}}}}}, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	tok := mint(t, k, map[string]any{"iss": "https://kubernetes.default.svc.cluster.local", "aud": []string{"dossierd", "vault"},
		"sub": sub, "exp": t0.Add(10 * time.Minute).Unix(), "iat": t0.Unix(), "nbf": t0.Unix(),
		"kubernetes.io": map[string]any{"namespace": "training", "serviceaccount": map[string]any{"name": "llama-ft", "uid": "0c5f"}}})
	id, err := a.Authenticate(newReq("Bearer " + tok))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != sub || id.Name != "llama-ft" || id.Team != "training" || !id.HasRole(RoleProducer) || id.HasRole(RoleReviewer) {
		t.Fatalf("identity %+v", id)
	}
}
