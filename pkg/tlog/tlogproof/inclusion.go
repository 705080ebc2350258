package tlogproof

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// InclusionHeader is the first line of a C2SP tlog-proof.
const InclusionHeader = "c2sp.org/tlog-proof@v1"

// MaxProofHashes bounds the hash lines of any proof (a tree of 2^63 leaves
// needs at most 64).
const MaxProofHashes = 64

// MaxProofSize bounds a whole proof file.
const MaxProofSize = MaxCheckpointSize + 16<<10

// InclusionProof is a C2SP tlog-proof (c2sp.org/tlog-proof@v1). Its
// optional, unauthenticated "extra" line carries the leaf bytes, so that a
// verifier holding only the bundle can rebuild and check the leaf hash.
type InclusionProof struct {
	Index      uint64
	Leaf       []byte // the "extra" data; nil when absent
	Hashes     [][32]byte
	Checkpoint []byte // the signed checkpoint note
}

// Marshal returns the tlog-proof text.
func (p InclusionProof) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(InclusionHeader + "\n")
	if p.Leaf != nil {
		fmt.Fprintf(&b, "extra %s\n", base64.StdEncoding.EncodeToString(p.Leaf))
	}
	fmt.Fprintf(&b, "index %d\n", p.Index)
	writeHashes(&b, p.Hashes)
	b.WriteByte('\n')
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseInclusionProof parses a tlog-proof strictly.
func ParseInclusionProof(b []byte) (InclusionProof, error) {
	head, cp, err := splitProof(b)
	if err != nil {
		return InclusionProof{}, err
	}
	lines := strings.Split(head, "\n")
	if lines[0] != InclusionHeader {
		return InclusionProof{}, fmt.Errorf("%w: first line %q, want %q", ErrMalformedProof, firstLine(lines), InclusionHeader)
	}
	var p InclusionProof
	lines = lines[1:]
	if e, ok := strings.CutPrefix(firstLine(lines), "extra "); ok {
		if p.Leaf, err = base64.StdEncoding.Strict().DecodeString(e); err != nil || len(p.Leaf) > MaxLeafSize {
			return InclusionProof{}, fmt.Errorf("%w: extra line is not base64 of at most %d bytes", ErrMalformedProof, MaxLeafSize)
		}
		lines = lines[1:]
	}
	idx, ok := strings.CutPrefix(firstLine(lines), "index ")
	if !ok {
		return InclusionProof{}, fmt.Errorf("%w: missing index line", ErrMalformedProof)
	}
	if p.Index, err = parseDecimal(idx); err != nil {
		return InclusionProof{}, fmt.Errorf("%w: index: %v", ErrMalformedProof, err)
	}
	if p.Hashes, err = parseHashes(lines[1:]); err != nil {
		return InclusionProof{}, err
	}
	if p.Leaf != nil && len(p.Leaf) == 0 {
		return InclusionProof{}, fmt.Errorf("%w: empty extra line", ErrMalformedProof)
	}
	p.Checkpoint = []byte(cp)
	return p, nil
}

// VerifyInclusion verifies a tlog-proof for leaf with the log verifier v and
// returns the checkpoint it proved the leaf against. leaf may be nil to use
// the leaf carried in the proof's extra line; when both are present they
// must be equal. Verification needs only the proof, the leaf and the key.
func VerifyInclusion(proofText, leaf []byte, v note.Verifier) (*Checkpoint, error) {
	p, err := ParseInclusionProof(proofText)
	if err != nil {
		return nil, err
	}
	switch {
	case leaf == nil && p.Leaf == nil:
		return nil, fmt.Errorf("%w: no leaf given and the proof carries none", ErrMalformedProof)
	case leaf == nil:
		leaf = p.Leaf
	case p.Leaf != nil && !bytes.Equal(leaf, p.Leaf):
		return nil, fmt.Errorf("%w: the proof is for another leaf", ErrLeafMismatch)
	}
	cp, err := VerifyCheckpoint(p.Checkpoint, v)
	if err != nil {
		return nil, err
	}
	if err := CheckInclusion(cp, p.Index, LeafHash(leaf), p.Hashes); err != nil {
		return nil, err
	}
	return cp, nil
}

// VerifyBundleInclusion verifies that the exact bundle bytes are in the log:
// it takes the leaf from the proof, requires that the leaf names the bundle's
// SHA-256, and verifies the proof. It returns the checkpoint and the leaf,
// whose stream, seq and prev are then authenticated by the log.
func VerifyBundleInclusion(proofText, bundle []byte, v note.Verifier) (*Checkpoint, Leaf, error) {
	p, err := ParseInclusionProof(proofText)
	if err != nil {
		return nil, Leaf{}, err
	}
	if p.Leaf == nil {
		return nil, Leaf{}, fmt.Errorf("%w: the proof carries no leaf (extra line)", ErrMalformedProof)
	}
	l, err := ParseLeaf(p.Leaf)
	if err != nil {
		return nil, Leaf{}, err
	}
	if got := Digest(bundle); l.Bundle != got {
		return nil, Leaf{}, fmt.Errorf("%w: leaf names bundle %s, the bundle is %s", ErrLeafMismatch, l.Bundle, got)
	}
	cp, err := VerifyInclusion(proofText, nil, v)
	if err != nil {
		return nil, Leaf{}, err
	}
	return cp, l, nil
}

// CheckInclusion checks that leafHash is at index in the tree of cp.
func CheckInclusion(cp *Checkpoint, index uint64, leafHash [32]byte, hashes [][32]byte) error {
	if index >= cp.Size {
		return fmt.Errorf("%w: index %d is outside a tree of size %d", ErrInclusion, index, cp.Size)
	}
	root, err := proof.RootFromInclusionProof(rfc6962.DefaultHasher, index, cp.Size, leafHash[:], toSlices(hashes))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInclusion, err)
	}
	if !bytes.Equal(root, cp.Root[:]) {
		return fmt.Errorf("%w: %w", ErrInclusion, &RootMismatchError{Size: cp.Size, Got: [32]byte(root), Want: cp.Root})
	}
	return nil
}

// splitProof splits a proof at its first empty line into the proof lines
// and the checkpoint note.
func splitProof(b []byte) (head, cp string, err error) {
	if len(b) > MaxProofSize {
		return "", "", fmt.Errorf("%w: %d bytes, limit %d", ErrMalformedProof, len(b), MaxProofSize)
	}
	head, cp, ok := strings.Cut(string(b), "\n\n")
	if !ok || cp == "" {
		return "", "", fmt.Errorf("%w: no empty line before the checkpoint", ErrMalformedProof)
	}
	return head, cp, nil
}

func parseHashes(lines []string) ([][32]byte, error) {
	if len(lines) > MaxProofHashes {
		return nil, fmt.Errorf("%w: %d hashes, limit %d", ErrMalformedProof, len(lines), MaxProofHashes)
	}
	hashes := make([][32]byte, 0, len(lines))
	for i, l := range lines {
		h, err := decodeHash(l)
		if err != nil {
			return nil, fmt.Errorf("%w: hash %d: %v", ErrMalformedProof, i, err)
		}
		hashes = append(hashes, h)
	}
	return hashes, nil
}

func writeHashes(b *bytes.Buffer, hashes [][32]byte) {
	for _, h := range hashes {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
}

func toSlices(hashes [][32]byte) [][]byte {
	out := make([][]byte, len(hashes))
	for i := range hashes {
		out[i] = hashes[i][:]
	}
	return out
}

func firstLine(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[0]
}
