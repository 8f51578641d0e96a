#!/usr/bin/env bash
# Builds the Kubernetes-version-specific binaries of the offline node image from Go
# modules into $OUT: the Kubernetes commands, then etcd and CoreDNS at the versions the
# built kubeadm asks for, the CNI plugins, pause and the pod network agent.
# Writes $OUT/images.txt (kubeadm's image list) for node-image.sh.
# usage: build-binaries.sh <k8s-version> <out-dir>
# Cached by Go's build cache; a second run with the same inputs takes seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/versions.sh"
. "$here/kubernetes-module.sh"

KVER=${1:?usage: build-binaries.sh <k8s-version> <out-dir>}
OUT=${2:?usage: build-binaries.sh <k8s-version> <out-dir>}
mkdir -p "$OUT"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

minor=${KVER#v1.}; minor=${minor%%.*}
k8s_cmds="kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy"

build_kubernetes() {
  local m="$work/kubernetes" gomod
  mkdir -p "$m"
  (cd "$m" && go mod download -json "k8s.io/kubernetes@$KVER" >"$work/dl.json" 2>"$work/dl.err") || true
  gomod=$(jq -r '.GoMod // empty' "$work/dl.json" 2>/dev/null || true)
  if [ -z "$gomod" ]; then
    why=$( { jq -r '.Error // empty' "$work/dl.json" 2>/dev/null; grep -v '^\s*$' "$work/dl.err"; } | head -1 | sed 's/^[[:space:]]*//' || true)
    die "the module proxy refuses k8s.io/kubernetes@$KVER (${why:-no answer}); buildable patches of 1.$minor: $(buildable_patches "$minor"); set KUBERNETES_VERSION to one of them"
  fi
  kubernetes_gomod "$gomod" "$KVER" >"$m/go.mod"
  { echo "package tools"; for cmd in $k8s_cmds; do echo "import _ \"k8s.io/kubernetes/cmd/$cmd\""; done; } >"$m/tools.go"
  (cd "$m"
   go mod tidy >"$work/tidy.log" 2>&1 || die "resolving k8s.io/kubernetes $KVER's dependencies failed: $(tail -1 "$work/tidy.log")"
   local ld cmd
   ld=$(kubernetes_ldflags "$KVER")
   local pkgs=()
   for cmd in $k8s_cmds; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
   # One go build for every command: shared packages compile once and the links run side by side.
   log "building $k8s_cmds $KVER"
   go build -trimpath -ldflags "$ld" -o "$OUT/" "${pkgs[@]}" >"$work/build.log" 2>&1 \
     || die "building Kubernetes $KVER failed: $(tail -3 "$work/build.log" | tr '\n' ' ')"
   for cmd in $k8s_cmds; do [ -x "$OUT/$cmd" ] || die "building Kubernetes $KVER left no $cmd in $OUT"; done)
  log "k8s.io/kubernetes $KVER: $(grep -c '^replace ' "$m/go.mod") staging modules replaced at v0.${KVER#v1.}"
}

# image_tag <name>: the tag kubeadm wants for one of its images.
image_tag() { grep -E "/$1:" "$OUT/images.txt" | head -1 | sed 's/.*://'; }

# etcd: the server's main package is a library entry point; three lines make a command.
build_etcd() {
  local v=$1 m="$work/etcd"
  mkdir -p "$m"
  printf 'module localbuild/etcd\ngo 1.24\n' >"$m/go.mod"
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' >"$m/main.go"
  (cd "$m" && { go get "go.etcd.io/etcd/server/v3@v$v" && go mod tidy; } >"$work/etcd.log" 2>&1 \
     || die "etcd v$v (kubeadm $KVER's etcd image) is not buildable from the module proxy: $(tail -1 "$work/etcd.log")"
   log "building etcd $v"
   go build -trimpath -ldflags "-s -w" -o "$OUT/etcd" .)
}

# install_cmds <out-subdir> <pkg@version>...: go install builds a module's commands exactly as
# released (several packages of one module version in one go install).
install_cmds() {
  local sub=$1 p; shift
  log "building $(for p in "$@"; do printf '%s ' "$(basename "${p%@*}")"; done)(${1#*@})"
  mkdir -p "$OUT/$sub"
  GOBIN="$work/bin" go install -trimpath -ldflags "-s -w" "$@" >"$work/install.log" 2>&1 \
    || die "building $* failed: $(tail -2 "$work/install.log" | tr '\n' ' ')"
  for p in "$@"; do mv "$work/bin/$(basename "${p%@*}")" "$OUT/$sub/"; done
}

build_kubernetes
"$OUT/kubeadm" config images list --kubernetes-version "$KVER" >"$OUT/images.txt" 2>"$work/images.err" \
  || die "kubeadm config images list failed for $KVER: $(tail -1 "$work/images.err")"
etcd_tag=$(image_tag etcd); coredns_tag=$(image_tag coredns)
[ -n "$etcd_tag" ] && [ -n "$coredns_tag" ] || die "kubeadm $KVER lists no etcd or CoreDNS image: $(tr '\n' ' ' <"$OUT/images.txt")"
# etcd, CoreDNS, the CNI plugins (one go install) and the project's own programs (the pause
# container and the pod network agent), one after the other: built side by side on this 2-core
# machine they took 3.7 min cold against 3.2 min in turn.
cni=()
for p in main/ptp main/bridge main/loopback ipam/host-local meta/portmap; do
  cni+=("github.com/containernetworking/plugins/plugins/$p@v$CNI_PLUGINS_VERSION")
done
build_etcd "${etcd_tag%-*}"
install_cmds "" "github.com/coredns/coredns@${coredns_tag}"
install_cmds cni "${cni[@]}"
(cd "$here/../../.." && log "building pause podnet" \
   && go build -trimpath -ldflags "-s -w" -o "$OUT/" ./scripts/images/node/pause ./scripts/images/node/podnet)
log "binaries for $KVER in $OUT (etcd $etcd_tag, CoreDNS $coredns_tag)"
