#!/usr/bin/env bash
# make demo: the main job end to end on embedded defaults, no network and no
# servers. Everything it writes is under out/demo/ (names are stable: other
# checks read them).
#
#  1. keys: root (signs the keyring), producer (ECDSA P-256), evaluator
#     (Ed25519), time checker, exporter (Ed25519: deterministic packages);
#     public keys to out/demo/trust/
#  2. the log (out/demo/log/, verifier key out/demo/trust/log.vkey) and the
#     keyring v1, appended to the log first; its root fingerprint, what an
#     auditor pins, in out/demo/trust/root-fingerprint
#  3. a synthetic dataset and a "model" in a Hugging Face cache layout
#  4. the run is registered: run root in out/demo/layout/, run file out/demo/run.json
#  5. dataset and model are hashed (out/demo/hashes/)
#  6. time evidence from $NTP_SERVERS, or honestly untraceable without them
#  7. records: dataset, training run, evaluation, model release, run closed
#  8. records appended to the log, checkpoint printed, one proof per record
#  9. records stored as OCI artifacts in out/demo/layout/ (and pushed to
#     $REGISTRY over plain HTTP when set, e.g. REGISTRY=127.0.0.1:5000/dossier/demo)
# 10. records and proofs verified
# 11. export of the compliance package out/demo/package.tar, verified by
#     dossier-verify with the demo's policy (which accepts untraceable time)
# 12. dossierd on loopback (out/demo/dossierd/): a simulated training
#     pipeline submits its records over HTTP through the Python client, the
#     export is requested over the review API (out/demo/dossierd-package.tar),
#     dossier-verify checks it, the daemon is stopped
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
"$D" key generate --output "$OUT/keys/root"
"$D" key generate --output "$OUT/keys/producer"
"$D" key generate --algorithm ed25519 --output "$OUT/keys/evaluator"
"$D" key generate --output "$OUT/keys/time"
"$D" key generate --algorithm ed25519 --output "$OUT/keys/exporter"
cp "$OUT"/keys/{root,producer,evaluator,time,exporter}.pub "$OUT/trust/"

step "2. the log and the keyring v1 (logged first: key validity is judged by log position)"
"$D" log init --dir "$OUT/log" --origin dossier.demo/log/v1 --key-out "$OUT/keys/log"
cp "$OUT/keys/log.vkey" "$OUT/trust/log.vkey"
"$D" keyring create --root-key "$OUT/keys/root.key" --issued-at 2026-11-27T08:00:00Z \
  --add "root:$OUT/keys/root.pub:Dana Root:person:e10001:security" \
  --add "producer:$OUT/keys/producer.pub:Training pipeline:workload:pipeline/train:ml-platform" \
  --add "producer:$OUT/keys/evaluator.pub:Evaluation pipeline:workload:pipeline/eval:ml-platform" \
  --add "time:$OUT/keys/time.pub:Time checker:workload:timecheck:operations" \
  --add "exporter:$OUT/keys/exporter.pub:Erika Musterfrau:person:e30211:compliance" \
  --add "log:$OUT/keys/log.vkey:Audit log:workload:dossier-log:operations" \
  -o "$OUT/trust/keyring-v1.json" | tee "$OUT/trust/root-fingerprint.tmp"
awk '{print $1}' "$OUT/trust/root-fingerprint.tmp" > "$OUT/trust/root-fingerprint" && rm "$OUT/trust/root-fingerprint.tmp"
"$D" log append --dir "$OUT/log" --key "$OUT/keys/log.key" --stream keyring "$OUT/trust/keyring-v1.json"

step "3. synthetic dataset and model (Hugging Face cache layout)"
python3 scripts/demo_data.py "$OUT/data"

step "4. register the run"
"$D" run init --id "$RUN_ID" --project support-assistant --model acme/support-assistant-de \
  --started-by workload:pipeline/train --started-by-name "training pipeline" \
  --started-at 2026-11-27T09:00:00Z --layout "$OUT/layout" -o "$OUT/run.json"
ROOT=$(json_get "$OUT/run.json" 'd["digest"]')

step "5. hash the dataset and the model"
"$D" hash -o "$OUT/hashes/dataset.json" "$OUT/data/dataset" 2>&1 | tail -n 1
"$D" hash -o "$OUT/hashes/model.json" "$OUT/data/hub/models--acme--support-assistant-de" 2>&1 | tail -n 1

