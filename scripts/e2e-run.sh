#!/usr/bin/env bash
# Runs the suite with Ginkgo against the configured cluster and renders the report,
# also when the run is interrupted: `make e2e-run` calls it.
#
# - Build noise (module downloads, compilation) goes to $ARTIFACTS/build.log, not e2e.log.
# - e2e.log is plain text (no colour codes) and ends with Ginkgo's `Ran N of M Specs in S
#   seconds` and `SUCCESS!`/`FAIL!` lines, as upstream conformance logs do.
# - SIGINT/SIGTERM reach Ginkgo, which runs the current spec's cleanup and the suite's
#   teardown; tee ignores them, so the log stays complete, and the report is rendered from
#   what finished (marked INTERRUPTED). Exit code: Ginkgo's, 130 after SIGINT, 143 after SIGTERM.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
A=${ARTIFACTS:?ARTIFACTS must be set}
mkdir -p "$A"

go run ./scripts/cluster check || exit 1
if ! { go build ./... && go test -c -o /dev/null ./suites/e2e; } >"$A/build.log" 2>&1; then
  echo "error: the suite does not compile (see $A/build.log):" >&2; tail -5 "$A/build.log" >&2; exit 1
fi

signal=0
# SIGTERM goes to every process under Ginkgo: its CLI only notes an interrupt and waits,
# it is the spec processes that interrupt their specs and clean up. (Ctrl-C reaches them
# all from the terminal already.)
descendants() { local c; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$c"; descendants "$c"; done; }
trap 'signal=130' INT
trap 'signal=143; [ -n "${ginkgo_pid:-}" ] && kill -TERM $(descendants "$ginkgo_pid") 2>/dev/null' TERM

: >"$A/progress.log"
(tail -n0 -s 0.5 --pid=$$ -F "$A/progress.log" 2>/dev/null | sed -u "s/^/\n/") &
color=(); [ -t 1 ] || color=(--no-color)
NODE_IMAGE=${NODE_IMAGE:-$(cat "$A/node-image" 2>/dev/null || true)}
WORKLOAD_IMAGE=${WORKLOAD_IMAGE:-$(cat "$A/workload-image" 2>/dev/null || bash scripts/workload-image.sh | tail -1)}
export NODE_IMAGE WORKLOAD_IMAGE
rm -f "$A/ginkgo-report.json"
# tee -i ignores SIGINT and the subshell ignores SIGTERM: the log outlives Ginkgo's teardown.
go tool ginkgo -r --procs="${PROCS:-3}" --timeout="${GINKGO_TIMEOUT:-80m}" --label-filter="${LABEL_FILTER:-}" "${color[@]}" \
  --output-interceptor-mode=none --poll-progress-after=3m --show-node-events \
  --json-report=ginkgo-report.json --output-dir="$A" ${GINKGO_ARGS:-} ./suites/e2e -- ${E2E_ARGS:-} \
  > >(trap '' TERM; tee -i "$A/e2e.raw.log") 2>&1 &
ginkgo_pid=$!
while :; do
  wait "$ginkgo_pid"; rc=$?
  # wait returns early when a trapped signal arrives; Ginkgo is still tearing down.
  kill -0 "$ginkgo_pid" 2>/dev/null || break
done
sleep 0.5 # let tee drain
# Plain text, ending at Ginkgo's result lines (report.PlainLog; the CLI's trailer stays on the console).
go run ./scripts/report plainlog "$A" || echo "error: could not write $A/e2e.log from $A/e2e.raw.log" >&2

if [ -s "$A/ginkgo-report.json" ]; then
  go run ./scripts/report render "$A" | sed 's/^/Report: /'
else
  echo "error: Ginkgo left no JSON report in $A: no report could be rendered" >&2
fi
if [ "$signal" -ne 0 ]; then
  echo "interrupted (exit $signal); the report covers the specs that finished" >&2
  exit "$signal"
fi
exit "$rc"
