#!/bin/sh
# The standard gregor benchmark (`make bench`).
#
# Runs the same librdkafka client code (bin/gregorctl bench) against one
# gregord (with a standalone ZooKeeper) and against librdkafka's in-process
# mock cluster, and prints both with the ratio gregord/mock:
#   produce 2,000,000 x 100-byte records, acks=1, acks=all, acks=all with
#   enable.idempotence=true (producer ids and sequence checks), and
#   transactional (a transactional.id of its own per run, a transaction of
#   100 records committed after another: AddPartitionsToTxn, the records,
#   EndTxn and its markers), one partition;
#   consume them from the beginning, with isolation.level read_committed
#   (librdkafka's default: fetches up to the last stable offset) and
#   read_uncommitted (up to the high watermark);
# plus gregord's CPU use during the acks=1 run, in cores
# ((utime+stime) delta from /proc/<pid>/stat over wall time), and two
# ratios within gregord: transactional vs plain acks=all produce, and
# read_committed vs read_uncommitted consume (the goal: >= 0.95).
# The consume runs read the topic's first records, which the acks=1 run
# wrote outside transactions: they measure the cost of the isolation level
# on the fetch path, not of skipping aborted data. The mock ignores the
# isolation level (its last stable offset is its high watermark), so its
# two consume rows differ only in the client.
#
# Replicated row: three more gregord brokers on the same ZooKeeper (their own
# chroot), topic bench with replication factor 3 and min.insync.replicas=2,
# produce acks=all (the leader answers once every replica in the ISR holds
# the batch). It is shown against the mock's acks=all, and its records/s
# against the one-broker acks=1 figure: the price of replication on this
# machine (all four brokers and the client share its cores). When the
# replicated cluster cannot be set up or its run fails, the row is n/a and
# the rest of the benchmark still runs (bench: warnings on stderr).
#
# The mock is the yardstick: it keeps records in memory and does no I/O, so
# ratios near 1 mean the client, not the broker, is the limit. The client
# needs most of the CPU, so on a shared machine every figure moves with the
# background load: each metric runs against both sides back to back, in
# BENCH_ROUNDS rounds (the pair's order alternating), and the table shows
# each side's fastest round. Consume rates are timed from the first records
# received (see bench_command.cc: librdkafka's start-up can add 500 ms), and
# the consumer's pre-fetch queue is large enough that librdkafka never
# pauses fetching for its 1 s back-off.
#
# Environment: BENCH_RECORDS (2000000), BENCH_RECORD_SIZE (100),
#   BENCH_ROUNDS (3; 1 for a quick look),
#   BENCH_MOCK_ONLY=1 (skip gregord; automatic when bin/gregord is missing),
#   BENCH_REPLICATED=0 (skip the three-broker replicated row),
#   BENCH_METRICS=1 (the one-broker gregord serves metrics.listeners and is
#   scraped every second throughout, as Prometheus would),
#   BENCH_OUT (where the results table goes as TSV, default build/bench/last.tsv;
#   compare two with mk/bench-compare.sh), BENCH_KEEP=1 (keep the temp dir).
# Everything started here is stopped by pid on exit, also on failure.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/mk/bench-lib.sh"
ctl="$top/bin/gregorctl"
gregord="$top/bin/gregord"
records=${BENCH_RECORDS:-2000000}
size=${BENCH_RECORD_SIZE:-100}
out=${BENCH_OUT:-$top/build/bench/last.tsv}
mock_only=${BENCH_MOCK_ONLY:-0}
rounds=${BENCH_ROUNDS:-3}
replicated=${BENCH_REPLICATED:-1}

die() { echo "bench: $*" >&2; exit 1; }
case "$rounds" in ''|*[!0-9]*|0) die "BENCH_ROUNDS must be a positive integer" ;; esac
[ -x "$ctl" ] || die "bin/gregorctl is not built (make bin/gregorctl)"
if [ "$mock_only" != 1 ] && [ ! -x "$gregord" ]; then
  echo "bench: bin/gregord is not built; running the mock half only" >&2
  mock_only=1
