# Independent anchors for make demo (issue 7): a time-stamping authority and
# a witness on loopback, so the demo's checkpoints carry RFC 3161 tokens and
# witness cosignatures and dossier-verify marks the records anchored.
# Source it (scripts/demo.sh and scripts/demo_daemon.sh do); never run it.
#
#   anchors_start OUT           build/start the TSA (or reuse the one in
#                               $DEMO_TSA_URL), write its
#                               chain to OUT/trust/tsa-chain.pem, make the
#                               witness key OUT/keys/witness.{key,vkey}; sets
#                               ANCHOR_KEYRING_FLAGS (for keyring create)
#   anchors_witness VKEY DIR    start 'dossier witness serve' for the log
#                               VKEY (state in DIR); sets ANCHOR_FLAGS (for
#                               anchor run and export)
#   anchors_stop                stop what these started (by pid)
#
# The TSA is sigstore timestamp-authority at the version go.mod pins: its
# API server run in-process by internal/demotsa (go build; only the Go
# module proxy is needed) on 127.0.0.1 with its in-memory test signer. The
# stock timestamp-server binary is not used because it always binds its
# metrics port :2112 on every interface (two demos on one machine collide)
# and queries public NTP servers unless told not to. Nothing here is for
# production: the memory signer's chain is new at every start.
ANCHOR_PIDS=()
TSA_NAME=tsa.demo
WITNESS_NAME=secops

anchor_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# anchor_wait URL: wait up to 10 s for URL to answer.
anchor_wait() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "demo: $1 did not come up" >&2
  return 1
}

anchors_start() {
  local out=$1 port
  mkdir -p "$out/anchors-run" "$out/trust" "$out/keys"
  if [ -n "${DEMO_TSA_URL:-}" ] && [ -s "$out/trust/tsa-chain.pem" ] && curl -s -o /dev/null "${DEMO_TSA_URL%/api/v1/timestamp}/ping"; then
    echo "TSA already running at $DEMO_TSA_URL (chain $out/trust/tsa-chain.pem)"
  else
    GOTOOLCHAIN=local "${GO:-go}" build -o "$out/anchors-run/demotsa" ./internal/demotsa
    rm -f "$out/anchors-run/tsa.url"
    "$out/anchors-run/demotsa" -listen 127.0.0.1:0 -url-out "$out/anchors-run/tsa.url" > "$out/anchors-run/tsa.log" 2>&1 &
    ANCHOR_PIDS+=($!)
    for _ in $(seq 1 100); do [ -s "$out/anchors-run/tsa.url" ] && break; sleep 0.1; done
    [ -s "$out/anchors-run/tsa.url" ] || { echo "demo: the TSA did not start (see $out/anchors-run/tsa.log)" >&2; return 1; }
    DEMO_TSA_URL="$(cat "$out/anchors-run/tsa.url")/api/v1/timestamp"
    anchor_wait "${DEMO_TSA_URL%/api/v1/timestamp}/ping"
    curl -sf "$DEMO_TSA_URL/certchain" > "$out/trust/tsa-chain.pem"
    echo "TSA (sigstore timestamp-authority, memory signer) at $DEMO_TSA_URL; chain in $out/trust/tsa-chain.pem"
  fi
  export DEMO_TSA_URL
  ANCHOR_TSA_CHAIN=$out/trust/tsa-chain.pem
  ANCHOR_WITNESS_KEY=$out/keys/witness.key
  if [ ! -s "$ANCHOR_WITNESS_KEY" ]; then
    "$D" witness keygen --name witness.demo/secops --key-out "$out/keys/witness" >/dev/null
  fi
  cp "$out/keys/witness.vkey" "$out/trust/witness.vkey"
  ANCHOR_KEYRING_FLAGS=(--tsa "$TSA_NAME=$out/trust/tsa-chain.pem" --witness "$WITNESS_NAME=$out/trust/witness.vkey")
}

# anchors_witness LOGVKEY STATEDIR: start the witness (key from
# anchors_start) for one log; sets WITNESS_URL and ANCHOR_FLAGS.
anchors_witness() {
  local vkey=$1 state=$2 port
  port=$(anchor_port)
  mkdir -p "$state"
  "$D" witness serve --listen "127.0.0.1:$port" --state "$state" --key "$ANCHOR_WITNESS_KEY" \
    --log-vkey "$vkey" > "$state.log" 2>&1 &
  ANCHOR_PIDS+=($!)
  WITNESS_URL="http://127.0.0.1:$port"
  anchor_wait "$WITNESS_URL/"
  echo "witness $WITNESS_NAME ('dossier witness serve') at $WITNESS_URL for the log $(cut -d+ -f1 "$vkey")"
  ANCHOR_FLAGS=(--tsa "$TSA_NAME=$DEMO_TSA_URL" --tsa-chain "$TSA_NAME=$ANCHOR_TSA_CHAIN" --witness "$WITNESS_NAME=$WITNESS_URL")
}

anchors_stop() {
  local pid
  for pid in "${ANCHOR_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  ANCHOR_PIDS=()
}
