#!/usr/bin/env bash
# make interop: checks our outputs with independent tools.
#  1. stock cosign verify-blob-attestation on every record bundle of the demo;
#  2. sigstore-go v1.3.0 verifying our bundles (a Go test, test-only dependency);
#  3. the DSSE project's published vectors through our envelope code.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
: "${BIN:=$PWD/bin}" "${TOOLS:=$HOME/.cache/dossier-tools}" "${COSIGN_VERSION:=v3.1.3}"
D="$BIN/dossier"
ensure_cosign

echo "interop: running the demo to produce records"
BIN="$BIN" bash scripts/demo.sh >/dev/null

demo=out/demo
root_hex=$(json_get $demo/run.json 'd["digest"].split(":")[1]')

# Map key fingerprints to public key files.
declare -A pub_for
for pub in $demo/trust/*.pub; do
  pub_for[$("$D" key fingerprint "$pub")]=$pub
done

n=0
for rec in $demo/records/*.json; do
  "$D" record inspect --json "$rec" > /tmp/dossier-interop-inspect.json
  ptype=$(json_get /tmp/dossier-interop-inspect.json 'd["predicateType"]')
  keyid=$(json_get /tmp/dossier-interop-inspect.json 'd["keyId"]')
  pub=${pub_for[$keyid]:-}
  if [ -z "$pub" ]; then echo "interop: FAIL $rec: no public key in $demo/trust with fingerprint $keyid"; exit 1; fi
  if ! out=$("$COSIGN" verify-blob-attestation --bundle "$rec" --key "$pub" --insecure-ignore-tlog \
      --type "$ptype" --digest "$root_hex" --digestAlg sha256 2>&1); then
    echo "interop: FAIL cosign verify-blob-attestation $rec"; echo "$out"; exit 1
  fi
  echo "interop: cosign $COSIGN_VERSION verified $(basename "$rec") ($ptype, key $(basename "$pub"))"
  n=$((n+1))
done
[ "$n" -gt 0 ] || { echo "interop: FAIL no records in $demo/records"; exit 1; }

# A negative control: cosign must refuse a record against the wrong subject digest.
first=$(ls $demo/records/*.json | head -1)
"$D" record inspect --json "$first" > /tmp/dossier-interop-inspect.json
ptype=$(json_get /tmp/dossier-interop-inspect.json 'd["predicateType"]')
if "$COSIGN" verify-blob-attestation --bundle "$first" --key "${pub_for[$(json_get /tmp/dossier-interop-inspect.json 'd["keyId"]')]}" \
    --insecure-ignore-tlog --type "$ptype" --digest "$(printf '0%.0s' {1..64})" --digestAlg sha256 >/dev/null 2>&1; then
  echo "interop: FAIL cosign accepted a record for another run root"; exit 1
fi
echo "interop: cosign refuses a record checked against another run root (negative control)"

echo "interop: sigstore-go and DSSE vectors"
go test -count=1 -run 'Interop|SigstoreGo|DSSEVector|Vector' ./pkg/bundle/... ./pkg/dsse/...
echo "interop: OK ($n records verified by stock cosign)"
