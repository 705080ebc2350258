package tlog

import (
	"crypto/rand"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// GenerateKey returns a new Ed25519 log key pair named origin, as note
// signer key ("PRIVATE+KEY+<origin>+<hash>+<key>", keep it 0600) and
// verifier key ("<origin>+<hash>+<key>", the vkey auditors pin).
func GenerateKey(origin string) (skey, vkey string, err error) {
	if _, err := tlogproof.ParseCheckpointBody([]byte(origin + "\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")); err != nil {
		return "", "", fmt.Errorf("origin %q: %w", origin, err)
	}
	return note.GenerateKey(rand.Reader, origin)
}

// NewSigner parses a note signer key (surrounding white space ignored).
func NewSigner(skey string) (note.Signer, error) {
	s, err := note.NewSigner(strings.TrimSpace(skey))
	if err != nil {
		return nil, fmt.Errorf("log signer key: %w", err)
	}
	return s, nil
}

// NewVerifier parses a note verifier key (surrounding white space ignored).
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("log verifier key: %w", err)
	}
	return v, nil
}

// Signer signs checkpoints (a note signer: Ed25519 key file, or a KMS-held
// key behind the same interface).
type Signer = note.Signer

// Verifier verifies checkpoint signatures.
type Verifier = note.Verifier
