package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// arraySubject names a subject whose digest is the SHA-256 of the compact
// JSON of the array under key in the (already validated) predicate raw.
func arraySubject(name string, raw []byte, key string) (ResourceDescriptor, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return ResourceDescriptor{}, fieldErr("", ErrSyntax, "%v", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, m[key]); err != nil {
		return ResourceDescriptor{}, fieldErr(key, ErrSyntax, "%v", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return ResourceDescriptor{Name: name, Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}, nil
}

// digestSubject names a subject whose digest is a "sha256:<hex>" field.
func digestSubject(name, digest string) ResourceDescriptor {
	return ResourceDescriptor{Name: name, Digest: map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}}
}
