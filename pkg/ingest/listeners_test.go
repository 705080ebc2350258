package ingest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// selfSigned writes a TLS certificate for 127.0.0.1 and returns the files
// and a pool trusting it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dossierd"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	must(t, err)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestSeparateTLSListeners serves ingest and review on two TLS listeners
// and checks that each carries only its own routes.
func TestSeparateTLSListeners(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	cert, key, pool := selfSigned(t, dir)
	cfg.Ingest.TLSCert, cfg.Ingest.TLSKey = cert, key
	cfg.Review = Listener{Addr: "127.0.0.1:0", TLSCert: cert, TLSKey: key, Auth: cfg.Ingest.Auth}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, cfg, Deps{Logger: quietLogger()})
	must(t, err)
	in, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	rev, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, in, rev) }()
	t.Cleanup(func() { cancel(); <-done })
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	ingest, review := "https://"+in.Addr().String(), "https://"+rev.Addr().String()
	call := func(method, url, token string, body []byte) int {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytesReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		must(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	reg := []byte(`{"runId":"` + testRunID + `","project":"p","model":"m","startedAt":"2026-11-27T08:00:00Z"}`)
	cases := []struct {
		name, method, url, token string
		body                     []byte
		want                     int
	}{
		{"register on ingest", "POST", ingest + "/v1/runs", tokProducer, reg, 201},
		{"register not on review", "POST", review + "/v1/runs", tokProducer, reg, 404},
		{"submit on ingest", "POST", ingest + "/v1/runs/" + testRunID + "/records", tokProducer, datasetBody(t, testRunID, 0), 201},
		{"read run on review", "GET", review + "/v1/runs/" + testRunID, tokReviewer, nil, 200},
		{"read run not on ingest", "GET", ingest + "/v1/runs/" + testRunID, tokReviewer, nil, 404},
		{"records on review", "GET", review + "/v1/runs/" + testRunID + "/records", tokReviewer, nil, 200},
		{"checkpoint on both", "GET", ingest + "/v1/checkpoint", tokProducer, nil, 200},
		{"checkpoint on review", "GET", review + "/v1/checkpoint", tokReviewer, nil, 200},
		{"readyz on review", "GET", review + "/readyz", "", nil, 200},
	}
	for _, tc := range cases {
		if got := call(tc.method, tc.url, tc.token, tc.body); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	// Plain HTTP to a TLS listener is not served.
	res, err := http.Get("http://" + in.Addr().String() + "/healthz")
	if err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Fatal("plain HTTP served on a TLS listener")
		}
	}
}

// TestConsoleOnReviewOnly mounts the review console on the review
// listener (keyring configured) and never on the ingest listener.
func TestConsoleOnReviewOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfigIn(t, dir)
	withKeyring(t, &cfg, dir)
	cfg.Review = Listener{Addr: "127.0.0.1:0", Auth: cfg.Ingest.Auth}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, cfg, Deps{Logger: quietLogger()})
	must(t, err)
	in, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	rev, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, in, rev) }()
	t.Cleanup(func() { cancel(); <-done })
	if r := do(t, "GET", "http://"+rev.Addr().String()+"/console/login", "", nil); r.status != 200 {
		t.Fatalf("console on review: %d", r.status)
	}
	if r := do(t, "GET", "http://"+in.Addr().String()+"/console/login", "", nil); r.status != 404 {
		t.Fatalf("console on ingest: %d", r.status)
	}
}
