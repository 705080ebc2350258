package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestMTLSOverRealTLS runs a TLS server that asks for client certificates
// (VerifyClientCertIfGiven with the pool ClientCAPool reads) and
// authenticates each request: a certificate of the client CA maps to its
// identity, a certificate of another CA is refused by the handshake or by
// Authenticate, and no certificate falls back to bearer tokens.
func TestMTLSOverRealTLS(t *testing.T) {
	t.Parallel()
	good, other := newCA(t, "clients"), newCA(t, "other")
	caFile := writeFile(t, good.pem)
	a, err := Load(Config{ClientCAFile: caFile, Certs: []CertRule{{CommonName: "pipeline", Roles: []string{RoleProducer}}},
		TokensFile: writeJSON(t, TokenFile{Tokens: []TokenEntry{{SHA256: HashToken("tok"), Subject: "token-user", Roles: []string{RoleReviewer}}}})}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := ClientCAPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Authenticate(r)
		if err != nil {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(id.Method + " " + id.Subject))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()

	get := func(cert *tls.Certificate, token string) (string, error) {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		if cert != nil {
			// Always present it, even when the server's acceptable CAs
			// do not list its issuer (a stock client would then send none).
			tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b := make([]byte, 100)
		n, _ := resp.Body.Read(b)
		if resp.StatusCode != 200 {
			return "", errors.New(resp.Status)
		}
		return string(b[:n]), nil
	}
	if got, err := get(clientCert(t, good, "pipeline"), ""); err != nil || got != "mtls pipeline" {
		t.Fatalf("client CA certificate: %q, %v", got, err)
	}
	if got, err := get(clientCert(t, other, "pipeline"), "tok"); err == nil {
		t.Fatalf("certificate of another CA accepted: %q", got)
	}
	// A server that does not verify client certificates itself: the
	// Authenticator still refuses the foreign certificate, even with a
	// valid token beside it.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer tok")
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{mustParse(t, clientCert(t, other, "pipeline"))}}
	if _, err := a.Authenticate(r); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("foreign certificate with a token: %v, want ErrUnauthenticated", err)
	}
	if got, err := get(nil, "tok"); err != nil || got != "token token-user" {
		t.Fatalf("no certificate, token: %q, %v", got, err)
	}
}

func clientCert(t *testing.T, ca *ca, cn string) *tls.Certificate {
	t.Helper()
	leaf := ca.issue(t, cn, "", x509.ExtKeyUsageClientAuth, time.Now().Add(time.Hour))
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := *leaf
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.PublicKey = nil
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func mustParse(t *testing.T, c *tls.Certificate) *x509.Certificate {
	t.Helper()
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x
}
