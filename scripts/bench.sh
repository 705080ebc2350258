#!/usr/bin/env bash
# make bench: runs the benchmarks that carry the issues' budgets and prints
# each figure beside its physical bound, measured in the same run.
# Environment: BENCHTIME (default 1x for the long ones), DOSSIER_BENCH_HASH_BYTES,
# DOSSIER_BENCH_LARGE=1 for the 1,000,000-leaf log and the daemon's RSS after
# 1,000,000 records (BenchmarkIngestLargeRSS: about 10 minutes on 2 cores,
# hence opt-in), DOSSIER_BENCH_LOAD_SECONDS (default 60) for the ingest load.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
: "${DOSSIER_BENCH_HASH_BYTES:=2147483648}"
export DOSSIER_BENCH_HASH_BYTES
out=$(mktemp)
trap 'rm -f "$out"' EXIT

run() { # run PKG PATTERN BENCHTIME
  echo "== go test -bench '$2' $1" >&2
  go test -run '^$' -bench "$2" -benchtime "$3" -timeout 60m "$1" | tee -a "$out" | grep -E '^(Benchmark|ok|FAIL|---)' >&2 || true
}

# The ingest load runs first: on a file system that checks for recently
# freed inodes when it creates a file (ext4 without a journal, as on the CI
# machine, skips inodes freed in the last minutes), the hundreds of
# thousands of fixture files the other benchmarks delete would slow every
# file the daemon creates for several minutes (measured on that machine:
# 1,964 records/s right after them, 1,733 right after another load run's
# cleanup, 2,168 after 400 s idle).
DOSSIER_BENCH_LOAD_SECONDS=${DOSSIER_BENCH_LOAD_SECONDS:-60} run ./pkg/ingest 'IngestLoad' 1x
run ./pkg/digest  'HashTree'                      1x
run ./pkg/bundle  'Sign|Verify'                   2s
run ./pkg/tlog    'Append|Fsync|Build|Prove'      1x
run ./pkg/oci     'PushLayout|PushRegistry'       1x
run ./pkg/oci     'LayoutAppend'                  500x
run ./pkg/verify  'VerifyPackage10k'              2x
run ./pkg/dossier 'Export10k'                     1x
run ./pkg/anchor/anchorer 'Build'                 5x
run ./pkg/console 'LogBackendColdRun|LogBackendColdList|RunMemory|TooLargeRun' 1x
run ./pkg/review  'Render10k'                     5x
if [ "${DOSSIER_BENCH_LARGE:-}" = 1 ]; then
  run ./pkg/ingest 'IngestLargeRSS' 1x
fi

echo
echo "Figures beside their bounds (same run):"
python3 scripts/benchsummary.py < "$out"
