package tsaverify_test

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
)

var data = []byte("audit.example.internal/log\n7\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— audit.example.internal/log AAAA\n")

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second)
	ca := tsatest.NewCA(t, "Root", now.Add(-24*time.Hour))
	leaf := ca.Issue(t, "TSA", now.Add(-time.Hour), now.Add(time.Hour))
	nonce := big.NewInt(42)
	good := tsatest.Token(t, leaf, data, nonce, now, tsatest.OK)
	roots := []*x509.Certificate{ca.Cert}
	tests := []struct {
		name string
		tsr  []byte
		data []byte
		opts tsaverify.Options
		want error
	}{
		{"good", good, data, tsaverify.Options{Roots: roots, Nonce: nonce, Policy: tsatest.PolicyOID}, nil},
		{"other bytes", good, append(bytes.Clone(data), '\n'), tsaverify.Options{Roots: roots}, tsaverify.ErrImprint},
		{"other nonce", good, data, tsaverify.Options{Roots: roots, Nonce: big.NewInt(43)}, tsaverify.ErrNonce},
		{"other policy", good, data, tsaverify.Options{Roots: roots, Policy: asn1.ObjectIdentifier{1, 2, 3}}, tsaverify.ErrPolicy},
		{"no roots", good, data, tsaverify.Options{}, tsaverify.ErrUntrusted},
		{"other root", good, data, tsaverify.Options{Roots: []*x509.Certificate{tsatest.NewCA(t, "Other", now.Add(-time.Hour)).Cert}}, tsaverify.ErrUntrusted},
		{"trust root validity starts after genTime", good, data, tsaverify.Options{Roots: roots, ValidFrom: now.Add(time.Minute)}, tsaverify.ErrValidity},
		{"genTime after the leaf expired", tsatest.Token(t, leaf, data, nonce, now.Add(2*time.Hour), tsatest.OK), data, tsaverify.Options{Roots: roots}, tsaverify.ErrValidity},
		{"accuracy reaches past the leaf's end", tsatest.Token(t, leaf, data, nonce, leaf.Cert.NotAfter, tsatest.OK), data, tsaverify.Options{Roots: roots}, tsaverify.ErrValidity},
		{"forged", tsatest.Token(t, leaf, data, nonce, now, tsatest.Forged), data, tsaverify.Options{Roots: roots}, tsaverify.ErrSignature},
		{"empty", nil, data, tsaverify.Options{Roots: roots}, tsaverify.ErrMalformed},
		{"trailing bytes", append(bytes.Clone(good), 0), data, tsaverify.Options{Roots: roots}, tsaverify.ErrMalformed},
		{"truncated", good[:len(good)/2], data, tsaverify.Options{Roots: roots}, tsaverify.ErrMalformed},
		{"too large", make([]byte, tsaverify.MaxResponseSize+1), data, tsaverify.Options{Roots: roots}, tsaverify.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := tsaverify.Verify(tt.tsr, tt.data, tt.opts)
			if !errors.Is(err, tt.want) || (tt.want != nil && err == nil) {
				t.Fatalf("Verify: got %v, want %v", err, tt.want)
			}
			if tt.want == nil && (!res.GenTime.Equal(now) || !res.Latest().Equal(now.Add(time.Second)) || res.Signer.Subject.CommonName != "TSA") {
				t.Errorf("result %+v, want genTime %v", res, now)
			}
		})
	}
}

// TestOpensslAttime shows the documented by-hand check on a token whose TSA
// certificate has expired since: openssl fails at the current time and
// accepts the token with -attime set to its genTime.
func TestOpensslAttime(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	genTime := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	ca := tsatest.NewCA(t, "Root", genTime.Add(-time.Hour))
	leaf := ca.Issue(t, "TSA", genTime.Add(-time.Hour), genTime.Add(time.Hour))
	dir := t.TempDir()
	files := map[string][]byte{"checkpoint": data, "checkpoint.tsr": tsatest.Token(t, leaf, data, big.NewInt(1), genTime, tsatest.OK),
		"tsa-chain.pem": tsatest.PEM(ca.Cert)}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(extra ...string) ([]byte, error) {
		args := append([]string{"ts", "-verify", "-data", "checkpoint", "-in", "checkpoint.tsr", "-CAfile", "tsa-chain.pem"}, extra...)
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	if out, err := run(); err == nil {
		t.Fatalf("openssl accepted an expired TSA certificate at the current time:\n%s", out)
	}
	if out, err := run("-attime", fmt.Sprint(genTime.Unix())); err != nil || !bytes.Contains(out, []byte("Verification: OK")) {
		t.Fatalf("openssl -attime genTime: %v\n%s", err, out)
	}
}

func FuzzVerify(f *testing.F) {
	now := time.Now()
	ca := tsatest.NewCA(f, "Root", now.Add(-time.Hour))
	leaf := ca.Issue(f, "TSA", now.Add(-time.Hour), now.Add(time.Hour))
	f.Add(tsatest.Token(f, leaf, data, big.NewInt(1), now, tsatest.OK))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	opts := tsaverify.Options{Roots: []*x509.Certificate{ca.Cert}}
	f.Fuzz(func(t *testing.T, tsr []byte) {
		_, _ = tsaverify.Verify(tsr, data, opts) // must not panic
	})
}
