#!/usr/bin/env bash
# Registry interop (issue 4 acceptance, called by `make interop` after the
# demo ran): a stock CNCF distribution registry on a loopback port, stock
# oras and stock cosign against the demo run pushed by `dossier push`.
#  1. dossier push out/demo/layout -> 127.0.0.1:PORT/dossier/demo (plain HTTP);
#  2. oras discover lists every record of the run;
#  3. for every (predicate type, signing key) of the run, cosign
#     verify-attestation against the registry prints exactly as many verified
#     attestations as the run has records of that type by that key (cosign
#     passes when one of several verifies, so the count is the check);
#  4. oras cp -r of the run to another repository preserves every digest;
#  5. cosign verify-attestation --local-image out/demo/layout verifies every
#     record the same way (issue 5 acceptance, same mechanism);
#  6. the deployment gate (issue 8 acceptance): the release's SLSA
#     verification summary (out/demo/vsa.json) attached to the weights' OCI
#     artifact is accepted by stock cosign verify-attestation, --local-image
#     on out/demo/model-layout and on the registry after `oras cp` of the
#     weights and `dossier vsa attach`; refused with another key, and when
#     the same summary is attached (by stock oras) to other weights.
# Needs: out/demo/{run.json,layout/,model-layout/,vsa.json,records/*.json,trust/*.pub} (bash scripts/demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
: "${BIN:=$PWD/bin}" "${TOOLS:=$HOME/.cache/dossier-tools}" "${COSIGN_VERSION:=v3.1.3}"
: "${ORAS_VERSION:=v1.3.6}" "${DISTRIBUTION_VERSION:=v3.1.2}"
D="$BIN/dossier"
demo=out/demo
say() { echo "interop-registry: $*"; }
fail() { echo "interop-registry: FAIL $*" >&2; exit 1; }

for f in "$demo/run.json" "$demo/layout/index.json"; do
  [ -e "$f" ] || fail "$f missing: run 'bash scripts/demo.sh' first"
done
[ -x "$D" ] || fail "$D missing: run 'make build' first"

# --- tools: stock cosign, oras and distribution, built from their modules --
ensure_cosign
mkdir -p "$TOOLS/bin"
install_tool() { # install_tool NAME MODULE/PATH@VERSION VERSION-CHECK-STRING
  if [ -x "$TOOLS/bin/$1" ] && [ -f "$TOOLS/bin/.$1.version" ] && [ "$(cat "$TOOLS/bin/.$1.version")" = "$2" ]; then
    return 0
  fi
  say "installing $2 into $TOOLS/bin (first use only)"
  GOBIN="$TOOLS/bin" go install "$2"
  echo "$2" > "$TOOLS/bin/.$1.version"
}
install_tool oras "oras.land/oras/cmd/oras@$ORAS_VERSION"
install_tool registry "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION"
ORAS="$TOOLS/bin/oras"

