#!/usr/bin/env bash
# make demo: the main job end to end on embedded defaults, no network and no
# servers. Everything it writes is under out/demo/ (names are stable: other
# checks read them).
#
#  1. keys: root (signs the keyring), producer (ECDSA P-256, the pipeline),
#     evaluator (Ed25519), time checker, exporter (Ed25519: deterministic
#     packages), the trainer (signs the training run; also a reviewer, of the
#     developers' team), a validator and two reviewers of the validation
#     team; public keys to out/demo/trust/
#  2. the log (out/demo/log/, verifier key out/demo/trust/log.vkey), the
#     keyring v1 and its rotation to v2 (adds the trainer, the validator and
#     the reviewers), both appended to the log first; the root fingerprint,
#     what an auditor pins, in out/demo/trust/root-fingerprint
#  3. a synthetic dataset and a "model" in a Hugging Face cache layout
#  4. the run is registered: run root in out/demo/layout/, run file out/demo/run.json
#  5. dataset and model are hashed (out/demo/hashes/)
#  6. time evidence from $NTP_SERVERS, or honestly untraceable without them
#  7. records: dataset, training run, the validator's evaluation plan
#     (logged before the evaluation it governs), evaluation, model release,
#     run closed
#  8. records appended to the log; dossier review renders what the reviewers
#     approve (out/demo/review.html), two reviewers of the validation team sign
#     approvals (logged after every record they cover); the release policy
#     (out/demo/trust/policy.json: 2 approvals, separation of duties by
#     person and team, the signed plan's thresholds) is checked; checkpoint,
#     one proof per record
#  8b. the SLSA verification summary about the weights (out/demo/vsa.json,
#     signed by the validator) and the weights as an OCI artifact
#     (out/demo/model-layout/, tag 1.0.0) with the summary attached as a
#     referrer, the form stock cosign verify-attestation reads
#  9. records stored as OCI artifacts in out/demo/layout/ (and pushed to
#     $REGISTRY over plain HTTP when set, e.g. REGISTRY=127.0.0.1:5000/dossier/demo)
# 10. records and proofs verified
# 11. export of the compliance package out/demo/package.tar, verified by
#     dossier-verify with the release policy (which accepts untraceable time
#     and says so)
# 11b. issue 8 acceptance on copies of the log (out/demo/tampered/): packages
#     with one approval removed, one swapped for an approval of another run,
#     one approval signed with the trainer's key; all validly signed, each
#     must make dossier-verify exit 1 naming the policy rule it breaks
# 12. dossierd on loopback (out/demo/dossierd/): a simulated training
#     pipeline submits its records over HTTP through the Python client, the
#     export is requested over the review API (out/demo/dossierd-package.tar),
#     dossier-verify checks it (run policy out/demo/trust/run-policy.json: that
#     release is not reviewed), the daemon is stopped
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/demo_anchors.sh # issue 7: a TSA and a witness on loopback (stopped on exit)
trap anchors_stop EXIT
: "${BIN:=$PWD/bin}"
D="$BIN/dossier"
OUT=out/demo
RUN_ID=demo-ft-2026-11-27
# The scenario's stated times (keyrings, run, records, approvals, the
# auditor's --at) are on DEMO_DAY, by default tomorrow (UTC): the time
# evidence is taken now with the real clock, and a record may not state a
# time earlier than the evidence it cites by more than the policy's skew, so
# fixed dates would fail the demo once they are past.
: "${DEMO_DAY:=$(date -u -d '+1 day' +%F)}"
export DEMO_DAY
export DOSSIER_KEY_PASSWORD="demo-password-not-for-production"

step() { printf '\n== %s\n' "$*"; }

rm -rf "$OUT"
mkdir -p "$OUT"/{keys,trust,data,hashes,records,time-evidence,predicates,proofs}
echo "$DEMO_DAY" > "$OUT/demo-day"

step "1. keys (private keys encrypted with \$DOSSIER_KEY_PASSWORD)"
"$D" key generate --output "$OUT/keys/root"
"$D" key generate --output "$OUT/keys/producer"
"$D" key generate --algorithm ed25519 --output "$OUT/keys/evaluator"
"$D" key generate --output "$OUT/keys/time"
"$D" key generate --algorithm ed25519 --output "$OUT/keys/exporter"
for k in trainer validator reviewer-a reviewer-b; do "$D" key generate --output "$OUT/keys/$k"; done
cp "$OUT"/keys/{root,producer,evaluator,time,exporter,trainer,validator,reviewer-a,reviewer-b}.pub "$OUT/trust/"

