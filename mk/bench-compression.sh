#!/bin/sh
# Produce throughput with compression (`make bench-compression`).
#
# Runs bin/gregorctl bench produce (librdkafka, acks=1, one partition) against
# one gregord (with a standalone ZooKeeper) in four rows:
#   none -> producer   an uncompressed producer, topic compression.type=producer
#   lz4  -> producer   an lz4 producer; batches are checked record by record and
#                      stored as they came
#   zstd -> producer   the same with zstd
#   none -> zstd       an uncompressed producer to a topic with
#                      compression.type=zstd: the broker recompresses every batch
# and prints records/s, MB/s (of uncompressed records) and gregord's CPU time
# per record in microseconds ((utime+stime) delta from /proc/<pid>/stat over
# the run's records).
# With BENCH_REFERENCE=HOST:PORT the same rows also run against that broker
# (an Apache Kafka, say; its topics are created with gregorctl) and a ratio
# column compares records/s (gregord / reference); the reference's CPU is not
# measured (it may be remote).
# Environment: BENCH_RECORDS (1000000), BENCH_RECORD_SIZE (100),
#   BENCH_ROUNDS (3; each row keeps its fastest round), BENCH_KEEP=1 (keep the
#   temp dir).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/mk/bench-lib.sh"
ctl="$top/bin/gregorctl"
gregord="$top/bin/gregord"
records=${BENCH_RECORDS:-1000000}
size=${BENCH_RECORD_SIZE:-100}
rounds=${BENCH_ROUNDS:-3}
reference=${BENCH_REFERENCE:-}

die() { echo "bench-compression: $*" >&2; exit 1; }
case "$rounds" in ''|*[!0-9]*|0) die "BENCH_ROUNDS must be a positive integer" ;; esac
[ -x "$ctl" ] && [ -x "$gregord" ] || die "bin/gregord and bin/gregorctl must be built (make)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gregor-bench-compression.XXXXXX") || die "mktemp failed"
gregord_pid=""
zk_started=0
failed=1
cleanup() {
  if [ -n "$gregord_pid" ] && kill -0 "$gregord_pid" 2>/dev/null; then
    kill -TERM "$gregord_pid"
    wait "$gregord_pid" 2>/dev/null
  fi
  finish_tmp bench-compression
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rate_of() { sed -n 's/^produce [^:]*: \([0-9.]*\) records\/s, \([0-9.]*\) MB\/s.*/\1 \2/p' "$1"; }

zk_port=$(free_port)
port=$(free_port)
mkdir -p "$tmp/zk" "$tmp/logs"
sh "$top/zk/zk-server.sh" start "$tmp/zk" "$zk_port" >"$tmp/zk-start.log" 2>&1 ||
  { cat "$tmp/zk-start.log" >&2; die "ZooKeeper did not start"; }
zk_started=1
"$gregord" --zookeeper.connect="127.0.0.1:$zk_port/bench" --broker.id=0 \
  --listeners="PLAINTEXT://127.0.0.1:$port" --log.dirs="$tmp/logs" >"$tmp/gregord.log" 2>&1 &
gregord_pid=$!
bootstrap="127.0.0.1:$port"
deadline=$(( $(date +%s) + 30 ))
until "$ctl" -b "$bootstrap" -X log_level=0 topic list >/dev/null 2>&1; do
  kill -0 "$gregord_pid" 2>/dev/null || { tail -20 "$tmp/gregord.log" >&2; die "gregord exited"; }
  [ "$(date +%s)" -lt "$deadline" ] || die "gregord not answering on $bootstrap after 30 s"
  sleep 0.2
done

# make_topics BOOTSTRAP SUFFIX: one topic per row, so that each run starts on an empty log.
make_topics() {
  for row in 1 2 3 4; do
    for r in $(seq 1 "$rounds"); do
      ct=producer
      [ "$row" = 4 ] && ct=zstd
      "$ctl" -b "$1" topic create "bc$2-$row-$r" --partitions 1 --replication-factor 1 \
        --config "compression.type=$ct" >/dev/null 2>&1 || die "cannot create topic bc$2-$row-$r on $1"
    done
  done
}
make_topics "$bootstrap" g
[ -n "$reference" ] && make_topics "$reference" r
sleep 2  # leaders elected

codec_of_row() { case $1 in 1|4) echo none ;; 2) echo lz4 ;; 3) echo zstd ;; esac; }
label_of_row() { case $1 in 1) echo "none -> producer" ;; 2) echo "lz4  -> producer" ;;
  3) echo "zstd -> producer" ;; 4) echo "none -> zstd" ;; esac; }

printf '%-18s %14s %9s %12s' "producer -> topic" "records/s" "MB/s" "us CPU/rec"
[ -n "$reference" ] && printf ' %14s %7s' "reference r/s" "ratio"
printf '\n'
for row in 1 2 3 4; do
  codec=$(codec_of_row "$row")
  best=0; best_mb=0; best_cpu=0; best_ref=0
  for r in $(seq 1 "$rounds"); do
    before=$(cpu_ticks "$gregord_pid")
    "$ctl" -b "$bootstrap" -X log_level=0 bench produce --topic "bcg-$row-$r" --records "$records" \
      --record-size "$size" --acks 1 --compression "$codec" >"$tmp/g.out" 2>"$tmp/g.err" ||
      { cat "$tmp/g.err" >&2; die "$(label_of_row "$row") against gregord failed"; }
    after=$(cpu_ticks "$gregord_pid")
    set -- $(rate_of "$tmp/g.out")
    cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$records" \
      'BEGIN { printf "%.3f", t / hz * 1e6 / n }')
    if awk -v n="${1:-0}" -v o="$best" 'BEGIN { exit !(n > o) }'; then
      best=${1:-0}; best_mb=${2:-0}; best_cpu=$cpu
    fi
    if [ -n "$reference" ]; then
      "$ctl" -b "$reference" -X log_level=0 bench produce --topic "bcr-$row-$r" --records "$records" \
        --record-size "$size" --acks 1 --compression "$codec" >"$tmp/r.out" 2>"$tmp/r.err" ||
        { cat "$tmp/r.err" >&2; die "$(label_of_row "$row") against $reference failed"; }
      set -- $(rate_of "$tmp/r.out")
      if awk -v n="${1:-0}" -v o="$best_ref" 'BEGIN { exit !(n > o) }'; then best_ref=${1:-0}; fi
    fi
  done
  printf '%-18s %14.0f %9.1f %12s' "$(label_of_row "$row")" "$best" "$best_mb" "$best_cpu"
  if [ -n "$reference" ]; then
    printf ' %14.0f %7s' "$best_ref" \
      "$(awk -v g="$best" -v k="$best_ref" 'BEGIN { if (k > 0) printf "%.2f", g / k; else print "n/a" }')"
  fi
  printf '\n'
done
failed=0