# --- a stock registry on a free loopback port ------------------------------
work=$(mktemp -d)
reg_pid=""
cleanup() {
  if [ -n "$reg_pid" ]; then kill "$reg_pid" 2>/dev/null || true; wait "$reg_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cat > "$work/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
OTEL_TRACES_EXPORTER=none "$TOOLS/bin/registry" serve "$work/config.yml" > "$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null || { cat "$work/registry.log" >&2; fail "registry did not start"; }
host="127.0.0.1:$port"
repo="$host/dossier/demo"
say "distribution $DISTRIBUTION_VERSION on $host (no referrers API: tag schema fallback)"

# --- what the run holds ----------------------------------------------------
run_id=$(json_get "$demo/run.json" 'd["runId"]')
root=$(json_get "$demo/run.json" 'd["digest"]')
"$D" records list --json --run "$demo/run.json" "layout:$demo/layout" > "$work/layout.json"
n=$(json_get "$work/layout.json" 'len(d["records"])')
[ "$n" -gt 0 ] || fail "the demo layout holds no records of run $run_id"
# Every record file whose statement is about the run must be in the layout.
for rec in "$demo"/records/*.json; do
  "$D" record inspect --json "$rec" > "$work/inspect.json"
  if python3 - "$work/inspect.json" "$root" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
subj = [s for s in d.get("subjects", d.get("subject", [])) if isinstance(s, dict)]
digests = ["sha256:" + s.get("digest", {}).get("sha256", "") for s in subj]
sys.exit(0 if sys.argv[2] in digests else 1)
PY
  then
    b="sha256:$(sha256sum "$rec" | cut -d' ' -f1)"
    grep -q "\"$b\"" "$work/layout.json" || fail "$rec ($b) is a record of the run but not in $demo/layout"
  fi
done
say "run $run_id ($root): $n records in $demo/layout"

# same_records LIST.json: the same records (digests, seq, kind, signer) as the layout.
same_records() {
  python3 - "$work/layout.json" "$1" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if a["records"] == b["records"] and a["root"] == b["root"] else 1)
PY
}

# Map key fingerprints to public key files.
declare -A pub_for
for pub in "$demo"/trust/*.pub; do
  pub_for[$("$D" key fingerprint "$pub")]=$pub
done

# --- 1. push ----------------------------------------------------------------
"$D" push --plain-http --layout "$demo/layout" --run "$demo/run.json" "$repo" >/dev/null
"$D" records list --json --plain-http --run "$demo/run.json" "$repo" > "$work/registry.json"
same_records "$work/registry.json" || fail "records listed from the registry differ from the layout"
say "dossier push: $n records pushed and listed back from $repo"

# --- 2. oras discover ---------------------------------------------------------
check_discover() { # check_discover DISCOVER.json: every record manifest of the layout is listed
  python3 - "$work/layout.json" "$1" <<'PY'
import json, sys
want = {r["manifest"] for r in json.load(open(sys.argv[1]))["records"]}
found = set()
def walk(x):
    if isinstance(x, dict):
        if "digest" in x: found.add(x["digest"])
        for v in x.values(): walk(v)
    elif isinstance(x, list):
        for v in x: walk(v)
walk(json.load(open(sys.argv[2])))
missing = want - found
if missing:
    print("missing from oras discover:", sorted(missing), file=sys.stderr)
    sys.exit(1)
PY
}
"$ORAS" discover --plain-http --format json "$repo:run-$run_id" > "$work/discover.json"
check_discover "$work/discover.json" || fail "oras discover does not list every record"
say "oras $ORAS_VERSION discover lists all $n records"
# The same on the layout itself (a copy: oras opens layouts read-write).
cp -r "$demo/layout" "$work/layout-copy"
"$ORAS" discover --oci-layout --format json "$work/layout-copy:run-$run_id" > "$work/discover-layout.json"
check_discover "$work/discover-layout.json" || fail "oras discover --oci-layout does not list every record"
say "oras discover --oci-layout lists all $n records of $demo/layout"

# --- 3 and 5. cosign verify-attestation, counted per (type, key) -------------
python3 - "$work/layout.json" > "$work/groups.txt" <<'PY'
import json, sys, collections
c = collections.Counter((r["predicateType"], r["signer"]) for r in json.load(open(sys.argv[1]))["records"])
for (t, k), n in sorted(c.items()):
    print(t, k, n)
PY
cosign_count() { # cosign_count TARGET-ARGS... ; prints the number of verified attestations
  "$COSIGN" verify-attestation "$@" 2>"$work/cosign.err" | grep -c '^{' || true
}
while read -r ptype keyid want; do
  pub=${pub_for[$keyid]:-}
  [ -n "$pub" ] || fail "no public key in $demo/trust with fingerprint $keyid"
  got=$(cosign_count --key "$pub" --insecure-ignore-tlog --allow-http-registry --type "$ptype" "$repo:run-$run_id")
  [ "$got" = "$want" ] || { cat "$work/cosign.err" >&2; fail "cosign verify-attestation $repo: $ptype by $keyid: $got verified, want $want"; }
  got=$(cosign_count --local-image --key "$pub" --insecure-ignore-tlog --type "$ptype" "$demo/layout")
  [ "$got" = "$want" ] || { cat "$work/cosign.err" >&2; fail "cosign verify-attestation --local-image: $ptype by $keyid: $got verified, want $want"; }
  say "cosign $COSIGN_VERSION verified $want x $ptype by $(basename "$pub") (registry and --local-image)"
done < "$work/groups.txt"

# --- 4. oras cp -r preserves every digest ------------------------------------
"$ORAS" cp -r --from-plain-http --to-plain-http "$repo:run-$run_id" "$host/dossier/copy:run-$run_id" >/dev/null
"$D" records list --json --plain-http --run "$demo/run.json" "$host/dossier/copy" > "$work/copy.json"
same_records "$work/copy.json" || fail "oras cp changed the run's records"
say "oras cp -r to $host/dossier/copy preserved all $n record digests and the run root"
"$ORAS" cp -r --from-oci-layout --to-plain-http "$work/layout-copy:run-$run_id" "$host/dossier/from-layout:run-$run_id" >/dev/null
"$D" records list --json --plain-http --run "$demo/run.json" "$host/dossier/from-layout" > "$work/from-layout.json"
same_records "$work/from-layout.json" || fail "oras cp from the layout changed the run's records"
say "oras cp -r --from-oci-layout $demo/layout to a registry preserved all $n record digests"

# --- negative control: a foreign key verifies nothing --------------------------
first_type=$(head -1 "$work/groups.txt" | cut -d' ' -f1)
foreign="$work/foreign"
"$D" key generate --unencrypted --output "$foreign" >/dev/null 2>&1 || true
if [ -f "$foreign.pub" ]; then
  got=$(cosign_count --key "$foreign.pub" --insecure-ignore-tlog --allow-http-registry --type "$first_type" "$repo:run-$run_id")
  [ "$got" = 0 ] || fail "cosign verified $got records with a foreign key"
  say "cosign refuses the run's records with a foreign key (negative control)"
fi
# --- 6. the deployment gate: the summary attached to the weights -------------
VSA_TYPE=https://slsa.dev/verification_summary/v1
[ -s "$demo/vsa.json" ] && [ -e "$demo/model-layout/index.json" ] || fail "$demo/vsa.json or $demo/model-layout missing: run 'bash scripts/demo.sh'"
gate_count() { # gate_count KEY.pub TARGET-ARGS...: verified summaries
  local key=$1; shift
  "$COSIGN" verify-attestation --key "$key" --insecure-ignore-tlog --type "$VSA_TYPE" "$@" 2>"$work/cosign.err" | grep -c '^{' || true
}
got=$(gate_count "$demo/trust/validator.pub" --local-image "$demo/model-layout")
[ "$got" = 1 ] || { cat "$work/cosign.err" >&2; fail "cosign verify-attestation --local-image $demo/model-layout: $got summaries verified, want 1"; }
say "cosign verify-attestation --local-image accepts the verification summary attached to $demo/model-layout:1.0.0"
model="$host/acme/support-assistant-de"
cp -r "$demo/model-layout" "$work/model-copy"
"$ORAS" cp --to-plain-http --from-oci-layout "$work/model-copy:1.0.0" "$model:1.0.0" >/dev/null
"$D" vsa attach --plain-http --tag 1.0.0 "$model" "$demo/vsa.json" >/dev/null 2>"$work/attach.err" ||
  { cat "$work/attach.err" >&2; fail "dossier vsa attach $model:1.0.0"; }
got=$(gate_count "$demo/trust/validator.pub" --allow-http-registry "$model:1.0.0")
[ "$got" = 1 ] || { cat "$work/cosign.err" >&2; fail "cosign verify-attestation $model:1.0.0: $got summaries verified, want 1"; }
say "oras cp of the weights to $model:1.0.0, dossier vsa attach: cosign verify-attestation accepts the summary"
# Negative controls: another key; the genuine summary attached to other
# weights (oras attach, which checks nothing) — the summary does not name them.
for target in "--local-image $demo/model-layout" "--allow-http-registry $model:1.0.0"; do
  # shellcheck disable=SC2086
  got=$(gate_count "$demo/trust/reviewer-a.pub" $target)
  [ "$got" = 0 ] || fail "cosign accepted the summary with another key ($target)"
done
mkdir -p "$work/other-weights"
head -c 4096 /dev/urandom > "$work/other-weights/adapter_model.safetensors"
python3 scripts/demo_model_oci.py "$work/other-layout" 1.0.0 "$work/other-weights/adapter_model.safetensors" >/dev/null
"$ORAS" cp --to-plain-http --from-oci-layout "$work/other-layout:1.0.0" "$model:other" >/dev/null
cp "$demo/vsa.json" "$work/vsa.sigstore.json"
(cd "$work" && "$ORAS" attach --oci-layout --artifact-type application/vnd.dev.sigstore.bundle.v0.3+json \
  "other-layout:1.0.0" vsa.sigstore.json:application/vnd.dev.sigstore.bundle.v0.3+json >/dev/null)
(cd "$work" && "$ORAS" attach --plain-http --artifact-type application/vnd.dev.sigstore.bundle.v0.3+json \
  "$model:other" vsa.sigstore.json:application/vnd.dev.sigstore.bundle.v0.3+json >/dev/null)
for target in "--local-image $work/other-layout" "--allow-http-registry $model:other"; do
  # shellcheck disable=SC2086
  got=$(gate_count "$demo/trust/validator.pub" $target)
  [ "$got" = 0 ] || fail "cosign accepted the summary attached to other weights ($target)"
  grep -q "does not match any digest in statement" "$work/cosign.err" ||
    { cat "$work/cosign.err" >&2; fail "cosign refused the summary on other weights for another reason than its subjects ($target)"; }
done
say "cosign refuses the summary with another key, and attached to other weights (negative controls)"
# dossier vsa --artifact reads the weights' manifest from the registry too,
# and refuses to issue a summary naming an artifact without the released weights.
vsa_from_registry() { # vsa_from_registry TAG OUT
  DOSSIER_KEY_PASSWORD=demo-password-not-for-production "$D" vsa --policy "$demo/trust/policy.json" --run "$demo/run.json" \
    --log "$demo/log" --keyring "$demo/trust/keyring-v1.json" --keyring "$demo/trust/keyring-v2.json" \
    --root-fingerprint "$(cat "$demo/trust/root-fingerprint")" --at "$(cat "$demo/demo-day")T15:00:00Z" --key "$demo/keys/validator.key" \
    --verifier-id https://dossier.demo/gate --resource-uri "oci://$model:$1" --plain-http --artifact "$model" --artifact-tag "$1" -o "$2"
}
vsa_from_registry 1.0.0 "$work/vsa-registry.json" >/dev/null 2>&1 || fail "dossier vsa --artifact $model --artifact-tag 1.0.0"
"$COSIGN" verify-blob-attestation --bundle "$work/vsa-registry.json" --key "$demo/trust/validator.pub" --insecure-ignore-tlog \
  --type "$VSA_TYPE" --digest "$(json_get "$demo/model-layout/index.json" 'next(m["digest"] for m in d["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "1.0.0").split(":")[1]')" \
  --digestAlg sha256 >/dev/null 2>&1 || fail "the summary issued from the registry does not name the weights' manifest"
rc=0; vsa_from_registry other "$work/vsa-other.json" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "dossier vsa --artifact-tag other (other weights) exited $rc, want 1"
say "dossier vsa --artifact on the registry names the weights' manifest, and refuses other weights (exit 1)"
say "OK"
