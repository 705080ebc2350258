#!/usr/bin/env bash
# dist-attest.sh: sign the SLSA provenance v1 of dist/dossier-<version>-offline.tar
# as a Sigstore bundle beside it (dist/dossier-<version>-offline.tar.sigstore.json),
# then CHECK it two independent ways, failing unless both verify:
#   1. `dossier record verify --type https://slsa.dev/provenance/v1 --subject TAR`
#   2. stock `cosign verify-blob-attestation` on the tar (cosign $COSIGN_VERSION,
#      installed into $TOOLS/bin on first use like make interop does)
# plus two negative controls: both must refuse the attestation for another file.
# Env: TAR (default: the newest dist/dossier-*-offline.tar), RELEASE_KEY
# (private key from `dossier key generate`, password in $DOSSIER_KEY_PASSWORD;
# default: dist/release.key, generated unencrypted on first use — for tests only),
# RELEASE_PUB (default: RELEASE_KEY with .pub), BIN (dossier binaries),
# TOOLS, COSIGN_VERSION (as for make interop).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
BIN="${BIN:-$PWD/bin}"
TOOLS="${TOOLS:-$HOME/.cache/dossier-tools}"
COSIGN_VERSION="${COSIGN_VERSION:-v3.1.3}"
PTYPE=https://slsa.dev/provenance/v1

TAR="${TAR:-$(ls -t dist/dossier-*-offline.tar 2>/dev/null | head -1)}"
[ -f "$TAR" ] || { echo "dist-attest: no bundle tar; run 'make dist' first" >&2; exit 1; }
[ -f "$TAR.build" ] || { echo "dist-attest: $TAR.build is missing (written by make dist)" >&2; exit 1; }
# shellcheck disable=SC1090
source "$TAR.build"

if [ -z "${RELEASE_KEY:-}" ]; then
  RELEASE_KEY=dist/release.key
  if [ ! -f "$RELEASE_KEY" ]; then
    echo "dist-attest: generating a TEST release key dist/release.key (unencrypted); set RELEASE_KEY for a real release" >&2
    "$BIN/dossier" key generate --unencrypted --output dist/release >/dev/null
  fi
fi
RELEASE_PUB="${RELEASE_PUB:-${RELEASE_KEY%.key}.pub}"
OUT="$TAR.sigstore.json"
rm -f "$OUT"
REPO="${SOURCE_REPO:-git+$(git remote get-url origin 2>/dev/null || echo https://github.com/dossier-audit/dossier)}"

go run ./internal/release/cmd/dossier-release attest --tar "$TAR" --key "$RELEASE_KEY" -o "$OUT" \
  --repo "$REPO" --commit "$COMMIT" --version "$VERSION" --target dist --gosum "$TAR.go.sum" \
  --started "$STARTED" --finished "$FINISHED" --go-sha256 "$GO_SHA256"
echo "dist-attest: wrote $OUT (key $("$BIN/dossier" key fingerprint "$RELEASE_PUB" 2>/dev/null | head -1))"
OTHER="$(printf 'not the release' | sha256sum | cut -d' ' -f1)"

# 1. dossier record verify
"$BIN/dossier" record verify --key "$RELEASE_PUB" --type "$PTYPE" --subject "$TAR" "$OUT"
if "$BIN/dossier" record verify --key "$RELEASE_PUB" --type "$PTYPE" --digest "sha256:$OTHER" "$OUT" >/dev/null 2>&1; then
  echo "dist-attest: FAIL dossier record verify accepted the attestation for another digest" >&2; exit 1
fi
echo "dist-attest: dossier record verify: verified; refuses another digest (negative control)"

# 2. stock cosign
ensure_cosign
cosign_verify() { # BLOB | --digest HEX --digestAlg sha256
  "$COSIGN" verify-blob-attestation --bundle "$OUT" --key "$RELEASE_PUB" --insecure-ignore-tlog --type "$PTYPE" "$@"
}
# cosign hashes the tar itself (it reads at most 128 MiB of a blob unless told otherwise)
COSIGN_MAX_ATTACHMENT_SIZE=4GiB cosign_verify "$TAR"
if cosign_verify --digest "$OTHER" --digestAlg sha256 >/dev/null 2>&1; then
  echo "dist-attest: FAIL cosign accepted the attestation for another digest" >&2; exit 1
fi
echo "dist-attest: cosign $COSIGN_VERSION verify-blob-attestation: verified; refuses another digest (negative control)"
echo "dist-attest: OK $(basename "$OUT") verifies with dossier record verify and with stock cosign"
