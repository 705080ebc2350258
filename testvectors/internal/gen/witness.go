package main

// C2SP tlog-cosignature v1 (Ed25519 with timestamp, signature type 0x04)
// and tlog-policy text, from the C2SP specifications.

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
)

// witnessKeyID is the first 4 bytes of SHA-256(name || 0x0A || 0x04 || pubkey).
func witnessKeyID(name string, pub []byte) []byte {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0x0A, 0x04})
	h.Write(pub)
	return h.Sum(nil)[:4]
}

// CosignatureVKey is the witness's verifier key for a policy:
// <name>+<8 hex key id>+<base64(0x04 || pubkey)>.
func (k *Key) CosignatureVKey(name string) string {
	return name + "+" + hex.EncodeToString(witnessKeyID(name, k.edPub())) + "+" +
		base64.StdEncoding.EncodeToString(append([]byte{0x04}, k.edPub()...))
}

// noteText is a signed note's text: everything before the blank line that
// separates it from the signatures, with its final newline.
func noteText(note []byte) []byte {
	i := strings.Index(string(note), "\n\n")
	return note[:i+1]
}

// Cosign returns the cosignature line of witness name over the signed
// checkpoint at Unix time t: "— <name> base64(keyid || u64 t || sig)" over
// "cosignature/v1\ntime <t>\n<checkpoint text>".
func (k *Key) Cosign(name string, checkpoint []byte, t int64, mutate func([]byte) []byte) string {
	msg := "cosignature/v1\ntime " + strconv.FormatInt(t, 10) + "\n" + string(noteText(checkpoint))
	sig := ed25519.Sign(k.ed, []byte(msg))
	if mutate != nil {
		sig = mutate(sig)
	}
	raw := append(append(witnessKeyID(name, k.edPub()), binary.BigEndian.AppendUint64(nil, uint64(t))...), sig...)
	return "\u2014 " + name + " " + base64.StdEncoding.EncodeToString(raw) + "\n"
}