fi
[ "$mock_only" = 1 ] && replicated=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gregor-bench.XXXXXX") || die "mktemp failed"
gregord_pid=""
scraper_pid=""
rep_pids=""
zk_started=0
failed=1
cleanup() {
  stop_pid "$scraper_pid"
  stop_pid "$gregord_pid"
  # The replicated cluster: all at once (nothing to preserve), each with its deadline.
  for p in $rep_pids; do kill -TERM "$p" 2>/dev/null; done
  for p in $rep_pids; do stop_pid "$p"; done
  finish_tmp bench
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# "produce records=N size=B acks=A: X records/s, Y MB/s, latency p50=P p99=Q p99.9=R ms"
#   -> "X Y P Q R";  "consume records=N[ isolation=L]: X records/s, Y MB/s" -> "X Y"
parse_produce() {
  sed -n 's/^produce .*: \([0-9.]*\) records\/s, \([0-9.]*\) MB\/s, latency p50=\([0-9.]*\) p99=\([0-9.]*\) p99\.9=\([0-9.]*\) ms$/\1 \2 \3 \4 \5/p'
}
parse_consume() {
  sed -n 's/^consume .*: \([0-9.]*\) records\/s, \([0-9.]*\) MB\/s$/\1 \2/p'
}

# run_bench LABEL LOGNAME ARGS... : runs gregorctl, echoes its result line to
# stderr as progress, leaves the line in $tmp/LOGNAME.out.
run_bench() {
  label=$1; name=$2; shift 2
  echo "bench: $label ..." >&2
  if ! "$ctl" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then
    cat "$tmp/$name.err" >&2
    die "$label failed"
  fi
  cat "$tmp/$name.out" >&2
}

# records/s of a result line, 0 when it has none.
rate_of() {
  r=$(sed -n 's/^[a-z]* [^:]*: \([0-9.]*\) records\/s.*/\1/p' "$1" 2>/dev/null)
  echo "${r:-0}"
}

# keep_best NAME: $tmp/NAME.out (this round) becomes $tmp/best_NAME.out when
# it is faster than the best so far. Noise on a shared machine only ever
# slows a run down, so the fastest of the rounds is the least disturbed one.
keep_best() {
  new=$(rate_of "$tmp/$1.out")
  old=$(rate_of "$tmp/best_$1.out")
  if awk -v n="$new" -v o="$old" 'BEGIN { exit !(n > o) }'; then
    cp "$tmp/$1.out" "$tmp/best_$1.out"
    [ -f "$tmp/$1.cores" ] && cp "$tmp/$1.cores" "$tmp/best_$1.cores"
  fi
  return 0
}

# ---------------------------------------------------------------------------
# Start gregord (with its ZooKeeper) first, so that its runs and the mock's
# can be interleaved below.
if [ "$mock_only" != 1 ]; then
  zk_port=$(free_port)
  port=$(free_port)
  mkdir -p "$tmp/zk" "$tmp/logs"
  sh "$top/zk/zk-server.sh" start "$tmp/zk" "$zk_port" >"$tmp/zk-start.log" 2>&1 ||
    { cat "$tmp/zk-start.log" >&2; die "ZooKeeper did not start"; }
  zk_started=1
  metrics_flag=
  if [ "${BENCH_METRICS:-0}" = 1 ]; then
    metrics_port=$(free_port)
    metrics_flag="--metrics.listeners=http://127.0.0.1:$metrics_port"
  fi
  "$gregord" --zookeeper.connect="127.0.0.1:$zk_port/bench" --broker.id=0 \
    --listeners="PLAINTEXT://127.0.0.1:$port" --log.dirs="$tmp/logs" $metrics_flag \
    >"$tmp/gregord.log" 2>&1 &
  gregord_pid=$!
  if [ -n "$metrics_flag" ]; then
    python3 -c 'import sys, time, urllib.request
while True:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=5).read()
    except OSError:
        pass
    time.sleep(1)' "http://127.0.0.1:$metrics_port/metrics" &
    scraper_pid=$!
  fi
  bootstrap="127.0.0.1:$port"

  # Ready when it answers metadata; 30 s deadline.
  deadline=$(( $(date +%s) + 30 ))
  until "$ctl" -b "$bootstrap" -X log_level=0 topic list >/dev/null 2>&1; do
    kill -0 "$gregord_pid" 2>/dev/null || { tail -20 "$tmp/gregord.log" >&2; die "gregord exited"; }
    [ "$(date +%s)" -lt "$deadline" ] || die "gregord not answering on $bootstrap after 30 s"
    sleep 0.2
  done
  "$ctl" -b "$bootstrap" topic create bench --partitions 1 --replication-factor 1 >&2 ||
    die "cannot create topic bench"
  # Wait until the partition has a leader.
  deadline=$(( $(date +%s) + 30 ))
  until "$ctl" -b "$bootstrap" topic describe bench 2>/dev/null | grep -q 'Leader: [0-9]'; do
    [ "$(date +%s)" -lt "$deadline" ] || die "topic bench has no leader after 30 s"
    sleep 0.2
  done
