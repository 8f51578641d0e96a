#!/usr/bin/env bash
# Builds every binary the offline node image needs from Go modules, into $OUT.
# usage: build-binaries.sh <k8s-version> <out-dir>
# Cached by Go's build cache; a second run with the same inputs takes seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/versions.sh"

KVER=${1:?usage: build-binaries.sh <k8s-version> <out-dir>}
OUT=${2:?usage: build-binaries.sh <k8s-version> <out-dir>}
mkdir -p "$OUT"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

minor=${KVER#v1.}; minor=${minor%%.*}
k8s_cmds="kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy"
staging="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
 cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client
 csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
 kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils
 pod-security-admission sample-apiserver sample-cli-plugin sample-controller"

# Kubernetes: the k8s.io/kubernetes module needs every staging module pinned to v0.<minor>.<patch>.
build_kubernetes() {
  local m="$work/kubernetes" sv="v0.${KVER#v1.}" r
  mkdir -p "$m"
  { echo "module localbuild/kubernetes"; echo "go 1.24"; echo "require k8s.io/kubernetes $KVER"
    for r in $staging; do echo "replace k8s.io/$r => k8s.io/$r $sv"; done; } >"$m/go.mod"
  { echo "package tools"; for cmd in $k8s_cmds; do echo "import _ \"k8s.io/kubernetes/cmd/$cmd\""; done; } >"$m/tools.go"
  (cd "$m" && if ! go mod download k8s.io/kubernetes 2>"$work/dl.err"; then
     die "Kubernetes $KVER is not a published k8s.io/kubernetes module version ($(tail -1 "$work/dl.err" | sed "s/^[[:space:]]*//")); pick one from 'go list -m -versions k8s.io/kubernetes' and set KUBERNETES_VERSION"
   fi
   go mod tidy >"$work/tidy.log" 2>&1 || die "resolving k8s.io/kubernetes $KVER's dependencies failed: $(tail -1 "$work/tidy.log")"
   local ld="-s -w"
   for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
     ld="$ld -X $pkg.gitVersion=$KVER -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
   done
   for cmd in $k8s_cmds; do
     log "building $cmd $KVER"
     go build -trimpath -ldflags "$ld" -o "$OUT/$cmd" "k8s.io/kubernetes/cmd/$cmd"
   done)
}

# etcd: the server's main package is a library entry point; three lines make a command.
build_etcd() {
  local m="$work/etcd"
  mkdir -p "$m"
  printf 'module localbuild/etcd\ngo 1.24\n' >"$m/go.mod"
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' >"$m/main.go"
  (cd "$m" && go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null 2>&1 && go mod tidy >/dev/null 2>&1
   log "building etcd $ETCD_VERSION"
   go build -trimpath -ldflags "-s -w" -o "$OUT/etcd" .)
}

# go install builds a module's command exactly as released.
install_cmd() {
  local name=$1 pkg=$2
  log "building $name ($pkg)"
  GOBIN="$work/bin" go install -trimpath -ldflags "-s -w" "$pkg"
  mv "$work/bin/$(basename "${pkg%@*}")" "$OUT/$name"
}

build_kubernetes
build_etcd
install_cmd coredns "github.com/coredns/coredns@v$COREDNS_VERSION"
mkdir -p "$OUT/cni"
for p in main/ptp main/bridge main/loopback ipam/host-local meta/portmap; do
  install_cmd "cni/$(basename $p)" "github.com/containernetworking/plugins/plugins/$p@v$CNI_PLUGINS_VERSION"
done
# The project's own programs: the pause container and the pod network agent.
(cd "$here/../.." && for p in pause podnet; do
  log "building $p"; go build -trimpath -ldflags "-s -w" -o "$OUT/$p" "./scripts/nodeimage/$p"; done)
log "binaries for $KVER in $OUT"
