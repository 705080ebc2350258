package dossier

import (
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/dossier-audit/dossier/pkg/record"
)

// TestModelReleaseInterop: stock sigstore-go (which, like cosign
// verify-blob-attestation --digest, accepts a digest matching any subject)
// verifies a model-release record by the run root digest and by a weights
// file digest, and refuses another digest (spec/predicates/model-release.md).
func TestModelReleaseInterop(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	var p map[string]any
	if err := json.Unmarshal(record.Template("model-release"), &p); err != nil {
		t.Fatal(err)
	}
	p["runs"] = []any{f.root.Digest()}
	pred, _ := json.Marshal(p)
	b := signRecord(t, f.producer, "model-release", pred, f.root)
	pub, _ := keys.PublicKey(context.Background(), f.producer)
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	tm := root.NewTrustedPublicKeyMaterialFromMapping(map[string]*root.ExpiringKey{
		keys.Fingerprint(pub): root.NewExpiringKey(v, time.Time{}, time.Time{})})
	weights := "18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"
	for _, tc := range []struct {
		name   string
		digest string
		ok     bool
	}{
		{"run root", strings.TrimPrefix(f.root.Digest(), "sha256:"), true},
		{"weights file", weights, true},
		{"other", strings.Repeat("ab", 32), false},
	} {
		if err := sigstoreGo(t, b, tm, tc.digest); (err == nil) != tc.ok {
			t.Errorf("%s: sigstore-go says %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func sigstoreGo(t *testing.T, b []byte, tm root.TrustedMaterial, digestHex string) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "record.sigstore.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	bun, err := sgbundle.LoadJSONFromPath(path)
	if err != nil {
		return err
	}
	v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
	if err != nil {
		t.Fatal(err)
	}
	d, _ := hex.DecodeString(digestHex)
	_, err = v.Verify(bun, verify.NewPolicy(verify.WithArtifactDigest("sha256", d), verify.WithKey()))
	return err
}