fi

# skip_replicated REASON: the replicated row becomes n/a; its brokers stop.
skip_replicated() {
  echo "bench: replicated row skipped: $*; logs in $tmp/gregord-rep-*.log" >&2
  replicated=0
  failed_rep=1
  for p in $rep_pids; do stop_pid "$p"; done
  rep_pids=""
}

# The replicated cluster: brokers 0..2 in chroot /bench-rep of the same ZooKeeper.
failed_rep=0
setup_replicated() {
  rep_bootstrap=""
  for id in 0 1 2; do
    p=$(free_port)
    mkdir -p "$tmp/rep-logs-$id"
    "$gregord" --zookeeper.connect="127.0.0.1:$zk_port/bench-rep" --broker.id="$id" \
      --listeners="PLAINTEXT://127.0.0.1:$p" --log.dirs="$tmp/rep-logs-$id" \
      >"$tmp/gregord-rep-$id.log" 2>&1 &
    rep_pids="$rep_pids $!"
    rep_bootstrap="${rep_bootstrap:+$rep_bootstrap,}127.0.0.1:$p"
  done
  # Creating a topic with replication factor 3 succeeds once all three brokers are registered.
  deadline=$(( $(date +%s) + 30 ))
  # (A retry after a create that timed out but went through finds the topic there: that is fine.)
  until "$ctl" -b "$rep_bootstrap" -X log_level=0 topic create bench --partitions 1 \
      --replication-factor 3 --config min.insync.replicas=2 >"$tmp/rep-create.log" 2>&1 ||
      grep -qi "already exists" "$tmp/rep-create.log"; do
    for p in $rep_pids; do
      kill -0 "$p" 2>/dev/null || { skip_replicated "a replicated gregord exited"; return; }
    done
    if [ "$(date +%s)" -ge "$deadline" ]; then
      skip_replicated "cannot create the replicated topic: $(tail -1 "$tmp/rep-create.log")"
      return
    fi
    sleep 0.5
  done
  # Wait until the leader has both followers in its ISR.
  deadline=$(( $(date +%s) + 60 ))
  until "$ctl" -b "$rep_bootstrap" topic describe bench 2>/dev/null |
      grep -q 'Leader: [0-9].*Isr: [0-9]*,[0-9]*,[0-9]'; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      skip_replicated "the replicated topic bench has no full ISR after 60 s"
      return
    fi
    sleep 0.2
  done
}
[ "$replicated" = 1 ] && setup_replicated

