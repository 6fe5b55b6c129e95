#!/bin/bash
# `make run`: a local ZooKeeper and one gregord, in the foreground until Ctrl-C.
#
# ZooKeeper listens on 127.0.0.1:2181 (or a free port when 2181 is taken), gregord on 127.0.0.1:9092 (or a
# free port); data and logs go to a scratch dir ${TMPDIR:-/tmp}/gregor-run-XXXX, kept after exit so the logs
# can be read. Ctrl-C (or SIGTERM) stops gregord with SIGTERM, waits for it, then stops ZooKeeper.
# `make run` invokes this with sh: re-run under bash (/dev/tcp, process handling).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
gregord="${GREGORD:-$top/bin/gregord}"
gregorctl="$top/bin/gregorctl"
zk_script="$top/zk/zk-server.sh"

if [ ! -x "$gregord" ]; then
  echo "run-local: $gregord is not built (run make)" >&2
  exit 1
fi

port_free() {
  # Free when nothing accepts a connection there.
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
  local want=$1
  if port_free "$want"; then
    echo "$want"
  else
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
  fi
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/gregor-run-XXXX") || exit 1
zk_port=$(pick_port 2181)
broker_port=$(pick_port 9092)
gregord_pid=""
tail_pid=""
zk_started=0

stop_all() {
  trap - INT TERM EXIT
  [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
  if [ -n "$gregord_pid" ] && kill -0 "$gregord_pid" 2>/dev/null; then
    echo "run-local: stopping gregord (pid $gregord_pid) with SIGTERM"
    kill -TERM "$gregord_pid" 2>/dev/null
    local waited=0
    while kill -0 "$gregord_pid" 2>/dev/null && [ $waited -lt 300 ]; do
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "$gregord_pid" 2>/dev/null; then
      echo "run-local: gregord did not exit within 30 s; killing it"
      kill -KILL "$gregord_pid" 2>/dev/null
    fi
    wait "$gregord_pid" 2>/dev/null
    echo "run-local: gregord stopped (exit $?)"
  fi
  if [ $zk_started -eq 1 ]; then
    echo "run-local: stopping ZooKeeper"
    bash "$zk_script" stop "$scratch/zookeeper" >/dev/null
    echo "run-local: ZooKeeper stopped"
  fi
  echo "run-local: data and logs kept in $scratch"
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

echo "run-local: scratch dir $scratch"
if ! bash "$zk_script" start "$scratch/zookeeper" "$zk_port"; then
  echo "run-local: ZooKeeper did not start; see $scratch/zookeeper/zk.log" >&2
  exit 1
fi
zk_started=1

mkdir -p "$scratch/logs-0"
# Own session: Ctrl-C must reach this script only, which then stops gregord with SIGTERM in order.
setsid "$gregord" --broker.id=0 --listeners="PLAINTEXT://127.0.0.1:$broker_port" \
  --zookeeper.connect="127.0.0.1:$zk_port/gregor" --log.dirs="$scratch/logs-0" \
  </dev/null >"$scratch/gregord-0.log" 2>&1 &
gregord_pid=$!
tail -n +1 -f "$scratch/gregord-0.log" >&2 &
tail_pid=$!

# Wait until the listener accepts connections (or gregord exits).
for _ in $(seq 1 300); do
  if ! kill -0 "$gregord_pid" 2>/dev/null; then
    wait "$gregord_pid"
    echo "run-local: gregord exited with $? during start-up; see $scratch/gregord-0.log" >&2
    gregord_pid=""
    exit 1
  fi
  port_free "$broker_port" || break
  sleep 0.1
done

bootstrap="127.0.0.1:$broker_port"
cat <<EOF

gregor is running: bootstrap $bootstrap (ZooKeeper 127.0.0.1:$zk_port, chroot /gregor)
Try, in another terminal:
  $gregorctl -b $bootstrap topic create demo --partitions 3
  seq 1 10 | $gregorctl -b $bootstrap produce demo
  $gregorctl -b $bootstrap consume demo --from-beginning --max-messages 10 --timeout-ms 5000
  kcat -b $bootstrap -L
  echo 'key1:hello' | kcat -b $bootstrap -P -t demo -K:
  kcat -b $bootstrap -C -t demo -o beginning -e -K:
Logs: $scratch/gregord-0.log (also on this terminal). Ctrl-C stops gregord, then ZooKeeper.

EOF

wait "$gregord_pid"
rc=$?
# Reached when gregord exits on its own (not via Ctrl-C, whose trap exits first).
if ! kill -0 "$gregord_pid" 2>/dev/null; then
  echo "run-local: gregord exited with $rc"
  gregord_pid=""
fi
exit $rc
