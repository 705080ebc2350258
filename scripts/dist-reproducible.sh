#!/usr/bin/env bash
# dist-reproducible.sh: prove `make dist` is reproducible. Clone the committed
# HEAD twice into two different directories, build the bundle in each
# (scripts/dist.sh; the Go build cache is shared, the module cache too), print
# both SHA-256 digests and fail unless they are equal; then rebuild the
# laptop binaries from the bundle's own source tar (offline, empty module
# cache) and fail unless they equal the shipped ones.
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

# An examiner rebuilds from the SHIPPED source (the bundle's src tar, not
# git), offline, as docs/release-README.md step 5 says: the binaries must be
# the bundle's, byte for byte.
tar="$(ls "$ROOT"/a/*/dist/dossier-*-offline.tar)"
name="$(basename "$tar" -offline.tar)"; version="${name#dossier-}"
rb="$ROOT/rebuild"; mkdir -p "$rb/modcache"
tar -xf "$tar" -C "$rb"
tar -xzf "$rb/$name/src/$name-src.tar.gz" -C "$rb"
for p in linux/amd64 windows/amd64 darwin/arm64; do
  for c in dossier dossier-verify; do
    ext=""; [ "${p%/*}" = windows ] && ext=.exe
    (cd "$rb/$name-src" && CGO_ENABLED=0 GOOS="${p%/*}" GOARCH="${p#*/}" GOFLAGS=-mod=vendor GOPROXY=off \
      GOMODCACHE="$rb/modcache" go build -trimpath -buildvcs=false -ldflags="-s -w -buildid= -X main.version=$version" \
      -o "$rb/out/${p/\//-}/$c$ext" "./cmd/$c")
    if ! cmp -s "$rb/out/${p/\//-}/$c$ext" "$rb/$name/bin/${p/\//-}/$c$ext"; then
      echo "dist-check: FAILED: $c$ext for $p rebuilt from the shipped source differs from the bundle's" >&2
      exit 1
    fi
  done
done
echo "dist-check: rebuilt dossier and dossier-verify (linux/amd64, windows/amd64, darwin/arm64) from the bundle's own source offline: identical to the shipped binaries"
# keep the first build as the release candidate (for make dist-attest)
mkdir -p dist && cp "$(ls "$ROOT"/a/*/dist/dossier-*-offline.tar)"* dist/
