# Versions of what the offline node image is built from that do NOT follow from the
# Kubernetes version. etcd, CoreDNS and pause follow from the built kubeadm
# (`kubeadm config images list`), the staging modules from k8s.io/kubernetes' own go.mod.
# Sourced by the node image scripts; the image tags hash this file, so a change here rebuilds.

# The node runtime, as kind v0.33.0's base image ships it (one build serves every Kubernetes version).
CONTAINERD_VERSION=2.3.7
RUNC_VERSION=1.4.3
CRICTL_VERSION=1.36.0

CNI_PLUGINS_VERSION=1.9.1
DEBIAN_SUITE=bookworm
# The Kubernetes releases themselves (end of life, buildable patches, kind images) are in
# framework/releases/releases.txt, read by scripts and the report alike.
