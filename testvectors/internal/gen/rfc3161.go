package main

// An RFC 3161 time-stamping authority built from the RFCs alone (RFC 3161
// TimeStampResp/TSTInfo, RFC 5652 CMS SignedData with signed attributes,
// RFC 5035 ESS signing-certificate-v2): a test PKI of a root and a TSA
// leaf (critical extended key usage id-kp-timeStamping only), and tokens
// over exact bytes. Deterministic: fixed keys, serials and times, ECDSA
// per RFC 6979.

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"time"
)

var (
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidTimeStamping  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidExtKeyUsage   = asn1.ObjectIdentifier{2, 5, 29, 37}
	tsaPolicyOID     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}
)

// tsaPKI is a TSA: its root and signing certificate and keys.
type tsaPKI struct {
	Name           string
	Root, Leaf     *x509.Certificate
	rootKey, key   *Key
	NotBefore, End time.Time // leaf validity
}

func utc(s string) time.Time { return must(time.Parse(time.RFC3339, s)) }

// newTSA makes a root valid 2026–2036 and a TSA leaf valid [from, until).
func newTSA(name, from, until string) *tsaPKI {
	return newTSARoot(name, from, until, "2036-01-01T00:00:00Z")
}

// newTSARoot is newTSA with the root certificate valid until rootUntil.
func newTSARoot(name, from, until, rootUntil string) *tsaPKI {
	t := &tsaPKI{Name: name, rootKey: newECDSA("tsa-root/" + name), key: newECDSA("tsa-leaf/" + name),
		NotBefore: utc(from), End: utc(until)}
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " root"},
		NotBefore: utc("2026-01-01T00:00:00Z"), NotAfter: utc(rootUntil),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	t.Root = must(x509.ParseCertificate(must(x509.CreateCertificate(nil, rootTmpl, rootTmpl, &t.rootKey.ec.PublicKey, t.rootKey.ec))))
	eku := must(asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping}))
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: t.NotBefore, NotAfter: t.End, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}}}
	t.Leaf = must(x509.ParseCertificate(must(x509.CreateCertificate(nil, leafTmpl, t.Root, &t.key.ec.PublicKey, t.rootKey.ec))))
	return t
}

// ChainPEM is the chain as the trust root lists it: leaf first, root last.
func (t *tsaPKI) ChainPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: t.Leaf.Raw})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: t.Root.Raw}))
}

// tokenSpec says what a token states.
type tokenSpec struct {
	GenTime   time.Time
	Serial    int64
	Nonce     int64
	SigMutate func([]byte) []byte // alter the CMS signature (a forged token)
}

// der encodes one TLV with a DER length.
func der(tag byte, content ...[]byte) []byte {
	var body []byte
	for _, c := range content {
		body = append(body, c...)
	}
	n := len(body)
	var length []byte
	switch {
	case n < 0x80:
		length = []byte{byte(n)}
	case n < 0x100:
		length = []byte{0x81, byte(n)}
	case n < 0x10000:
		length = []byte{0x82, byte(n >> 8), byte(n)}
	default:
		length = []byte{0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return append(append([]byte{tag}, length...), body...)
}

func seq(content ...[]byte) []byte { return der(0x30, content...) }
func set(content ...[]byte) []byte { return der(0x31, content...) }
func mder(v any) []byte            { return must(asn1.Marshal(v)) }

func algSHA256() []byte { return seq(mder(oidSHA256)) }

// tstInfo is the DER TSTInfo over data.
func (t *tsaPKI) tstInfo(data []byte, s tokenSpec) []byte {
	h := sha256.Sum256(data)
	return seq(
		mder(1),
		mder(tsaPolicyOID),
		seq(seq(mder(oidSHA256), []byte{0x05, 0x00}), mder(h[:])),
		mder(big.NewInt(s.Serial)),
		mder(asn1.RawValue{Tag: asn1.TagGeneralizedTime, Bytes: []byte(s.GenTime.UTC().Format("20060102150405Z"))}),
		seq(mder(1)), // accuracy: 1 second
		mder(big.NewInt(s.Nonce)),
	)
}

func attr(oid asn1.ObjectIdentifier, value []byte) []byte { return seq(mder(oid), set(value)) }

// signedAttrs are the CMS signed attributes (content type, message digest,
// ESS signing-certificate-v2 naming the leaf), DER-sorted as a SET OF.
func (t *tsaPKI) signedAttrs(tst []byte) []byte {
	h := sha256.Sum256(tst)
	ch := sha256.Sum256(t.Leaf.Raw)
	// ESSCertIDv2 with the default hash algorithm (SHA-256) omitted.
	essV2 := seq(seq(seq(mder(ch[:]))))
	attrs := [][]byte{attr(oidContentType, mder(oidTSTInfo)), attr(oidMessageDigest, mder(h[:])), attr(oidSigningCertV2, essV2)}
	sortDER(attrs)
	return set(attrs...)
}

func sortDER(xs [][]byte) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && string(xs[j]) < string(xs[j-1]); j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// Token is a granted TimeStampResp over data.
func (t *tsaPKI) Token(data []byte, s tokenSpec) []byte {
	tst := t.tstInfo(data, s)
	sa := t.signedAttrs(tst)
	sig := t.key.Sign(sa) // ECDSA P-256 over SHA-256 of the SET OF encoding
	if s.SigMutate != nil {
		sig = s.SigMutate(sig)
	}
	implicitAttrs := append([]byte{0xA0}, sa[1:]...) // [0] IMPLICIT SET OF
	signerInfo := seq(
		mder(1),
		seq(t.Leaf.RawIssuer, mder(t.Leaf.SerialNumber)),
		algSHA256(),
		implicitAttrs,
		seq(mder(oidECDSASHA256)),
		mder(sig),
	)
	signedData := seq(
		mder(3),
		set(algSHA256()),
		seq(mder(oidTSTInfo), der(0xA0, mder(tst))),
		der(0xA0, t.Leaf.Raw, t.Root.Raw), // certificates [0] IMPLICIT
		set(signerInfo),
	)
	contentInfo := seq(mder(oidSignedData), der(0xA0, signedData))
	return seq(seq(mder(0)), contentInfo)
}
