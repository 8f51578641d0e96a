#!/usr/bin/env bash
# Builds the self-test's faulty kubelet: the kubelet of <k8s-version>, from its Go module
# like the node image's, with fixtures/failure-injection/kubelet/dsconform_fault.go.txt
# added to its file source and called from four lines, so that DSCONFORM_KUBELET_FAULT
# in its environment gives it one wrong behaviour of the static pod directory. Only the
# self-test uses it (fixtures/failure-injection/faults.yaml), on one worker at a time.
# Go's build cache holds the node image's build: only the changed packages compile.
# usage: selftest-kubelet.sh <k8s-version> <out-file>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/common.sh"
. "$root/scripts/images/node/kubernetes-module.sh"

KVER=${1:?usage: selftest-kubelet.sh <k8s-version> <out-file>}
OUT=${2:?usage: selftest-kubelet.sh <k8s-version> <out-file>}
fault="$root/fixtures/failure-injection/kubelet/dsconform_fault.go.txt"
stamp="$OUT.inputs"
want="$KVER $(sha256sum "$fault" "$0" "$root/scripts/images/node/kubernetes-module.sh" | sha256sum | cut -c1-16)"
if [ -x "$OUT" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  log "self-test kubelet $KVER: $OUT is current"
  exit 0
fi
work=$(mktemp -d); trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

m="$work/build"; mkdir -p "$m"
(cd "$m" && go mod download -json "k8s.io/kubernetes@$KVER" >"$work/dl.json" 2>"$work/dl.err") || true
src=$(jq -r '.Dir // empty' "$work/dl.json" 2>/dev/null || true)
gomod=$(jq -r '.GoMod // empty' "$work/dl.json" 2>/dev/null || true)
[ -n "$src" ] && [ -n "$gomod" ] || die "the module proxy refuses k8s.io/kubernetes@$KVER: $(head -1 "$work/dl.err")"

# A writable copy of the module with the fault added to its file source.
k="$work/kubernetes"
cp -r "$src" "$k"; chmod -R u+w "$k"
cfg="$k/pkg/kubelet/config"
cp "$fault" "$cfg/zz_dsconform_fault.go"
# each anchor must be found exactly once: a Kubernetes version that moved them fails here
anchor() { # anchor <file> <line-pattern> <sed command>
  [ "$(grep -c -- "$2" "$1")" = 1 ] || die "$1: the line '$2' the self-test kubelet patches is not there once ($KVER)"
  sed -i "$3" "$1"
}
anchor "$cfg/file.go" '^	file, err := os.Open(filename)$' \
  's|^	file, err := os.Open(filename)$|	if p := dsconformFirstRead(filename); p != nil {\n		return p, nil\n	}\n&|'
anchor "$cfg/file.go" '^	if parsed {$' \
  's|^	if parsed {$|	if parsed \&\& podErr == nil {\n		dsconformRemember(filename, pod)\n	}\n&|'
anchor "$cfg/file.go" '^		updates <- sourceUpdate{Pods: pods}$' \
  's|^		updates <- sourceUpdate{Pods: pods}$|		pods = dsconformTwins(pods)\n&|'
anchor "$cfg/file_linux.go" '^func (s \*sourceFile) consumeWatchEvent(logger klog.Logger, e \*watchEvent) error {$' \
  's|^func (s \*sourceFile) consumeWatchEvent(logger klog.Logger, e \*watchEvent) error {$|&\n	if dsconformDropEvent(e.fileName, e.eventType == podDelete) {\n		return nil\n	}|'

kubernetes_gomod "$gomod" "$KVER" "replace k8s.io/kubernetes => $k" >"$m/go.mod"
printf 'package tools\n\nimport _ "k8s.io/kubernetes/cmd/kubelet"\n' >"$m/tools.go"
ld=$(kubernetes_ldflags "$KVER")
log "building the self-test kubelet $KVER (the node image's kubelet with dsconform_fault.go)"
(cd "$m" && go mod tidy >"$work/tidy.log" 2>&1 || die "resolving k8s.io/kubernetes $KVER failed: $(tail -1 "$work/tidy.log")"
 gofmt -l "$cfg" | grep . && die "the patched file source does not gofmt: $(gofmt -l "$cfg")"
 go build -trimpath -ldflags "$ld" -o "$work/kubelet" k8s.io/kubernetes/cmd/kubelet >"$work/build.log" 2>&1 \
   || die "building the self-test kubelet failed: $(tail -3 "$work/build.log" | tr '\n' ' ')")
mkdir -p "$(dirname "$OUT")"
mv "$work/kubelet" "$OUT"
echo "$want" >"$stamp"
log "self-test kubelet $KVER: $OUT"
