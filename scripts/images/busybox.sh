#!/usr/bin/env bash
# Builds a busybox image from Debian's busybox-static package, for runners that want one
# beside the suite image: Hydrophone's output container runs `/bin/sh -c 'sleep infinity'`
# and `cat`s the results through it. Prints the image reference as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
docker_engine_ok || die "no Docker engine is reachable; run 'make host' first"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download busybox-static >"$tmp/apt.log" 2>&1) ||
  die "apt-get download busybox-static failed (see below); on a machine without Debian's packages pass BUSYBOX_IMAGE=<a busybox image>: $(tail -1 "$tmp/apt.log")"
deb=$(ls "$tmp"/busybox-static_*.deb)
version=$(dpkg-deb -f "$deb" Version)
ref=${BUSYBOX_IMAGE:-localhost/dsconform/busybox:${version//[^A-Za-z0-9_.-]/-}}
if docker image inspect "$ref" >/dev/null 2>&1; then echo "$ref"; exit 0; fi
dpkg-deb -x "$deb" "$tmp/root"
bin=$(cd "$tmp/root" && for b in bin/busybox usr/bin/busybox; do [ -x "$b" ] && echo "$b" && break; done; true)
[ -n "$bin" ] || die "busybox-static $version has no busybox binary where expected"
mkdir -p "$tmp/root/bin" "$tmp/root/tmp" "$tmp/root/etc"
for applet in sh sleep cat ls tar; do ln -sf "/$bin" "$tmp/root/bin/$applet"; done
echo 'nobody:x:65534:65534:nobody:/tmp:/bin/sh' >"$tmp/root/etc/passwd"
chmod 1777 "$tmp/root/tmp"
tar -C "$tmp/root" -c . | docker import -c 'CMD ["/bin/sh"]' - "$ref" >/dev/null
log "busybox image $ref built from Debian's busybox-static $version"
echo "$ref"
