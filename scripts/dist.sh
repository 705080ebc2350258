#!/usr/bin/env bash
# dist.sh: build the offline release bundle dist/dossier-<version>-offline.tar
# (and, with `kit`, the archival kit dist/dossier-verify-kit-<version>.tar)
# from the COMMITTED tree at HEAD (git archive; uncommitted changes are never
# shipped), reproducibly:
#   - version: $VERSION, else the VERSION file at HEAD, else
#     `git describe --tags --always --abbrev=12 HEAD`
#   - every timestamp is SOURCE_DATE_EPOCH (default: the commit time,
#     `git log -1 --format=%ct HEAD`)
#   - Go: vendored source, CGO_ENABLED=0, -mod=vendor, -trimpath,
#     -buildvcs=false, -ldflags "-s -w -buildid= -X main.version=<version>"
#   - tars: GNU format, entries sorted by name, owner/group 0, mode 0755/0644,
#     mtime SOURCE_DATE_EPOCH; gzip -n (no name, no time)
# Usage: scripts/dist.sh [bundle|kit|all] (default bundle)
# Env: DIST_DIR (output, default ./dist), VERSION, SOURCE_DATE_EPOCH,
#      DIST_KEEP_WORK=1 (keep the work directory for debugging).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
what="${1:-bundle}"

DIST_DIR="${DIST_DIR:-$PWD/dist}"
mkdir -p "$DIST_DIR"
DIST_DIR="$(cd "$DIST_DIR" && pwd)"
COMMIT="$(git rev-parse HEAD)"
if [ -z "${VERSION:-}" ]; then
  VERSION="$(git show HEAD:VERSION 2>/dev/null | head -1 || true)"
  [ -n "$VERSION" ] || VERSION="$(git describe --tags --always --abbrev=12 HEAD)"
fi
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD)}"
export TZ=UTC LC_ALL=C
STARTED="$(date -u +%s)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  echo "dist: note: the working tree has uncommitted changes; building the committed HEAD $COMMIT only" >&2
fi

NAME="dossier-$VERSION"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/dossier-dist.XXXXXX")"
if [ -z "${DIST_KEEP_WORK:-}" ]; then
  trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
else
  echo "dist: work directory $WORK" >&2
fi

# dtar DIR OUT ENTRY...: a canonical tar of DIR/ENTRY... (sorted, fixed owner, mode, mtime).
dtar() {
  local dir="$1" out="$2"; shift 2
  tar --format=gnu --sort=name --owner=0 --group=0 --numeric-owner \
      --mode='u=rwX,go=rX' --mtime="@$SOURCE_DATE_EPOCH" --no-acls --no-xattrs --no-selinux \
      -C "$dir" -cf "$out" "$@"
}

# 1. The source: HEAD, vendored, and proven to build with no network and an
#    empty module cache.
SRC="$WORK/src/$NAME-src"
mkdir -p "$SRC"
git archive --format=tar HEAD | tar -x -C "$SRC"
echo "dist: vendoring the modules of $COMMIT ($VERSION)" >&2
TIDIED=""
if ! (cd "$SRC" && GOFLAGS=-mod=mod go mod vendor 2>"$WORK/vendor.err"); then
  # go mod vendor needs a tidy go.mod (every module providing a package of
  # the main module's packages and tests, for every platform). When HEAD's
  # is not, tidy the copy (never the work tree) and say so in BUILDINFO.
  echo "dist: warning: go.mod at HEAD is not tidy ($(head -1 "$WORK/vendor.err")); tidying the source copy" >&2
  (cd "$SRC" && GOFLAGS=-mod=mod go mod tidy && GOFLAGS=-mod=mod go mod vendor)
  TIDIED="go.mod/go.sum tidied for vendoring, HEAD's were not tidy ($(diff <(git show HEAD:go.mod) "$SRC/go.mod" | grep -c '^[<>]' || true) go.mod lines changed)"
