#!/usr/bin/env bash
# Builds a kind node image from Go modules and Debian packages only, so that
# `kind create cluster --image <it>` works on a machine with no container registry.
#
# Env: KUBERNETES_VERSION (default below), NODE_IMAGE_REPO, KEEP_BUILD_CONTAINER=1.
# Prints the image reference on stdout as its last line. Cached: an image built from
# the same inputs is reused in seconds. A failed build leaves no good-looking tag.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
. "$here/node/versions.sh"

KVER=${KUBERNETES_VERSION:-$(cat "$here/node/default-kubernetes-version")}
REPO=${NODE_IMAGE_REPO:-dsconform/node}
CACHE=${DSCONFORM_CACHE:-$HOME/.cache/dsconform}
[[ $KVER =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "KUBERNETES_VERSION=$KVER is not of the form v1.MINOR.PATCH (e.g. v1.37.2)"
minor=${KVER#v1.}; minor=${minor%%.*}
if [ -z "$(end_of_life "$minor")" ]; then
  die "KUBERNETES_VERSION=$KVER: 1.$minor is not a release this suite knows (known: $(known_minors)); use one of those, or add 1.$minor with its end-of-life date to framework/releases/releases.txt"
fi
docker_engine_ok || die "no Docker engine is reachable; run 'make host' first"

# The tag carries a hash of every input, so a changed script or pin rebuilds.
inputs_hash=$( (cd "$root" && cat scripts/images/node.sh scripts/lib/common.sh scripts/images/node/*.sh scripts/images/node/*.yaml \
  scripts/images/node/*/*.go go.sum; echo "$KVER") | sha256sum | cut -c1-10)
# The runtime build is shared by every Kubernetes version: keyed by its own script and pins only.
runtime_hash=$( (cd "$root" && cat scripts/images/node/build-runtime.sh; grep -E '^(CONTAINERD|RUNC|CRICTL)_VERSION=' scripts/images/node/versions.sh) | sha256sum | cut -c1-10)
TAG="$REPO:$KVER-$inputs_hash"
if docker image inspect "$TAG" >/dev/null 2>&1; then
  log "node image $TAG is cached"
  docker tag "$TAG" "$REPO:$KVER"
  echo "$TAG"; exit 0
fi

need_pkgs debootstrap:debootstrap jq:jq
tmp=$(mktemp -d); build_ctr=""
cleanup() {
  [ -n "$build_ctr" ] && [ -z "${KEEP_BUILD_CONTAINER:-}" ] && docker rm -f "$build_ctr" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

# 1. The Debian root file system (cached as its own image) builds in the background: debootstrap
# waits on the package mirror and the disk, not the CPU.
# 2. Meanwhile the binaries, from Go modules: the runtime (once for every version), then Kubernetes.
# One after the other on purpose: run side by side on this 2-core machine they took 14.8 min cold
# against 12.0 min in turn (two go builds, each compiling on every core, only contend).
runtime="$CACHE/runtime-$runtime_hash"
bin="$CACHE/bin-$KVER"
bash "$here/node/rootfs.sh" >"$tmp/rootfs.out" & rootfs_pid=$!
stop_rootfs() { kill "$rootfs_pid" 2>/dev/null || true; }
if [ ! -x "$runtime/crictl" ]; then
  timed build-runtime bash "$here/node/build-runtime.sh" "$runtime.partial" || { stop_rootfs; exit 1; }
  rm -rf "$runtime"; mv "$runtime.partial" "$runtime"
fi
timed build-binaries bash "$here/node/build-binaries.sh" "$KVER" "$bin" || { rm -rf "$bin"; stop_rootfs; exit 1; }
wait "$rootfs_pid" || die "building the Debian root file system failed (its error is above)"
rootfs_tag=$(tail -1 "$tmp/rootfs.out")

# 3. Component images, named exactly as kubeadm lists them.
# single_binary_image <ref> <binary> [entrypoint]: a static binary on PATH, nothing else.
single_binary_image() {
  local ref=$1 binary=$2 entry=${3:-} d
  d=$(mktemp -d -p "$tmp"); mkdir -p "$d/usr/local/bin" "$d/etc" "$d/tmp"
  cp "$binary" "$d/usr/local/bin/"
  echo 'nobody:x:65534:65534:nobody:/:/sbin/nologin' >"$d/etc/passwd"
  local changes=(-c 'ENV PATH=/usr/local/bin:/usr/bin:/bin')
  [ -n "$entry" ] && changes+=(-c "ENTRYPOINT [\"/usr/local/bin/$entry\"]")
  tar -C "$d" -c . | docker import "${changes[@]}" - "$ref" >/dev/null
}
mapfile -t kubeadm_images <"$bin/images.txt"
[ ${#kubeadm_images[@]} -gt 0 ] || die "kubeadm's image list for $KVER is empty ($bin/images.txt)"
# pause: kubeadm's tag, and the sandbox image kind's containerd config names.
kind_dir=$(cd "$root" && go list -m -f '{{.Dir}}' sigs.k8s.io/kind 2>/dev/null) || die "cannot find the sigs.k8s.io/kind module; run 'go mod download' in $root"
base="$kind_dir/images/base/files"
pause_tags=$( { grep -E '/pause:' "$bin/images.txt"; grep -E '^\s*sandbox_image\s*=' "$base/etc/containerd/config.toml" | tr -d '" '; } | sed 's/.*://' | sort -u | tr '\n' ' ')
images=()
for ref in "${kubeadm_images[@]}"; do
  name=${ref##*/}; name=${name%%:*}
  case $name in
    kube-proxy)
      # kube-proxy programs iptables: it needs the Debian userland next to it.
      printf 'FROM %s\nCOPY kube-proxy /usr/local/bin/kube-proxy\n' "$rootfs_tag" >"$tmp/Dockerfile.proxy"
      cp "$bin/kube-proxy" "$tmp/"
      DOCKER_BUILDKIT=0 docker build -q -f "$tmp/Dockerfile.proxy" -t "$ref" "$tmp" >"$tmp/proxy-build.log" 2>&1 \
        || die "building the kube-proxy image failed: $(tail -1 "$tmp/proxy-build.log")" ;;
    pause) ;; # below, with every tag containerd and kubeadm may ask for
    coredns) single_binary_image "$ref" "$bin/coredns" coredns
             # the CoreDNS Deployment passes only args: the binary is also at /coredns
             ;;
    etcd|kube-apiserver|kube-controller-manager|kube-scheduler) single_binary_image "$ref" "$bin/$name" ;;
    *) die "kubeadm $KVER wants an image this build does not know how to make: $ref" ;;
  esac
  [ "$name" = pause ] || images+=("$ref")
done
for t in $pause_tags; do single_binary_image "registry.k8s.io/pause:$t" "$bin/pause" pause; images+=("registry.k8s.io/pause:$t"); done
single_binary_image localhost/dsconform/podnet:v1 "$bin/podnet"; images+=(localhost/dsconform/podnet:v1)
docker save "${images[@]}" -o "$tmp/images.tar"

# 4. The node: kind's base files on the Debian root, Kubernetes binaries, preloaded images.
build_ctr=$(docker run -d --privileged --entrypoint /bin/sleep "$rootfs_tag" infinity)
in_node() { docker exec "$build_ctr" bash -ec "$1"; }
docker cp "$base/." "$build_ctr:/"
docker exec "$build_ctr" mkdir -p /opt/cni/bin /kind/manifests /etc/kubernetes/manifests
for b in kubelet kubeadm kubectl; do docker cp "$bin/$b" "$build_ctr:/usr/bin/$b"; done
# The runtime where kind's units and scripts expect it.
for b in containerd ctr containerd-shim-runc-v2 crictl; do docker cp "$runtime/$b" "$build_ctr:/usr/local/bin/$b"; done
docker exec "$build_ctr" mkdir -p /usr/local/sbin
docker cp "$runtime/runc" "$build_ctr:/usr/local/sbin/runc"
for p in "$bin"/cni/*; do docker cp "$p" "$build_ctr:/opt/cni/bin/"; done
docker cp "$here/node/podnet.yaml" "$build_ctr:/kind/manifests/default-cni.yaml"
in_node "
  chmod -R a+rX /kind /etc/containerd /etc/systemd/system /etc/default /etc/sysctl.d /opt/cni
  chmod 0755 /usr/local/bin/* /kind/bin/* /usr/bin/kubelet /usr/bin/kubeadm /usr/bin/kubectl
  chmod 0755 /usr/local/sbin/runc
  # Without CAP_SYS_RESOURCE runc cannot lower a sandbox's oom_score_adj; restricting it is harmless elsewhere.
  sed -i 's/^\(\s*restrict_oom_score_adj\s*=\s*\).*/\1true/' /etc/containerd/config.toml
  ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer|length] |= . + {\"path\": \"/kind/bin/mount-product-files.sh\"}' \
    | jq 'del(.process.rlimits)' >/etc/containerd/cri-base.json
  find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
  rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* /lib/systemd/system/local-fs.target.wants/* \
    /lib/systemd/system/sockets.target.wants/*udev* /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
  echo ReadKMsg=no >>/etc/systemd/journald.conf
  systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
  systemctl mask systemd-binfmt.service >/dev/null 2>&1
  echo $KVER >/kind/version
"
# What the report and the operator read to know the node's runtime.
printf 'containerd %s\nrunc %s\ncrictl %s\n' "$("$runtime/containerd" --version | cut -d' ' -f3)" \
  "$("$runtime/runc" --version | head -1 | cut -d' ' -f3)" "$("$runtime/crictl" --version | cut -d' ' -f3)" >"$tmp/runtime-versions"
docker cp "$tmp/runtime-versions" "$build_ctr:/kind/runtime-versions"
grep -q 'restrict_oom_score_adj = true' <(docker exec "$build_ctr" cat /etc/containerd/config.toml) \
  || die "could not set restrict_oom_score_adj in kind's containerd config (kind's base files changed?)"

# Preload as kind does: a containerd started by hand imports into the k8s.io namespace.
docker cp "$tmp/images.tar" "$build_ctr:/images.tar"
in_node "
  (containerd >/tmp/containerd.log 2>&1 &)
  for i in \$(seq 1 30); do ctr version >/dev/null 2>&1 && break; sleep 1; done
  ctr -n k8s.io images import --all-platforms --no-unpack --digests /images.tar >/dev/null
  ctr -n k8s.io images ls -q | sort >/kind/images
  pkill containerd; for i in \$(seq 1 30); do pgrep -x containerd >/dev/null || break; sleep 1; done
  rm -f /images.tar /tmp/containerd.log
"
for ref in "${images[@]}"; do
  docker exec "$build_ctr" grep -qx "$(echo "$ref" | sed 's#^\([^/]*/[^/]*\)$#docker.io/\1#')" /kind/images \
    || docker exec "$build_ctr" grep -q "${ref}\$" /kind/images || die "image $ref is missing from the node's containerd after preloading"
done

# 5. Commit under a temporary tag; only a complete build gets the real one.
docker commit -c 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' -c 'CMD []' -c 'ENV container=docker' \
  "$build_ctr" "$TAG-partial" >/dev/null
docker tag "$TAG-partial" "$TAG"; docker rmi "$TAG-partial" >/dev/null
docker tag "$TAG" "$REPO:$KVER"
log "node image $TAG built"
echo "$TAG"
