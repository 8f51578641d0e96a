#!/usr/bin/env bash
# Chooses the kind node image and prints its reference as the last line:
# 1. NODE_IMAGE, when set (must be local or pullable);
# 2. kind's published kindest/node:<version>, when it is local or can be pulled;
# 3. otherwise an image built offline by scripts/images/node.sh.
# OFFLINE=1 skips the pull attempt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
KVER=${KUBERNETES_VERSION:-$(cat "$here/images/node/default-kubernetes-version")}
docker_engine_ok || die "no Docker engine is reachable; run 'make host' first"

try_pull() { timeout "${PULL_TIMEOUT:-90}" docker pull -q "$1" >/tmp/dsconform-pull.log 2>&1; }

if [ -n "${NODE_IMAGE:-}" ]; then
  docker image inspect "$NODE_IMAGE" >/dev/null 2>&1 || try_pull "$NODE_IMAGE" \
    || die "NODE_IMAGE=$NODE_IMAGE is not a local image and cannot be pulled ($(tail -1 /tmp/dsconform-pull.log)); unset NODE_IMAGE to build one offline"
  echo "$NODE_IMAGE"; exit 0
fi
# kind's published image only for the exact patch asked for (framework/releases decides).
published=$(cd "$here/.." && go run ./scripts/cmd/cluster kind-image "$KVER" 2>/tmp/dsconform-kind-image.log) || true
if [ -z "$published" ]; then
  log "$(tail -1 /tmp/dsconform-kind-image.log)"
elif docker image inspect "$published" >/dev/null 2>&1; then echo "$published"; exit 0
elif [ -z "${OFFLINE:-}" ]; then
  if try_pull "$published"; then log "pulled kind's published $published"; echo "$published"; exit 0; fi
  log "cannot pull $published ($(tail -1 /tmp/dsconform-pull.log)); building the node image offline"
fi
KUBERNETES_VERSION=$KVER bash "$here/images/node.sh" | tail -1