step "2. the log, the keyring v1 and its rotation to v2 (logged first: key validity is judged by log position)"
"$D" log init --dir "$OUT/log" --origin dossier.demo/log/v1 --key-out "$OUT/keys/log"
cp "$OUT/keys/log.vkey" "$OUT/trust/log.vkey"
# issue 7 (scripts/demo_anchors.sh): start the TSA and the log's witness; the
# TSA chain and the witness key go into the keyring's anchor trust root.
anchors_start "$OUT"
anchors_witness "$OUT/trust/log.vkey" "$OUT/anchors-run/witness-state"
"$D" keyring create --root-key "$OUT/keys/root.key" --issued-at ${DEMO_DAY}T08:00:00Z \
  --add "root:$OUT/keys/root.pub:Dana Root:person:e10001:security" \
  --add "producer:$OUT/keys/producer.pub:Training pipeline:workload:pipeline/train:ml-platform" \
  --add "producer:$OUT/keys/evaluator.pub:Evaluation pipeline:workload:pipeline/eval:ml-platform" \
  --add "time:$OUT/keys/time.pub:Time checker:workload:timecheck:operations" \
  --add "exporter:$OUT/keys/exporter.pub:Erika Musterfrau:person:e30211:compliance" \
  --add "log:$OUT/keys/log.vkey:Audit log:workload:dossier-log:operations" \
  "${ANCHOR_KEYRING_FLAGS[@]}" \
  -o "$OUT/trust/keyring-v1.json" | tee "$OUT/trust/root-fingerprint.tmp"
awk '{print $1}' "$OUT/trust/root-fingerprint.tmp" > "$OUT/trust/root-fingerprint" && rm "$OUT/trust/root-fingerprint.tmp"
# v2 (dossier keyring add: v1's keys and anchor trust root, plus new keys;
# signed by v1's root): the trainer (a person of the developers' team
# ml-platform who also holds the reviewer role: only separation of duties
# keeps him from approving his own run), the validator (signs evaluation
# plans) and two reviewers of the validation team.
"$D" keyring add --root-key "$OUT/keys/root.key" --previous "$OUT/trust/keyring-v1.json" --issued-at ${DEMO_DAY}T08:30:00Z \
  --add "producer,reviewer:$OUT/keys/trainer.pub:Tom Trainer:person:e20001:ml-platform" \
  --add "producer,reviewer:$OUT/keys/validator.pub:Vera Validator:person:e40001:validation" \
  --add "reviewer:$OUT/keys/reviewer-a.pub:Rita Reviewer:person:e40002:validation" \
  --add "reviewer:$OUT/keys/reviewer-b.pub:Victor Reviewer:person:e40003:validation" \
  -o "$OUT/trust/keyring-v2.json" >/dev/null
"$D" log append --dir "$OUT/log" --key "$OUT/keys/log.key" --stream keyring "$OUT/trust/keyring-v1.json"
"$D" log append --dir "$OUT/log" --key "$OUT/keys/log.key" --stream keyring "$OUT/trust/keyring-v2.json"
KEYRINGS=(--keyring "$OUT/trust/keyring-v1.json" --keyring "$OUT/trust/keyring-v2.json")
PIN=$(cat "$OUT/trust/root-fingerprint")

step "3. synthetic dataset and model (Hugging Face cache layout)"
python3 scripts/demo_data.py "$OUT/data"

step "4. register the run"
"$D" run init --id "$RUN_ID" --project support-assistant --model acme/support-assistant-de \
  --started-by workload:pipeline/train --started-by-name "training pipeline" \
  --started-at ${DEMO_DAY}T09:00:00Z --layout "$OUT/layout" -o "$OUT/run.json"
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
sign() { # sign RECORD PREDICATE KIND KEY
  "$D" record create --run "$OUT/run.json" --type "$3" --predicate "$OUT/predicates/$2.json" \
    --key "$OUT/keys/$4.key" -o "$OUT/records/$1.json"
}
sign 01-dataset 01-dataset dataset producer
sign 02-training-run 02-training-run training-run trainer
sign 03-evaluation-plan validator-evaluation-plan evaluation-plan validator
sign 03-evaluation 03-evaluation evaluation evaluator
sign 04-model-release 04-model-release model-release producer
sign 05-run-closed 05-run-closed run-closed producer

