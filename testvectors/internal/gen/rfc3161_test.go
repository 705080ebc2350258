package main

import (
	"bytes"
	"crypto/x509"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sigstore/timestamp-authority/v2/pkg/verification"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// TestTokenThirdParty checks the generator's hand-built RFC 3161 tokens
// with sigstore timestamp-authority's verifier and, when installed,
// openssl ts -verify.
func TestTokenThirdParty(t *testing.T) {
	tsa := newTSA("tsa.test", "2026-01-01T00:00:00Z", "2031-01-01T00:00:00Z")
	data := []byte("checkpoint bytes\n")
	spec := tokenSpec{GenTime: utc("2026-11-27T09:03:30Z"), Serial: 7, Nonce: 42}
	tsr := tsa.Token(data, spec)
	opts := verification.VerifyOpts{Roots: []*x509.Certificate{tsa.Root}, Nonce: big.NewInt(42), OID: tsaPolicyOID}
	ts, err := verification.VerifyTimestampResponse(tsr, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("sigstore verification: %v", err)
	}
	if !ts.Time.Equal(spec.GenTime) || ts.Accuracy.Seconds() != 1 {
		t.Errorf("genTime %s accuracy %s", ts.Time, ts.Accuracy)
	}
	if _, err := verification.VerifyTimestampResponse(tsr, bytes.NewReader([]byte("other")), opts); err == nil {
		t.Error("a token verifies over other bytes")
	}
	forged := tsa.Token(data, tokenSpec{GenTime: spec.GenTime, Serial: 7, Nonce: 42, SigMutate: flipLastByte})
	if _, err := verification.VerifyTimestampResponse(forged, bytes.NewReader(data), opts); err == nil {
		t.Error("a forged token verifies")
	}
	expired := newTSA("tsa.expired", "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z")
	if _, err := verification.VerifyTimestampResponse(expired.Token(data, spec), bytes.NewReader(data),
		verification.VerifyOpts{Roots: []*x509.Certificate{expired.Root}}); err == nil {
		t.Error("a token of an expired TSA certificate verifies")
	}
	if _, err := exec.LookPath("openssl"); err != nil {
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
	out, err := exec.Command("openssl", "ts", "-verify", "-data", write("data", data), "-in", write("t.tsr", tsr),
		"-CAfile", write("chain.pem", []byte(tsa.ChainPEM())), "-attime", strconv.FormatInt(spec.GenTime.Unix(), 10)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}
}

func flipLastByte(b []byte) []byte {
	c := append([]byte{}, b...)
	c[len(c)-1] ^= 1
	return c
}

// TestCosignatureThirdParty checks the generator's cosignatures with
// transparency-dev/formats' cosignature/v1 verifier.
func TestCosignatureThirdParty(t *testing.T) {
	w := newEd25519("witness-a")
	log := newEd25519("log")
	cp := log.SignNote(logName, checkpointBody(logName, 3, make([]byte, 32)))
	v, err := fnote.NewVerifierForCosignatureV1(w.CosignatureVKey("witness.example/a"))
	if err != nil {
		t.Fatal(err)
	}
	lv, err := note.NewVerifier(log.NoteVerifierKey(logName))
	if err != nil {
		t.Fatal(err)
	}
	cosigned := append(append([]byte{}, cp...), w.Cosign("witness.example/a", cp, 1795770210, nil)...)
	n, err := note.Open(cosigned, note.VerifierList(lv, v))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("open cosigned note: %v (%d signatures)", err, len(n.Sigs))
	}
	if ts, err := fnote.CoSigV1Timestamp(n.Sigs[1]); err != nil || ts.Unix() != 1795770210 {
		t.Errorf("cosignature time %v, %v", ts, err)
	}
	bad := append(append([]byte{}, cp...), w.Cosign("witness.example/a", cp, 1795770210, flipLastByte)...)
	if _, err := note.Open(bad, note.VerifierList(lv, v)); err == nil {
		t.Error("a forged cosignature verifies")
	}
}