fi
# no_network CMD...: run CMD with no network but loopback (a new network
# namespace: unshare -n, then `ip link set lo up`), when this host allows it
# (root, or unprivileged user namespaces); else run it as is and say so.
no_network() {
  if unshare -n true 2>/dev/null && command -v ip >/dev/null; then
    unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
  elif unshare -rn true 2>/dev/null && command -v ip >/dev/null; then
    unshare -rn sh -c 'ip link set lo up && exec "$@"' sh "$@"
  else
    echo "dist: note: cannot cut the network here (no unshare -n); GOPROXY=off and an empty GOMODCACHE only" >&2
    "$@"
  fi
}
# offline_check DIR BUILD TEST...: in DIR, with no network, GOPROXY=off and
# an empty module cache, build the packages BUILD (one word) and test the
# packages TEST..., from vendor/ only.
offline_check() {
  local dir="$1" build="$2"; shift 2
  local mc; mc="$(mktemp -d "$WORK/emptymodcache.XXXXXX")"
  echo "dist: ${dir#"$WORK"/}: building $build and testing $* with no network, GOPROXY=off, GOFLAGS=-mod=vendor, empty GOMODCACHE" >&2
  (cd "$dir" && no_network env GOFLAGS=-mod=vendor GOPROXY=off GOSUMDB=off GOMODCACHE="$mc" \
     sh -c 'go build -trimpath "$0" && go test -trimpath -count=1 "$@"' "$build" "$@" >&2)
  chmod -R u+w "$mc" && rm -rf "$mc"
}
offline_check "$SRC" ./... ./cmd/dossier-verify ./pkg/verify ./conformance

# 2. The binaries, from the vendored tree.
LDFLAGS="-s -w -buildid= -X main.version=$VERSION"
build() { # GOOS GOARCH OUTDIR CMD...
  local os="$1" arch="$2" out="$3"; shift 3
  local ext=""; [ "$os" = windows ] && ext=.exe
  mkdir -p "$out"
  for c in "$@"; do
    (cd "$SRC" && CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" GOFLAGS=-mod=vendor GOPROXY=off \
      go build -trimpath -buildvcs=false -ldflags="$LDFLAGS" -o "$out/$c$ext" "./cmd/$c")
  done
}
BIN="$WORK/bin"
echo "dist: cross-compiling" >&2
for p in linux/amd64 linux/arm64; do build "${p%/*}" "${p#*/}" "$BIN/${p/\//-}" dossier dossierd dossier-verify; done
# the laptops of reviewers and examiners: dossier and dossier-verify (on
# Windows, commands that write a transparency log say they cannot: Tessera's
# POSIX storage is Unix-only)
build darwin arm64 "$BIN/darwin-arm64" dossier dossier-verify
build windows amd64 "$BIN/windows-amd64" dossier dossier-verify

# release tool (host build, not shipped)
RELTOOL="$WORK/dossier-release"
(cd "$SRC" && CGO_ENABLED=0 GOFLAGS=-mod=vendor GOPROXY=off go build -trimpath -o "$RELTOOL" ./internal/release/cmd/dossier-release)

# sha256sums DIR: SHA256SUMS of every file under DIR (sorted, relative paths).
sha256sums() {
  (cd "$1" && find . -type f ! -name SHA256SUMS -printf '%P\n' | sort | xargs -d '\n' sha256sum > SHA256SUMS)
}

# oci_image OUT: an OCI image layout tar of dossierd for linux/amd64 and
# linux/arm64 (one index, one manifest per platform, one layer each holding
# the static binary at /dossierd), written without a container engine.
oci_image() {
  local out="$1" lay="$WORK/oci" m=""
  mkdir -p "$lay/blobs/sha256"
  for arch in amd64 arm64; do
    local root="$WORK/rootfs-$arch"
    mkdir -p "$root" && cp "$BIN/linux-$arch/dossierd" "$root/dossierd"
    dtar "$root" "$WORK/layer-$arch.tar" dossierd
    local diffid; diffid="$(sha256sum < "$WORK/layer-$arch.tar" | cut -d' ' -f1)"
    gzip -n -9 -c "$WORK/layer-$arch.tar" > "$WORK/layer-$arch.tar.gz"
    local ldig lsize; ldig="$(blob "$lay" "$WORK/layer-$arch.tar.gz")"; lsize="$(stat -c %s "$WORK/layer-$arch.tar.gz")"
    local created; created="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
    printf '{"architecture":"%s","os":"linux","created":"%s","config":{"User":"65532:65532","Entrypoint":["/dossierd"],"Labels":{"org.opencontainers.image.version":"%s","org.opencontainers.image.revision":"%s","org.opencontainers.image.title":"dossierd"}},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"scripts/dist.sh (no container engine)"}]}' \
      "$arch" "$created" "$VERSION" "$COMMIT" "$diffid" "$created" > "$WORK/config-$arch.json"
    local cdig csize; cdig="$(blob "$lay" "$WORK/config-$arch.json")"; csize="$(stat -c %s "$WORK/config-$arch.json")"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}],"annotations":{"org.opencontainers.image.version":"%s","org.opencontainers.image.revision":"%s","org.opencontainers.image.created":"%s"}}' \
      "$cdig" "$csize" "$ldig" "$lsize" "$VERSION" "$COMMIT" "$created" > "$WORK/manifest-$arch.json"
    local mdig msize; mdig="$(blob "$lay" "$WORK/manifest-$arch.json")"; msize="$(stat -c %s "$WORK/manifest-$arch.json")"
    m="$m${m:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$mdig\",\"size\":$msize,\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"}}"
  done
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$m" > "$WORK/image-index.json"
  local idig isize; idig="$(blob "$lay" "$WORK/image-index.json")"; isize="$(stat -c %s "$WORK/image-index.json")"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$lay/oci-layout"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
    "$idig" "$isize" "$VERSION" > "$lay/index.json"
  (cd "$lay" && dtar . "$out" oci-layout index.json blobs)
}
blob() { # LAYOUT FILE: copy FILE into LAYOUT/blobs/sha256, print its hex digest
  local d; d="$(sha256sum < "$2" | cut -d' ' -f1)"
  cp "$2" "$1/blobs/sha256/$d"; echo "$d"
}