step "8. the log, the review, two approvals, the release policy; checkpoint, one inclusion proof per record"
# The plan is appended before the evaluation it governs (separate appends:
# the log order inside one batch is not what orders them).
"$D" log append --dir "$OUT/log" --key "$OUT/keys/log.key" "$OUT"/time-evidence/*.json \
  "$OUT"/records/{01-dataset,02-training-run,03-evaluation-plan}.json
"$D" log append --dir "$OUT/log" --key "$OUT/keys/log.key" "$OUT"/records/{03-evaluation,04-model-release,05-run-closed}.json
"$D" review --run "$OUT/run.json" --log "$OUT/log" "${KEYRINGS[@]}" --root-fingerprint "$PIN" -o "$OUT/review.html"
approve() { # approve KEY "PRINTED NAME" OUT.json: an approval over review.html, valid until 2036
  "$D" approve --run "$OUT/run.json" --review "$OUT/review.html" --key "$OUT/keys/$1.key" --name "$2" "${KEYRINGS[@]}" \
    --meaning approval --decision approve --at ${DEMO_DAY}T14:30:00Z --expires 2036-11-27T00:00:00Z -o "$3"
}
approve reviewer-a "Rita Reviewer" "$OUT/records/06-approval-reviewer-a.json"
"$D" log append --dir "$OUT/log" --key "$OUT/keys/log.key" "$OUT/records/06-approval-reviewer-a.json"
mkdir -p "$OUT/tampered"
cp -r "$OUT/log" "$OUT/tampered/log-one-approval" # the state with one approval, for step 11b
approve reviewer-b "Victor Reviewer" "$OUT/records/06-approval-reviewer-b.json"
"$D" log append --dir "$OUT/log" --key "$OUT/keys/log.key" "$OUT/records/06-approval-reviewer-b.json"
# The release policy (spec/policy.md): the kinds every run holds; for a
# release, the validator's plan, 2 approvals by distinct reviewers covering
# every record, separation of duties by person and team. It accepts
# untraceable time (no NTP server in the demo) and the verifier says so.
cat > "$OUT/trust/policy.json" <<'JSON'
{"mediaType":"application/vnd.dossier.policy.v2+json","name":"support-assistant release policy (demo)",
 "time":{"accept":["good"],"acceptUntraceable":true,"maxProducerSkewSeconds":300},
 "requiredKinds":["dataset","training-run","evaluation","run-closed"],
 "releases":{"requiredKinds":["evaluation-plan","model-release","approval"],
  "evaluationPlan":{"role":"reviewer"},
  "approvals":{"min":2,"role":"reviewer","meanings":["approval"],
   "cover":["dataset","training-run","evaluation-plan","evaluation","model-release","run-closed"]},
  "separationOfDuties":{"byPerson":true,"byTeam":true,"developerKinds":["dataset","training-run"]}}}
JSON
# The run policy (v1, no release rules): what the daemon's run below is held to.
cat > "$OUT/trust/run-policy.json" <<'JSON'
{"mediaType":"application/vnd.dossier.policy.v1+json",
 "time":{"accept":["good"],"acceptUntraceable":true,"maxProducerSkewSeconds":300},
 "requiredKinds":["dataset","training-run","evaluation","run-closed"]}
JSON
"$D" policy lint "$OUT/trust/policy.json"
"$D" policy check --policy "$OUT/trust/policy.json" --run "$OUT/run.json" --log "$OUT/log" "${KEYRINGS[@]}" \
  --root-fingerprint "$PIN" --at ${DEMO_DAY}T15:00:00Z | tail -n 1
"$D" log checkpoint --dir "$OUT/log" --vkey "$OUT/trust/log.vkey"
# issue 7: anchor this checkpoint (RFC 3161 token + witness cosignature, kept in $OUT/anchors/)
"$D" anchor run --log "$OUT/log" --log-vkey "$OUT/trust/log.vkey" --store "$OUT/anchors" "${ANCHOR_FLAGS[@]}" >/dev/null
for f in "$OUT"/time-evidence/*.json "$OUT"/records/*.json; do
  "$D" log prove --dir "$OUT/log" --bundle "$f" -o "$OUT/proofs/$(basename "$f" .json).proof"
done

step "8b. the verification summary about the weights, attached to the model's OCI artifact"
# The weights as an OCI artifact, as the ML team's registry would hold them
# (a stand-in: Dossier never moves weights), tagged 1.0.0 in its own layout
# (cosign --local-image checks the first image a layout marks).
python3 scripts/demo_model_oci.py "$OUT/model-layout" 1.0.0 \
  "$OUT/data/hub/models--acme--support-assistant-de/snapshots/rev-1/adapter_model.safetensors"
# Issued only because the release satisfies the policy; its subjects are the
# weights file and the artifact's manifest, so both cosign verify-blob-attestation
# (--digest <weights>) and verify-attestation (on the artifact) accept it.
"$D" vsa --policy "$OUT/trust/policy.json" --run "$OUT/run.json" --log "$OUT/log" "${KEYRINGS[@]}" \
  --root-fingerprint "$PIN" --at ${DEMO_DAY}T15:00:00Z --key "$OUT/keys/validator.key" \
  --verifier-id https://dossier.demo/gate --resource-uri "oci://registry.demo/acme/support-assistant-de:1.0.0" \
  --policy-uri https://dossier.demo/policies/release.json \
  --artifact "layout:$OUT/model-layout" --artifact-tag 1.0.0 -o "$OUT/vsa.json"
"$D" vsa attach --tag 1.0.0 "layout:$OUT/model-layout" "$OUT/vsa.json"
: "${COSIGN:=$(command -v cosign || echo "$HOME/.cache/dossier-tools/bin/cosign")}"
if [ -x "$COSIGN" ]; then
  "$COSIGN" verify-attestation --local-image --key "$OUT/trust/validator.pub" --insecure-ignore-tlog \
    --type https://slsa.dev/verification_summary/v1 "$OUT/model-layout" >/dev/null
  echo "stock cosign verify-attestation --local-image accepts the summary attached to $OUT/model-layout:1.0.0"
fi

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
"$D" record verify --key "$OUT/trust/producer.pub" --run "$OUT/run.json" "$OUT"/records/0{1,4,5}-*.json
"$D" record verify --key "$OUT/trust/trainer.pub" --run "$OUT/run.json" "$OUT"/records/02-*.json
"$D" record verify --key "$OUT/trust/evaluator.pub" --run "$OUT/run.json" "$OUT"/records/03-evaluation.json
"$D" record verify --key "$OUT/trust/validator.pub" --run "$OUT/run.json" "$OUT"/records/03-evaluation-plan.json
"$D" record verify --key "$OUT/trust/reviewer-a.pub" --run "$OUT/run.json" "$OUT"/records/06-approval-reviewer-a.json
"$D" record verify --key "$OUT/trust/reviewer-b.pub" --run "$OUT/run.json" "$OUT"/records/06-approval-reviewer-b.json
"$D" record verify --key "$OUT/trust/time.pub" "$OUT"/time-evidence/*.json
for f in "$OUT"/time-evidence/*.json "$OUT"/records/*.json; do
  "$D" log verify --vkey "$OUT/trust/log.vkey" --proof "$OUT/proofs/$(basename "$f" .json).proof" --bundle "$f" >/dev/null
done
echo "every inclusion proof in $OUT/proofs verifies against the log key"

step "11. export the compliance package and verify it as an auditor would"
# The release policy (step 8) accepts untraceable time (no NTP server in the demo) and says so.
export_pkg() { # export_pkg LOG OUT.tar RUNFILE... [--release]
  local log=$1 out=$2; shift 2
  local runs=(); for r in "$@"; do if [ "$r" = --release ]; then runs+=(--release); else runs+=(--run "$r"); fi; done
  "$D" export --log "$log" --log-key "$OUT/keys/log.key" --exporter-key "$OUT/keys/exporter.key" \
    "${KEYRINGS[@]}" "${runs[@]}" --policy "$OUT/trust/policy.json" \
    --anchor-store "$OUT/anchors" "${ANCHOR_FLAGS[@]}" \
    --purpose "Technical documentation for the notified body (demo)" \
    --requested-by "person:e30211:Erika Musterfrau" --recipient "Notified Body 0123:assessor@nb0123.example" \
    --at ${DEMO_DAY}T15:00:00Z -o "$out"
}
# --release: the export is refused unless the run meets the release policy
export_pkg "$OUT/log" "$OUT/package.tar" "$OUT/run.json" --release
"$BIN/dossier-verify" --policy "$OUT/trust/policy.json" \
  --root-fingerprint "$(cat "$OUT/trust/root-fingerprint")" "$OUT/package.tar"

step "11b. issue 8 acceptance: validly signed packages that break the release policy are rejected, naming the rule"
BIN="$BIN" bash scripts/demo_tamper.sh

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
  trust           $OUT/trust/ (public keys, keyring v1 and v2, root fingerprint, release policy)
  approvals       $OUT/records/06-approval-*.json over $OUT/review.html (release policy passed)
  summary         $OUT/vsa.json (SLSA VSA, validator) attached to $OUT/model-layout:1.0.0
  tampered        $OUT/tampered/*.tar (rejected naming the policy rule, as they must be)
Verify the package yourself:
  bin/dossier-verify --policy $OUT/trust/policy.json --root-fingerprint "\$(cat $OUT/trust/root-fingerprint)" $OUT/package.tar
Check a record with stock cosign:
  cosign verify-blob-attestation --bundle $OUT/records/01-dataset.json --key $OUT/trust/producer.pub \\
    --insecure-ignore-tlog --type https://dossier.dev/predicates/dataset/v1 --digest ${ROOT#sha256:} --digestAlg sha256
Gate a deployment on the summary with stock cosign:
  cosign verify-attestation --local-image --key $OUT/trust/validator.pub --insecure-ignore-tlog \\
    --type https://slsa.dev/verification_summary/v1 $OUT/model-layout
MSG
