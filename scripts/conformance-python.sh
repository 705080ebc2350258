#!/usr/bin/env bash
# conformance-python.sh: run the black-box conformance runner (conformance/)
# on every test vector (testvectors/v1, then testvectors/v2) against the
# independent Python verifier (verifiers/python/dossier_verify.py: Python 3.8+
# standard library and the openssl command), then its unit tests.
# Extra arguments go to the runner (both runs), e.g.
# scripts/conformance-python.sh -run '^tar-' -json
# VECTORS="testvectors/v2" runs one set only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

PY="${PYTHON:-python3}"
XFAIL="${XFAIL:-conformance/xfail/python-verifier.txt}"

"$PY" -c 'import sys; assert sys.version_info >= (3, 8), sys.version'
command -v openssl >/dev/null || { echo "conformance-python: the openssl command is required" >&2; exit 1; }

xfail_args=()
if [ -f "$XFAIL" ]; then
  xfail_args=(-xfail "$XFAIL")
fi
status=0
for vectors in ${VECTORS:-testvectors/v1 testvectors/v2}; do
  echo "conformance-python: $vectors" >&2
  go run ./conformance -verifier "$PY verifiers/python/dossier_verify.py" -vectors "$vectors" "${xfail_args[@]}" "$@" || status=$?
done
[ "$status" -eq 0 ] || exit "$status"
"$PY" -m unittest discover -s verifiers/python/tests -p 'test_*.py'
# Beyond the expected class the runner checks: both verifiers must report
# the same findings (outcome, failure classes, policy rules) on every
# vector; a difference is a question for SPEC.md or a bug in one of them.
if [ "$#" -eq 0 ] && [ -z "${VECTORS:-}" ]; then
  "$PY" verifiers/python/differential.py
fi