bundle() {
  local st="$WORK/stage/$NAME"
  mkdir -p "$st"/{bin,src,python,verifiers,sbom,oci,deploy}
  cp -r "$BIN"/. "$st/bin/"
  echo "dist: source tar" >&2
  dtar "$WORK/src" "$WORK/src.tar" "$NAME-src"
  gzip -n -9 -c "$WORK/src.tar" > "$st/src/$NAME-src.tar.gz"
  cp -r "$SRC/clients/python/." "$st/python/"
  cp -r "$SRC/verifiers/python" "$st/verifiers/python"
  cp -r "$SRC/deploy/." "$st/deploy/"
  [ -d "$SRC/docs" ] && cp -r "$SRC/docs" "$st/docs"
  cp -r "$SRC/spec" "$st/spec"
  cp "$SRC/SPEC.md" "$SRC/README.md" "$st/"
  [ -f "$SRC/docs/release-README.md" ] && cp "$SRC/docs/release-README.md" "$st/README-RELEASE.md"
  echo "dist: OCI image of dossierd" >&2
  oci_image "$st/oci/dossierd-$VERSION-oci.tar"
  echo "dist: SBOM" >&2
  (cd "$st" && "$RELTOOL" sbom --name "$NAME-offline" --version "$VERSION" --created "$SOURCE_DATE_EPOCH" \
     --gosum "$SRC/go.sum" --root . $(cd "$st" && find bin -type f | sort)) > "$st/sbom/$NAME.spdx.json"
  printf '%s\n' "version $VERSION" "commit $COMMIT" "source_date_epoch $SOURCE_DATE_EPOCH" "$(go version)" ${TIDIED:+"note $TIDIED"} > "$st/BUILDINFO"
  find "$st" -name __pycache__ -prune -exec rm -rf {} +
  sha256sums "$st"
  dtar "$WORK/stage" "$DIST_DIR/$NAME-offline.tar.tmp" "$NAME"
  mv "$DIST_DIR/$NAME-offline.tar.tmp" "$DIST_DIR/$NAME-offline.tar"
  # beside the tar, not inside: what dist-attest needs to describe this build
  printf '%s\n' "VERSION=$VERSION" "COMMIT=$COMMIT" "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH" \
    "STARTED=$STARTED" "FINISHED=$(date -u +%s)" "GO_SHA256=$(sha256sum "$(go env GOROOT)/bin/go" | cut -d' ' -f1)" \
    > "$DIST_DIR/$NAME-offline.tar.build"
  cp "$SRC/go.sum" "$DIST_DIR/$NAME-offline.tar.go.sum"
  echo "$(sha256sum "$DIST_DIR/$NAME-offline.tar" | cut -d' ' -f1)  $NAME-offline.tar ($(du -h "$DIST_DIR/$NAME-offline.tar" | cut -f1))"
}

