#!/bin/sh
# gregord against a reference broker (`make bench KAFKA_HOME=DIR`, or `make bench-reference
# KAFKA_HOME=DIR` alone): the same librdkafka client code (bin/gregorctl bench) against one
# gregord and one Apache Kafka broker from the distribution in KAFKA_HOME (its
# bin/kafka-server-start.sh), each on its own chroot of one standalone ZooKeeper, each with a
# topic of one partition, replication factor 1. Prints records/s of both, the ratio
# gregord/Kafka, and each broker's CPU time per record (utime+stime from /proc/<pid>/stat over
# the run; on a 2-core machine the client, not the broker, bounds records/s):
#   produce acks=1 and acks=all (BENCH_RECORDS x BENCH_RECORD_SIZE bytes);
#   consume from the beginning with gregorctl's settings (a pre-fetch queue large enough that
#   librdkafka never pauses fetching), and with librdkafka's defaults (queued.min.messages
#   100000, queued.max.messages.kbytes 65536, fetch.wait.max.ms 500) as rdkafka_performance
#   and most applications run it: a plain assign() consumer;
#   both consume runs again on the same batches: the producer fills its batches differently
#   against each broker, so gregord's segment files of the topic then replace Kafka's and
#   both brokers restart ("same segments").
# With /usr/bin/time, the client's CPU time per record against each broker is shown too.
# Each metric runs against both brokers back to back, the order alternating per round; the
# table shows each side's fastest of BENCH_ROUNDS rounds (default 3). Environment as
# mk/bench.sh: BENCH_RECORDS (2000000), BENCH_RECORD_SIZE (100), BENCH_ROUNDS (3),
# BENCH_KEEP=1; KAFKA_HEAP_OPTS (default -Xmx1g -Xms1g, as kafka-server-start.sh).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/mk/bench-lib.sh"
ctl="$top/bin/gregorctl"
gregord="$top/bin/gregord"
records=${BENCH_RECORDS:-2000000}
size=${BENCH_RECORD_SIZE:-100}
rounds=${BENCH_ROUNDS:-3}
home=${KAFKA_HOME:-}

die() { echo "bench-reference: $*" >&2; exit 1; }
[ -n "$home" ] || die "set KAFKA_HOME to an Apache Kafka distribution (bin/kafka-server-start.sh)"
[ -x "$home/bin/kafka-server-start.sh" ] || die "$home/bin/kafka-server-start.sh is missing"
[ -x "$ctl" ] && [ -x "$gregord" ] || die "build the programs first (make programs)"
case "$rounds" in ''|*[!0-9]*|0) die "BENCH_ROUNDS must be a positive integer" ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gregor-bench-ref.XXXXXX") || die "mktemp failed"
pids=""
zk_started=0
failed=1
cleanup() {
  for p in $pids; do kill -TERM "$p" 2>/dev/null; done
  for p in $pids; do stop_pid "$p"; done
  finish_tmp bench-reference
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rate_of() {
  r=$(sed -n 's/^[a-z]* [^:]*: \([0-9.]*\) records\/s.*/\1/p' "$1" 2>/dev/null)
  echo "${r:-0}"
}

zk_port=$(free_port)
mkdir -p "$tmp/zk"
sh "$top/zk/zk-server.sh" start "$tmp/zk" "$zk_port" >"$tmp/zk-start.log" 2>&1 ||
  { cat "$tmp/zk-start.log" >&2; die "ZooKeeper did not start"; }
zk_started=1

g_port=$(free_port)
k_port=$(free_port)
cat >"$tmp/kafka.properties" <<EOF
broker.id=0
listeners=PLAINTEXT://127.0.0.1:$k_port
log.dirs=$tmp/kafka-data
zookeeper.connect=127.0.0.1:$zk_port/kafka
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
start_gregord() {
  "$gregord" --zookeeper.connect="127.0.0.1:$zk_port/gregor" --broker.id=0 \
    --listeners="PLAINTEXT://127.0.0.1:$g_port" --log.dirs="$tmp/gregord-data" \
    --offsets.topic.replication.factor=1 >>"$tmp/gregord.log" 2>&1 &
  g_pid=$!
  pids="$pids $g_pid"
}
# kafka-server-start.sh execs the JVM: $! is the broker.
start_kafka() {
  KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:-"-Xmx1g -Xms1g"} LOG_DIR="$tmp/kafka-logs" \
    "$home/bin/kafka-server-start.sh" "$tmp/kafka.properties" >>"$tmp/kafka.log" 2>&1 &
  k_pid=$!
  pids="$pids $k_pid"
}
start_gregord
start_kafka

