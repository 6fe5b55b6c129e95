#!/bin/sh
# Installs the Debian packages listed in conf/debian-packages that are missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
missing=""
for p in $(grep -v '^#' "$top/conf/debian-packages"); do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    # nodejs from another source (nodesource) ships npm itself.
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "gregor: missing Debian packages; run as root:" >&2
  echo "  apt-get install -y$missing" >&2
  exit 1
fi
echo "gregor: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends $missing >/dev/null || {
  apt-get update >/dev/null && apt-get install -y --no-install-recommends $missing >/dev/null
}