# One run of metric KEY (p1, pall, pidem, ptxn, c, cru) against SIDE (mock, gregord).
run_one() {  # side key
  case "$1:$2" in
    mock:p1) run_bench "mock produce acks=1" mock_p1 bench produce --mock --records "$records" \
      --record-size "$size" --acks 1 ;;
    mock:pall) run_bench "mock produce acks=all" mock_pall bench produce --mock \
      --records "$records" --record-size "$size" --acks all ;;
    mock:pidem) run_bench "mock produce idempotent" mock_pidem -X enable.idempotence=true \
      bench produce --mock --records "$records" --record-size "$size" --acks all ;;
    mock:ptxn) run_bench "mock produce transactional" mock_ptxn bench produce --mock \
      --records "$records" --record-size "$size" --transaction-records 100 ;;
    mock:c) run_bench "mock consume" mock_c bench consume --mock --records "$records" \
      --record-size "$size" --isolation-level read_committed ;;
    mock:cru) run_bench "mock consume read_uncommitted" mock_cru bench consume --mock \
      --records "$records" --record-size "$size" --isolation-level read_uncommitted ;;
    gregord:p1)
      t0=$(now); c0=$(cpu_ticks "$gregord_pid")
      run_bench "gregord produce acks=1" gregord_p1 -b "$bootstrap" bench produce \
        --records "$records" --record-size "$size" --acks 1
      c1=$(cpu_ticks "$gregord_pid"); t1=$(now)
      awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.2f\n", (c1 - c0) / hz / (t1 - t0) }' >"$tmp/gregord_p1.cores" ;;
    gregord:pall) run_bench "gregord produce acks=all" gregord_pall -b "$bootstrap" bench produce \
      --records "$records" --record-size "$size" --acks all ;;
    gregord:pidem) run_bench "gregord produce idempotent" gregord_pidem -b "$bootstrap" \
      -X enable.idempotence=true bench produce --records "$records" --record-size "$size" \
      --acks all ;;
    gregord:ptxn) run_bench "gregord produce transactional" gregord_ptxn -b "$bootstrap" \
      bench produce --records "$records" --record-size "$size" --transaction-records 100 ;;
    gregord:c) run_bench "gregord consume" gregord_c -b "$bootstrap" bench consume \
      --records "$records" --isolation-level read_committed ;;
    gregord:cru) run_bench "gregord consume read_uncommitted" gregord_cru -b "$bootstrap" \
      bench consume --records "$records" --isolation-level read_uncommitted ;;
    replicated:pall)
      # Not run_bench: a failure here skips the row instead of ending the benchmark. The deadline
      # (timeout(1)) covers a cluster that stops acknowledging: librdkafka would retry for minutes.
      echo "bench: 3 gregord, replication factor 3, produce acks=all ..." >&2
      if timeout 600 "$ctl" -b "$rep_bootstrap" bench produce --records "$records" --record-size "$size" \
          --acks all >"$tmp/replicated_pall.out" 2>"$tmp/replicated_pall.err"; then
        cat "$tmp/replicated_pall.out" >&2
      else
        tail -5 "$tmp/replicated_pall.err" >&2
        : >"$tmp/replicated_pall.out"
        skip_replicated "the replicated produce run failed"
      fi ;;
  esac
  keep_best "$1_$2"
}

# ---------------------------------------------------------------------------
# The runs. Each metric runs against the mock and against gregord back to
# back, so that both see the same background load (the two halves used to
# run one after the other, and a compile starting in between skewed every
# ratio), and the order of the pair alternates from round to round. With
# BENCH_ROUNDS > 1 the table shows each side's fastest round.
round=1
while [ "$round" -le "$rounds" ]; do
  echo "bench: round $round of $rounds" >&2
  for key in p1 pall pidem ptxn c cru; do
    if [ "$mock_only" = 1 ]; then
      run_one mock "$key"
    elif [ $((round % 2)) = 1 ]; then
      run_one mock "$key"; run_one gregord "$key"
    else
      run_one gregord "$key"; run_one mock "$key"
    fi
  done
  [ "$replicated" = 1 ] && run_one replicated pall
  round=$((round + 1))
done
cores="n/a"
[ -s "$tmp/best_gregord_p1.cores" ] && cores=$(cat "$tmp/best_gregord_p1.cores")

