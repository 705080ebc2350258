package tlogproof

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// LeafHeader is the first line of every version 1 leaf.
const LeafHeader = "dossier.dev/leaf/v1"

// MaxLeafSize bounds a leaf; a valid v1 leaf is far smaller (about 250 bytes).
const MaxLeafSize = 1024

// Leaf is one log entry: it binds the SHA-256 of the exact bundle bytes to
// the stream the record belongs to, its sequence number in that stream and
// the digest of the stream's previous record.
type Leaf struct {
	Bundle string // "sha256:<64 lowercase hex>" of the bundle bytes
	Stream string // run root digest "sha256:<hex>" or a log-scoped name
	Seq    uint64 // 0 for the first record of a stream
	Prev   string // digest of the record with Seq-1; "" when Seq == 0
}

// Marshal returns the canonical leaf text:
//
//	dossier.dev/leaf/v1
//	bundle sha256:<hex>
//	stream <stream>
//	seq <n>
//	prev sha256:<hex>|-
func (l Leaf) Marshal() []byte {
	prev := l.Prev
	if prev == "" {
		prev = "-"
	}
	b := make([]byte, 0, 64+len(l.Bundle)+len(l.Stream)+len(prev))
	b = append(b, LeafHeader+"\nbundle "...)
	b = append(b, l.Bundle...)
	b = append(b, "\nstream "...)
	b = append(b, l.Stream...)
	b = append(b, "\nseq "...)
	b = strconv.AppendUint(b, l.Seq, 10)
	b = append(b, "\nprev "...)
	b = append(b, prev...)
	return append(b, '\n')
}

// Hash returns the RFC 6962 leaf hash SHA-256(0x00 || leaf).
func (l Leaf) Hash() [32]byte { return LeafHash(l.Marshal()) }

// LeafHash returns the RFC 6962 leaf hash of raw leaf bytes.
func LeafHash(leaf []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(leaf)
	return [32]byte(h.Sum(nil))
}

// Validate checks every field against the v1 rules.
func (l Leaf) Validate() error {
	if err := ValidateDigest(l.Bundle); err != nil {
		return fmt.Errorf("%w: bundle: %v", ErrMalformedLeaf, err)
	}
	if err := ValidateStream(l.Stream); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedLeaf, err)
	}
	switch {
	case l.Seq == 0 && l.Prev != "":
		return fmt.Errorf("%w: seq 0 has prev %q, want -", ErrMalformedLeaf, l.Prev)
	case l.Seq > 0 && ValidateDigest(l.Prev) != nil:
		return fmt.Errorf("%w: seq %d needs a prev digest, got %q", ErrMalformedLeaf, l.Seq, l.Prev)
	}
	return nil
}

// ParseLeaf parses the canonical leaf text strictly: the exact line order,
// no extra bytes, decimal seq without leading zeros. It re-marshals the
// result and requires identical bytes, so one leaf has one encoding.
func ParseLeaf(b []byte) (Leaf, error) {
	if len(b) > MaxLeafSize {
		return Leaf{}, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformedLeaf, len(b), MaxLeafSize)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) != 6 || lines[5] != "" || lines[0] != LeafHeader {
		return Leaf{}, fmt.Errorf("%w: want 5 lines starting with %q", ErrMalformedLeaf, LeafHeader)
	}
	var f [4]string
	for i, key := range []string{"bundle ", "stream ", "seq ", "prev "} {
		v, ok := strings.CutPrefix(lines[i+1], key)
		if !ok {
			return Leaf{}, fmt.Errorf("%w: line %d: want %q", ErrMalformedLeaf, i+2, strings.TrimSpace(key))
		}
		f[i] = v
	}
	seq, err := parseDecimal(f[2])
	if err != nil {
		return Leaf{}, fmt.Errorf("%w: seq: %v", ErrMalformedLeaf, err)
	}
	l := Leaf{Bundle: f[0], Stream: f[1], Seq: seq, Prev: f[3]}
	if l.Prev == "-" {
		l.Prev = ""
	}
	if err := l.Validate(); err != nil {
		return Leaf{}, err
	}
	if !bytes.Equal(l.Marshal(), b) {
		return Leaf{}, fmt.Errorf("%w: not in canonical form", ErrMalformedLeaf)
	}
	return l, nil
}

// Digest returns "sha256:<hex>" of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ValidateDigest checks the "sha256:<64 lowercase hex>" form.
func ValidateDigest(d string) error {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 {
		return fmt.Errorf("digest %q: want sha256:<64 lowercase hex>", d)
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("digest %q: want sha256:<64 lowercase hex>", d)
		}
	}
	return nil
}

// ValidateStream checks a stream name: a run root digest "sha256:<hex>",
// or a log-scoped name of 1 to 64 characters from [a-z0-9-] starting with a
// letter (e.g. "time-evidence", "keyring", "export").
func ValidateStream(s string) error {
	if strings.HasPrefix(s, "sha256:") {
		if err := ValidateDigest(s); err != nil {
			return fmt.Errorf("stream: %v", err)
		}
		return nil
	}
	if len(s) == 0 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return fmt.Errorf("stream %q: want sha256:<hex> or [a-z][a-z0-9-]{0,63}", s)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("stream %q: want sha256:<hex> or [a-z][a-z0-9-]{0,63}", s)
		}
	}
	return nil
}

// parseDecimal parses an unsigned decimal with no sign and no leading zeros.
func parseDecimal(s string) (uint64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || s[0] == '+' {
		return 0, fmt.Errorf("%q is not a canonical decimal", s)
	}
	return strconv.ParseUint(s, 10, 64)
}
