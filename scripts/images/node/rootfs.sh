#!/usr/bin/env bash
# Builds (once) the Debian root file system the node image and the kube-proxy image
# start from: the packages kind's base image installs, as far as Debian ships them.
# Prints the image reference as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/versions.sh"

PKGS="systemd,systemd-sysv,dbus,iptables,nftables,iproute2,kmod,mount,util-linux,procps,ca-certificates,conntrack,ethtool,socat,jq,pigz,e2fsprogs,libseccomp2,bash,curl"
tag="dsconform/rootfs:$DEBIAN_SUITE-$(echo "$PKGS" | sha256sum | cut -c1-10)"
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; exit 0; fi

need_pkgs debootstrap:debootstrap
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
log "debootstrap $DEBIAN_SUITE root file system (a few minutes, once)"
debootstrap --variant=minbase --include="$PKGS" "$DEBIAN_SUITE" "$tmp/rootfs" >"$tmp/debootstrap.log" 2>&1 \
  || die "debootstrap failed ($(tail -1 "$tmp/debootstrap.log")); check that Debian's package mirror is reachable"
rm -rf "$tmp/rootfs"/var/cache/apt/archives/*.deb "$tmp/rootfs"/var/lib/apt/lists/*
tar -C "$tmp/rootfs" -c . | docker import - "$tag-partial" >/dev/null
docker tag "$tag-partial" "$tag" && docker rmi "$tag-partial" >/dev/null
echo "$tag"
