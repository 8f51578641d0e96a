#!/usr/bin/env bash
# Builds the suite's workload image from fixtures/workload with nothing but the Go
# toolchain and the Docker engine. Prints the image reference as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
docker_engine_ok || die "no Docker engine is reachable; run 'make host' first"
hash=$(cat "$root"/fixtures/workload/*.go "$root/go.sum" | sha256sum | cut -c1-10)
ref=${WORKLOAD_IMAGE:-localhost/dsconform/workload:$hash}
if docker image inspect "$ref" >/dev/null 2>&1; then echo "$ref"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root/usr/local/bin" "$tmp/root/tmp" "$tmp/root/etc"
(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$tmp/root/usr/local/bin/workload" ./fixtures/workload)
echo 'nobody:x:65534:65534:nobody:/:/sbin/nologin' >"$tmp/root/etc/passwd"
tar -C "$tmp/root" -c . | docker import -c 'ENTRYPOINT ["/usr/local/bin/workload"]' -c 'CMD ["serve"]' - "$ref" >/dev/null
log "workload image $ref built"
echo "$ref"
