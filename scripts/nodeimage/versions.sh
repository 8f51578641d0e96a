# Versions of everything the offline node image is built from, per Kubernetes minor.
# Sourced by the node image scripts. The image tag hashes this file, so a change here rebuilds.
ETCD_VERSION=3.6.5       # kubeadm 1.34 expects registry.k8s.io/etcd:3.6.5-0
COREDNS_VERSION=1.12.1   # kubeadm 1.34 expects registry.k8s.io/coredns/coredns:v1.12.1
CNI_PLUGINS_VERSION=1.9.1
PAUSE_TAGS="3.10.1 3.10" # kubeadm's tag, and the sandbox image kind's containerd config names
DEBIAN_SUITE=bookworm
