#!/bin/sh
# make check-package: the Debian package (make deb) installed into a clean Debian 12 system that
# runs systemd as PID 1, with Debian's ZooKeeper, and used as an administrator uses it:
#
#   install  apt-get install ./gregor_<v>-1_amd64.deb: the gregor user, the conffile, the unit
#            enabled and started by the postinst, active (ready) only once serving
#   client   kcat on the host produces records and consumes them back; gregorctl (packaged) too
#   sighup   SIGHUP (systemctl kill -s HUP): gregord reloads, same process, still serving
#   reload   systemctl reload (the unit's ExecReload)
#   stop     systemctl stop: a controlled shutdown, exit status 0
#   start    systemctl start: active once serving, with the records of before the stop
#   ready    with ZooKeeper stopped, systemctl start stays "activating"; active once it is back
#   purge    apt-get purge gregor: no file of the package left, no process, no unit
#
# The system is a bookworm minbase root with systemd and zookeeperd, debootstrapped once into
# build/package-root/base (the debootstrap tarball is cached beside it; `rm -rf
# build/package-root` starts over). Each run mounts an overlay on that base, so the base stays
# clean and a rerun takes about half a minute, and boots it with systemd-nspawn --boot
# --private-network: ZooKeeper (2181) and gregord (9092) keep the package's default ports inside
# the container's own network namespace, and nothing listens on the host. The host's kcat
# reaches the broker by entering that namespace (nsenter --net). The container has no network:
# the package's dependencies are fetched from the mirror into the base's apt cache beforehand,
# so the timed install is an offline one.
#
# Needs root (debootstrap, mounts, namespaces); installs debootstrap, systemd-container and kcat
# when they are missing. Prints PASS or FAIL for each step with its figures and ends with
# "N passed, N failed"; exits non-zero on any failure. Logs: build/package-root/logs/.
# GREGOR_DEB=path tests another .deb; GREGOR_DEBIAN_MIRROR sets the mirror.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/.*kGregorVersion = "\(.*\)";/\1/p' "$top/include/gregor/config/broker_config.h")
deb=${GREGOR_DEB:-$top/build/deb/gregor_${version}-1_amd64.deb}
mirror=${GREGOR_DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$top/build/package-root
base=$work/base
tarball=$work/bookworm-minbase.tgz
includes=systemd,systemd-sysv,dbus
stamp=$base/.check-package-base # written last: the base is complete
run=$work/run
root=$run/root
logs=$work/logs
machine=gregor-check-$$
topic=check-package
records=1000

passed=0
failed=0
nspawn_pid=
leader=
t_begin=$(date +%s.%N)
fig_size='' fig_install='' fig_start='' fig_stop='' fig_boot=''

pass() {
  passed=$((passed + 1))
  echo "PASS $1: $2"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL $1: $2"
  [ -s "$logs/$1.log" ] && tail -n 15 "$logs/$1.log" | sed 's/^/    | /'
  return 0
}
# step NAME FUNCTION: FUNCTION runs with its output in logs/NAME.log and says what it saw in
# $detail.
step() {
  detail=
  if "$2" >"$logs/$1.log" 2>&1; then
    pass "$1" "$detail"
  else
    fail "$1" "$detail"
    return 1
  fi
}
summary() {
  echo "figures: package ${fig_size:-?}; install ${fig_install:-?}; systemctl start to active" \
    "${fig_start:-?}; stop ${fig_stop:-?}; boot ${fig_boot:-?}; whole run $(since "$t_begin") s"
  echo "$passed passed, $failed failed"
}
# A step that the rest depends on failed.
abort() {
  echo "(the remaining steps need it; stopping)"
  summary
  exit 1
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
# expect WHAT ACTUAL WANTED
expect() {
  if [ "$2" = "$3" ]; then
    echo "ok: $1 = $2"
    return 0
  fi
  detail="$1 is '$2', want '$3'"
  echo "$detail"
  return 1
}
# A command inside the booted container (its namespaces and root; not its cgroup).
in_root() {
  nsenter --target "$leader" --all --root --wd env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive SYSTEMD_PAGER= "$@"
}
# A host program in the container's network namespace.
in_net() { nsenter --target "$leader" --net "$@"; }
unit() { in_root systemctl show -p "$2" --value "$1"; }
# wait_until SECONDS COMMAND...: polls every 0.1 s.
wait_until() {
  _end=$(($(date +%s) + $1))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$_end" ] || return 1
    sleep 0.1
  done
}
unit_is() { [ "$(unit "$1" ActiveState)" = "$2" ]; }
zk_serves() { in_root bash -c 'exec 3<>/dev/tcp/127.0.0.1/2181 && printf srvr >&3 && grep -q Mode <&3' 2>/dev/null; }
# One connection attempt, no retry: is the listener bound at this instant?
listener_accepts() { in_root bash -c 'exec 3<>/dev/tcp/127.0.0.1/9092' 2>/dev/null; }
broker_serves() { in_net timeout 10 kcat -L -b 127.0.0.1:9092 -m 5 2>&1 | grep -q 'broker 0 at 127.0.0.1:9092'; }
# The records the topic holds, in order, compared with what was produced.
records_read_back() {
  in_net timeout 60 kcat -C -b 127.0.0.1:9092 -t "$topic" -o beginning -e -q >"$run/consumed.txt" &&
    cmp -s "$run/produced.txt" "$run/consumed.txt"
}
journal_count() { in_root journalctl -u gregord -o cat --no-pager | grep -c "$1"; }
# journal_grew PATTERN N: gregord has logged PATTERN more than N times.
journal_grew() { [ "$(journal_count "$1")" -gt "$2" ]; }
gregord_pids() {
  in_root sh -c 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = gregord ] && echo ${p#/proc/}; done'
}
# Paths, one a line, that no installed package owns (checked inside the container). Merged /usr:
# dpkg may know /lib/x as /usr/lib/x or the other way round. A symbolic link to a file of a
# package (/etc/rcS.d/S01procps, made by procps's postinst) counts as that package's.
unowned() {
  in_root sh -c 'owned() {
      dpkg-query -S "$1" >/dev/null 2>&1 && return 0
      case $1 in
        /usr/lib/* | /usr/bin/* | /usr/sbin/*) dpkg-query -S "${1#/usr}" >/dev/null 2>&1 ;;
        /lib/* | /bin/* | /sbin/*) dpkg-query -S "/usr$1" >/dev/null 2>&1 ;;
        *) return 1 ;;
      esac
    }
    while read -r p; do
      owned "$p" && continue
      [ -L "$p" ] && t=$(readlink -f "$p") && [ -e "$t" ] && owned "$t" && continue
      echo "$p"
    done'
}
snapshot() { in_root find / -xdev | sort; }

cleanup() {
  set +e
  if [ -n "$leader" ] && kill -0 "$leader" 2>/dev/null; then
    in_root journalctl -u gregord -u zookeeper --no-pager >"$logs/gregord.journal" 2>&1
    [ "$failed" -eq 0 ] || in_root journalctl -b --no-pager >"$logs/boot.journal" 2>&1
  fi
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    # systemd-nspawn halts the container's systemd (SIGRTMIN+3) on SIGTERM.
    kill -TERM "$nspawn_pid"
    i=0
    while kill -0 "$nspawn_pid" 2>/dev/null && [ $i -lt 300 ]; do
      sleep 0.1
      i=$((i + 1))
    done
    if kill -0 "$nspawn_pid" 2>/dev/null; then
      echo "container did not halt in 30 s: SIGKILL to its PID 1 ($leader) and to systemd-nspawn"
      [ -n "$leader" ] && kill -KILL "$leader"
      kill -KILL "$nspawn_pid"
    fi
    wait "$nspawn_pid" 2>/dev/null
  fi
  if mountpoint -q "$root" 2>/dev/null; then umount "$root" || umount -l "$root"; fi
  rm -rf "$run"
}

# --- the host -----------------------------------------------------------------------------------
step_host() {
  if [ "$(id -u)" != 0 ]; then
    detail="needs root (debootstrap, overlay mounts, systemd-nspawn, nsenter)"
    return 1
  fi
  missing=
  command -v debootstrap >/dev/null || missing="$missing debootstrap"
  command -v systemd-nspawn >/dev/null || missing="$missing systemd-container"
  command -v kcat >/dev/null || missing="$missing kcat"
  if [ -n "$missing" ]; then
    echo "installing$missing"
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing || {
      detail="cannot install$missing"
      return 1
    }
  fi
  for c in nsenter mountpoint flock dpkg-deb; do
    command -v $c >/dev/null || {
      detail="no $c"
      return 1
    }
  done
  cgroup=$(stat -fc %T /sys/fs/cgroup)
  case $cgroup in
    cgroup2fs) cgroup="unified (v2)" ;;
    tmpfs) [ -d /sys/fs/cgroup/unified ] && cgroup="hybrid (v1 + v2)" || cgroup="legacy (v1)" ;;
  esac
  pid1=$(cat /proc/1/comm)
  detail="root; PID 1 is $pid1, cgroups $cgroup; $(systemd-nspawn --version | head -1)"
}

step_package() {
  [ -f "$deb" ] || {
    detail="no $deb (make deb builds it)"
    return 1
  }
  dpkg-deb --info "$deb"
  size=$(($(stat -c %s "$deb") / 1024))
  installed=$(dpkg-deb -f "$deb" Installed-Size)
  fig_size="$size KiB (installed $installed KiB)"
  detail="$(basename "$deb"): $fig_size, Depends: $(dpkg-deb -f "$deb" Depends | sed 's/ ([^)]*)//g')"
}

# --- the Debian 12 root, cached -----------------------------------------------------------------
nspawn_base() {
  systemd-nspawn --quiet --register=no --keep-unit --resolv-conf=copy-host -D "$base" "$@"
}
step_root() {
  t0=$(date +%s.%N)
  made=
  if [ ! -f "$tarball" ]; then
    echo "debootstrap --make-tarball: bookworm minbase with $includes"
    rm -rf "$work/tarball-tmp"
    debootstrap --variant=minbase --include=$includes --make-tarball="$tarball.tmp" bookworm \
      "$work/tarball-tmp" "$mirror" || {
      detail="debootstrap --make-tarball failed"
      return 1
    }
    mv "$tarball.tmp" "$tarball"
    made="tarball, "
  fi
  if [ ! -f "$stamp" ]; then
    rm -rf "$base"
    debootstrap --variant=minbase --include=$includes --unpack-tarball="$tarball" bookworm \
      "$base" "$mirror" || {
      detail="debootstrap --unpack-tarball failed"
      return 1
    }
    rm -f "$base/etc/apt/sources.list"
    cat >"$base/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    echo gregor-check >"$base/etc/hostname"
    nspawn_base sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends zookeeperd && apt-get clean' || {
      detail="apt-get install zookeeperd in the root failed"
      return 1
    }
    date -u >"$stamp"
    made="${made}root, "
  fi
  # The package's dependencies, into the base's apt cache (the booted container has no network).
  deps="/mnt/pkg/$(basename "$deb")"
  fetch="DEBIAN_FRONTEND=noninteractive apt-get install -y -q --download-only $deps"
  nspawn_base --bind-ro="$(dirname "$deb")":/mnt/pkg sh -c "$fetch || { apt-get update -q && $fetch; }" || {
    detail="apt-get install --download-only of the package's dependencies failed"
    return 1
  }
  detail="bookworm minbase + systemd + zookeeperd in build/package-root/base"
  detail="$detail ($(du -sm "$base" | cut -f1) MiB; ${made:+built }${made%, }${made:+, }ready in $(since "$t0") s)"
}

# The container's PID 1 is systemd-nspawn's child, once that runs systemd.
find_leader() {
  leader=$(ps -o pid= --ppid "$nspawn_pid" | tr -d ' ' | head -1)
  [ -n "$leader" ] && [ "$(cat /proc/"$leader"/comm 2>/dev/null)" = systemd ]
}

# --- boot ---------------------------------------------------------------------------------------
step_boot() {
  mkdir -p "$run/upper" "$run/work" "$root"
  mount -t overlay overlay -o "lowerdir=$base,upperdir=$run/upper,workdir=$run/work" "$root" || {
    detail="cannot mount an overlay on the base"
    return 1
  }
  # No apt timer may take the dpkg lock in the middle of a step.
  for t in apt-daily.timer apt-daily-upgrade.timer; do ln -s /dev/null "$root/etc/systemd/system/$t"; done
  t0=$(date +%s.%N)
  systemd-nspawn --boot --register=no --keep-unit --private-network --machine="$machine" \
    --directory="$root" --bind-ro="$(dirname "$deb")":/mnt/pkg >"$logs/console.log" 2>&1 &
  nspawn_pid=$!
  wait_until 30 find_leader || {
    leader=
    detail="systemd-nspawn --boot did not start systemd as PID 1: $(grep -v '^$' "$logs/console.log" | tail -3 | tr '\n' ' ')"
    cat "$logs/console.log"
    return 1
  }
  wait_until 30 in_root test -S /run/systemd/private || {
    detail="systemd in the container opened no /run/systemd/private in 30 s"
    return 1
  }
  state=$(in_root timeout 120 systemctl is-system-running --wait)
  fig_boot="$(since "$t0") s"
  echo "system: $state"
  in_root systemctl --failed --no-pager
  case $state in running | degraded) ;; *)
    detail="systemd in the container is '$state' after 120 s"
    return 1
    ;;
  esac
  wait_until 60 zk_serves || {
    detail="zookeeper.service is $(unit zookeeper ActiveState) and does not answer on 127.0.0.1:2181"
    return 1
  }
  fig_boot="$(since "$t0") s"
  detail="$(in_root systemctl --version | head -1 | cut -d' ' -f1-2) as PID 1 in systemd-nspawn --boot"
  detail="$detail --private-network: '$state' and ZooKeeper serving $fig_boot after the start"
  [ "$state" = running ] || detail="$detail (failed units: $(in_root systemctl --failed --plain --no-legend | cut -d' ' -f1 | tr '\n' ' '))"
}

# --- the package --------------------------------------------------------------------------------
step_install() {
  snapshot >"$logs/files-before-install.txt"
  in_root dpkg-query -W -f='${Package}\n' | sort >"$logs/packages-before-install.txt"
  t0=$(date +%s.%N)
  in_root apt-get install -y -q -o DPkg::Lock::Timeout=120 "/mnt/pkg/$(basename "$deb")" || {
    detail="apt-get install failed"
    return 1
  }
  fig_install="$(since "$t0") s"
  in_root dpkg-query -W -f='${Package}\n' | sort >"$logs/packages-after-install.txt"
  new=$(comm -13 "$logs/packages-before-install.txt" "$logs/packages-after-install.txt" | grep -cvx gregor)
  expect "package status" "$(in_root dpkg-query -W -f='${db:Status-Status}' gregor)" installed || return 1
  user=$(in_root getent passwd gregor) || {
    detail="no user gregor"
    return 1
  }
  uid=$(echo "$user" | cut -d: -f3)
  [ "$uid" -lt 1000 ] || {
    detail="user gregor has uid $uid, not a system uid"
    return 1
  }
  expect "gregor's home" "$(echo "$user" | cut -d: -f6)" /var/lib/gregor || return 1
  in_root dpkg-query -W -f='${Conffiles}\n' gregor | grep -q '^ /etc/gregor/server.properties ' || {
    detail="/etc/gregor/server.properties is not a conffile"
    return 1
  }
  in_root test -f /lib/systemd/system/gregord.service || {
    detail="no /lib/systemd/system/gregord.service"
    return 1
  }
  expect "systemctl is-enabled gregord" "$(in_root systemctl is-enabled gregord)" enabled || return 1
  expect "gregord (started by the postinst)" "$(unit gregord ActiveState)" active || return 1
  { listener_accepts && broker_serves; } || {
    detail="gregord is active and does not serve on 127.0.0.1:9092"
    return 1
  }
  expect "owner of /var/lib/gregor/data" "$(in_root stat -c %U:%G /var/lib/gregor/data)" gregor:gregor || return 1
  pid=$(unit gregord MainPID)
  nofile=$(in_root sh -c "sed -n 's/^Max open files *\([0-9]*\).*/\1/p' /proc/$pid/limits")
  # systemd lowers LimitNOFILE= to the hard limit it may raise to (no CAP_SYS_RESOURCE in some
  # sandboxes).
  limit=$(unit gregord LimitNOFILE)
  [ "$nofile" = "$limit" ] || nofile="$nofile (LimitNOFILE=$limit, capped by the host's hard limit $(awk '/^Max open files/ { print $5 }' /proc/self/limits))"
  detail="apt-get install in $fig_install (offline, $new dependencies); the postinst enabled and"
  detail="$detail started gregord, active and serving; user gregor (uid $uid, home /var/lib/gregor),"
  detail="$detail conffile /etc/gregor/server.properties, /var/lib/gregor/data gregor:gregor,"
  detail="$detail open files $nofile"
}

step_client() {
  seq 1 $records | sed 's/^/record-/' >"$run/produced.txt"
  t0=$(date +%s.%N)
  in_net timeout 60 kcat -P -b 127.0.0.1:9092 -t "$topic" <"$run/produced.txt" || {
    detail="kcat -P failed"
    return 1
  }
  records_read_back || {
    detail="produced $records records, read back $(wc -l <"$run/consumed.txt") ($run/consumed.txt)"
    return 1
  }
  t=$(since "$t0")
  in_root gregorctl -b 127.0.0.1:9092 topic describe "$topic" | tee "$run/describe.txt"
  grep -q 'Leader: 0' "$run/describe.txt" || {
    detail="gregorctl topic describe $topic shows no leader"
    return 1
  }
  detail="kcat on the host produced $records records and read them back in order in $t s;"
  detail="$detail gregorctl (packaged) topic describe: partition 0, leader 0"
}

# reloaded <what> <pid before> <journal count before>: the reload was logged and gregord is
# the same process, active and serving.
reloaded() {
  wait_until 10 journal_grew 'SIGHUP received, reloading' "$3" || {
    detail="$1: no 'SIGHUP received, reloading' in the journal"
    return 1
  }
  expect "gregord after $1" "$(unit gregord ActiveState)" active || return 1
  expect "MainPID after $1" "$(unit gregord MainPID)" "$2" || return 1
  broker_serves || {
    detail="gregord does not serve after $1"
    return 1
  }
}

step_sighup() {
  pid=$(unit gregord MainPID)
  n=$(journal_count 'SIGHUP received, reloading')
  in_root systemctl kill --kill-whom=main --signal=SIGHUP gregord || {
    detail="systemctl kill -s HUP failed"
    return 1
  }
  reloaded SIGHUP "$pid" "$n" || return 1
  detail="gregord logged the reload, same process ($pid), active and serving"
}

step_reload() {
  pid=$(unit gregord MainPID)
  n=$(journal_count 'SIGHUP received, reloading')
  in_root systemctl reload gregord || {
    why=$(in_root journalctl -u gregord -o cat --no-pager -n 20 | grep -m1 'Failed to\|Failed at')
    detail="systemctl reload failed: ${why:-see the journal} (ExecReload=$(in_root systemctl show -p ExecReload --value gregord | sed -n 's/.*argv\[\]=\([^;]*[^; ]\) *;.*/\1/p'))"
    return 1
  }
  reloaded "systemctl reload" "$pid" "$n" || return 1
  detail="systemctl reload: gregord reloaded, same process ($pid), active and serving"
}

step_stop() {
  n=$(journal_count 'controlled shutdown complete')
  t0=$(date +%s.%N)
  in_root systemctl stop gregord || {
    detail="systemctl stop failed"
    return 1
  }
  fig_stop="$(since "$t0") s"
  expect "gregord after stop" "$(unit gregord ActiveState)" inactive || return 1
  expect "Result" "$(unit gregord Result)" success || return 1
  expect "ExecMainCode (1: exited)" "$(unit gregord ExecMainCode)" 1 || return 1
  expect "exit status" "$(unit gregord ExecMainStatus)" 0 || return 1
  wait_until 10 journal_grew 'controlled shutdown complete' "$n" || {
    detail="no 'controlled shutdown complete' in the journal"
    return 1
  }
  in_root journalctl -u gregord -o cat --no-pager -n 30 | grep -q 'shut down cleanly' || {
    detail="no 'shut down cleanly' in the journal"
    return 1
  }
  detail="systemctl stop in $fig_stop: controlled shutdown complete, shut down cleanly, exit status 0"
}

step_start() {
  t0=$(date +%s.%N)
  in_root systemctl start gregord || {
    detail="systemctl start failed"
    return 1
  }
  wall=$(since "$t0")
  # Active means serving: the listener must accept at once, and the broker know itself.
  listener_accepts || {
    detail="systemctl start returned and nothing accepts on 127.0.0.1:9092"
    return 1
  }
  broker_serves || {
    detail="systemctl start returned and the broker does not serve"
    return 1
  }
  expect "gregord after start" "$(unit gregord ActiveState)" active || return 1
  a=$(unit gregord InactiveExitTimestampMonotonic)
  b=$(unit gregord ActiveEnterTimestampMonotonic)
  fig_start=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f s", (b - a) / 1e6 }')
  records_read_back || {
    detail="after the restart the topic holds $(wc -l <"$run/consumed.txt") of the $records records"
    return 1
  }
  detail="active $fig_start after systemctl start (systemd's timestamps; the command returned after"
  detail="$detail $wall s), serving at once (kcat -L: broker 0); the $records records read back"
}

step_ready() {
  in_root systemctl stop gregord zookeeper || {
    detail="cannot stop gregord and zookeeper"
    return 1
  }
  in_root systemctl start --no-block gregord
  t0=$(date +%s.%N)
  states=
  early=
  while [ "$(since "$t0" | cut -d. -f1)" -lt 5 ]; do
    s="$(unit gregord ActiveState)/$(unit gregord SubState)"
    case " $states " in *" $s "*) ;; *) states="$states $s" ;; esac
    case $s in active/*)
      early="active $(since "$t0") s after systemctl start while ZooKeeper was down"
      break
      ;;
    esac
    sleep 0.2
  done
  in_root systemctl start zookeeper || {
    detail="cannot start zookeeper"
    return 1
  }
  t1=$(date +%s.%N)
  [ -z "$early" ] || {
    detail=$early
    return 1
  }
  wait_until 120 unit_is gregord active || {
    detail="not active 120 s after ZooKeeper came back (states:$states)"
    return 1
  }
  t=$(since "$t1")
  { listener_accepts && broker_serves; } || {
    detail="active and not serving"
    return 1
  }
  detail="ZooKeeper stopped: gregord stayed${states} for 5 s (not active); active and serving $t s"
  detail="$detail after ZooKeeper was started again"
}

step_purge() {
  in_root dpkg -L gregor | sort >"$logs/dpkg-L-gregor.txt"
  t0=$(date +%s.%N)
  in_root apt-get purge -y -q -o DPkg::Lock::Timeout=120 gregor || {
    detail="apt-get purge failed"
    return 1
  }
  t=$(since "$t0")
  st=$(in_root dpkg-query -W -f='${db:Status-Status}' gregor 2>/dev/null)
  case $st in "" | not-installed) ;; *)
    detail="package status after purge: $st"
    return 1
    ;;
  esac
  pids=$(gregord_pids)
  [ -z "$pids" ] || {
    detail="gregord still runs (pid $pids)"
    return 1
  }
  expect "unit gregord" "$(unit gregord LoadState)" not-found || return 1
  # What is there now and was not before the install, or is the package's, and that no
  # installed package owns: left behind. Not counted: the state of apt, dpkg, journald, systemd's
  # timers, ZooKeeper's data and logs, and /etc/passwd and friends.
  snapshot >"$logs/files-after-purge.txt"
  {
    comm -13 "$logs/files-before-install.txt" "$logs/files-after-purge.txt"
    while read -r p; do in_root test -e "$p" && echo "$p"; done <"$logs/dpkg-L-gregor.txt"
  } | sort -u | grep -vE '^/\.?$|^/var/lib/(dpkg|apt|systemd/(timers|linger|random-seed|catalog|coredump|pstore))(/|$)|^/var/cache/(apt|debconf|ldconfig)(/|$)|^/var/log/(journal|apt|zookeeper)(/|$)|^/var/log/(dpkg\.log|alternatives\.log|wtmp|btmp|lastlog)$|^/var/tmp/systemd-private-|^/tmp/|^/etc/((passwd|group|shadow|gshadow)-?|\.pwd\.lock|ld\.so\.cache|machine-id)$' \
      >"$logs/purge-candidates.txt"
  unowned <"$logs/purge-candidates.txt" >"$logs/purge-leftovers.txt"
  if in_root getent passwd gregor >/dev/null; then user="user gregor kept (Debian keeps system users)"; else user="user gregor removed"; fi
  if [ -s "$logs/purge-leftovers.txt" ]; then
    # The topmost paths left, with how many there are under each.
    left=$(awk 'top != "" && index($0, top "/") == 1 { n[top]++; next }
      { top = $0; order[++k] = top; n[top] = 0 }
      END { for (i = 1; i <= k; i++) printf "%s%s ", order[i], n[order[i]] ? " (and " n[order[i]] " paths under it)" : "" }' \
      "$logs/purge-leftovers.txt")
    detail="apt-get purge in $t s; left behind: $left(build/package-root/logs/purge-leftovers.txt)"
    sed 's/^/left: /' "$logs/purge-leftovers.txt"
    return 1
  fi
  in_root test ! -e /etc/gregor || {
    detail="/etc/gregor is still there"
    return 1
  }
  detail="apt-get purge in $t s: no process, no unit, /etc/gregor gone, nothing of the package"
  detail="$detail left ($(wc -l <"$logs/dpkg-L-gregor.txt") paths checked); $user"
}

# --- main ---------------------------------------------------------------------------------------
mkdir -p "$work" "$logs"
exec 9>"$work/.lock"
if ! flock -n 9; then
  echo "check-package: another run holds $work/.lock" >&2
  exit 1
fi
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -f "$logs"/*
if mountpoint -q "$root" 2>/dev/null; then umount "$root"; fi
rm -rf "$run"
mkdir -p "$run"

echo "check-package: $deb in a Debian 12 root booted with systemd (systemd-nspawn)"
step host step_host || abort
step package step_package || abort
step root step_root || abort
step boot step_boot || abort
step install step_install || abort
step client step_client
step sighup step_sighup
step reload step_reload
step stop step_stop
step start step_start
step ready step_ready
step purge step_purge
summary
[ "$failed" -eq 0 ]
