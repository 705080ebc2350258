package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strconv"
)

// Key is a fixed signing key: Ed25519 from a seed or ECDSA P-256 from a
// fixed scalar, so every signature the generator makes is reproducible
// (Ed25519 is deterministic; ECDSA signs per RFC 6979).
type Key struct {
	Name string
	Alg  string // "ecdsa-p256" or "ed25519"
	ed   ed25519.PrivateKey
	ec   *ecdsa.PrivateKey
	DER  []byte // SubjectPublicKeyInfo
}

// seedBytes derives 32 fixed bytes from a label.
func seedBytes(label string) []byte {
	h := sha256.Sum256([]byte("dossier-testvectors/v1/" + label))
	return h[:]
}

func newEd25519(name string) *Key {
	k := &Key{Name: name, Alg: "ed25519", ed: ed25519.NewKeyFromSeed(seedBytes(name))}
	k.DER = must(x509.MarshalPKIXPublicKey(k.ed.Public()))
	return k
}

func newECDSA(name string) *Key {
	// A scalar derived from the label; the chance that it is 0 or >= n is
	// negligible and ParseRawPrivateKey would report it.
	ec, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seedBytes(name))
	if err != nil {
		panic(err)
	}
	k := &Key{Name: name, Alg: "ecdsa-p256", ec: ec}
	k.DER = must(x509.MarshalPKIXPublicKey(&ec.PublicKey))
	return k
}

// Sign signs msg: Ed25519 over the message, ECDSA P-256 over SHA-256(msg)
// as ASN.1 DER, deterministic per RFC 6979 (crypto/ecdsa with a nil rand).
func (k *Key) Sign(msg []byte) []byte {
	if k.ed != nil {
		return ed25519.Sign(k.ed, msg)
	}
	h := sha256.Sum256(msg)
	return must(k.ec.Sign(nil, h[:], crypto.SHA256))
}

// Fingerprint is SPEC.md's key fingerprint: SHA256: + unpadded standard
// base64 of SHA-256(SubjectPublicKeyInfo DER).
func (k *Key) Fingerprint() string {
	h := sha256.Sum256(k.DER)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(h[:])
}

// PEM is the public key as a PEM "PUBLIC KEY" block.
func (k *Key) PEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.DER}))
}

// edPub is the raw Ed25519 public key.
func (k *Key) edPub() []byte { return []byte(k.ed.Public().(ed25519.PublicKey)) }

// noteKeyID is the C2SP signed-note key id of an Ed25519 key:
// the first 4 bytes of SHA-256(name || 0x0A || 0x01 || pubkey).
func noteKeyID(name string, pub []byte) []byte {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0x0A, 0x01})
	h.Write(pub)
	return h.Sum(nil)[:4]
}

// NoteVerifierKey is <name>+<8 hex key id>+<base64(0x01 || pubkey)>.
func (k *Key) NoteVerifierKey(name string) string {
	return name + "+" + hex.EncodeToString(noteKeyID(name, k.edPub())) + "+" +
		base64.StdEncoding.EncodeToString(append([]byte{0x01}, k.edPub()...))
}

// SignNote signs a note body (which ends in a newline) as a C2SP signed
// note: body, an empty line, then "— <name> <base64(keyid || sig)>".
func (k *Key) SignNote(name string, body []byte) []byte {
	sig := ed25519.Sign(k.ed, body)
	var b bytes.Buffer
	b.Write(body)
	b.WriteString("\n\u2014 " + name + " ")
	b.WriteString(base64.StdEncoding.EncodeToString(append(noteKeyID(name, k.edPub()), sig...)))
	b.WriteString("\n")
	return b.Bytes()
}

// PAE is DSSE v1's pre-authentication encoding.
func PAE(payloadType string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 " + strconv.Itoa(len(payloadType)) + " " + payloadType + " ")
	b.WriteString(strconv.Itoa(len(body)) + " ")
	b.Write(body)
	return b.Bytes()
}

// digestOf is the digest string of b.
func digestOf(b []byte) string { return "sha256:" + hexOf(b) }

func hexOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// cjson is compact JSON from encoding/json without HTML escaping.
func cjson(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// jstr is a JSON string literal.
func jstr(s string) string { return string(cjson(s)) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
