package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return t0 }

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, b)
}

func writeFile(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newReq(authz string) *http.Request {
	r := httptest.NewRequest("POST", "/v1/runs", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return r
}

func TestTokens(t *testing.T) {
	t.Parallel()
	path := writeJSON(t, TokenFile{Tokens: []TokenEntry{
		{SHA256: HashToken("s3cret-a"), Subject: "pipeline-a", Team: "ml", Roles: []string{RoleProducer}},
		{SHA256: HashToken("s3cret-b"), Subject: "alice", Name: "Alice", Roles: []string{RoleReviewer, RoleExporter}},
	}})
	a, err := Load(Config{TokensFile: path}, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		authz   string
		subject string
		roles   []string
	}{
		{"producer", "Bearer s3cret-a", "pipeline-a", []string{RoleProducer}},
		{"reviewer, lowercase scheme", "bearer s3cret-b", "alice", []string{RoleReviewer, RoleExporter}},
		{"unknown token", "Bearer s3cret-c", "", nil},
		{"digest instead of token", "Bearer " + HashToken("s3cret-a"), "", nil},
		{"basic scheme", "Basic czNjcmV0LWE=", "", nil},
		{"empty bearer", "Bearer ", "", nil},
		{"no header", "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id, err := a.Authenticate(newReq(tc.authz))
			if tc.subject == "" {
				if !errors.Is(err, ErrUnauthenticated) || id != nil {
					t.Fatalf("got %v, %v; want ErrUnauthenticated", id, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != tc.subject || !slices.Equal(id.Roles, tc.roles) || id.Method != MethodToken {
				t.Fatalf("got %+v, want subject %s roles %v", id, tc.subject, tc.roles)
			}
		})
	}
}

func TestTokensConfigErrors(t *testing.T) {
	t.Parallel()
	h := HashToken("x")
	tests := []struct {
		name string
		file string
	}{
		{"uppercase hex", `{"tokens":[{"sha256":"` + upper(h) + `","subject":"a","roles":[]}]}`},
		{"short digest", `{"tokens":[{"sha256":"abcd","subject":"a","roles":[]}]}`},
		{"duplicate", `{"tokens":[{"sha256":"` + h + `","subject":"a","roles":[]},{"sha256":"` + h + `","subject":"b","roles":[]}]}`},
		{"unknown role", `{"tokens":[{"sha256":"` + h + `","subject":"a","roles":["admin"]}]}`},
		{"empty subject", `{"tokens":[{"sha256":"` + h + `","subject":"","roles":[]}]}`},
		{"unknown field", `{"tokens":[{"sha256":"` + h + `","subject":"a","roles":[],"token":"x"}]}`},
		{"duplicate key", `{"tokens":[],"tokens":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(Config{TokensFile: writeFile(t, []byte(tc.file))}, fixedNow)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
	if _, err := Load(Config{}, fixedNow); !errors.Is(err, ErrConfig) {
		t.Fatalf("empty config: got %v, want ErrConfig", err)
	}
	if _, err := Load(Config{TokensFile: "/nonexistent/tokens.json"}, fixedNow); !errors.Is(err, ErrConfig) {
		t.Fatalf("missing file: got %v, want ErrConfig", err)
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// --- certificates ---

type ca struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

func newCA(t *testing.T, name string) *ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             t0.Add(-24 * time.Hour),
		NotAfter:              t0.Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &ca{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (c *ca) issue(t *testing.T, cn string, uri string, eku x509.ExtKeyUsage, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    t0.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{eku},
	}
	if uri != "" {
		u, _ := url.Parse(uri)
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, key.Public(), c.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return leaf
}

func TestMTLS(t *testing.T) {
	t.Parallel()
	good, other := newCA(t, "dossier clients"), newCA(t, "someone else")
	a, err := Load(Config{ClientCAFile: writeFile(t, good.pem), Certs: []CertRule{
		{URI: "spiffe://corp/ns/train/sa/pipeline", Team: "ml", Roles: []string{RoleProducer}},
		{CommonName: "bob", Subject: "bob@corp", Name: "Bob", Roles: []string{RoleReviewer}},
	}}, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	tests := []struct {
		name    string
		leaf    *x509.Certificate
		subject string
	}{
		{"spiffe uri", good.issue(t, "pipeline", "spiffe://corp/ns/train/sa/pipeline", x509.ExtKeyUsageClientAuth, later), "spiffe://corp/ns/train/sa/pipeline"},
		{"common name", good.issue(t, "bob", "", x509.ExtKeyUsageClientAuth, later), "bob@corp"},
		{"other CA", other.issue(t, "bob", "", x509.ExtKeyUsageClientAuth, later), ""},
		{"expired", good.issue(t, "bob", "", x509.ExtKeyUsageClientAuth, t0.Add(-time.Minute)), ""},
		{"server-auth only", good.issue(t, "bob", "", x509.ExtKeyUsageServerAuth, later), ""},
		{"no rule", good.issue(t, "mallory", "", x509.ExtKeyUsageClientAuth, later), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newReq("Bearer whatever")
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{tc.leaf}}
			id, err := a.Authenticate(r)
			if tc.subject == "" {
				if !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("got %+v, %v; want ErrUnauthenticated", id, err)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != tc.subject || id.Method != MethodMTLS || len(id.Roles) != 1 {
				t.Fatalf("got %+v, want subject %s", id, tc.subject)
			}
		})
	}
}

func TestMTLSConfigErrors(t *testing.T) {
	t.Parallel()
	good := newCA(t, "c")
	cases := map[string]Config{
		"two selectors":    {ClientCAFile: writeFile(t, good.pem), Certs: []CertRule{{URI: "a", DNS: "b"}}},
		"no selector":      {ClientCAFile: writeFile(t, good.pem), Certs: []CertRule{{Subject: "x"}}},
		"rules without CA": {Certs: []CertRule{{DNS: "b"}}},
		"not PEM":          {ClientCAFile: writeFile(t, []byte("hello"))},
	}
	for name, cfg := range cases {
		if _, err := Load(cfg, fixedNow); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}

// TestTokensFileReload: revoking a token in the file takes effect without a
// restart; a broken edit keeps the previous tokens.
func TestTokensFileReload(t *testing.T) {
	t.Parallel()
	path := writeJSON(t, TokenFile{Tokens: []TokenEntry{{SHA256: HashToken("old"), Subject: "a", Roles: []string{RoleProducer}}}})
	clock := t0
	a, err := Load(Config{TokensFile: path}, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(newReq("Bearer old")); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(TokenFile{Tokens: []TokenEntry{{SHA256: HashToken("new"), Subject: "b", Roles: []string{RoleProducer}}}})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Second)
	if _, err := a.Authenticate(newReq("Bearer old")); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token: %v, want ErrUnauthenticated", err)
	}
	if id, err := a.Authenticate(newReq("Bearer new")); err != nil || id.Subject != "b" {
		t.Fatalf("new token: %+v, %v", id, err)
	}
	if err := os.WriteFile(path, []byte(`{"tokens":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Second)
	if _, err := a.Authenticate(newReq("Bearer new")); err != nil {
		t.Fatalf("after a broken edit the previous tokens stay: %v", err)
	}
}
