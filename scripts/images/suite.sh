#!/usr/bin/env bash
# Builds the suite image, offline like the workload image: the compiled suite (e2e.test),
# the ginkgo CLI that runs it in parallel, and suite-runner (the entrypoint), on an empty
# root file system, running as nobody (65534). Prints the image reference as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
docker_engine_ok || die "no Docker engine is reachable; run 'make host' first"
cd "$root"
# The image knows its workload image, so a runner that passes nothing (Hydrophone) works.
workload=${WORKLOAD_IMAGE:-$(bash "$here/workload.sh" | tail -1)}
commit=$(git describe --always --dirty 2>/dev/null || echo unknown)
hash=$(find suites framework scripts/images/suite-runner scripts/internal fixtures/workload -name '*.go' -o -name '*.txt' -o -name '*.html' -o -name '*.md' -o -name '*.yaml' | sort | xargs cat go.sum | sha256sum | cut -c1-10)
hash=$(echo "$hash $workload" | sha256sum | cut -c1-10)
ref=${SUITE_IMAGE:-localhost/dsconform/suite:$hash}
if docker image inspect "$ref" >/dev/null 2>&1; then echo "$ref"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root/usr/local/bin" "$tmp/root/tmp" "$tmp/root/etc"
export CGO_ENABLED=0
go test -c -trimpath -ldflags '-s -w' -o "$tmp/root/usr/local/bin/e2e.test" ./suites/e2e
go build -trimpath -ldflags '-s -w' -o "$tmp/root/usr/local/bin/ginkgo" github.com/onsi/ginkgo/v2/ginkgo
go build -trimpath -ldflags '-s -w' -o "$tmp/root/usr/local/bin/suite-runner" ./scripts/images/suite-runner
echo 'nobody:x:65534:65534:nobody:/tmp:/sbin/nologin' >"$tmp/root/etc/passwd"
chmod 1777 "$tmp/root/tmp"
tar -C "$tmp/root" -c . | docker import -c 'USER 65534:65534' -c 'WORKDIR /' -c "ENV E2E_SUITE_COMMIT=$commit" -c "ENV WORKLOAD_IMAGE=$workload" -c 'ENV HOME=/tmp' \
  -c 'ENTRYPOINT ["/usr/local/bin/suite-runner"]' -c 'CMD ["run"]' - "$ref" >/dev/null
log "suite image $ref built (suite $commit)"
echo "$ref"
