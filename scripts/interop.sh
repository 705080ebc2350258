#!/usr/bin/env bash
# make interop: checks our outputs with independent tools.
#  1. stock cosign verify-blob-attestation on every record bundle of the demo;
#  2. sigstore-go v1.3.0 verifying our bundles (a Go test, test-only dependency);
#  3. the DSSE project's published vectors through our envelope code;
#  4. openssl ts -verify on the demo checkpoints' RFC 3161 tokens (issue 7).
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

# The release's verification summary (issue 8): about the weights file, blob form.
weights_hex=$("$D" record inspect --json $demo/records/04-model-release.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["predicate"]["weights"][0]["digest"]["sha256"])')
"$COSIGN" verify-blob-attestation --bundle $demo/vsa.json --key $demo/trust/validator.pub --insecure-ignore-tlog \
  --type https://slsa.dev/verification_summary/v1 --digest "$weights_hex" --digestAlg sha256 >/dev/null 2>&1 ||
  { echo "interop: FAIL cosign verify-blob-attestation of $demo/vsa.json about the released weights"; exit 1; }
if "$COSIGN" verify-blob-attestation --bundle $demo/vsa.json --key $demo/trust/validator.pub --insecure-ignore-tlog \
    --type https://slsa.dev/verification_summary/v1 --digest "$root_hex" --digestAlg sha256 >/dev/null 2>&1; then
  echo "interop: FAIL cosign accepted the verification summary for other bytes"; exit 1
fi
echo "interop: cosign verify-blob-attestation accepts $demo/vsa.json for the released weights, refuses it for other bytes"

