package console_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/console/consoletest"
	"github.com/dossier-audit/dossier/pkg/ingest/auth"
)

// certs is a test Authenticator for verified client certificates: the
// certificate's subject common name → identity.
type certs map[string]auth.Identity

func (c certs) Authenticate(r *http.Request) (*auth.Identity, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, fmt.Errorf("%w: no certificate", auth.ErrUnauthenticated)
	}
	id, ok := c[r.TLS.PeerCertificates[0].Subject.CommonName]
	if !ok {
		return nil, fmt.Errorf("%w: unknown certificate", auth.ErrUnauthenticated)
	}
	return &id, nil
}

func TestMTLSSession(t *testing.T) {
	t.Parallel()
	b, err := consoletest.New(1, 3, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	h := console.New(b, console.Options{Auth: certs{
		"rita": {Subject: "rita", Roles: []string{auth.RoleReviewer}, Method: auth.MethodMTLS},
		"ci":   {Subject: "ci", Roles: []string{auth.RoleProducer}, Method: auth.MethodMTLS},
	}, Secure: true})
	tests := []struct {
		cn     string
		status int
		cookie bool
	}{
		{"rita", http.StatusOK, true},
		{"ci", http.StatusForbidden, false},
		{"mallory", http.StatusUnauthorized, false},
	}
	for _, tc := range tests {
		t.Run(tc.cn, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/console/queue", nil)
			cert := &x509.Certificate{}
			cert.Subject.CommonName = tc.cn
			req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var cookie *http.Cookie
			for _, c := range rec.Result().Cookies() {
				if c.Name == "dossier_console" {
					cookie = c
				}
			}
			if rec.Code != tc.status || (cookie != nil) != tc.cookie {
				t.Fatalf("status %d, cookie %v; want %d, cookie %t", rec.Code, cookie, tc.status, tc.cookie)
			}
			if cookie != nil && (!cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode) {
				t.Fatalf("cookie %+v: want Secure, HttpOnly, SameSite=Strict", cookie)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	b, err := consoletest.New(1, 3, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	toks := tokens{"reviewer-only": {Subject: "vera", Roles: []string{auth.RoleReviewer}, Method: auth.MethodToken},
		"operator": {Subject: "otto", Roles: []string{auth.RoleOperator}, Method: auth.MethodToken}}
	mux := http.NewServeMux()
	mux.Handle("/console/", console.New(b, console.Options{Auth: toks, Now: c.Now}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	e := &env{srv: srv, b: b, clock: c}
	tests := []struct {
		name, token, path string
		form              url.Values
		want              int
	}{
		{"a reviewer without the exporter role cannot export", "reviewer-only", "/console/exports",
			url.Values{"run": {"run-001"}, "reason": {"x"}, "organisation": {"y"}}, http.StatusForbidden},
		{"an operator cannot upload approvals", "operator", "/console/runs/run-001/approvals", url.Values{}, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl := e.client(t)
			if status, _ := e.signIn(t, cl, tc.token); status != http.StatusOK {
				t.Fatalf("sign-in: %d", status)
			}
			_, page := get(t, cl, srv.URL+"/console/runs")
			tc.form.Set("csrf", csrfOf(t, page))
			if status, _ := post(t, cl, srv.URL+tc.path, tc.form); status != tc.want {
				t.Fatalf("status %d, want %d", status, tc.want)
			}
		})
	}
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, 3)
	c := e.client(t)
	e.signIn(t, c, "rev-token")
	_, page := get(t, c, e.srv.URL+"/console/runs")
	if status, page := post(t, c, e.srv.URL+"/console/logout", url.Values{"csrf": {csrfOf(t, page)}}); status != http.StatusOK || !strings.Contains(page, "API token") {
		t.Fatalf("sign out: %d", status)
	}
	if _, page := get(t, c, e.srv.URL+"/console/runs"); strings.Contains(page, "run-001") {
		t.Fatal("runs shown after signing out")
	}
}
