package bundle

import (
	"context"
	"testing"

	"github.com/dossier-audit/dossier/pkg/keys"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/fake" // registers fakekms://
)

// TestSignWithKMS signs through keys.LoadSigner with a KMS URI (sigstore's
// in-process fake provider), the path Vault transit and sigstore-kms-*
// plugins take, and verifies the result with the key the KMS reports.
func TestSignWithKMS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := keys.LoadSigner(ctx, "fakekms://dossier-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Sign(ctx, s, PayloadTypeInToto, testStatement(500))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := keys.PublicKey(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	bun, err := Verify(b, newVerifier(t, pub))
	if err != nil {
		t.Fatal(err)
	}
	if bun.KeyHint != keys.Fingerprint(pub) {
		t.Fatalf("hint %q, want %q", bun.KeyHint, keys.Fingerprint(pub))
	}
}
