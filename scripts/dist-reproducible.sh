#!/usr/bin/env bash
# dist-reproducible.sh: prove `make dist` is reproducible. Clone the committed
# HEAD twice into two different directories, build the bundle in each
# (scripts/dist.sh; the Go build cache is shared, the module cache too), print
# both SHA-256 digests and fail unless they are equal.
set -euo pipefail
cd "$(dirname "$0")/.."
COMMIT="$(git rev-parse HEAD)"
ROOT="$(mktemp -d "${TMPDIR:-/tmp}/dossier-dist-check.XXXXXX")"
trap 'chmod -R u+w "$ROOT" 2>/dev/null; rm -rf "$ROOT"' EXIT
digests=()
for side in a b; do
  dir="$ROOT/$side/checkout-$side-$RANDOM"
  git clone -q --no-checkout "$PWD" "$dir"
  git -C "$dir" checkout -q --detach "$COMMIT"
  echo "dist-check: building $COMMIT in $dir" >&2
  (cd "$dir" && DIST_DIR="$dir/dist" bash scripts/dist.sh bundle >&2)
  tar="$(ls "$dir"/dist/dossier-*-offline.tar)"
  digests+=("$(sha256sum "$tar" | cut -d' ' -f1)")
  echo "dist-check: $side ${digests[-1]}  $(basename "$tar")"
done
if [ "${digests[0]}" != "${digests[1]}" ]; then
  echo "dist-check: FAILED: the two builds differ" >&2
  exit 1
fi
echo "dist-check: reproducible: both builds are sha256:${digests[0]}"
# keep the first build as the release candidate (for make dist-attest)
mkdir -p dist && cp "$(ls "$ROOT"/a/*/dist/dossier-*-offline.tar)"* dist/
