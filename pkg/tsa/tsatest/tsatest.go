// Package tsatest provides a test PKI for time-stamping authorities and a
// fake RFC 3161 TSA whose faults are configurable (slow, wrong imprint,
// wrong nonce, expired or foreign certificate, forged signature). It is for
// tests only.
package tsatest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// OIDTimeStamping is the id-kp-timeStamping extended key usage.
var OIDTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}

// PolicyOID is the policy the fake TSA issues tokens under by default.
var PolicyOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}

// CA is a root certificate and its key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Leaf is a TSA signing certificate, its key and its chain up to the root.
type Leaf struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate // leaf first, root last
}

// NewCA returns a self-signed root valid from notBefore for ten years.
func NewCA(t testing.TB, name string, notBefore time.Time) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notBefore.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	return &CA{Cert: create(t, tmpl, tmpl, key.Public(), key), Key: key}
}

// Issue returns a TSA leaf certificate valid in [notBefore, notAfter] with
// the critical timeStamping EKU.
func (ca *CA) Issue(t testing.TB, name string, notBefore, notAfter time.Time) *Leaf {
	t.Helper()
	key := newKey(t)
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{OIDTimeStamping})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	cert := create(t, tmpl, ca.Cert, key.Public(), ca.Key)
	return &Leaf{Cert: cert, Key: key, Chain: []*x509.Certificate{cert, ca.Cert}}
}

// PEM returns the certificates PEM-encoded, in order.
func PEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func create(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