# ---------------------------------------------------------------------------
# The table: one row per metric, and the same rows as TSV in $out.
mkdir -p "$(dirname "$out")"
: >"$out.tmp"
row() {  # run metric gregord mock
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$out.tmp"
}
values() {  # name parser n-fields -> the parsed fields, or n/a for each
  v=""
  [ -s "$tmp/best_$1.out" ] && v=$($2 <"$tmp/best_$1.out")
  if [ -z "$v" ]; then v=$(i=0; while [ $i -lt "$3" ]; do printf 'n/a '; i=$((i + 1)); done); fi
  echo "$v"
}
for pair in "p1:produce acks=1" "pall:produce acks=all" "pidem:produce idempotent" \
    "ptxn:produce txn 100/txn"; do
  key=${pair%%:*}; run=${pair#*:}
  # shellcheck disable=SC2046
  set -- $(values "gregord_$key" parse_produce 5) $(values "mock_$key" parse_produce 5)
  row "$run" "records/s" "$1" "$6"
  row "$run" "MB/s" "$2" "$7"
  row "$run" "p50 ms" "$3" "$8"
  row "$run" "p99 ms" "$4" "$9"
  row "$run" "p99.9 ms" "$5" "${10}"
done
if [ "$replicated" = 1 ] || [ "$failed_rep" = 1 ]; then
  # shellcheck disable=SC2046
  set -- $(values replicated_pall parse_produce 5) $(values mock_pall parse_produce 5)
  run="produce RF3 acks=all"
  row "$run" "records/s" "$1" "$6"
  row "$run" "MB/s" "$2" "$7"
  row "$run" "p50 ms" "$3" "$8"
  row "$run" "p99 ms" "$4" "$9"
  row "$run" "p99.9 ms" "$5" "${10}"
fi
for pair in "c:consume" "cru:consume read_uncommitted"; do
  key=${pair%%:*}; run=${pair#*:}
  # shellcheck disable=SC2046
  set -- $(values "gregord_$key" parse_consume 2) $(values "mock_$key" parse_consume 2)
  row "$run" "records/s" "$1" "$3"
  row "$run" "MB/s" "$2" "$4"
done
mv "$out.tmp" "$out"

echo
printf 'gregor benchmark: %s records of %s bytes, 1 partition, librdkafka %s, best of %s rounds\n' \
  "$records" "$size" "$(dpkg-query -W -f '${Version}' librdkafka1 2>/dev/null || echo '?')" "$rounds"
awk -F'\t' 'BEGIN { printf "%-24s %-10s %14s %14s %13s\n", "run", "metric", "gregord", "mock", "gregord/mock" }
  {
    ratio = ($3 != "n/a" && $4 != "n/a" && $4 + 0 > 0) ? sprintf("%.2f", $3 / $4) : "n/a"
    printf "%-24s %-10s %14s %14s %13s\n", ($1 == last ? "" : $1), $2, $3, $4, ratio
    last = $1
  }' "$out"
echo "gregord CPU during its fastest produce acks=1 run: $cores cores"
idem_rate=$(rate_of "$tmp/best_gregord_pidem.out")
all_rate=$(rate_of "$tmp/best_gregord_pall.out")
awk -v i="$idem_rate" -v a="$all_rate" 'BEGIN {
  printf "gregord idempotent acks=all vs plain acks=all: %s vs %s records/s, ratio %s\n",
    i, a, (i + 0 > 0 && a + 0 > 0) ? sprintf("%.2f", i / a) : "n/a" }'
txn_rate=$(rate_of "$tmp/best_gregord_ptxn.out")
awk -v t="$txn_rate" -v a="$all_rate" 'BEGIN {
  printf "gregord transactional (100 records/txn) vs plain acks=all: %s vs %s records/s, ratio %s\n",
    t, a, (t + 0 > 0 && a + 0 > 0) ? sprintf("%.2f", t / a) : "n/a" }'
rc_rate=$(rate_of "$tmp/best_gregord_c.out")
ru_rate=$(rate_of "$tmp/best_gregord_cru.out")
awk -v c="$rc_rate" -v u="$ru_rate" 'BEGIN {
  printf "gregord read_committed vs read_uncommitted consume: %s vs %s records/s, ratio %s\n",
    c, u, (c + 0 > 0 && u + 0 > 0) ? sprintf("%.2f", c / u) : "n/a" }'
if [ "$replicated" = 1 ] || [ "$failed_rep" = 1 ]; then
  rep_rate=$(rate_of "$tmp/best_replicated_pall.out")
  one_rate=$(rate_of "$tmp/best_gregord_p1.out")
  awk -v r="$rep_rate" -v o="$one_rate" 'BEGIN {
    printf "replicated (3 brokers, RF 3, min.insync.replicas=2, acks=all) vs one broker acks=1: %s vs %s records/s, ratio %s\n",
      (r + 0 > 0) ? r : "n/a", o, (r + 0 > 0 && o + 0 > 0) ? sprintf("%.2f", r / o) : "n/a" }'
fi
echo "(records/s and MB/s: higher is better; latency is produce() to delivery report)"
echo "results: $out"
failed=0