# ready NAME PID BOOTSTRAP [existing]: answers metadata, topic bench (created unless a fourth
# argument is given) has a leader (90 s).
ready() {
  deadline=$(( $(date +%s) + 90 ))
  until "$ctl" -b "$3" -X log_level=0 topic list >/dev/null 2>&1; do
    kill -0 "$2" 2>/dev/null || { tail -20 "$tmp/$1.log" >&2; die "$1 exited"; }
    [ "$(date +%s)" -lt "$deadline" ] || die "$1 not answering on $3 after 90 s"
    sleep 0.5
  done
  if [ $# -lt 4 ]; then
    "$ctl" -b "$3" topic create bench --partitions 1 --replication-factor 1 >&2 ||
      die "cannot create topic bench on $1"
  fi
  until "$ctl" -b "$3" topic describe bench 2>/dev/null | grep -q 'Leader: [0-9]'; do
    [ "$(date +%s)" -lt "$deadline" ] || die "topic bench on $1 has no leader"
    sleep 0.2
  done
}
ready gregord "$g_pid" "127.0.0.1:$g_port"
ready kafka "$k_pid" "127.0.0.1:$k_port"

# run_one SIDE KEY: one run; $tmp/SIDE_KEY.out gets the result line, .cpu the broker's CPU
# microseconds per record and the client's (with /usr/bin/time); the best (fastest) run is kept
# as best_SIDE_KEY.*.
run_one() {
  side=$1; key=$2
  if [ "$side" = gregord ]; then pid=$g_pid; bs="127.0.0.1:$g_port"; else pid=$k_pid; bs="127.0.0.1:$k_port"; fi
  case "$key" in
    p1) set -- bench produce --records "$records" --record-size "$size" --acks 1 ;;
    pall) set -- bench produce --records "$records" --record-size "$size" --acks all ;;
    c|sc) set -- bench consume --records "$records" ;;
    cdef|scdef) set -- -X queued.min.messages=100000 -X queued.max.messages.kbytes=65536 \
      -X fetch.wait.max.ms=500 bench consume --records "$records" ;;
  esac
  echo "bench-reference: $side $key ..." >&2
  c0=$(cpu_ticks "$pid")
  echo "n/a" >"$tmp/${side}_$key.client"
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%U %S' -o "$tmp/${side}_$key.time" "$ctl" -b "$bs" "$@" \
      >"$tmp/${side}_$key.out" 2>"$tmp/${side}_$key.err" ||
      { cat "$tmp/${side}_$key.err" >&2; die "$side $key failed"; }
    awk -v n="$records" '{ printf "%.2f\n", ($1 + $2) * 1e6 / n }' "$tmp/${side}_$key.time" \
      >"$tmp/${side}_$key.client"
  else
    "$ctl" -b "$bs" "$@" >"$tmp/${side}_$key.out" 2>"$tmp/${side}_$key.err" ||
      { cat "$tmp/${side}_$key.err" >&2; die "$side $key failed"; }
  fi
  c1=$(cpu_ticks "$pid")
  cat "$tmp/${side}_$key.out" >&2
  grep '^client CPU by thread' "$tmp/${side}_$key.err" >"$tmp/${side}_$key.threads" 2>/dev/null
  awk -v c0="$c0" -v c1="$c1" -v hz="$(getconf CLK_TCK)" -v n="$records" \
    'BEGIN { printf "%.2f\n", (c1 - c0) / hz * 1e6 / n }' >"$tmp/${side}_$key.cpu"
  new=$(rate_of "$tmp/${side}_$key.out"); old=$(rate_of "$tmp/best_${side}_$key.out")
  if awk -v n="$new" -v o="$old" 'BEGIN { exit !(n > o) }'; then
    cp "$tmp/${side}_$key.out" "$tmp/best_${side}_$key.out"
    cp "$tmp/${side}_$key.cpu" "$tmp/best_${side}_$key.cpu"
    cp "$tmp/${side}_$key.client" "$tmp/best_${side}_$key.client"
    cp "$tmp/${side}_$key.threads" "$tmp/best_${side}_$key.threads"
  fi
}

