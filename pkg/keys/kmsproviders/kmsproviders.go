// Package kmsproviders registers the KMS providers that are built into
// Dossier's binaries with github.com/sigstore/sigstore's KMS layer, so that
// keys.LoadSigner and keys.LoadVerifier accept their URIs:
//
//   - hashivault://KEY and openbao://KEY: HashiCorp Vault / OpenBao transit
//     engine (environment: VAULT_ADDR or BAO_ADDR, VAULT_TOKEN or BAO_TOKEN,
//     TRANSIT_SECRET_ENGINE_PATH, VAULT_KEY_PREFIX).
//
// Import it for its side effect, from binaries that sign (dossier,
// dossierd), never from the offline verifier: the provider links an HTTP
// client. Cloud KMSs (awskms://, gcpkms://, azurekms://) and HSMs are
// reached through sigstore-kms-NAME plugins on PATH instead, so their SDKs
// stay out of Dossier.
package kmsproviders

import (
	// Registers hashivault:// and openbao://.
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)
