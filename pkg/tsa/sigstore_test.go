package tsa_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/timestamp-authority/v2/pkg/server"
	"github.com/spf13/viper"

	"github.com/dossier-audit/dossier/pkg/tsa"
	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
)

var (
	sigstoreOnce sync.Once
	sigstoreURL  string
	sigstoreStop func()
)

// TestMain stops the shared sigstore TSA after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if sigstoreStop != nil {
		sigstoreStop()
	}
	os.Exit(code)
}

// startSigstoreTSA starts sigstore's timestamp-authority server in-process
// on 127.0.0.1 with its in-memory signer and generated chain (once per test
// binary: its configuration is global viper state). It returns the base URL.
func startSigstoreTSA(t *testing.T) string {
	t.Helper()
	sigstoreOnce.Do(func() {
		viper.Set("timestamp-signer", "memory")
		viper.Set("timestamp-signer-hash", "sha256")
		viper.Set("default-policy-oid", "1.3.6.1.4.1.57264.2")
		viper.Set("accepted-policy-oids", []string{"1.3.6.1.4.1.57264.2"})
		viper.Set("include-chain-in-response", true)
		api := server.NewRestAPIServer("127.0.0.1", 0, []string{"http"}, false, 10*time.Second, 10*time.Second)
		srv := httptest.NewServer(api.GetHandler())
		sigstoreURL, sigstoreStop = srv.URL, srv.Close
	})
	return sigstoreURL
}

// sigstoreChain fetches the TSA chain (leaf first) from the server.
func sigstoreChain(t *testing.T, base string) []byte {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/timestamp/certchain")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	pem, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("certchain: %v %s", err, resp.Status)
	}
	return pem
}

func sigstoreOptions(t *testing.T, chainPEM []byte) tsaverify.Options {
	t.Helper()
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(chainPEM)
	if err != nil || len(certs) < 2 {
		t.Fatalf("chain: %v (%d certificates)", err, len(certs))
	}
	return tsaverify.Options{Roots: certs[len(certs)-1:], Intermediates: certs[1 : len(certs)-1]}
}

func TestSigstoreTimestampAuthority(t *testing.T) {
	base := startSigstoreTSA(t)
	chain := sigstoreChain(t, base)
	c := &tsa.Client{URL: base + "/api/v1/timestamp", Verify: sigstoreOptions(t, chain)}
	start := time.Now().Add(-time.Second)
	st, err := c.Stamp(context.Background(), checkpoint)
	if err != nil {
		t.Fatalf("Stamp: %v", err)
	}
	if st.Result.GenTime.Before(start.Truncate(time.Second)) || st.Result.Accuracy != time.Second {
		t.Errorf("genTime %v accuracy %v", st.Result.GenTime, st.Result.Accuracy)
	}
	t.Run("offline re-verification", func(t *testing.T) {
		if _, err := tsaverify.Verify(st.Response, checkpoint, sigstoreOptions(t, chain)); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	})
	t.Run("other bytes", func(t *testing.T) {
		other := bytes.Replace(checkpoint, []byte("42"), []byte("43"), 1)
		if _, err := tsaverify.Verify(st.Response, other, sigstoreOptions(t, chain)); !errors.Is(err, tsaverify.ErrImprint) {
			t.Fatalf("Verify over other bytes: got %v, want ErrImprint", err)
		}
	})
	t.Run("trust root validity ends before genTime", func(t *testing.T) {
		opts := sigstoreOptions(t, chain)
		opts.ValidUntil = start.Add(-time.Hour)
		if _, err := tsaverify.Verify(st.Response, checkpoint, opts); !errors.Is(err, tsaverify.ErrValidity) {
			t.Fatalf("Verify: got %v, want ErrValidity", err)
		}
	})
	t.Run("policy requested", func(t *testing.T) {
		c := *c
		c.Policy = tsatest.PolicyOID
		if _, err := c.Stamp(context.Background(), checkpoint); err != nil {
			t.Fatalf("Stamp with policy: %v", err)
		}
	})
	t.Run("openssl ts -verify", func(t *testing.T) { opensslVerify(t, st.Response, chain) })
}

// opensslVerify runs the command spec/anchors.md documents:
// openssl ts -verify -data checkpoint -in token.tsr -CAfile chain.pem
func opensslVerify(t *testing.T, tsr, chainPEM []byte) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	data, tok, ca := write("checkpoint", checkpoint), write("token.tsr", tsr), write("chain.pem", chainPEM)
	out, err := exec.Command(bin, "ts", "-verify", "-data", data, "-in", tok, "-CAfile", ca).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("Verification: OK")) {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}
	write("checkpoint", append(bytes.Clone(checkpoint), 'x'))
	if out, err := exec.Command(bin, "ts", "-verify", "-data", data, "-in", tok, "-CAfile", ca).CombinedOutput(); err == nil {
		t.Fatalf("openssl accepted a token over other bytes:\n%s", out)
	}
}
