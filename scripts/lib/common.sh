# Shared helpers for the scripts in scripts/. Source it; it defines functions and ROOT.
# ROOT is the repository the scripts belong to (this file is scripts/lib/common.sh).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)


# die prints one line saying what is wrong and how to fix it, then exits 1.
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# timed runs a command and appends "<label> <seconds>" to $TIMINGS_FILE (if set).
timed() {
  local label=$1; shift
  local start=$SECONDS
  "$@"
  local rc=$?
  if [ -n "${TIMINGS_FILE:-}" ]; then
    printf '%s %d\n' "$label" $((SECONDS - start)) >>"$TIMINGS_FILE"
  fi
  return $rc
}

docker_engine_ok() { docker info >/dev/null 2>&1; }

is_debian_like() { [ -r /etc/os-release ] && grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release; }

# need_pkgs installs Debian packages for the named commands when they are missing,
# or explains which package to install when it cannot.
# usage: need_pkgs cmd:pkg [cmd:pkg ...]
need_pkgs() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! is_debian_like; then
    die "missing build dependencies (${missing[*]}); install them with your package manager, e.g. 'sudo apt-get install ${missing[*]}'"
  fi
  log "installing ${missing[*]} from Debian packages"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/tmp/apt-install.log 2>&1; then
    die "apt-get install ${missing[*]} failed (see /tmp/apt-install.log); fix the package sources and run 'make host' again"
  fi
}

# The release table (framework/releases/releases.txt): minor, end of life, buildable patches, kind image.
RELEASES_FILE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/framework/releases/releases.txt"
release_field() { awk -v m="1.$1" -v f="$2" '$1 == m {print $f}' "$RELEASES_FILE"; }

# buildable_patches <minor>: the patches of 1.<minor> known to build offline.
buildable_patches() {
  local p; p=$(release_field "$1" 3)
  [ -n "$p" ] && echo "${p//,/ }" || echo "none known (known minors: $(known_minors))"
}
known_minors() { awk '!/^#/ && NF {printf "%s%s", sep, $1; sep=", "}' "$RELEASES_FILE"; }

# end_of_life <minor>: the end-of-life date of 1.<minor>, or empty when unknown.
end_of_life() { release_field "$1" 2; }
