#!/usr/bin/env bash
# Builds the node's container runtime from Go modules into $OUT: containerd, ctr,
# containerd-shim-runc-v2 (containerd v2), runc (cgo, with seccomp) and crictl.
# One build serves every Kubernetes version; Go's build cache makes a rebuild fast.
# usage: build-runtime.sh <out-dir>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../lib/common.sh"
. "$here/versions.sh"

OUT=${1:?usage: build-runtime.sh <out-dir>}
mkdir -p "$OUT"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export GOFLAGS=-buildvcs=false

# build_in_module <dir> <module@version> <ldflags> <tags> <out=pkg>...: builds commands of a
# released module from a scratch module that requires it (go install refuses modules
# with replace directives, and some versions are missing from the proxy's version list).
build_in_module() {
  local name=$1 modver=$2 ld=$3 tags=$4; shift 4
  local m="$work/$name" pair
  mkdir -p "$m"
  printf 'module localbuild/%s\ngo 1.24\nrequire %s %s\n' "$name" "${modver%@*}" "${modver#*@}" >"$m/go.mod"
  { echo "package tools"; for pair in "$@"; do echo "import _ \"${pair#*=}\""; done; } >"$m/tools.go"
  (cd "$m"
   go mod tidy >"$work/$name-tidy.log" 2>&1 || die "resolving $modver failed: $(tail -1 "$work/$name-tidy.log")"
   for pair in "$@"; do
     log "building ${pair%%=*} ($modver)"
     go build -trimpath -tags "$tags" -ldflags "$ld" -o "$OUT/${pair%%=*}" "${pair#*=}" \
       >"$work/$name-build.log" 2>&1 || die "building ${pair#*=} failed: $(tail -3 "$work/$name-build.log" | tr '\n' ' ')"
   done)
}

cv=github.com/containerd/containerd/v2
CGO_ENABLED=0 build_in_module containerd "$cv@v$CONTAINERD_VERSION" \
  "-s -w -X $cv/version.Version=v$CONTAINERD_VERSION -X $cv/version.Revision=gomodule" \
  "no_aufs no_zfs no_btrfs no_devmapper" \
  containerd=$cv/cmd/containerd ctr=$cv/cmd/ctr containerd-shim-runc-v2=$cv/cmd/containerd-shim-runc-v2

# runc needs cgo and libseccomp: kubeadm's control-plane pods ask for the RuntimeDefault profile.
if ! dpkg -s libseccomp-dev >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && is_debian_like; then
    log "installing libseccomp-dev from Debian packages"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp-dev pkg-config; } >"$work/apt.log" 2>&1 \
      || die "apt-get install libseccomp-dev failed: $(tail -1 "$work/apt.log")"
  else
    die "building runc needs libseccomp's headers; install them (e.g. 'sudo apt-get install libseccomp-dev pkg-config')"
  fi
fi
CGO_ENABLED=1 build_in_module runc "github.com/opencontainers/runc@v$RUNC_VERSION" \
  "-s -w -X main.version=$RUNC_VERSION -X main.gitCommit=gomodule" "seccomp urfave_cli_no_docs" \
  runc=github.com/opencontainers/runc

CGO_ENABLED=0 build_in_module crictl "sigs.k8s.io/cri-tools@v$CRICTL_VERSION" \
  "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=v$CRICTL_VERSION" "" \
  crictl=sigs.k8s.io/cri-tools/cmd/crictl

"$OUT/containerd" --version >/dev/null && "$OUT/runc" --version | grep -q seccomp \
  || die "the runtime binaries in $OUT do not run (or runc lacks seccomp)"
log "runtime in $OUT: $("$OUT/containerd" --version | awk '{print $3}'), runc $RUNC_VERSION, crictl v$CRICTL_VERSION"
