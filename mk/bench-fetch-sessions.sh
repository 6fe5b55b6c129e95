#!/bin/sh
# What incremental fetch sessions (KIP-227) save (`make bench-fetch-sessions`): two gregord
# brokers share a topic of BENCH_PARTITIONS partitions (default 1000) with replication factor 2;
# a producer (confluent-kafka, acks=1) writes BENCH_RATE records/s (default 2000, 100 bytes)
# to 10 of them, so each follower fetches often and most partitions have nothing new: the case
# sessions are for. The same run twice: with sessions (the default) and with
# max.incremental.fetch.session.cache.slots=0 (every fetch full, as before KIP-227). For each
# it prints the two brokers' CPU time over BENCH_SECONDS (default 60; (utime+stime) deltas from
# /proc/<pid>/stat), then the ratio.
#   BENCH_PARTITIONS (default 1000), BENCH_SECONDS (default 60), BENCH_RATE (default 2000)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
gregord="$top/bin/gregord"
partitions=${BENCH_PARTITIONS:-1000}
seconds=${BENCH_SECONDS:-60}
rate=${BENCH_RATE:-2000}
tmp=$(mktemp -d /tmp/gregor-bench-fs.XXXXXX)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  sh "$top/zk/zk-server.sh" stop "$tmp/zk" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
die() { echo "bench-fetch-sessions: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
[ -x "$gregord" ] || die "build first (make programs)"
zk_port=$(free_port)
mkdir -p "$tmp/zk"
sh "$top/zk/zk-server.sh" start "$tmp/zk" "$zk_port" >"$tmp/zk-start.log" 2>&1 ||
  { cat "$tmp/zk-start.log" >&2; die "ZooKeeper did not start"; }
hz=$(getconf CLK_TCK)

# run <label> <slots>: two brokers in their own chroot, the topic, a settling period, then the
# measurement. Prints "<label> <cpu seconds of both brokers>".
run() {
  label=$1 slots=$2 chroot="/bench-fs-$1"
  p0=$(free_port) p1=$(free_port)
  pids=""
  for id in 0 1; do
    port=$p0; [ "$id" = 1 ] && port=$p1
    "$gregord" --broker.id=$id --zookeeper.connect="127.0.0.1:$zk_port$chroot" \
      --listeners="PLAINTEXT://127.0.0.1:$port" --log.dirs="$tmp/$label-$id" \
      --max.incremental.fetch.session.cache.slots="$slots" --num.partitions=1 \
      >"$tmp/$label-$id.log" 2>&1 &
    pids="$pids $!"
  done
  /usr/bin/python3 - "127.0.0.1:$p0" "$partitions" <<'EOF' || die "topic creation failed"
import sys, time
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
deadline = time.time() + 60
while time.time() < deadline:
    if len(a.list_topics(timeout=5).brokers) == 2:
        break
    time.sleep(0.5)
a.create_topics([NewTopic("bench-fs", int(sys.argv[2]), 2)])["bench-fs"].result(60)
while time.time() < deadline + 60:
    t = a.list_topics(topic="bench-fs", timeout=10).topics["bench-fs"]
    if len(t.partitions) == int(sys.argv[2]) and all(len(p.isrs) == 2 for p in t.partitions.values()):
        break
    time.sleep(1)
else:
    sys.exit("ISR not full")
EOF
  sleep 10  # leaders and fetchers settle
  set -- $pids
  before=$(( $(cpu_ticks "$1") + $(cpu_ticks "$2") ))
  /usr/bin/python3 - "127.0.0.1:$p0,127.0.0.1:$p1" "$seconds" "$rate" <<'EOF' || die "producer failed"
import sys, time
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "acks": 1, "linger.ms": 5})
end = time.time() + float(sys.argv[2])
rate, sent, t0 = int(sys.argv[3]), 0, time.time()
while time.time() < end:
    while sent < (time.time() - t0) * rate:
        p.produce("bench-fs", b"x" * 100, partition=sent % 10)
        sent += 1
    p.poll(0.001)
p.flush(10)
EOF
  after=$(( $(cpu_ticks "$1") + $(cpu_ticks "$2") ))
  for p in $pids; do kill "$p"; wait "$p" 2>/dev/null || true; done
  pids=""
  echo "$label $(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN{printf "%.2f", t / hz}')"
}

echo "fetch sessions: 2 brokers, $partitions partitions RF 2, $rate records/s to 10 of them, ${seconds} s"
with=$(run sessions 1000 | awk '{print $2}')
without=$(run full 0 | awk '{print $2}')
printf '%-28s %10s\n' "" "CPU s"
printf '%-28s %10s\n' "with sessions (KIP-227)" "$with"
printf '%-28s %10s\n' "full fetches (slots=0)" "$without"
awk -v a="$with" -v b="$without" 'BEGIN{ if (b > 0) printf "CPU with sessions: %.2f of full fetches (%.0f%% saved)\n", a / b, (1 - a / b) * 100 }'
