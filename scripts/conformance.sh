#!/usr/bin/env bash
# conformance.sh: build bin/dossier-verify and run the black-box conformance
# runner (conformance/) on every test vector (testvectors/v1, then v2).
# Extra arguments go to the runner, e.g. scripts/conformance.sh -run '^tar-' -json
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

BIN="${BIN:-$PWD/bin}"
XFAIL="${XFAIL:-conformance/xfail/dossier-verify.txt}"

# The vectors must be exactly what the generator makes (frozen once released).
go test -count=1 -run 'TestNoDrift' ./testvectors/internal/gen

if [ ! -d cmd/dossier-verify ]; then
  echo "conformance: cmd/dossier-verify does not exist yet; there is no verifier to run the vectors against" >&2
  exit 1
fi
go build -trimpath -o "$BIN/dossier-verify" ./cmd/dossier-verify

xfail_args=()
if [ -f "$XFAIL" ]; then
  xfail_args=(-xfail "$XFAIL")
fi
go run ./conformance -verifier "$BIN/dossier-verify" -vectors testvectors/v1 "${xfail_args[@]}" "$@"
# v2: the format's additions for issues 7 and 8 (anchors, policy v2)
go run ./conformance -verifier "$BIN/dossier-verify" -vectors testvectors/v2 "$@"
