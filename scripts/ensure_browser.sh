#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (/usr/bin/chromium); nothing downloads a
# browser at run time. Installs it with apt when it is absent and we may (root),
# and says so loudly when we may not. Exit status 0 means the browser is there.
set -uo pipefail
BROWSER="${PEMA_CHROMIUM:-/usr/bin/chromium}"
[ -x "$BROWSER" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "browser tests: installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }
fi
[ -x "$BROWSER" ] && exit 0
echo "!!!!!!!! browser tests: $BROWSER is missing and could not be installed (apt-get install chromium) !!!!!!!!" >&2
exit 1
