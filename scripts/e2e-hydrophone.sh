#!/usr/bin/env bash
# Runs the suite image in the cluster with Hydrophone, as a certifier would: Hydrophone
# (built from its Go module by `make hydrophone`) creates its own namespace and pod, the
# suite runs as user 65534 with every capability dropped, progress streams, and e2e.log and
# junit_01.xml come back to $ARTIFACTS/hydrophone/<mode>. MODE (quick, non-disruptive,
# certified) is passed as Hydrophone's --focus; HYDROPHONE_ARGS adds its own flags
# (--dry-run, --skip ...). Exit code: Hydrophone's, which is the suite's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
root=$ROOT && cd "$root"
A=${ARTIFACTS:?ARTIFACTS must be set}
mode=${MODE:-non-disruptive}
hydrophone=${HYDROPHONE:-$root/_bin/hydrophone}
[ -x "$hydrophone" ] || die "no Hydrophone at $hydrophone: run 'make hydrophone' (builds it from its Go module)"
kubeconfig=${KUBECONFIG:-$A/kubeconfig}
suite=$(bash "$here/images/suite.sh" | tail -1)
busybox=$(bash "$here/images/busybox.sh" | tail -1)
go run ./scripts/cmd/cluster load "$suite" "$busybox"
out="$A/hydrophone/$mode"
rm -rf "$out"; mkdir -p "$out"
"$hydrophone" --kubeconfig "$kubeconfig" --cleanup >"$out/cleanup-before.log" 2>&1 || true # a run killed earlier
start=$SECONDS
set +e
"$hydrophone" --kubeconfig "$kubeconfig" --conformance-image "$suite" --busybox-image "$busybox" \
  --focus "$mode" -p "${PROCS:-3}" --output-dir "$out" ${HYDROPHONE_ARGS:-} 2>&1 | tee "$out/hydrophone.log"
rc=${PIPESTATUS[0]}
set -e
log "hydrophone exited $rc after $((SECONDS - start)) s (mode $mode); cleaning up"
"$hydrophone" --kubeconfig "$kubeconfig" --cleanup >"$out/cleanup.log" 2>&1 || log "hydrophone --cleanup failed: see $out/cleanup.log"
for f in e2e.log junit_01.xml; do
  [ -s "$out/$f" ] && log "$out/$f" || log "missing: $out/$f"
done
[ -s "$out/e2e.log" ] && tail -3 "$out/e2e.log"
exit "$rc"