step "6. time evidence"
servers=()
IFS=',' read -ra list <<< "${NTP_SERVERS:-}"
for s in "${list[@]}"; do [ -n "$s" ] && servers+=(--server "$s"); done
[ ${#servers[@]} -eq 0 ] && echo "no NTP_SERVERS given: the evidence will say untraceable, honestly"
"$D" timecheck "${servers[@]}" --record "$OUT/time-evidence/01-time-evidence.json" --key "$OUT/keys/time.key" || true
[ -s "$OUT/time-evidence/01-time-evidence.json" ] || { echo "demo: no time evidence written" >&2; exit 1; }
TE=$("$D" record inspect --json "$OUT/time-evidence/01-time-evidence.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')

step "7. records of the run"
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

step "8. the log: append, checkpoint, one inclusion proof per record"
"$D" log append --dir "$OUT/log" --key "$OUT/keys/log.key" "$OUT"/time-evidence/*.json "$OUT"/records/*.json
"$D" log checkpoint --dir "$OUT/log" --vkey "$OUT/trust/log.vkey"
for f in "$OUT"/time-evidence/*.json "$OUT"/records/*.json; do
  "$D" log prove --dir "$OUT/log" --bundle "$f" -o "$OUT/proofs/$(basename "$f" .json).proof"
done

step "9. the store: records as OCI artifacts in $OUT/layout (referrers of the run root)"
"$D" store put --layout "$OUT/layout" --run "$OUT/run.json" --log "$OUT/log" --log-vkey "$OUT/trust/log.vkey" \
  "$OUT"/records/*.json
"$D" records list --run "$OUT/run.json" "layout:$OUT/layout"
"$D" store audit --log "$OUT/log" --log-vkey "$OUT/trust/log.vkey" --run "$OUT/run.json" "layout:$OUT/layout"
if [ -n "${REGISTRY:-}" ]; then
  step "9b. push the run to $REGISTRY (plain HTTP) and list it back from there"
  "$D" push --plain-http --layout "$OUT/layout" --run "$OUT/run.json" "$REGISTRY"
  "$D" records list --plain-http --run "$OUT/run.json" "$REGISTRY"
fi

step "10. verify records and proofs"
"$D" record verify --key "$OUT/trust/producer.pub" --run "$OUT/run.json" "$OUT"/records/0{1,2,4,5}-*.json
"$D" record verify --key "$OUT/trust/evaluator.pub" --run "$OUT/run.json" "$OUT"/records/03-*.json
"$D" record verify --key "$OUT/trust/time.pub" "$OUT"/time-evidence/*.json
for f in "$OUT"/time-evidence/*.json "$OUT"/records/*.json; do
  "$D" log verify --vkey "$OUT/trust/log.vkey" --proof "$OUT/proofs/$(basename "$f" .json).proof" --bundle "$f" >/dev/null
done
echo "every inclusion proof in $OUT/proofs verifies against the log key"

step "11. export the compliance package and verify it as an auditor would"
# The demo's policy accepts untraceable time (no NTP server in the demo) and says so.
cat > "$OUT/trust/policy.json" <<'JSON'
{"mediaType":"application/vnd.dossier.policy.v1+json",
 "time":{"accept":["good"],"acceptUntraceable":true,"maxProducerSkewSeconds":300},
 "requiredKinds":["dataset","training-run","evaluation","run-closed"]}
JSON
"$D" export --log "$OUT/log" --log-key "$OUT/keys/log.key" --exporter-key "$OUT/keys/exporter.key" \
  --keyring "$OUT/trust/keyring-v1.json" --run "$OUT/run.json" --policy "$OUT/trust/policy.json" \
  --purpose "Technical documentation for the notified body (demo)" \
  --requested-by "person:e30211:Erika Musterfrau" --recipient "Notified Body 0123:assessor@nb0123.example" \
  --at 2026-11-27T15:00:00Z -o "$OUT/package.tar"
"$BIN/dossier-verify" --policy "$OUT/trust/policy.json" \
  --root-fingerprint "$(cat "$OUT/trust/root-fingerprint")" "$OUT/package.tar"

step "12. dossierd: a training pipeline (Python client) submits over HTTP, export over the API, verified"
BIN="$BIN" bash scripts/demo_daemon.sh

step "done"
cat <<MSG
run $RUN_ID, run root $ROOT
  package         $OUT/package.tar (verified; pinned root $(cat "$OUT/trust/root-fingerprint"))
  via dossierd    $OUT/dossierd-package.tar (verified; pinned root $(cat "$OUT/dossierd/trust/root-fingerprint"))
  records         $OUT/records/ ($(ls "$OUT"/records | wc -l) signed bundles)
  time evidence   $OUT/time-evidence/
  log             $OUT/log/ (checkpoint verified with $OUT/trust/log.vkey)
  proofs          $OUT/proofs/
  trust           $OUT/trust/ (public keys, keyring, root fingerprint, policy)
Verify the package yourself:
  bin/dossier-verify --policy $OUT/trust/policy.json --root-fingerprint "\$(cat $OUT/trust/root-fingerprint)" $OUT/package.tar
Check a record with stock cosign:
  cosign verify-blob-attestation --bundle $OUT/records/01-dataset.json --key $OUT/trust/producer.pub \\
    --insecure-ignore-tlog --type https://dossier.dev/predicates/dataset/v1 --digest ${ROOT#sha256:} --digestAlg sha256
MSG
