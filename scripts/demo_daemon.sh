#!/usr/bin/env bash
# The daemon part of make demo: dossierd on loopback with embedded defaults
# (a POSIX log and an OCI layout under out/demo/dossierd/), a simulated
# training pipeline submitting its records over HTTP through the Python
# client, an export requested over the API, the package verified with
# dossier-verify, and the daemon stopped. The daemon anchors its checkpoints
# in the background (issue 7): the TSA of scripts/demo.sh (or its own when run
# alone) and a witness for the daemon's log (scripts/demo_anchors.sh); the
# exported package carries the anchors.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/demo_anchors.sh
: "${BIN:=$PWD/bin}"
D="$BIN/dossier"
: "${DOSSIER_KEY_PASSWORD:?set DOSSIER_KEY_PASSWORD (scripts/demo.sh does)}"
OUT=out/demo
DD=$OUT/dossierd
RUN_ID=demo-daemon-run-1
rm -rf "$DD" "$OUT/dossierd-package.tar"
mkdir -p "$DD"/{keys,trust}

# Keys: the daemon's log key, its ingest key (signs unsigned submissions,
# receipts and time evidence), the exporter key reused from the CLI demo.
"$D" log init --dir "$DD/scratch-log" --origin dossier.demo/dossierd/v1 --key-out "$DD/keys/log" >/dev/null
rm -rf "$DD/scratch-log"
"$D" key generate --output "$DD/keys/ingest" >/dev/null
trap anchors_stop EXIT
anchors_start "$OUT"
anchors_witness "$DD/keys/log.vkey" "$DD/witness-state"
"$D" keyring create --root-key "$OUT/keys/root.key" --issued-at 2026-11-27T08:00:00Z \
  --add "root:$OUT/keys/root.pub:Dana Root:person:e10001:security" \
  --add "ingest,time:$DD/keys/ingest.pub:dossierd:workload:dossierd/demo:operations" \
  --add "exporter:$OUT/keys/exporter.pub:Erika Musterfrau:person:e30211:compliance" \
  --add "log:$DD/keys/log.vkey:dossierd log:workload:dossierd/log:operations" \
  "${ANCHOR_KEYRING_FLAGS[@]}" \
  -o "$DD/trust/keyring-v1.json" | awk '{print $1}' > "$DD/trust/root-fingerprint"

# Tokens: one for the pipeline (producer), one for the compliance officer.
PIPE_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
EXPORT_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
OPS_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
cat > "$DD/tokens.json" <<JSON
{"tokens":[
 {"sha256":"$(sha "$PIPE_TOKEN")","subject":"workload:pipeline/train","name":"training pipeline","team":"ml-platform","roles":["producer"]},
 {"sha256":"$(sha "$EXPORT_TOKEN")","subject":"person:e30211","name":"Erika Musterfrau","team":"compliance","roles":["exporter","reviewer"]},
 {"sha256":"$(sha "$OPS_TOKEN")","subject":"workload:monitoring","name":"monitoring","team":"operations","roles":["operator"]}]}
JSON

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
INGEST=127.0.0.1:$(port)
REVIEW=127.0.0.1:$(port)
echo "starting dossierd: ingest http://$INGEST (pipelines), review http://$REVIEW (compliance)"
"$BIN/dossierd" -data-dir "$DD/data" -log-key "$DD/keys/log.key" \
  -ingest-key "$DD/keys/ingest.key" -ingest-key-password-file <(printf %s "$DOSSIER_KEY_PASSWORD") \
  -exporter-key "$OUT/keys/exporter.key" -exporter-key-password-file <(printf %s "$DOSSIER_KEY_PASSWORD") \
  -keyring "$DD/trust/keyring-v1.json" -keyring-root "$(cat "$DD/trust/root-fingerprint")" \
  -ingest-addr "$INGEST" -ingest-tokens "$DD/tokens.json" \
  -review-addr "$REVIEW" -review-tokens "$DD/tokens.json" \
  -anchor-tsas "$TSA_NAME=$DEMO_TSA_URL" -anchor-witnesses "$WITNESS_NAME=$WITNESS_URL" -anchor-interval 200ms \
  2> "$DD/dossierd.log" &
DPID=$!
trap 'kill $DPID 2>/dev/null || true; anchors_stop' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://$INGEST/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -s "http://$INGEST/readyz"; echo

echo "the training pipeline (Python client) submits its records"
DOSSIER_URL="http://$INGEST" DOSSIER_RUN_ID=$RUN_ID DOSSIER_TOKEN=$PIPE_TOKEN DOSSIER_OUTBOX="$DD/outbox" \
DOSSIER_PROJECT=support-assistant DOSSIER_MODEL=acme/support-assistant-de \
DOSSIER_PRODUCER_ID=workload:pipeline/train \
  python3 scripts/demo_pipeline.py "$OUT/predicates"

echo "the compliance officer requests the export over the review API"
curl -sf -H "Authorization: Bearer $EXPORT_TOKEN" -H 'Content-Type: application/json' \
  -d "{\"runs\":[\"$RUN_ID\"],\"purpose\":\"Technical documentation for the notified body (demo, via dossierd)\",\"recipient\":{\"organisation\":\"Notified Body 0123\"}}" \
  "http://$REVIEW/v1/exports" > "$DD/export.json"
DL=$(json_get "$DD/export.json" 'd["download"]')
curl -sf -H "Authorization: Bearer $EXPORT_TOKEN" -o "$OUT/dossierd-package.tar" "http://$REVIEW$DL"
echo "package $OUT/dossierd-package.tar ($(json_get "$DD/export.json" 'd["result"]["recordCount"]') records, $(json_get "$DD/export.json" 'd["result"]["anchors"]') anchored checkpoint(s))"
curl -s "http://$INGEST/metrics" -H "Authorization: Bearer $OPS_TOKEN" | grep '^dossierd_anchor_' || true

# The review console (pkg/console) on the review listener: sign in with the
# exporter token (roles exporter+reviewer); screenshots of the queue, the
# run's page and the exports page (skipped, with a hint, without Chromium).
(umask 077 && printf '%s\n' "$EXPORT_TOKEN" > "$DD/console-token")
echo "review console: http://$REVIEW/console/ (sign in with the exporter token in $DD/console-token)"
GOTOOLCHAIN=local "${GO:-go}" run ./internal/democonsole -url "http://$REVIEW/console/" \
  -token-file "$DD/console-token" -run "$RUN_ID" -out "$OUT/screenshots"

kill -TERM $DPID && wait $DPID 2>/dev/null || true
trap anchors_stop EXIT
echo "dossierd stopped (SIGTERM drains)"

# The run policy: this run's release is not reviewed (policy.json, the
# release policy, would reject it for want of approvals).
"$BIN/dossier-verify" --policy "$OUT/trust/run-policy.json" \
  --root-fingerprint "$(cat "$DD/trust/root-fingerprint")" "$OUT/dossierd-package.tar"
