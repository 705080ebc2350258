#!/usr/bin/env bash
# The approval gate end to end (issue 8), on embedded defaults, no network:
# everything it writes is under out/demo-approval/.
#
#  1. keys: root, training pipeline, trainer, validator (signs the
#     evaluation plan), two reviewers of the validation team, time, exporter
#  2. log; keyring v1 (pipeline, trainer, validator, time, exporter), then a
#     rotation to keyring v2 that adds the two reviewers; both logged
#  3. the run: dataset, training run, the validator's evaluation plan
#     (logged before the evaluations), two evaluations, model release, end
#  4. dossier review renders the canonical review document
#  5. both reviewers sign approvals over it (21 CFR 11.50), logged
#  6. dossier policy check: 2 approvals by distinct people, separation of
#     duties by person and team, plan thresholds (release policy v2)
#  7. dossier vsa: SLSA verification summary about the weights' digest;
#     stock cosign verifies it when $COSIGN is set (or installed)
#  8. export of the package, verified by dossier-verify
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
: "${BIN:=$PWD/bin}"
D="$BIN/dossier"
OUT=out/demo-approval
RUN_ID=demo-release-2026-11-28
WEIGHTS=18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4
export DOSSIER_KEY_PASSWORD="demo-password-not-for-production"
step() { printf '\n== %s\n' "$*"; }

rm -rf "$OUT"
mkdir -p "$OUT"/{keys,trust,records,predicates}

step "1. keys"
for k in root pipeline trainer validator reviewer-a reviewer-b time; do "$D" key generate --output "$OUT/keys/$k"; done
"$D" key generate --algorithm ed25519 --output "$OUT/keys/exporter"

step "2. log, keyring v1 and its rotation to v2 (adds the reviewers), both logged first"
"$D" log init --dir "$OUT/log" --origin dossier.demo/approval/v1 --key-out "$OUT/keys/log"
K="$OUT/keys"
base=(--add "root:$K/root.pub:Dana Root:person:e10001:security"
  --add "producer:$K/pipeline.pub:Training pipeline:workload:pipeline/train:ml-platform"
  --add "producer:$K/trainer.pub:Tom Trainer:person:e20001:ml-platform"
  --add "producer,reviewer:$K/validator.pub:Vera Validator:person:e40001:validation"
  --add "time:$K/time.pub:Time checker:workload:timecheck:operations"
  --add "exporter:$K/exporter.pub:Erika Musterfrau:person:e30211:compliance"
  --add "log:$K/log.vkey:Audit log:workload:dossier-log:operations")
"$D" keyring create --root-key "$K/root.key" --issued-at 2026-11-28T08:00:00Z "${base[@]}" \
  -o "$OUT/trust/keyring-v1.json" | awk '{print $1}' > "$OUT/trust/root-fingerprint"
"$D" keyring create --root-key "$K/root.key" --previous "$OUT/trust/keyring-v1.json" --issued-at 2026-11-28T08:30:00Z "${base[@]}" \
  --add "reviewer:$K/reviewer-a.pub:Rita Reviewer:person:e40002:validation" \
  --add "reviewer:$K/reviewer-b.pub:Victor Reviewer:person:e40003:validation" \
  -o "$OUT/trust/keyring-v2.json" >/dev/null
"$D" log append --dir "$OUT/log" --key "$K/log.key" --stream keyring "$OUT/trust/keyring-v1.json"
"$D" log append --dir "$OUT/log" --key "$K/log.key" --stream keyring "$OUT/trust/keyring-v2.json"
KEYRINGS=(--keyring "$OUT/trust/keyring-v1.json" --keyring "$OUT/trust/keyring-v2.json")
PIN=$(cat "$OUT/trust/root-fingerprint")

step "3. the run and its records (the plan is logged before the evaluations)"
"$D" run init --id "$RUN_ID" --project support-assistant --model acme/support-assistant-de \
  --started-by workload:pipeline/train --started-at 2026-11-28T09:00:00Z -o "$OUT/run.json"
