#!/usr/bin/env bash
# The suite's self-test: break the cluster on purpose so every spec can be seen
# failing with a message that names what was expected, what was found and where.
#   break-cluster.sh break    stop kube-controller-manager (its manifest leaves the
#                             static pod directory) and refuse mirror pods in the
#                             suite's namespaces (a ValidatingAdmissionPolicy)
#   break-cluster.sh restore  undo both
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
name=${E2E_CLUSTER_NAME:-dsconform}
cp="$name-control-plane"
kubectl() { docker exec -i "$cp" kubectl --kubeconfig=/etc/kubernetes/admin.conf "$@"; }
docker inspect "$cp" >/dev/null 2>&1 || die "no kind control-plane container $cp: run 'make cluster' first"
case ${1:-} in
  break)
    docker exec "$cp" sh -c 'test ! -e /etc/kubernetes/manifests/kube-controller-manager.yaml || mv /etc/kubernetes/manifests/kube-controller-manager.yaml /etc/kubernetes/kube-controller-manager.yaml.broken'
    kubectl apply -f - <"$here/../fixtures/failure-injection/deny-mirror-pods.yaml" >/dev/null
    log "cluster $name broken: no kube-controller-manager, mirror pods refused in the suite's namespaces" ;;
  restore)
    docker exec "$cp" sh -c 'test ! -e /etc/kubernetes/kube-controller-manager.yaml.broken || mv /etc/kubernetes/kube-controller-manager.yaml.broken /etc/kubernetes/manifests/kube-controller-manager.yaml'
    kubectl delete --ignore-not-found -f - <"$here/../fixtures/failure-injection/deny-mirror-pods.yaml" >/dev/null
    log "cluster $name restored" ;;
  *) die "usage: break-cluster.sh break|restore" ;;
esac
