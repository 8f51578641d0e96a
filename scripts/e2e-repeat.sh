#!/usr/bin/env bash
# Runs the whole suite N times on one cluster (created or reused once) and writes the
# flake budget: per-spec pass counts and durations (min/median/max).
#   N          number of runs (default 5)
#   ARTIFACTS  $ARTIFACTS/repeat/run-<i>/ holds each run's reports,
#              $ARTIFACTS/repeat/repeat.md and repeat.json the table
# A spec that flakes is to be fixed, not retried: the suite has no FlakeAttempts.
# Exit code: 0 when every spec passed in every run. Ctrl-C stops the series after the
# run in progress has written its report.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
root=$ROOT && cd "$root"
A=${ARTIFACTS:?ARTIFACTS must be set}
N=${N:-5}
case "$N" in ''|*[!0-9]*|0) echo "error: N=$N: give the number of runs as a positive integer, e.g. make e2e-repeat N=5" >&2; exit 2;; esac
out="$A/repeat"; rm -rf "$out"; mkdir -p "$out"
# Every run keeps the cluster: the series runs on one cluster, created (or reused) by the first.
export E2E_KEEP_CLUSTER=true
NODE_IMAGE=${NODE_IMAGE:-$(cat "$A/node-image" 2>/dev/null || true)}
WORKLOAD_IMAGE=${WORKLOAD_IMAGE:-$(cat "$A/workload-image" 2>/dev/null || true)}
export NODE_IMAGE WORKLOAD_IMAGE
rc=0
for i in $(seq 1 "$N"); do
  dir="$out/run-$i"; mkdir -p "$dir"
  [ -f "$A/timings.txt" ] && cp "$A/timings.txt" "$dir/"
  log "=== run $i of $N (artifacts in $dir)"
  start=$SECONDS
  ARTIFACTS=$dir bash scripts/e2e-run.sh >"$dir/console.log" 2>&1; r=$?
  echo "run $i exit=$r seconds=$((SECONDS - start))" | tee -a "$out/timings.txt"
  grep -E '^(Ran [0-9]+ of|SUCCESS!|FAIL!)' "$dir/e2e.log" 2>/dev/null | sed 's/^/    /'
  [ "$r" -eq 0 ] || rc=1
  if [ "$r" -eq 130 ] || [ "$r" -eq 143 ]; then log "interrupted: stopping the series after run $i"; break; fi
done
go run ./scripts/cmd/report repeat "$out" || rc=1
exit $rc