ROOT=$(json_get "$OUT/run.json" 'd["digest"]')
"$D" timecheck --record "$OUT/records/00-time-evidence.json" --key "$K/time.key" || true
TE=$("$D" record inspect --json "$OUT/records/00-time-evidence.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')
"$D" log append --dir "$OUT/log" --key "$K/log.key" "$OUT/records/00-time-evidence.json" >/dev/null
pred() { # pred NAME KIND PYTHON-EDIT
  "$D" predicate init "$2" | python3 -c '
import json, sys
d = json.load(sys.stdin)
import datetime
d["runId"], d["timeEvidence"] = sys.argv[1], {"digest": sys.argv[2]}
d["producedAt"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
exec(sys.argv[3])
json.dump(d, open(sys.argv[4], "w"))' "$RUN_ID" "$TE" "$3" "$OUT/predicates/$1.json"
}
sign() { # sign NAME KIND KEY: prints the record digest
  "$D" record create --run "$OUT/run.json" --type "$2" --predicate "$OUT/predicates/$1.json" \
    --key "$K/$3.key" -o "$OUT/records/$1.json" 2>&1 | awk '{print $1}'
  "$D" log append --dir "$OUT/log" --key "$K/log.key" "$OUT/records/$1.json" >/dev/null
}
pred 01-dataset dataset "pass"; sign 01-dataset dataset pipeline >/dev/null
pred 02-training-run training-run "pass"; sign 02-training-run training-run trainer >/dev/null
pred 03-evaluation-plan evaluation-plan "pass"; PLAN=$(sign 03-evaluation-plan evaluation-plan validator)
pred 04-evaluation evaluation "d['plan'] = '$PLAN'"; sign 04-evaluation evaluation pipeline >/dev/null
pred 05-evaluation evaluation "d['plan'] = '$PLAN'; d['benchmark'] = {'name': 'toxicity-de', 'version': '1'}; d.pop('dataset'); d.pop('thresholds'); d['metrics'] = [{'name': 'toxic_rate', 'value': '0.0004'}]"
sign 05-evaluation evaluation pipeline >/dev/null
pred 06-model-release model-release "d['runs'] = ['$ROOT']; d.pop('previousVersion')"; sign 06-model-release model-release pipeline >/dev/null
pred 07-run-closed run-closed "pass"; sign 07-run-closed run-closed pipeline >/dev/null

step "4. the review document"
"$D" review --run "$OUT/run.json" --log "$OUT/log" "${KEYRINGS[@]}" --root-fingerprint "$PIN" -o "$OUT/review.html"

step "5. two reviewers of the validation team approve"
for r in reviewer-a:"Rita Reviewer" reviewer-b:"Victor Reviewer"; do
  "$D" approve --run "$OUT/run.json" --review "$OUT/review.html" --key "$K/${r%%:*}.key" --name "${r#*:}" \
    "${KEYRINGS[@]}" --meaning approval --decision approve --at 2026-11-29T10:00:00Z \
    --expires 2027-11-29T00:00:00Z -o "$OUT/records/08-approval-${r%%:*}.json"
  "$D" log append --dir "$OUT/log" --key "$K/log.key" "$OUT/records/08-approval-${r%%:*}.json" >/dev/null
done

step "6. the release policy"
cat > "$OUT/trust/release-policy.json" <<'JSON'
{"mediaType":"application/vnd.dossier.policy.v2+json","name":"support-assistant release policy",
 "time":{"accept":["good"],"acceptUntraceable":true,"maxProducerSkewSeconds":300},
 "requiredKinds":["dataset","training-run","evaluation","run-closed"],
 "releases":{"requiredKinds":["evaluation-plan","model-release","approval"],
  "evaluationPlan":{"role":"reviewer"},
  "approvals":{"min":2,"role":"reviewer","meanings":["approval"],
   "cover":["dataset","training-run","evaluation-plan","evaluation","model-release","run-closed"]},
  "separationOfDuties":{"byPerson":true,"byTeam":true,"developerKinds":["dataset","training-run"]}}}
JSON
"$D" policy lint "$OUT/trust/release-policy.json"
"$D" policy check --policy "$OUT/trust/release-policy.json" --run "$OUT/run.json" --log "$OUT/log" "${KEYRINGS[@]}" \
  --root-fingerprint "$PIN" --at 2026-12-01T00:00:00Z | tail -n 1

step "7. the verification summary about the weights"
"$D" vsa --policy "$OUT/trust/release-policy.json" --run "$OUT/run.json" --log "$OUT/log" "${KEYRINGS[@]}" \
  --root-fingerprint "$PIN" --at 2026-12-01T00:00:00Z --key "$K/validator.key" \
  --verifier-id https://dossier.demo/gate --resource-uri "oci://registry.demo/acme/support-assistant-de@sha256:$WEIGHTS" \
  --policy-uri https://dossier.demo/policies/release.json -o "$OUT/vsa.json"
if [ -n "${COSIGN:-}" ] || command -v cosign >/dev/null; then
  "${COSIGN:-cosign}" verify-blob-attestation --bundle "$OUT/vsa.json" --key "$K/validator.pub" --insecure-ignore-tlog \
    --type https://slsa.dev/verification_summary/v1 --digest "$WEIGHTS" --digestAlg sha256
fi

step "8. export and verify the package"
cat > "$OUT/trust/policy-v1.json" <<'JSON'
{"mediaType":"application/vnd.dossier.policy.v1+json",
 "time":{"accept":["good"],"acceptUntraceable":true,"maxProducerSkewSeconds":300},
 "requiredKinds":["dataset","training-run","evaluation","run-closed","approval"]}
JSON
"$D" export --log "$OUT/log" --log-key "$K/log.key" --exporter-key "$K/exporter.key" "${KEYRINGS[@]}" \
  --run "$OUT/run.json" --policy "$OUT/trust/policy-v1.json" --purpose "Release approval evidence (demo)" \
  --requested-by "person:e30211:Erika Musterfrau" --recipient "Model risk committee" \
  --at 2026-12-01T12:00:00Z -o "$OUT/package.tar"
"$BIN/dossier-verify" --policy "$OUT/trust/policy-v1.json" --root-fingerprint "$PIN" "$OUT/package.tar"

step "9. tamper check: an approval signed with the trainer's key (in a copy of the log) fails the policy, naming the rules"
cp -r "$OUT/log" "$OUT/log-tampered"
"$D" approve --run "$OUT/run.json" --review "$OUT/review.html" --key "$K/trainer.key" --name "Tom Trainer" \
  "${KEYRINGS[@]}" --meaning approval --decision approve --at 2026-11-29T11:00:00Z -o "$OUT/approval-by-trainer.json" >/dev/null
"$D" log append --dir "$OUT/log-tampered" --key "$K/log.key" "$OUT/approval-by-trainer.json" >/dev/null
if "$D" policy check --policy "$OUT/trust/release-policy.json" --run "$OUT/run.json" --log "$OUT/log-tampered" \
  "${KEYRINGS[@]}" --root-fingerprint "$PIN" --at 2026-12-01T00:00:00Z > "$OUT/tampered-check.txt" 2>&1; then
  echo "demo-approval: the trainer's approval was not rejected" >&2; exit 1
fi
grep '^fail' "$OUT/tampered-check.txt"

step "done"
cat <<MSG
run $RUN_ID, run root $ROOT
  review document  $OUT/review.html (its digest is in both approvals)
  approvals        $OUT/records/08-approval-*.json
  summary          $OUT/vsa.json (SLSA VSA v1 about sha256:$WEIGHTS, signed by the validator)
  package          $OUT/package.tar (verified; pinned root $PIN)
MSG