kit() {
  local k="dossier-verify-kit-$VERSION" st="$WORK/kitstage/dossier-verify-kit-$VERSION"
  mkdir -p "$st/bin" "$st/src" "$st/verifiers"
  for p in linux-amd64 linux-arm64 windows-amd64 darwin-arm64; do
    mkdir -p "$st/bin/$p" && cp "$BIN/$p"/dossier-verify* "$st/bin/$p/"
  done
  echo "dist: archival kit source subset" >&2
  # the verifier's source closure: the packages dossier-verify and the conformance runner import
  local pkgs; pkgs="$(cd "$SRC" && GOFLAGS=-mod=vendor go list -deps -test ./cmd/dossier-verify ./pkg/verify ./conformance ./testvectors \
      | grep -v '\.test$' | grep -v ' ' | sort -u)"
  # each package directory's files, its testdata/ and its embedded files
  (cd "$SRC" && GOFLAGS=-mod=vendor go list -f '{{.Dir}}{{range .EmbedFiles}} {{.}}{{end}}{{range .TestEmbedFiles}} {{.}}{{end}}' $pkgs \
      | grep -v "^$(go env GOROOT)" ) | while read -r d embeds; do
    rel="${d#"$SRC"/}"; mkdir -p "$st/src/$rel"
    find "$d" -maxdepth 1 -type f -exec cp {} "$st/src/$rel/" \;
    [ -d "$d/testdata" ] && cp -r "$d/testdata" "$st/src/$rel/"
    for e in $embeds; do mkdir -p "$st/src/$rel/$(dirname "$e")" && cp "$d/$e" "$st/src/$rel/$e"; done
  done
  for f in go.mod go.sum vendor/modules.txt LICENSE SPEC.md; do
    [ -f "$SRC/$f" ] && mkdir -p "$st/src/$(dirname "$f")" && cp "$SRC/$f" "$st/src/$f"
  done
  for d in testvectors conformance spec cmd/dossier-verify/testdata; do
    [ -d "$SRC/$d" ] && mkdir -p "$st/src/$d" && cp -r "$SRC/$d/." "$st/src/$d/"
  done
  cp -r "$SRC/verifiers/python" "$st/verifiers/python"
  cp -r "$SRC/spec" "$st/spec" && cp "$SRC/SPEC.md" "$st/"
  [ -f "$SRC/docs/archival-kit-README.md" ] && cp "$SRC/docs/archival-kit-README.md" "$st/README.md"
  mkdir -p "$st/docs" && cp "$SRC/docs/auditor-guide.md" "$SRC/docs/release-README.md" "$st/docs/"
  printf '%s\n' "version $VERSION" "commit $COMMIT" "source_date_epoch $SOURCE_DATE_EPOCH" "$(go version)" > "$st/BUILDINFO"
  find "$st" -name __pycache__ -prune -exec rm -rf {} +
  echo "dist: checking the kit's source builds and tests offline" >&2
  offline_check "$st/src" ./cmd/dossier-verify ./cmd/dossier-verify ./pkg/verify ./conformance
  sha256sums "$st"
  dtar "$WORK/kitstage" "$DIST_DIR/$k.tar.tmp" "$k"
  mv "$DIST_DIR/$k.tar.tmp" "$DIST_DIR/$k.tar"
  echo "$(sha256sum "$DIST_DIR/$k.tar" | cut -d' ' -f1)  $k.tar ($(du -h "$DIST_DIR/$k.tar" | cut -f1))"
}

case "$what" in
  bundle) bundle ;;
  kit) kit ;;
  all) bundle; kit ;;
  *) echo "usage: scripts/dist.sh [bundle|kit|all]" >&2; exit 2 ;;
esac