# run_rounds KEY...: BENCH_ROUNDS rounds of each metric on both brokers, alternating who goes first.
run_rounds() {
  round=1
  while [ "$round" -le "$rounds" ]; do
    echo "bench-reference: round $round of $rounds" >&2
    for key in "$@"; do
      if [ $((round % 2)) = 1 ]; then run_one gregord "$key"; run_one kafka "$key"
      else run_one kafka "$key"; run_one gregord "$key"; fi
    done
    round=$((round + 1))
  done
}
run_rounds p1 pall c cdef

# The producer fills its batches differently against each broker (it batches whatever
# accumulates while the previous request is in flight), so the consume runs above read
# different batches. For the same batches on both sides, gregord's segment files of bench-0
# (Kafka's on-disk format) replace Kafka's, both brokers restart, and both consume again.
echo "bench-reference: Kafka's bench-0 replaced by gregord's segment files" >&2
stop_pid "$g_pid"
stop_pid "$k_pid"
rm -f "$tmp/kafka-data/bench-0/"*
for f in "$tmp/gregord-data/bench-0/"*.log "$tmp/gregord-data/bench-0/"*.index \
    "$tmp/gregord-data/bench-0/"*.timeindex "$tmp/gregord-data/bench-0/leader-epoch-checkpoint"; do
  [ -e "$f" ] && cp "$f" "$tmp/kafka-data/bench-0/"
done
start_gregord
start_kafka
ready gregord "$g_pid" "127.0.0.1:$g_port" existing
ready kafka "$k_pid" "127.0.0.1:$k_port" existing
run_rounds sc scdef

version=$(ls "$home"/libs/kafka_*.jar 2>/dev/null | sed -n 's/.*kafka_[0-9.]*-\([0-9][0-9.]*\)\.jar$/\1/p' | head -1)
echo
printf 'gregord vs Apache Kafka %s: %s records of %s bytes, 1 partition, librdkafka %s, best of %s rounds\n' \
  "${version:-?}" "$records" "$size" "$(dpkg-query -W -f '${Version}' librdkafka1 2>/dev/null || echo '?')" "$rounds"
printf '%-34s %12s %12s %6s %9s %9s %9s %9s\n' "run" "gregord r/s" "Kafka r/s" "ratio" \
  "gregord" "Kafka" "client-g" "client-k"
for pair in "p1:produce acks=1" "pall:produce acks=all" "c:consume (gregorctl settings)" \
    "cdef:consume (librdkafka defaults)" "sc:same segments (gregorctl settings)" \
    "scdef:same segments (librdkafka defaults)"; do
  key=${pair%%:*}; run=${pair#*:}
  g=$(rate_of "$tmp/best_gregord_$key.out"); k=$(rate_of "$tmp/best_kafka_$key.out")
  gc=$(cat "$tmp/best_gregord_$key.cpu" 2>/dev/null || echo n/a)
  kc=$(cat "$tmp/best_kafka_$key.cpu" 2>/dev/null || echo n/a)
  gcl=$(cat "$tmp/best_gregord_$key.client" 2>/dev/null || echo n/a)
  kcl=$(cat "$tmp/best_kafka_$key.client" 2>/dev/null || echo n/a)
  awk -v run="$run" -v g="$g" -v k="$k" -v gc="$gc" -v kc="$kc" -v gcl="$gcl" -v kcl="$kcl" 'BEGIN {
    printf "%-34s %12s %12s %6s %9s %9s %9s %9s\n", run, g, k,
      (k + 0 > 0) ? sprintf("%.2f", g / k) : "n/a", gc, kc, gcl, kcl }'
done
echo "(records/s: higher is better. The last four columns are CPU microseconds per record during"
echo " each side's fastest run: gregord's, Kafka's, and the client's against each.)"
echo "The consumer's threads in those runs (CPU seconds):"
for key in c cdef sc scdef; do
  for side in gregord kafka; do
    printf '  %-6s %-8s %s\n' "$key" "$side" \
      "$(sed 's/^client CPU by thread: //' "$tmp/best_${side}_$key.threads" 2>/dev/null)"
  done
done
failed=0
