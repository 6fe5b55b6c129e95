#!/bin/bash
# Standalone ZooKeeper for development and tests, from Debian's `zookeeper` package.
#
#   zk/zk-server.sh start <dir> <port>   writes <dir>/zoo.cfg, starts the server in the background,
#                                        writes <dir>/zk.pid, waits (30 s) until `ruok` -> `imok`.
#   zk/zk-server.sh stop <dir>           kills the pid in <dir>/zk.pid and waits for it to exit.
#   zk/zk-server.sh status <dir> <port>  exits 0 if the server answers `imok`.
#
# tickTime=500 so that tests can use short session timeouts (ZooKeeper clamps a session timeout to
# [2, 20] ticks unless min/maxSessionTimeout say otherwise). Logs go to <dir>/zk.log.
set -u
# bash is needed (/dev/tcp, $SECONDS); re-exec when started as `sh zk-server.sh`.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

ZK_CLASSPATH="${ZK_CLASSPATH:-/etc/zookeeper/conf:/usr/share/java/zookeeper.jar}"
# Without an slf4j binding the server logs nothing; slf4j-simple writes to stderr (-> zk.log).
if [ -f /usr/share/java/slf4j-simple.jar ]; then
  ZK_CLASSPATH="$ZK_CLASSPATH:/usr/share/java/slf4j-simple.jar"
fi
JAVA="${JAVA:-java}"

usage() {
  echo "usage: $0 start <dir> <port> | stop <dir> | status <dir> <port>" >&2
  exit 2
}

# Sends a four-letter word; prints the answer (empty when nothing listens).
four_letter() {
  local port=$1 word=$2
  (
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf '%s' "$word" >&3
    timeout 2 cat <&3
  ) 2>/dev/null
}

is_running() {
  local dir=$1
  [ -f "$dir/zk.pid" ] && kill -0 "$(cat "$dir/zk.pid")" 2>/dev/null
}

start() {
  local dir=$1 port=$2
  mkdir -p "$dir/data" || exit 1
  dir=$(cd "$dir" && pwd)
  if is_running "$dir"; then
    echo "zk-server: already running in $dir (pid $(cat "$dir/zk.pid"))" >&2
    exit 1
  fi
  cat >"$dir/zoo.cfg" <<EOF
tickTime=500
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
minSessionTimeout=1000
maxSessionTimeout=60000
EOF
  # setsid: the server must not receive the signals sent to the caller's process group.
  setsid "$JAVA" -Xmx256m \
    -Dzookeeper.log.dir="$dir" -Dzookeeper.root.logger=INFO,CONSOLE \
    -Dlog4j.configuration=file:/etc/zookeeper/conf/log4j.properties \
    -cp "$ZK_CLASSPATH" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \
    >"$dir/zk.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$dir/zk.pid"
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "zk-server: exited during startup, see $dir/zk.log" >&2
      tail -20 "$dir/zk.log" >&2
      rm -f "$dir/zk.pid"
      exit 1
    fi
    if [ "$(four_letter "$port" ruok)" = "imok" ]; then
      echo "zk-server: running on 127.0.0.1:$port (pid $pid, dir $dir)"
      exit 0
    fi
    sleep 0.2
  done
  echo "zk-server: no 'imok' on port $port within 30 s, see $dir/zk.log" >&2
  kill "$pid" 2>/dev/null
  exit 1
}

stop() {
  local dir=$1
  if [ ! -f "$dir/zk.pid" ]; then
    echo "zk-server: no $dir/zk.pid" >&2
    exit 0
  fi
  local pid
  pid=$(cat "$dir/zk.pid")
  kill "$pid" 2>/dev/null
  local deadline=$((SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      kill -9 "$pid" 2>/dev/null
      sleep 0.2
      break
    fi
    sleep 0.1
  done
  rm -f "$dir/zk.pid"
  echo "zk-server: stopped (pid $pid)"
}

[ $# -ge 2 ] || usage
case "$1" in
  start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
  stop) stop "$2" ;;
  status) [ $# -eq 3 ] || usage; [ "$(four_letter "$3" ruok)" = "imok" ] ;;
  *) usage ;;
esac
