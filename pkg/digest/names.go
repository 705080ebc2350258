package digest

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// SaltSize is the size of the salt Hash draws for HashNames.
const SaltSize = 32

// minSaltSize is the smallest salt accepted from a caller.
const minSaltSize = 16

const saltCheckInput = "dossier salt check"

// checkName refuses names that JSON or the tree digest lines could not carry
// faithfully.
func checkName(name string) error {
	if !utf8.ValidString(name) || strings.ContainsAny(name, "\n\r") {
		return fmt.Errorf("%w: %q is not valid UTF-8 without newlines", ErrBadName, name)
	}
	return nil
}

// HashName returns hex(HMAC-SHA256(salt, name)), the digest that replaces
// name in a manifest with hashed names.
func HashName(salt []byte, name string) string {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(name))
	return hex.EncodeToString(m.Sum(nil))
}

// SaltCheck returns the value recorded as a manifest's saltCheck for salt.
func SaltCheck(salt []byte) string { return HashName(salt, saltCheckInput) }

// NewSalt returns SaltSize random bytes.
func NewSalt() ([]byte, error) {
	salt := make([]byte, SaltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("drawing salt: %w", err)
	}
	return salt, nil
}

// EncodeSalt returns the salt file content: the salt in lowercase hex and a
// newline.
func EncodeSalt(salt []byte) []byte {
	return []byte(hex.EncodeToString(salt) + "\n")
}

// DecodeSalt parses a salt file written by EncodeSalt.
func DecodeSalt(data []byte) ([]byte, error) {
	s := strings.TrimSuffix(string(data), "\n")
	salt, err := hex.DecodeString(s)
	if err != nil || len(salt) < minSaltSize || hex.EncodeToString(salt) != s {
		return nil, fmt.Errorf("bad salt file: want at least %d bytes as lowercase hex on one line", minSaltSize)
	}
	return salt, nil
}

// hideNames replaces names, roots and link targets of m by their salted
// digests, restores the sort order and recomputes the tree digest.
func hideNames(m *Manifest, salt []byte) {
	for i, r := range m.Roots {
		m.Roots[i] = HashName(salt, r)
	}
	for i := range m.Files {
		f := &m.Files[i]
		f.Name = HashName(salt, f.Name)
		if f.Annotations.LinkTarget != "" {
			f.Annotations.LinkTarget = HashName(salt, f.Annotations.LinkTarget)
		}
	}
	m.HashedNames = true
	m.SaltCheck = SaltCheck(salt)
	m.Salt = salt
	slices.SortFunc(m.Files, func(a, b ResourceDescriptor) int { return cmp.Compare(a.Name, b.Name) })
	m.TreeDigest = TreeDigest(m.Files)
}
