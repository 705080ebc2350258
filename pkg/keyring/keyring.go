package keyring

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/mod/sumdb/note"
)

// Media types of keyring documents and of their envelopes as OCI blobs.
const (
	MediaType         = "application/vnd.dossier.keyring.v1+json"
	EnvelopeMediaType = "application/vnd.dossier.keyring.v1+dsse+json"
	// MaxDocumentBytes bounds a document; MaxKeys its keys.
	MaxDocumentBytes = 1 << 20
	MaxKeys          = 1024
)

// Roles a key may hold, in sorted order.
const (
	RoleExporter = "exporter"
	RoleIngest   = "ingest"
	RoleLog      = "log"
	RoleProducer = "producer"
	RoleReviewer = "reviewer"
	RoleRoot     = "root"
	RoleTime     = "time"
)

var roles = []string{RoleExporter, RoleIngest, RoleLog, RoleProducer, RoleReviewer, RoleRoot, RoleTime}

// Revocation reasons.
var reasons = []string{"compromised", "retired", "departed"}

// Document is one keyring version (spec/package.md §1). Members marshal in
// the order of the spec; Previous is nil for version 1.
type Document struct {
	MediaType     string  `json:"mediaType"`
	Version       int     `json:"version"`
	Previous      *string `json:"previous" strictjson:"nullable"`
	IssuedAt      string  `json:"issuedAt"`
	RootThreshold int     `json:"rootThreshold"`
	Keys          []Key   `json:"keys"`
	// TimestampAuthorities and WitnessPolicy are the optional anchor trust
	// root (spec/anchors.md §4); absent in documents that predate them.
	TimestampAuthorities []TimestampAuthority `json:"timestampAuthorities,omitempty"`
	WitnessPolicy        string               `json:"witnessPolicy,omitempty"`
}

// Key is one key of a keyring version. NoteVerifierKey is present exactly
// on log keys.
type Key struct {
	ID              string      `json:"id"`
	Algorithm       string      `json:"algorithm"`
	PublicKey       string      `json:"publicKey"`
	NoteVerifierKey string      `json:"noteVerifierKey,omitempty"`
	Roles           []string    `json:"roles"`
	Owner           Owner       `json:"owner"`
	ValidFrom       string      `json:"validFrom"`
	ValidUntil      *string     `json:"validUntil" strictjson:"nullable"`
	Revocation      *Revocation `json:"revocation" strictjson:"nullable"`
}

// Owner is the person or workload that holds a key; Team is used by
// separation-of-duties rules.
type Owner struct {
	Name     string `json:"name"`
	PersonID string `json:"personId"`
	Team     string `json:"team"`
}

// Revocation marks a key revoked from this version on.
type Revocation struct {
	At     string `json:"at"`
	Reason string `json:"reason"`
	Note   string `json:"note,omitempty"`
}

// ParseDocument strictly decodes and validates a keyring document.
func ParseDocument(b []byte) (*Document, error) {
	var d Document
	limits := strictjson.Limits{MaxBytes: MaxDocumentBytes, RequireFields: true, RejectNull: true}
	if err := strictjson.Decode(b, &d, limits); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// Marshal returns the document as compact JSON in member order, without
// HTML escaping: the bytes that are signed.
func (d *Document) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Key returns the key with this fingerprint id.
func (d *Document) Key(id string) (*Key, bool) {
	for i := range d.Keys {
		if d.Keys[i].ID == id {
			return &d.Keys[i], true
		}
	}
	return nil, false
}

// KeysWithRole returns the keys that hold role, in document order.
func (d *Document) KeysWithRole(role string) []*Key {
	var out []*Key
	for i := range d.Keys {
		if d.Keys[i].HasRole(role) {
			out = append(out, &d.Keys[i])
		}
	}
	return out
}

// HasRole reports whether the key holds role.
func (k *Key) HasRole(role string) bool { return slices.Contains(k.Roles, role) }

// Revoked reports whether the key carries a revocation.
func (k *Key) Revoked() bool { return k.Revocation != nil }

// Public returns the parsed public key.
func (k *Key) Public() (crypto.PublicKey, error) {
	pub, err := parsePublicPEM([]byte(k.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("%w: key %s: %w", ErrInvalid, k.ID, err)
	}
	return pub, nil
}

// Verifier returns a signature verifier for the key (ECDSA P-256 with
// SHA-256, or Ed25519).
func (k *Key) Verifier() (signature.Verifier, error) {
	pub, err := k.Public()
	if err != nil {
		return nil, err
	}
	return newVerifier(pub)
}

// ValidAt reports whether t lies in [ValidFrom, ValidUntil) and before the
// revocation time, if any.
func (k *Key) ValidAt(t time.Time) bool {
	from, _ := time.Parse(time.RFC3339Nano, k.ValidFrom)
	if t.Before(from) {
		return false
	}
	if k.ValidUntil != nil {
		if until, _ := time.Parse(time.RFC3339Nano, *k.ValidUntil); !t.Before(until) {
			return false
		}
	}
	if k.Revocation != nil {
		if at, _ := time.Parse(time.RFC3339Nano, k.Revocation.At); !t.Before(at) {
			return false
		}
	}
	return true
}

var reTime = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$`)

func parseTime(path, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !reTime.MatchString(s) {
		return time.Time{}, invalid(path, "%q, want RFC 3339 UTC like 2026-11-27T09:00:00Z", s)
	}
	return t, nil
}

func isDigest(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// algorithmOf names pub as the keyring spells it.
func algorithmOf(pub crypto.PublicKey) string {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if p.Curve == elliptic.P256() {
			return "ecdsa-p256"
		}
	case ed25519.PublicKey:
		return "ed25519"
	}
	return ""
}

// checkNoteKey checks a C2SP signed-note verifier key "<origin>+<8
// hex>+<base64(0x01 || key)>" against the Ed25519 public key.
func checkNoteKey(path, vkey string, pub crypto.PublicKey) error {
	if _, err := note.NewVerifier(vkey); err != nil {
		return invalid(path, "not a signed-note verifier key: %v", err)
	}
	parts := strings.SplitN(vkey, "+", 3)
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	ed, ok := pub.(ed25519.PublicKey)
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 1 || !ok || !bytes.Equal(raw[1:], ed) {
		return invalid(path, "verifier key is not the Ed25519 publicKey of this entry")
	}
	return nil
}
