# Shell functions of the benchmark scripts (mk/bench*.sh source this file).

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wall-clock seconds with nanoseconds.
now() { date +%s.%N; }

# utime+stime of a process, in clock ticks. The command name (field 2) may contain spaces, so
# count fields after its closing parenthesis.
cpu_ticks() {
  sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

# stop_pid PID: SIGTERM, 30 s for a clean shutdown, then insist.
stop_pid() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
  fi
}

# finish_tmp NAME: stops the scratch ZooKeeper when $zk_started is 1, then removes $tmp unless
# the run failed ($failed is 1) or BENCH_KEEP=1 asks to keep it.
finish_tmp() {
  if [ "$zk_started" = 1 ]; then sh "$top/zk/zk-server.sh" stop "$tmp/zk" >/dev/null 2>&1; fi
  if [ "$failed" = 1 ] || [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "$1: logs kept in $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
