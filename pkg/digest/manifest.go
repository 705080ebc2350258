package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// MaxManifestSize bounds the manifest documents ParseManifest accepts.
const MaxManifestSize = 1 << 30

// Manifest is the result of Hash: what was hashed, how, and every file's
// descriptor, sorted by name in byte order.
type Manifest struct {
	MediaType string `json:"mediaType"`
	// Roots are the base names of the hashed roots, in argument order
	// (digested like names when HashedNames).
	Roots    []string `json:"roots"`
	Excludes []string `json:"excludes"`
	// AllowExternalLinks records that links leaving a root were hashed.
	AllowExternalLinks bool `json:"allowExternalLinks"`
	HashedNames        bool `json:"hashedNames"`
	// SaltCheck is hex(HMAC-SHA256(salt, "dossier salt check")) when
	// HashedNames, so a wrong salt is recognised; it does not reveal the salt.
	SaltCheck  string               `json:"saltCheck,omitempty"`
	TreeDigest string               `json:"treeDigest"`
	TotalBytes int64                `json:"totalBytes"`
	FileCount  int                  `json:"fileCount"`
	Files      []ResourceDescriptor `json:"files"`

	// Salt is the key of the name digests, for the data owner to keep. It
	// is never serialized.
	Salt []byte `json:"-"`
}

// ResourceDescriptor describes one file in the shape of an in-toto v1
// ResourceDescriptor.
type ResourceDescriptor struct {
	Name        string      `json:"name"`
	Digest      DigestSet   `json:"digest"`
	Annotations Annotations `json:"annotations"`
}

// DigestSet holds a file's digests.
type DigestSet struct {
	SHA256 string `json:"sha256"`
}

// Annotations carry a file's size and, for a link, its target.
type Annotations struct {
	Size       int64  `json:"size"`
	LinkTarget string `json:"linkTarget,omitempty"`
}

// Descriptor returns a ResourceDescriptor standing for the whole manifest:
// its digest is the tree digest and its size the total bytes.
func (m *Manifest) Descriptor(name string) ResourceDescriptor {
	return ResourceDescriptor{
		Name:        name,
		Digest:      DigestSet{SHA256: m.TreeDigest[len("sha256:"):]},
		Annotations: Annotations{Size: m.TotalBytes},
	}
}

// Marshal returns the canonical JSON of m: two-space indentation, a final
// newline, fields in the documented order.
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// TreeDigest computes the tree digest of files in the order given (see the
// package doc).
func TreeDigest(files []ResourceDescriptor) string {
	h := sha256.New()
	var line []byte
	for _, f := range files {
		line = append(line[:0], "sha256:"...)
		line = append(line, f.Digest.SHA256...)
		line = append(line, ' ')
		line = strconv.AppendInt(line, f.Annotations.Size, 10)
		line = append(line, ' ')
		line = append(line, f.Name...)
		line = append(line, '\n')
		h.Write(line)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// ParseManifest reads a manifest strictly: at most MaxManifestSize bytes,
// every field present, no unknown or duplicate keys, no nulls, sorted
// unique names, well-formed digests, and totals and tree digest that match
// the files.
func ParseManifest(r io.Reader) (*Manifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading hash manifest: %w", err)
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadManifest, MaxManifestSize)
	}
	var m Manifest
	limits := strictjson.Limits{MaxBytes: MaxManifestSize, RequireFields: true, RejectNull: true}
	if err := strictjson.Decode(data, &m, limits); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadManifest, err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadManifest}, args...)...)
	}
	if m.MediaType != MediaType {
		return bad("mediaType %q, want %q", m.MediaType, MediaType)
	}
	if len(m.Roots) == 0 {
		return bad("no roots")
	}
	if m.HashedNames != (m.SaltCheck != "") {
		return bad("saltCheck must be present exactly when hashedNames is true")
	}
	var total int64
	for i, f := range m.Files {
		if err := validateFile(f); err != nil {
			return bad("files[%d]: %v", i, err)
		}
		if i > 0 && m.Files[i-1].Name >= f.Name {
			return bad("files[%d]: name %q not after %q", i, f.Name, m.Files[i-1].Name)
		}
		total += f.Annotations.Size
	}
	if total != m.TotalBytes || len(m.Files) != m.FileCount {
		return bad("totals %d bytes in %d files, want %d in %d", m.TotalBytes, m.FileCount, total, len(m.Files))
	}
	if got := TreeDigest(m.Files); got != m.TreeDigest {
		return bad("treeDigest %s, want %s", m.TreeDigest, got)
	}
	return nil
}

func validateFile(f ResourceDescriptor) error {
	if err := checkName(f.Name); err != nil || f.Name == "" {
		return fmt.Errorf("bad name %q", f.Name)
	}
	if !isHexDigest(f.Digest.SHA256) {
		return fmt.Errorf("bad sha256 %q", f.Digest.SHA256)
	}
	if f.Annotations.Size < 0 {
		return fmt.Errorf("negative size %d", f.Annotations.Size)
	}
	return nil
}

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
