#!/usr/bin/env bash
# Runs the whole suite on each Kubernetes version, one cluster at a time, and writes
# one report per version plus a matrix page (requirement × version).
#   VERSIONS   space-separated versions (default: the newest buildable patch of every
#              release supported today, from framework/releases/releases.txt)
#   ARTIFACTS  where $ARTIFACTS/matrix/<version>/ and $ARTIFACTS/matrix/matrix.html go
# Exit code: 0 when every version passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
root=$ROOT && cd "$root"
ARTIFACTS=${ARTIFACTS:-$root/_artifacts}
out="$ARTIFACTS/matrix"
if [ -z "${VERSIONS:-}" ]; then
  VERSIONS=$(awk -v today="$(date -u +%F)" '!/^#/ && NF && $2 >= today {split($3, p, ","); printf "%s ", p[1]}' "$RELEASES_FILE")
fi
mkdir -p "$out"
log "version matrix: $VERSIONS"
rc=0
for v in $VERSIONS; do
  dir="$out/$v"; rm -rf "$dir"; mkdir -p "$dir"
  start=$SECONDS
  log "=== Kubernetes $v: images, cluster, suite (artifacts in $dir)"
  # Each version gets its own cluster: the cluster identity check replaces the previous one.
  if KUBERNETES_VERSION=$v ARTIFACTS=$dir make --no-print-directory e2e; then r=0; else r=$?; rc=1; fi
  echo "$v exit=$r seconds=$((SECONDS - start))" | tee -a "$out/timings.txt"
done
go run ./scripts/cmd/report matrix "$out"
exit $rc
