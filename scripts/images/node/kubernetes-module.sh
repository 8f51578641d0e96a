# Building Kubernetes commands from the k8s.io/kubernetes Go module, one way for both builds
# that do it: the node image's (build-binaries.sh) and the self-test's kubelet
# (scripts/selftest-kubelet.sh), which then share Go's build cache. Sourced after
# scripts/lib/common.sh (die).

# staging_modules prints the k8s.io staging modules k8s.io/kubernetes' own go.mod requires
# at v0.0.0 (it replaces them with ./staging/...): the list changes between minors.
staging_modules() {
  awk '/^require \($/ {r=1; next} r && /^\)/ {r=0} r && $2 == "v0.0.0" && $1 ~ /^k8s\.io\// {print $1}
       /^require k8s\.io\/[^ ]+ v0\.0\.0/ {print $2}' "$1" | sort -u
}

# kubernetes_gomod <k8s.io/kubernetes' go.mod> <version> [line ...] prints the go.mod of a
# module that builds that version's commands: the staging modules replaced by their
# published v0.x versions, and the extra lines given (such as a replace of k8s.io/kubernetes
# itself).
kubernetes_gomod() {
  local gomod=$1 kver=$2 sv="v0.${2#v1.}" r staging
  shift 2
  mapfile -t staging < <(staging_modules "$gomod")
  [ ${#staging[@]} -gt 10 ] || die "could not read the staging modules from k8s.io/kubernetes@$kver's go.mod ($gomod)"
  echo "module localbuild/kubernetes"; echo "go 1.24"; echo "require k8s.io/kubernetes $kver"
  for r in "$@"; do echo "$r"; done
  for r in "${staging[@]}"; do echo "replace $r => $r $sv"; done
}

# kubernetes_ldflags <version> prints the linker flags that stamp the version as a release
# build would (kubelet --version, the API server's /version).
kubernetes_ldflags() {
  local kver=$1 minor pkg ld="-s -w"
  minor=${kver#v1.}; minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$kver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$ld"
}