echo "interop: independent RFC 6962 check of the demo log (python3 + openssl, written from SPEC.md)"
python3 scripts/interop_log.py $demo/log $demo/trust/log.vkey $demo/proofs $demo/time-evidence/*.json $demo/records/*.json
# Negative control: a proof whose first hash is altered must be refused.
neg=$(mktemp -d)
cp -r $demo/proofs "$neg/"
python3 - "$neg/proofs/01-dataset.proof" <<'PY'
import sys
p = sys.argv[1]; lines = open(p).read().split("\n")
i = next(n for n, l in enumerate(lines) if l.startswith("index ")) + 1
lines[i] = ("A" if lines[i][0] != "A" else "B") + lines[i][1:]
open(p, "w").write("\n".join(lines))
PY
if python3 scripts/interop_log.py $demo/log $demo/trust/log.vkey "$neg/proofs" $demo/records/01-dataset.json >/dev/null; then
  echo "interop: FAIL the independent checker accepted a tampered proof"; exit 1
fi
rm -rf "$neg"
echo "interop: the independent checker refuses a tampered proof (negative control)"

echo "interop: sigstore-go and DSSE vectors"
go test -count=1 -run 'Interop|SigstoreGo|DSSEVector|Vector' ./pkg/bundle/... ./pkg/dsse/...
echo "interop: a real registry (CNCF distribution v3.1.2), stock oras and cosign against the demo run"
TOOLS="$TOOLS" COSIGN_VERSION="$COSIGN_VERSION" BIN="$BIN" bash scripts/interop-registry.sh

echo "interop: the compliance package: stock cosign --local-image on the unpacked layout, pinned fingerprint"
pkgdir=$(mktemp -d)
tar -xf $demo/package.tar -C "$pkgdir"
for rec in $demo/records/*.json; do
  "$D" record inspect --json "$rec" > /tmp/dossier-interop-inspect.json
  ptype=$(json_get /tmp/dossier-interop-inspect.json 'd["predicateType"]')
  pub=${pub_for[$(json_get /tmp/dossier-interop-inspect.json 'd["keyId"]')]}
  got=$("$COSIGN" verify-attestation --local-image "$pkgdir" --key "$pub" --insecure-ignore-tlog --type "$ptype" 2>/dev/null | grep -c '^{' || true)
  want=$(for r in $demo/records/*.json; do "$D" record inspect --json "$r"; done | python3 -c '
import json, sys
dec = json.JSONDecoder(); s = sys.stdin.read(); i = 0; n = 0
while i < len(s):
    while i < len(s) and s[i].isspace(): i += 1
    if i >= len(s): break
    d, i = dec.raw_decode(s, i)
    n += d["predicateType"] == sys.argv[1] and d["keyId"] == sys.argv[2]
print(n)' "$ptype" "$(json_get /tmp/dossier-interop-inspect.json 'd["keyId"]')")
  [ "$got" = "$want" ] || { echo "interop: FAIL cosign --local-image on the package verified $got of $want $ptype records"; exit 1; }
done
echo "interop: cosign $COSIGN_VERSION --local-image verifies every record of the run inside the unpacked package"
rm -rf "$pkgdir"
if "$BIN/dossier-verify" --root-fingerprint "SHA256:$(printf '0%.0s' {1..64})" $demo/package.tar >/dev/null 2>&1; then
  echo "interop: FAIL dossier-verify accepted the package with a wrong pinned fingerprint"; exit 1
elif [ $? -ne 1 ]; then
  echo "interop: FAIL dossier-verify with a wrong fingerprint did not exit 1"; exit 1
fi
echo "interop: dossier-verify rejects the package under a wrong pinned fingerprint (exit 1)"

# Issue 7: the demo's checkpoints are anchored. openssl ts -verify (an
# independent RFC 3161 implementation) must accept every token, in the
# package's anchors.json and in the anchor store, over the exact checkpoint
# bytes with the demo TSA's chain (root as -CAfile, the rest -untrusted),
# and refuse it over other bytes; dossier-verify must mark every record
# anchored.
echo "interop: RFC 3161 tokens of the demo checkpoints with openssl ts -verify and the demo TSA chain"
ts=$(mktemp -d)
python3 - $demo/trust/tsa-chain.pem "$ts" <<'PY'
import re, sys
certs = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", open(sys.argv[1]).read(), re.S)
assert len(certs) >= 1, "no certificate in the TSA chain"
open(sys.argv[2] + "/root.pem", "w").write(certs[-1])
open(sys.argv[2] + "/untrusted.pem", "w").write("".join(certs[:-1]) or certs[-1])
PY
python3 - $demo/package.tar "$ts/pkg" <<'PY'
import base64, json, os, sys, tarfile
out = sys.argv[2]; os.makedirs(out)
n = 0
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        if not (m.isfile() and m.name.startswith("blobs/sha256/")):
            continue
        b = t.extractfile(m).read()
        try:
            doc = json.loads(b)
        except ValueError:
            continue
        if not (isinstance(doc, dict) and list(doc) == ["anchors"]):
            continue
        for i, e in enumerate(doc["anchors"]):
            for tok in e["timestamps"]:
                open(f"{out}/{i}.checkpoint", "wb").write(base64.b64decode(e["checkpoint"]))
                open(f"{out}/{i}-{tok['tsa']}.tsr", "wb").write(base64.b64decode(tok["response"]))
                n += 1
if n == 0:
    sys.exit("interop: FAIL no RFC 3161 token in the anchors.json of " + sys.argv[1])
PY
tokens=0
ts_verify() { # ts_verify DATA TSR
  openssl ts -verify -data "$1" -in "$2" -CAfile "$ts/root.pem" -untrusted "$ts/untrusted.pem" 2>&1
}
for tsr in "$ts"/pkg/*.tsr $demo/anchors/*/tsa-*.tsr; do
  case $tsr in "$ts"/pkg/*) cp=${tsr%-*}.checkpoint ;; *) cp=$(dirname "$tsr")/checkpoint ;; esac
  if ! out=$(ts_verify "$cp" "$tsr") || ! grep -q '^Verification: OK' <<<"$out"; then
    echo "interop: FAIL openssl ts -verify refused $tsr over $cp"; echo "$out"; exit 1
  fi
  { cat "$cp"; printf 'x'; } > "$ts/other"
  if ts_verify "$ts/other" "$tsr" | grep -q '^Verification: OK'; then
    echo "interop: FAIL openssl ts -verify accepted $tsr over other bytes"; exit 1
  fi
  tokens=$((tokens+1))
done
rm -rf "$ts"
echo "interop: openssl ts -verify accepts all $tokens demo checkpoint tokens (package anchors.json and anchor store) and refuses each over other bytes"
"$BIN/dossier-verify" --json --policy $demo/trust/policy.json --root-fingerprint "$(cat $demo/trust/root-fingerprint)" \
  $demo/package.tar > /tmp/dossier-interop-verify.json
python3 - /tmp/dossier-interop-verify.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
a = (r.get("summary") or {}).get("anchors") or {}
recs = a.get("records") or []
bad = [x["digest"] for x in recs if x["status"] != "anchored"]
if r["outcome"] != "verified" or not recs or bad or a.get("asserted") != 0:
    sys.exit(f"interop: FAIL dossier-verify --json: outcome {r['outcome']}, {len(recs)} records, not anchored: {bad}")
print(f"interop: dossier-verify --json marks all {len(recs)} demo records anchored")
PY

echo "interop: OK ($n records verified by stock cosign; registry, oras and cosign checks passed)"
