package auth

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// JWTConfig verifies workload JWTs offline: signatures against the keys of a
// JWKS file (no discovery, no network), exp/nbf/iat with ClockSkew leeway
// against the injected clock, iss and aud exactly. exp is mandatory.
//
// For a Kubernetes service-account token: Issuer is the cluster's
// service-account issuer, Audience the audience requested in the projected
// volume (e.g. "dossierd"), the JWKS file a copy of the cluster's
// /openid/v1/jwks, and Bindings give roles to subjects such as
// "system:serviceaccount:training:pipeline".
type JWTConfig struct {
	JWKSFile string `json:"jwksFile,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	Audience string `json:"audience,omitempty"`
	// Algorithms allowed; default RS256, ES256, EdDSA. "none" and HMAC
	// algorithms are never allowed.
	Algorithms []string `json:"algorithms,omitempty"`
	// ClockSkew is the leeway for exp, nbf and iat, e.g. "60s"; default 60s.
	ClockSkew Duration `json:"clockSkew,omitzero"`
	// Claim paths ("/" separates nested objects); defaults: "sub" and
	// no name, team or roles claim.
	SubjectClaim string `json:"subjectClaim,omitempty"`
	NameClaim    string `json:"nameClaim,omitempty"`
	TeamClaim    string `json:"teamClaim,omitempty"`
	RolesClaim   string `json:"rolesClaim,omitempty"`
	// Bindings add a name, team and roles to a subject.
	Bindings []JWTBinding `json:"bindings,omitempty"`
}

// JWTBinding gives an authenticated JWT subject a name, a team and roles.
type JWTBinding struct {
	Subject string   `json:"subject"`
	Name    string   `json:"name,omitempty"`
	Team    string   `json:"team,omitempty"`
	Roles   []string `json:"roles"`
}

// Duration is a time.Duration written as a Go duration string ("60s").
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"60s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("duration: %q is not a non-negative duration", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// DefaultClockSkew is the JWT leeway when JWTConfig.ClockSkew is zero.
const DefaultClockSkew = 60 * time.Second

var allowedAlgs = map[string]jose.SignatureAlgorithm{
	"RS256": jose.RS256, "RS384": jose.RS384, "RS512": jose.RS512,
	"PS256": jose.PS256, "ES256": jose.ES256, "ES384": jose.ES384,
	"ES512": jose.ES512, "EdDSA": jose.EdDSA,
}

type jwtAuth struct {
	cfg      JWTConfig
	algs     []jose.SignatureAlgorithm
	keys     jose.JSONWebKeySet
	bindings map[string]JWTBinding
	now      func() time.Time
}

func loadJWT(cfg JWTConfig, now func() time.Time) (*jwtAuth, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, fmt.Errorf("%w: jwt: issuer and audience are required", ErrConfig)
	}
	a := &jwtAuth{cfg: cfg, now: now, bindings: map[string]JWTBinding{}}
	if err := a.setAlgorithms(cfg.Algorithms); err != nil {
		return nil, err
	}
	if err := a.loadKeys(cfg.JWKSFile); err != nil {
		return nil, err
	}
	for i, b := range cfg.Bindings {
		if b.Subject == "" {
			return nil, fmt.Errorf("%w: jwt binding %d: empty subject", ErrConfig, i)
		}
		if err := validRoles(b.Roles); err != nil {
			return nil, fmt.Errorf("jwt binding %d: %w", i, err)
		}
		a.bindings[b.Subject] = b
	}
	if a.cfg.SubjectClaim == "" {
		a.cfg.SubjectClaim = "sub"
	}
	if a.cfg.ClockSkew == 0 {
		a.cfg.ClockSkew = Duration(DefaultClockSkew)
	}
	return a, nil
}

func (a *jwtAuth) setAlgorithms(names []string) error {
	if len(names) == 0 {
		names = []string{"RS256", "ES256", "EdDSA"}
	}
	for _, n := range names {
		alg, ok := allowedAlgs[n]
		if !ok {
			return fmt.Errorf("%w: jwt algorithm %q not allowed (want RS256, RS384, RS512, PS256, ES256, ES384, ES512 or EdDSA)", ErrConfig, n)
		}
		a.algs = append(a.algs, alg)
	}
	return nil
}

// loadKeys keeps the public half of every signing key of the JWKS.
func (a *jwtAuth) loadKeys(path string) error {
	b, err := readLimited(path)
	if err != nil {
		return err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return fmt.Errorf("%w: jwks %s: %v", ErrConfig, path, err)
	}
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if !k.IsPublic() {
			k = k.Public()
		}
		if !k.Valid() {
			continue
		}
		a.keys.Keys = append(a.keys.Keys, k)
	}
	if len(a.keys.Keys) == 0 {
		return fmt.Errorf("%w: jwks %s: no usable signing key", ErrConfig, path)
	}
	return nil
}

func (a *jwtAuth) authenticate(raw string) (*Identity, error) {
	tok, err := jwt.ParseSigned(raw, a.algs)
	if err != nil {
		return nil, fmt.Errorf("%w: jwt: %v", ErrUnauthenticated, err)
	}
	var std jwt.Claims
	var all map[string]any
	if err := tok.Claims(a.verificationKey(tok), &std, &all); err != nil {
		return nil, fmt.Errorf("%w: jwt: %v", ErrUnauthenticated, err)
	}
	if std.Expiry == nil {
		return nil, fmt.Errorf("%w: jwt: no exp claim", ErrUnauthenticated)
	}
	exp := jwt.Expected{Issuer: a.cfg.Issuer, AnyAudience: jwt.Audience{a.cfg.Audience}, Time: a.now()}
	if err := std.ValidateWithLeeway(exp, time.Duration(a.cfg.ClockSkew)); err != nil {
		return nil, fmt.Errorf("%w: jwt: %v", ErrUnauthenticated, err)
	}
	return a.identity(all)
}

// verificationKey selects the key by kid; a token without kid is accepted
// only when the JWKS holds a single key.
func (a *jwtAuth) verificationKey(tok *jwt.JSONWebToken) any {
	if len(tok.Headers) == 1 && tok.Headers[0].KeyID == "" && len(a.keys.Keys) == 1 {
		return a.keys.Keys[0]
	}
	return &a.keys
}

func (a *jwtAuth) identity(claims map[string]any) (*Identity, error) {
	sub, _ := claimPath(claims, a.cfg.SubjectClaim).(string)
	if sub == "" {
		return nil, fmt.Errorf("%w: jwt: no %q claim", ErrUnauthenticated, a.cfg.SubjectClaim)
	}
	id := &Identity{Subject: sub, Method: MethodJWT}
	id.Name, _ = claimPath(claims, a.cfg.NameClaim).(string)
	id.Team, _ = claimPath(claims, a.cfg.TeamClaim).(string)
	if a.cfg.RolesClaim != "" {
		id.Roles = knownRoles(claimPath(claims, a.cfg.RolesClaim))
	}
	if b, ok := a.bindings[sub]; ok {
		id.Name = firstNonEmpty(b.Name, id.Name)
		id.Team = firstNonEmpty(b.Team, id.Team)
		for _, r := range b.Roles {
			if !id.HasRole(r) {
				id.Roles = append(id.Roles, r)
			}
		}
	}
	return id, nil
}

func claimPath(claims map[string]any, path string) any {
	if path == "" {
		return nil
	}
	var v any = claims
	for _, part := range strings.Split(path, "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}

// knownRoles keeps the dossierd roles of a claim that is a string or a list
// of strings; other values in an issuer's role claim are ignored.
func knownRoles(v any) []string {
	var in []string
	switch t := v.(type) {
	case string:
		in = strings.Fields(t)
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				in = append(in, s)
			}
		}
	}
	var out []string
	for _, r := range in {
		if validRoles([]string{r}) == nil {
			out = append(out, r)
		}
	}
	return out
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
