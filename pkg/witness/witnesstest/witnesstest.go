// Package witnesstest builds signed test logs and witness keys for tests of
// witnesses and cosignature verification. It is for tests only.
package witnesstest

import (
	"crypto/rand"
	"fmt"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"

	"github.com/dossier-audit/dossier/pkg/tlog/tlogproof"
)

// Log is an in-memory RFC 6962 tree with an Ed25519 log key.
type Log struct {
	Origin   string
	VKey     string
	Signer   note.Signer
	Verifier note.Verifier
	Tree     *testonly.Tree
}

// NewLog returns a log named origin with size leaves "<prefix><i>".
func NewLog(t testing.TB, origin, prefix string, size int) *Log {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	l := &Log{Origin: origin, VKey: vkey, Tree: testonly.New(rfc6962.DefaultHasher)}
	if l.Signer, err = note.NewSigner(skey); err != nil {
		t.Fatal(err)
	}
	if l.Verifier, err = note.NewVerifier(vkey); err != nil {
		t.Fatal(err)
	}
	l.Grow(prefix, size)
	return l
}

// Grow appends n leaves "<prefix><i>".
func (l *Log) Grow(prefix string, n int) {
	for i := 0; i < n; i++ {
		l.Tree.AppendData([]byte(fmt.Sprintf("%s%d", prefix, l.Tree.Size())))
	}
}

// Checkpoint returns the log-signed checkpoint of the tree at size.
func (l *Log) Checkpoint(t testing.TB, size uint64) []byte {
	t.Helper()
	return l.SignWith(t, l.Signer, size)
}

// SignWith signs the checkpoint of size with another signer (for forgeries).
func (l *Log) SignWith(t testing.TB, s note.Signer, size uint64) []byte {
	t.Helper()
	body := tlogproof.FormatCheckpointBody(l.Origin, size, [32]byte(l.Tree.HashAt(size)))
	b, err := note.Sign(&note.Note{Text: string(body)}, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Proof returns the consistency proof from old to size.
func (l *Log) Proof(t testing.TB, old, size uint64) [][32]byte {
	t.Helper()
	p, err := l.Tree.ConsistencyProof(old, size)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][32]byte, len(p))
	for i, h := range p {
		out[i] = [32]byte(h)
	}
	return out
}

// WitnessKey is a witness's cosigning key pair.
type WitnessKey struct {
	Name   string
	SKey   string      // note signer key (Ed25519, type 0x01 encoding)
	VKey   string      // cosignature/v1 verifier key (type 0x04), for policies
	Signer note.Signer // tlog-cosignature/v1 signer
}

// NewWitnessKey generates a witness key named name.
func NewWitnessKey(t testing.TB, name string) *WitnessKey {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	w := &WitnessKey{Name: name, SKey: skey}
	if w.VKey, err = fnote.VKeyToCosignatureV1(vkey); err != nil {
		t.Fatal(err)
	}
	if w.Signer, err = fnote.NewSignerForCosignatureV1(skey); err != nil {
		t.Fatal(err)
	}
	return w
}

// Cosign returns checkpoint with a cosignature by w appended.
func (w *WitnessKey) Cosign(t testing.TB, checkpoint []byte) []byte {
	t.Helper()
	text, _, ok := cut(checkpoint)
	if !ok {
		t.Fatalf("cosign: not a signed note: %q", checkpoint)
	}
	signed, err := note.Sign(&note.Note{Text: string(text)}, w.Signer)
	if err != nil {
		t.Fatal(err)
	}
	_, sig, _ := cut(signed)
	return append(append([]byte{}, checkpoint...), sig...)
}

func cut(b []byte) ([]byte, []byte, bool) {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\n' && b[i+1] == '\n' {
			return b[:i+1], b[i+2:], true
		}
	}
	return b, nil, false
}
