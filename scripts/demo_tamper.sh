#!/usr/bin/env bash
# Issue 8 acceptance on the real demo outputs (scripts/demo.sh step 11b, after
# out/demo/package.tar verified): "removing one approval, swapping in an
# approval from another run, or signing an approval with the trainer's key
# makes dossier-verify exit 1 with a policy failure that names the rule".
#
# Each tampered package is a genuine export, signed by the exporter key, of
# a copy of the demo log (out/demo/tampered/) in the state the tampering
# leaves: the log as it was with only Rita's approval (demo.sh copied it
# before Victor's), that log plus Victor's approval of ANOTHER run exported
# together with that run, and that log plus an approval signed with the
# trainer's key (Tom signed the training run; the keyring also makes him a
# reviewer, so only separation of duties stops him). Signatures, log proofs,
# keyring chain and completeness all verify; only the release policy
# (out/demo/trust/policy.json) fails. The check: exit status 1, every failure
# of class policy (step 11), and the named rules among them.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
: "${BIN:=$PWD/bin}"
: "${DOSSIER_KEY_PASSWORD:=demo-password-not-for-production}"
export DOSSIER_KEY_PASSWORD
D="$BIN/dossier"
OUT=out/demo
: "${DEMO_DAY:=$(cat "$OUT/demo-day")}" # the scenario day of demo.sh
T=$OUT/tampered
K=$OUT/keys
fail() { echo "demo-tamper: FAIL $*" >&2; exit 1; }
[ -d "$T/log-one-approval" ] || fail "$T/log-one-approval missing: run scripts/demo.sh"
rm -rf "$T"/log-{removed,swapped,trainer} "$T"/*.tar "$T"/*.json "$T"/*.html "$T"/*.log "$T"/predicates
mkdir -p "$T/predicates"
KEYRINGS=(--keyring "$OUT/trust/keyring-v1.json" --keyring "$OUT/trust/keyring-v2.json")
PIN=$(cat "$OUT/trust/root-fingerprint")

export_pkg() { # export_pkg LOG OUT.tar RUNFILE...
  local log=$1 out=$2; shift 2
  local runs=(); for r in "$@"; do runs+=(--run "$r"); done
  "$D" export --log "$log" --log-key "$K/log.key" --exporter-key "$K/exporter.key" "${KEYRINGS[@]}" "${runs[@]}" \
    --policy "$OUT/trust/policy.json" --purpose "Technical documentation for the notified body (demo)" \
    --requested-by "person:e30211:Erika Musterfrau" --recipient "Notified Body 0123:assessor@nb0123.example" \
    --at ${DEMO_DAY}T15:00:00Z -o "$out" >/dev/null 2>"${out%.tar}.export.log" || { cat "${out%.tar}.export.log" >&2; return 1; }
}
# (No anchors: a copy of the log is a fork the demo's witness would refuse to
# cosign; the export's warning that times are asserted is in *.export.log.)

# expect_policy_failure PACKAGE RULE...: dossier-verify exits 1, every failure
# is a policy failure (the package is otherwise valid), each RULE is named.
expect_policy_failure() {
  local pkg=$1; shift
  local rc=0
  "$BIN/dossier-verify" --json --policy "$OUT/trust/policy.json" --root-fingerprint "$PIN" "$pkg" > "${pkg%.tar}.result.json" || rc=$?
  [ "$rc" = 1 ] || fail "$pkg: dossier-verify exited $rc, want 1"
  python3 - "${pkg%.tar}.result.json" "$@" <<'PY' || fail "$pkg: not the policy failure wanted"
import json, sys
r = json.load(open(sys.argv[1]))
fails = r.get("failures") or []
other = [f for f in fails if f.get("class") != "policy"]
if other:
    print("failures other than policy:", json.dumps(other, indent=1), file=sys.stderr); sys.exit(1)
rules = {f.get("rule") for f in fails}
missing = [w for w in sys.argv[2:] if w not in rules]
if missing:
    print("rules not named:", missing, "named:", sorted(rules), file=sys.stderr); sys.exit(1)
for f in fails:
    print("  exit 1, class policy, step %s: %s" % (f.get("step"), f.get("message")))
PY
}

echo "1. one approval removed: the log as it was before Victor's approval"
cp -r "$T/log-one-approval" "$T/log-removed"
export_pkg "$T/log-removed" "$T/approval-removed.tar" "$OUT/run.json"
expect_policy_failure "$T/approval-removed.tar" release.approvals.distinct-people

echo "2. an approval from another run swapped in: Victor's genuine approval of run demo-ft-2026-11-20"
cp -r "$T/log-one-approval" "$T/log-swapped"
"$D" run init --id demo-ft-2026-11-20 --project support-assistant --model acme/support-assistant-de \
  --started-by workload:pipeline/train --started-by-name "training pipeline" \
  --started-at 2026-11-20T09:00:00Z -o "$T/other-run.json" >/dev/null
for p in 01-dataset:dataset:producer 02-training-run:training-run:producer 03-evaluation:evaluation:evaluator 05-run-closed:run-closed:producer; do
  IFS=: read -r name kind key <<< "$p"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["runId"]="demo-ft-2026-11-20"; json.dump(d, open(sys.argv[2],"w"))' \
    "$OUT/predicates/$name.json" "$T/predicates/$name.json"
  "$D" record create --run "$T/other-run.json" --type "$kind" --predicate "$T/predicates/$name.json" \
    --key "$K/$key.key" -o "$T/other-$name.json" >/dev/null
  "$D" log append --dir "$T/log-swapped" --key "$K/log.key" "$T/other-$name.json" >/dev/null
done
"$D" review --run "$T/other-run.json" --log "$T/log-swapped" "${KEYRINGS[@]}" --root-fingerprint "$PIN" -o "$T/other-review.html" >/dev/null
"$D" approve --run "$T/other-run.json" --review "$T/other-review.html" --key "$K/reviewer-b.key" --name "Victor Reviewer" \
  "${KEYRINGS[@]}" --meaning approval --decision approve --at ${DEMO_DAY}T14:30:00Z --expires 2036-11-27T00:00:00Z \
  -o "$T/other-approval-reviewer-b.json" 2>/dev/null
"$D" log append --dir "$T/log-swapped" --key "$K/log.key" "$T/other-approval-reviewer-b.json" >/dev/null
export_pkg "$T/log-swapped" "$T/approval-swapped.tar" "$OUT/run.json" "$T/other-run.json"
expect_policy_failure "$T/approval-swapped.tar" release.approvals.distinct-people

echo "3. an approval signed with the trainer's key (Tom Trainer signed the training run; he holds the reviewer role)"
cp -r "$T/log-one-approval" "$T/log-trainer"
"$D" approve --run "$OUT/run.json" --review "$OUT/review.html" --key "$K/trainer.key" --name "Tom Trainer" \
  "${KEYRINGS[@]}" --meaning approval --decision approve --at ${DEMO_DAY}T14:40:00Z --expires 2036-11-27T00:00:00Z \
  -o "$T/approval-by-trainer.json" 2>/dev/null
"$D" log append --dir "$T/log-trainer" --key "$K/log.key" "$T/approval-by-trainer.json" >/dev/null
export_pkg "$T/log-trainer" "$T/approval-by-trainer.tar" "$OUT/run.json"
expect_policy_failure "$T/approval-by-trainer.tar" release.approvals.distinct-people \
  release.approvals.separation-of-duties.person release.approvals.separation-of-duties.team

echo "demo-tamper: OK (3 validly signed packages rejected by dossier-verify, exit 1, naming the policy rules)"
