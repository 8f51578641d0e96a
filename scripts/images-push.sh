#!/usr/bin/env bash
# For air-gapped clusters: retags every image the suite needs (node, workload, suite,
# busybox) into the registry you name and pushes them, then writes the in-cluster Job,
# the Sonobuoy plugin and the Hydrophone command pointing at them into
# $ARTIFACTS/airgap/. REGISTRY is host[:port][/path], e.g. registry.example.com/dsconform.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
root=$ROOT && cd "$root"
A=${ARTIFACTS:?ARTIFACTS must be set}
reg=${REGISTRY:-}
[ -n "$reg" ] || die "REGISTRY is not set: name the registry your nodes pull from, e.g. REGISTRY=registry.example.com/dsconform make images-push"
case "$reg" in *://*) die "REGISTRY=$reg: give host[:port][/path], without a scheme";; esac
reg=${reg%/}
node=$(cat "$A/node-image")
workload=$(cat "$A/workload-image")
suite=$(bash "$here/images/suite.sh" | tail -1)
busybox=$(bash "$here/images/busybox.sh" | tail -1)
out="$A/airgap"; mkdir -p "$out"; : >"$out/images.txt"
push() { # local reference -> pushed reference
  local dest="$reg/${1##*/}"
  docker tag "$1" "$dest"
  docker push "$dest" >"$out/push.log" 2>&1 || die "docker push $dest failed: $(tail -1 "$out/push.log")"
  echo "$1 $dest" >>"$out/images.txt"
  echo "$dest"
}
p_node=$(push "$node"); p_workload=$(push "$workload"); p_suite=$(push "$suite"); p_busybox=$(push "$busybox")
sed -e "s|image: SUITE_IMAGE|image: $p_suite|; s|value: WORKLOAD_IMAGE}|value: $p_workload}|; s|E2E_LABEL_FILTER_VALUE||" \
  fixtures/incluster/job.yaml >"$out/job.yaml"
sed -e "s|image: localhost/dsconform/suite:latest|image: $p_suite|; s|value: localhost/dsconform/workload:latest}|value: $p_workload}|" \
  fixtures/incluster/sonobuoy-plugin.yaml >"$out/sonobuoy-plugin.yaml"
echo "hydrophone --conformance-image $p_suite --busybox-image $p_busybox --focus non-disruptive --extra-args=-e2e.workload-image=$p_workload" >"$out/hydrophone.txt"
log "pushed to $reg: $(cut -d' ' -f2 "$out/images.txt" | tr '\n' ' ')"
log "manifests pointing there: $out/job.yaml, $out/sonobuoy-plugin.yaml, $out/hydrophone.txt (node image for kind: $p_node)"
