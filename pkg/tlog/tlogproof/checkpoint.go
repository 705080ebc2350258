package tlogproof

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// MaxCheckpointSize bounds a signed checkpoint note (C2SP signed-note
// verifiers must accept 16 signatures; ML-DSA cosignatures are ~3.3 KB).
const MaxCheckpointSize = 64 << 10

// Checkpoint is a verified C2SP tlog-checkpoint: the log origin (equal to
// the log key's name), the tree size and the RFC 6962 root hash.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   [32]byte
	// Raw is the whole signed note exactly as verified.
	Raw []byte
}

// Body returns the unsigned checkpoint text "<origin>\n<size>\n<root b64>\n".
func (c Checkpoint) Body() []byte { return FormatCheckpointBody(c.Origin, c.Size, c.Root) }

// FormatCheckpointBody returns the C2SP checkpoint body for the given tree.
func FormatCheckpointBody(origin string, size uint64, root [32]byte) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
}

// ParseCheckpointBody parses the unsigned body strictly: origin, decimal
// size without leading zeros, base64 of exactly 32 bytes, and no extension
// lines (this log never writes any).
func ParseCheckpointBody(text []byte) (Checkpoint, error) {
	lines := strings.Split(string(text), "\n")
	if len(lines) != 4 || lines[3] != "" {
		return Checkpoint{}, fmt.Errorf("%w: want 3 lines (origin, size, root), got %d", ErrMalformedCheckpoint, len(lines)-1)
	}
	if lines[0] == "" || strings.ContainsAny(lines[0], " +") {
		return Checkpoint{}, fmt.Errorf("%w: origin %q", ErrMalformedCheckpoint, lines[0])
	}
	size, err := parseDecimal(lines[1])
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: size: %v", ErrMalformedCheckpoint, err)
	}
	root, err := decodeHash(lines[2])
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: root: %v", ErrMalformedCheckpoint, err)
	}
	return Checkpoint{Origin: lines[0], Size: size, Root: root}, nil
}

// VerifyCheckpoint opens the signed note raw with the log verifier v and
// parses its body. The origin must equal v.Name() (the C2SP convention:
// the log key is named after the log). Signatures by other keys (witnesses)
// are ignored; at least one valid signature by v is required.
func VerifyCheckpoint(raw []byte, v note.Verifier) (*Checkpoint, error) {
	if len(raw) > MaxCheckpointSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformedCheckpoint, len(raw), MaxCheckpointSize)
	}
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return nil, fmt.Errorf("%w: want a signature by %s+%08x: %v", ErrCheckpointSignature, v.Name(), v.KeyHash(), err)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformedCheckpoint, err)
	}
	c, err := ParseCheckpointBody([]byte(n.Text))
	if err != nil {
		return nil, err
	}
	if c.Origin != v.Name() {
		return nil, fmt.Errorf("%w: got %q, want %q", ErrOrigin, c.Origin, v.Name())
	}
	c.Raw = bytes.Clone(raw)
	return &c, nil
}

func decodeHash(s string) ([32]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 32 {
		return [32]byte{}, fmt.Errorf("%q is not the base64 of 32 bytes", s)
	}
	return [32]byte(b), nil
}
