#!/usr/bin/env bash
# Tests of the Python client (clients/python/dossier_client.py): unit tests
# against a fake daemon, then — when a dossierd binary is available (bin/ or
# $DOSSIERD) — the integration test against the real daemon
# (clients/python/integration_test.py: the outbox delivers everything after
# the daemon comes back).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert sys.version_info >= (3, 8), sys.version' 
"$PY" -m unittest discover -s clients/python -p 'test_*.py' -v
# The client promises Python 3.8+: run the unit tests on the oldest
# interpreter present too (python3.8 on PATH, e.g. from pyenv).
if [[ -z "${PYTHON:-}" ]] && command -v python3.8 >/dev/null 2>&1 && python3.8 -c '' 2>/dev/null; then
  echo "test-python: also on $(python3.8 --version)" >&2
  python3.8 -m unittest discover -s clients/python -p 'test_*.py'
fi
DOSSIERD=${DOSSIERD:-bin/dossierd}
if [[ -x "$DOSSIERD" && -f clients/python/integration_test.py ]]; then
  DOSSIERD="$DOSSIERD" DOSSIER="${DOSSIER:-bin/dossier}" "$PY" clients/python/integration_test.py -v
else
  echo "test-python: no $DOSSIERD; skipping the integration test against the real daemon" >&2
fi
