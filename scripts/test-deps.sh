#!/usr/bin/env bash
# The unit tests render report.html in headless Chromium. Install Debian's chromium
# when it is missing and we can (root on Debian/Ubuntu); otherwise that one test skips.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -eq 0 ] && is_debian_like; then
  need_pkgs chromium:chromium
else
  log "chromium is not installed: the report's browser test will be skipped (install Debian's chromium package to run it)"
fi
