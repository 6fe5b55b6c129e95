#!/bin/bash
# `make run`: a local ZooKeeper and a cluster of gregord brokers, in the foreground until Ctrl-C.
#
# GREGOR_BROKERS (default 3) brokers with ids 0..N-1. ZooKeeper listens on 127.0.0.1:2181 (or a free port
# when 2181 is taken), broker i on 127.0.0.1:9092+i (or a free port when that one is taken); data and logs go
# to a scratch dir ${TMPDIR:-/tmp}/gregor-run-XXXX (logs-<i>/ and gregord-<i>.log per broker), kept after
# exit so the logs can be read. Ctrl-C (or SIGTERM) stops the brokers one at a time with SIGTERM (the
# highest id first, waiting for each: a controlled shutdown moves leaderships to the brokers still up),
# then stops ZooKeeper.
# `make run` invokes this with sh: re-run under bash (/dev/tcp, arrays, wait -n -p).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
gregord="${GREGORD:-$top/bin/gregord}"
gregorctl="$top/bin/gregorctl"
zk_script="$top/zk/zk-server.sh"
n_brokers="${GREGOR_BROKERS:-3}"

case "$n_brokers" in
  '' | *[!0-9]* | 0) echo "run-local: GREGOR_BROKERS must be a positive integer" >&2; exit 2 ;;
esac
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

# Replication factor of the internal topics (and of the suggested demo topic): at most the broker count.
rf=$((n_brokers < 3 ? n_brokers : 3))
min_isr=$((rf < 2 ? 1 : 2))

scratch=$(mktemp -d "${TMPDIR:-/tmp}/gregor-run-XXXX") || exit 1
zk_port=$(pick_port 2181)
declare -a ports=() pids=()
tail_pid=""
zk_started=0

# stop_broker I: SIGTERM, wait up to 30 s (then SIGKILL), report the exit code.
stop_broker() {
  local i=$1 pid=${pids[$1]}
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    echo "run-local: stopping gregord $i (pid $pid) with SIGTERM"
    kill -TERM "$pid" 2>/dev/null
    local waited=0
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt 300 ]; do
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "run-local: gregord $i did not exit within 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  wait "$pid" 2>/dev/null
  echo "run-local: gregord $i stopped (exit $?)"
  pids[i]=""
}

stop_all() {
  trap - INT TERM EXIT
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    stop_broker "$i"
  done
  [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
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

logs=()
for ((i = 0; i < n_brokers; i++)); do
  ports[i]=$(pick_port $((9092 + i)))
  mkdir -p "$scratch/logs-$i"
  : >"$scratch/gregord-$i.log"
  logs+=("$scratch/gregord-$i.log")
  # Own session: Ctrl-C must reach this script only, which then stops the brokers with SIGTERM in order.
  setsid "$gregord" --broker.id="$i" --listeners="PLAINTEXT://127.0.0.1:${ports[$i]}" \
    --zookeeper.connect="127.0.0.1:$zk_port/gregor" --log.dirs="$scratch/logs-$i" \
    --offsets.topic.replication.factor="$rf" --transaction.state.log.replication.factor="$rf" \
    --transaction.state.log.min.isr="$min_isr" \
    </dev/null >"$scratch/gregord-$i.log" 2>&1 &
  pids[i]=$!
done
tail -n +1 -f "${logs[@]}" >&2 &
tail_pid=$!

# Wait until every listener accepts connections (or a gregord exits); 30 s.
for ((i = 0; i < n_brokers; i++)); do
  for _ in $(seq 1 300); do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      wait "${pids[$i]}"
      echo "run-local: gregord $i exited with $? during start-up; see $scratch/gregord-$i.log" >&2
      pids[i]=""
      exit 1
    fi
    port_free "${ports[$i]}" || break
    sleep 0.1
  done
done

bootstrap=""
for ((i = 0; i < n_brokers; i++)); do
  bootstrap="${bootstrap:+$bootstrap,}127.0.0.1:${ports[$i]}"
done
cat <<EOF

gregor is running: bootstrap $bootstrap (ZooKeeper 127.0.0.1:$zk_port, chroot /gregor)
$n_brokers broker(s): $(for ((i = 0; i < n_brokers; i++)); do printf 'id %s on port %s (pid %s); ' "$i" "${ports[$i]}" "${pids[$i]}"; done)
Try, in another terminal:
  $gregorctl -b $bootstrap topic create demo --partitions 3 --replication-factor $rf
  $gregorctl -b $bootstrap topic describe demo
  seq 1 10 | $gregorctl -b $bootstrap produce demo
  $gregorctl -b $bootstrap consume demo --from-beginning --max-messages 10 --timeout-ms 5000
  kcat -b $bootstrap -L
  echo 'key1:hello' | kcat -b $bootstrap -P -t demo -K:
  kcat -b $bootstrap -C -t demo -o beginning -e -K:
Logs: $scratch/gregord-<id>.log (also on this terminal). Ctrl-C stops the brokers, then ZooKeeper.

EOF

# Reached past the loop only when every broker exited on its own (Ctrl-C's trap exits first).
rc=0
while :; do
  live=()
  for ((i = 0; i < n_brokers; i++)); do
    [ -n "${pids[$i]}" ] && live+=("${pids[$i]}")
  done
  [ ${#live[@]} -gt 0 ] || break
  done_pid=""
  wait -n -p done_pid "${live[@]}"
  st=$?
  [ -n "$done_pid" ] || continue
  for ((i = 0; i < n_brokers; i++)); do
    if [ "${pids[$i]}" = "$done_pid" ]; then
      echo "run-local: gregord $i exited with $st"
      pids[i]=""
      [ $st -ne 0 ] && rc=$st
    fi
  done
done
exit $rc
