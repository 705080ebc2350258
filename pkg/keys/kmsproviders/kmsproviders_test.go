package kmsproviders

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/dossier-audit/dossier/pkg/keys"
	"github.com/sigstore/sigstore/pkg/signature/kms"
)

func TestRegistered(t *testing.T) {
	got := kms.SupportedProviders()
	for _, want := range []string{"hashivault://", "openbao://"} {
		if !slices.Contains(got, want) {
			t.Errorf("provider %q not registered; have %q", want, got)
		}
	}
}

// TestDispatch shows that keys.LoadSigner hands hashivault URIs to the
// provider (which rejects this malformed key name before any network use)
// rather than looking for a plugin.
func TestDispatch(t *testing.T) {
	_, err := keys.LoadSigner(context.Background(), "hashivault://bad/key/name", nil)
	if err == nil || errors.Is(err, keys.ErrUnknownKMS) {
		t.Fatalf("LoadSigner(hashivault://bad/key/name): %v, want a provider error", err)
	}
}
