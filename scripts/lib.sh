# Shared helpers for the make targets' scripts. Source it; never run it.
export GOTOOLCHAIN=local

# json_get FILE EXPR: print a value from a JSON file with python3 (EXPR is a
# Python expression over `d`, e.g. 'd["digest"]').
json_get() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# ensure_cosign: install stock cosign $COSIGN_VERSION into $TOOLS/bin on first use.
ensure_cosign() {
  COSIGN="$TOOLS/bin/cosign"
  if [ -x "$COSIGN" ] && "$COSIGN" version 2>/dev/null | grep -q "GitVersion:[[:space:]]*${COSIGN_VERSION}"; then
    return 0
  fi
  echo "interop: installing cosign $COSIGN_VERSION into $TOOLS/bin (first use only)" >&2
  mkdir -p "$TOOLS/bin"
  GOBIN="$TOOLS/bin" go install "github.com/sigstore/cosign/v3/cmd/cosign@${COSIGN_VERSION}"
}
