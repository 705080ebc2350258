#!/usr/bin/env bash
# make demo: the main job end to end on embedded defaults, no network and no
# servers. Everything it writes is under out/demo/ (names are stable: other
# checks read them).
#
#  1. keys for the producer (ECDSA P-256), the evaluator (Ed25519) and the
#     time checker; public keys to out/demo/trust/
#  2. a synthetic dataset and a "model" in a Hugging Face cache layout
#  3. the run is registered: run root in out/demo/layout/, run file out/demo/run.json
#  4. dataset and model are hashed (out/demo/hashes/)
#  5. time evidence from $NTP_SERVERS, or honestly untraceable without them
#  6. records: dataset, training run, evaluation, model release, run closed
#  7. the log: records appended, checkpoint printed, one proof per record
#  8. records stored as OCI artifacts in out/demo/layout/ (and pushed to
#     $REGISTRY over plain HTTP when set, e.g. REGISTRY=127.0.0.1:5000/dossier/demo)
#  9. everything verified: records with their keys, proofs with the log key
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
: "${BIN:=$PWD/bin}"
D="$BIN/dossier"
OUT=out/demo
RUN_ID=demo-ft-2026-11-27
export DOSSIER_KEY_PASSWORD="demo-password-not-for-production"

step() { printf '\n== %s\n' "$*"; }

rm -rf "$OUT"
mkdir -p "$OUT"/{keys,trust,data,hashes,records,time-evidence,predicates,proofs}

step "1. keys (private keys encrypted with \$DOSSIER_KEY_PASSWORD)"
"$D" key generate --output "$OUT/keys/producer"
"$D" key generate --algorithm ed25519 --output "$OUT/keys/evaluator"
"$D" key generate --output "$OUT/keys/time"
cp "$OUT"/keys/{producer,evaluator,time}.pub "$OUT/trust/"

step "2. synthetic dataset and model (Hugging Face cache layout)"
python3 scripts/demo_data.py "$OUT/data"

step "3. register the run"
"$D" run init --id "$RUN_ID" --project support-assistant --model acme/support-assistant-de \
  --started-by workload:pipeline/train --started-by-name "training pipeline" \
  --started-at 2026-11-27T09:00:00Z --layout "$OUT/layout" -o "$OUT/run.json"
ROOT=$(json_get "$OUT/run.json" 'd["digest"]')

step "4. hash the dataset and the model"
"$D" hash -o "$OUT/hashes/dataset.json" "$OUT/data/dataset" 2>&1 | tail -n 1
"$D" hash -o "$OUT/hashes/model.json" "$OUT/data/hub/models--acme--support-assistant-de" 2>&1 | tail -n 1

step "5. time evidence"
servers=()
IFS=',' read -ra list <<< "${NTP_SERVERS:-}"
for s in "${list[@]}"; do [ -n "$s" ] && servers+=(--server "$s"); done
[ ${#servers[@]} -eq 0 ] && echo "no NTP_SERVERS given: the evidence will say untraceable, honestly"
"$D" timecheck "${servers[@]}" --record "$OUT/time-evidence/01-time-evidence.json" --key "$OUT/keys/time.key" || true
[ -s "$OUT/time-evidence/01-time-evidence.json" ] || { echo "demo: no time evidence written" >&2; exit 1; }
TE=$("$D" record inspect --json "$OUT/time-evidence/01-time-evidence.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')

step "6. records of the run"
python3 scripts/demo_predicates.py "$OUT" "$RUN_ID" "$ROOT" "$TE"
sign() { # sign NN KIND KEY
  "$D" record create --run "$OUT/run.json" --type "$2" --predicate "$OUT/predicates/$1-$2.json" \
    --key "$OUT/keys/$3.key" -o "$OUT/records/$1-$2.json"
}
sign 01 dataset producer
sign 02 training-run producer
sign 03 evaluation evaluator
sign 04 model-release producer
sign 05 run-closed producer

step "7. the log"
"$D" log init --dir "$OUT/log" --origin dossier.demo/log/v1 --key-out "$OUT/keys/log"
cp "$OUT/keys/log.vkey" "$OUT/trust/log.vkey"
"$D" log append --dir "$OUT/log" --key "$OUT/keys/log.key" \
  "$OUT"/time-evidence/*.json "$OUT"/records/*.json
"$D" log checkpoint --dir "$OUT/log" --vkey "$OUT/trust/log.vkey"
for f in "$OUT"/time-evidence/*.json "$OUT"/records/*.json; do
  "$D" log prove --dir "$OUT/log" --bundle "$f" -o "$OUT/proofs/$(basename "$f" .json).proof"
done

step "8. the store: records as OCI artifacts in $OUT/layout (referrers of the run root)"
"$D" store put --layout "$OUT/layout" --run "$OUT/run.json" --log "$OUT/log" --log-vkey "$OUT/trust/log.vkey" \
  "$OUT"/records/*.json
"$D" records list --run "$OUT/run.json" "layout:$OUT/layout"
"$D" store audit --log "$OUT/log" --log-vkey "$OUT/trust/log.vkey" --run "$OUT/run.json" "layout:$OUT/layout"
if [ -n "${REGISTRY:-}" ]; then
  step "8b. push the run to $REGISTRY (plain HTTP) and list it back from there"
  "$D" push --plain-http --layout "$OUT/layout" --run "$OUT/run.json" "$REGISTRY"
  "$D" records list --plain-http --run "$OUT/run.json" "$REGISTRY"
fi

step "9. verify"
"$D" record verify --key "$OUT/trust/producer.pub" --run "$OUT/run.json" "$OUT"/records/0{1,2,4,5}-*.json
"$D" record verify --key "$OUT/trust/evaluator.pub" --run "$OUT/run.json" "$OUT"/records/03-*.json
"$D" record verify --key "$OUT/trust/time.pub" "$OUT"/time-evidence/*.json
for f in "$OUT"/time-evidence/*.json "$OUT"/records/*.json; do
  "$D" log verify --vkey "$OUT/trust/log.vkey" --proof "$OUT/proofs/$(basename "$f" .json).proof" --bundle "$f"
done

step "done"
cat <<MSG
run $RUN_ID, run root $ROOT
  records         $OUT/records/ ($(ls "$OUT"/records | wc -l) signed bundles)
  time evidence   $OUT/time-evidence/
  log             $OUT/log/ (checkpoint verified with $OUT/trust/log.vkey)
  proofs          $OUT/proofs/
  public keys     $OUT/trust/
Check a record with stock cosign:
  cosign verify-blob-attestation --bundle $OUT/records/01-dataset.json --key $OUT/trust/producer.pub \\
    --insecure-ignore-tlog --type https://dossier.dev/predicates/dataset/v1 --digest ${ROOT#sha256:} --digestAlg sha256
MSG
