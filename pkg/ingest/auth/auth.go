// Package auth authenticates the clients of dossierd: pipelines, reviewers,
// exporters and operators.
//
// Three methods are supported, each enabled by its part of Config:
//
//   - bearer tokens listed in a file (only their SHA-256 is stored; see
//     TokenFile);
//   - mTLS client certificates, verified against a client CA bundle and
//     mapped to identities by SAN or subject (see CertRule);
//   - workload JWTs (Kubernetes service-account tokens, an internal OIDC
//     issuer) verified offline against a JWKS file (see JWTConfig).
//
// An Authenticator returns the Identity that dossierd records in receipts.
// Every failure wraps ErrUnauthenticated; the reason is for the operational
// log only and must not be sent to the client. Roles are checked by the
// caller (Identity.HasRole); authentication never grants a role that is not
// configured or asserted by the trusted issuer.
package auth

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Authentication methods, as recorded in Identity.Method.
const (
	MethodToken = "token"
	MethodMTLS  = "mtls"
	MethodJWT   = "jwt"
)

// Roles known to dossierd.
const (
	RoleProducer = "producer"
	RoleReviewer = "reviewer"
	RoleExporter = "exporter"
	RoleOperator = "operator"
)

// ErrUnauthenticated is wrapped by every authentication failure.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrConfig is wrapped by every error in the configuration or in the files
// it names.
var ErrConfig = errors.New("invalid authentication configuration")

// Identity is an authenticated client: a person or a workload.
type Identity struct {
	Subject string   `json:"subject"`
	Name    string   `json:"name,omitempty"`
	Team    string   `json:"team,omitempty"`
	Roles   []string `json:"roles,omitempty"`
	Method  string   `json:"method"`
}

// HasRole reports whether id holds role.
func (id *Identity) HasRole(role string) bool {
	return id != nil && slices.Contains(id.Roles, role)
}

// Authenticator authenticates one HTTP request.
type Authenticator interface {
	Authenticate(r *http.Request) (*Identity, error)
}

// Config enables the authentication methods. A zero part disables its
// method; at least one method must be enabled.
type Config struct {
	// TokensFile is the path of a TokenFile (JSON).
	TokensFile string `json:"tokensFile,omitempty"`
	// ClientCAFile is a PEM bundle of the CAs that issue client
	// certificates; it enables mTLS.
	ClientCAFile string `json:"clientCAFile,omitempty"`
	// Certs maps verified client certificates to identities; the first
	// matching rule wins. A verified certificate no rule matches is refused.
	Certs []CertRule `json:"certs,omitempty"`
	// JWT enables workload JWTs when JWT.JWKSFile is set.
	JWT JWTConfig `json:"jwt,omitzero"`
}

// Load reads the files cfg names and returns an Authenticator that tries,
// in order: a client certificate when the connection presented one, then a
// bearer token from the token file, then a bearer JWT. now is the clock used
// for certificate and token validity.
func Load(cfg Config, now func() time.Time) (Authenticator, error) {
	if now == nil {
		now = time.Now
	}
	m := &multi{now: now}
	var err error
	if cfg.TokensFile != "" {
		if m.tokens, err = loadTokens(cfg.TokensFile, now); err != nil {
			return nil, err
		}
	}
	if cfg.ClientCAFile != "" {
		if m.certs, err = loadCerts(cfg.ClientCAFile, cfg.Certs, now); err != nil {
			return nil, err
		}
	} else if len(cfg.Certs) > 0 {
		return nil, fmt.Errorf("%w: certificate rules without clientCAFile", ErrConfig)
	}
	if cfg.JWT.JWKSFile != "" {
		if m.jwt, err = loadJWT(cfg.JWT, now); err != nil {
			return nil, err
		}
	}
	if m.tokens == nil && m.certs == nil && m.jwt == nil {
		return nil, fmt.Errorf("%w: no authentication method enabled (tokensFile, clientCAFile or jwt.jwksFile)", ErrConfig)
	}
	return m, nil
}

type multi struct {
	now    func() time.Time
	tokens *tokenAuth
	certs  *certAuth
	jwt    *jwtAuth
}

// Authenticate implements Authenticator. A presented client certificate
// that does not verify is a failure even when a bearer credential follows:
// a client never gets a second chance with a weaker method.
func (m *multi) Authenticate(r *http.Request) (*Identity, error) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && m.certs != nil {
		return m.certs.authenticate(r.TLS)
	}
	bearer, ok := bearerToken(r)
	if !ok {
		return nil, fmt.Errorf("%w: no credentials", ErrUnauthenticated)
	}
	if m.tokens != nil {
		if id, ok := m.tokens.lookup(bearer); ok {
			return id, nil
		}
	}
	if m.jwt != nil && strings.Count(bearer, ".") == 2 {
		return m.jwt.authenticate(bearer)
	}
	return nil, fmt.Errorf("%w: unknown bearer token", ErrUnauthenticated)
}

// maxBearer bounds the Authorization header value we look at.
const maxBearer = 16 << 10

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Values("Authorization")
	if len(h) != 1 || len(h[0]) > maxBearer {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func validRoles(roles []string) error {
	for _, r := range roles {
		switch r {
		case RoleProducer, RoleReviewer, RoleExporter, RoleOperator:
		default:
			return fmt.Errorf("%w: unknown role %q (want producer, reviewer, exporter or operator)", ErrConfig, r)
		}
	}
	return nil
}
