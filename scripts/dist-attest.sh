#!/usr/bin/env bash
# dist-attest.sh: sign the SLSA provenance v1 of dist/dossier-<version>-offline.tar
# as a Sigstore bundle beside it (dist/dossier-<version>-offline.tar.sigstore.json),
# then verify it with stock cosign and with `dossier record verify-foreign`.
# Env: TAR (default: the newest dist/dossier-*-offline.tar), RELEASE_KEY
# (private key from `dossier key generate`, password in $DOSSIER_KEY_PASSWORD;
# default: dist/release.key, generated unencrypted on first use — for tests only),
# RELEASE_PUB (default: RELEASE_KEY with .pub), BIN (dossier binaries), COSIGN.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
BIN="${BIN:-$PWD/bin}"
COSIGN="${COSIGN:-$HOME/.cache/dossier-tools/bin/cosign}"

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

"$BIN/dossier" record verify-foreign --key "$RELEASE_PUB" --type https://slsa.dev/provenance/v1 --subject "$TAR" "$OUT"
if [ -x "$COSIGN" ]; then
  # cosign reads at most 128 MiB of a blob unless told otherwise
  COSIGN_MAX_ATTACHMENT_SIZE=2GiB "$COSIGN" verify-blob-attestation --bundle "$OUT" --key "$RELEASE_PUB" --insecure-ignore-tlog \
    --type https://slsa.dev/provenance/v1 "$TAR"
else
  echo "dist-attest: cosign not found at $COSIGN; skipped the cosign check (make interop installs it)" >&2
fi
