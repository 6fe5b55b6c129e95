#!/bin/sh
# make deb: a Debian 12 binary package of what this tree has built, with Debian's tooling
# (dpkg-buildpackage, debhelper 13: shlibs dependencies, stripping, the systemd unit's
# maintainer scripts, the system user through sysusers.d), then lintian on it.
# The packaging sources are conf/debian; this script stages them in build/deb/gregor-<version>
# with what is generated (changelog and copyright from the version and COPYING, the
# /etc/gregor/server.properties the package installs). Output: build/deb/gregor_<v>_<arch>.deb
# and its lintian report build/deb/lintian.txt.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/.*kGregorVersion = "\(.*\)";/\1/p' "$top/include/gregor/config/broker_config.h")
[ -n "$version" ] || { echo "deb: no version in broker_config.h" >&2; exit 1; }
out="$top/build/deb"
stage="$out/gregor-$version"
rm -rf "$out"
mkdir -p "$stage"
cp -r "$top/conf/debian" "$stage/debian"
date=$(date -R -d "@$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)")
cat >"$stage/debian/changelog" <<CHANGELOG
gregor ($version-1) bookworm; urgency=medium

  * Package of gregor $version (git $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)).

 -- gregor developers <gregor-devel@users.noreply.github.com>  $date
CHANGELOG
{
  printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n'
  printf 'Upstream-Name: gregor\n\nFiles: *\nCopyright: 2026 the gregor authors\nLicense: Expat\n\n'
  printf 'License: Expat\n'
  sed -n '/^Permission/,$p' "$top/COPYING" | sed 's/^$/./; s/^/ /'
} >"$stage/debian/copyright"
# The package's config: the sample with its data under /var/lib/gregor/data.
sed 's|^log.dirs=.*|log.dirs=/var/lib/gregor/data|' "$top/conf/server.properties" \
  >"$stage/debian/server.properties"
grep -q '^log.dirs=/var/lib/gregor/data$' "$stage/debian/server.properties" ||
  { echo "deb: conf/server.properties has no log.dirs line" >&2; exit 1; }
(cd "$stage" && GREGOR_TOP="$top" dpkg-buildpackage -b -us -uc >"$out/build.log" 2>&1) ||
  { tail -30 "$out/build.log" >&2; echo "deb: dpkg-buildpackage failed (build/deb/build.log)" >&2; exit 1; }
deb=$(ls "$out"/gregor_"$version"-1_*.deb)
echo "deb: $deb"
dpkg-deb --info "$deb" | sed -n 's/^ \(Depends\|Recommends\):/  \1:/p'
lintian --tag-display-limit 0 "$deb" >"$out/lintian.txt" 2>&1 || true
echo "lintian: $(grep -c '^E:' "$out/lintian.txt") errors, $(grep -c '^W:' "$out/lintian.txt") warnings" \
  "($out/lintian.txt)"
sed 's/^/  /' "$out/lintian.txt"
