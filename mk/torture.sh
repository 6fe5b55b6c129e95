#!/bin/sh
# make torture: the long fault runs. Runs the integration fault scenarios
# (compound failures: integration/test_failover.py; network partitions:
# integration/test_netsplit.py; transactions under kill -9 and SIGSTOP:
# integration/test_txn_faults.py, on its long clock; the same transactional
# workload under network partitions and a flapping link:
# integration/test_txn_netsplit.py, on its long clock) ROUNDS times in a row
# (default 10) and prints each round's figures and a closing "N passed, N
# failed" line.
# Exits non-zero when any run failed.
top=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-10}
filters=${TORTURE_FILTERS:-"-k failover -k netsplit -k txn_faults -k txn_netsplit"}
logdir="$top/build/torture-logs"
mkdir -p "$logdir"
passed=0; failed=0
i=1
while [ "$i" -le "$rounds" ]; do
  echo "== torture round $i/$rounds"
  out="$logdir/round-$i.log"
  # shellcheck disable=SC2086 # the filters are separate words
  GREGOR_TORTURE=1 GREGOR_TXN_FAULTS_LONG=1 "$top/integration/run" $filters >"$out" 2>&1
  grep -E '^(PASS|FAIL|SKIP) ' "$out"
  # This round's figures: the test.out of each test it ran.
  for t in $(sed -n 's/^\(PASS\|FAIL\) \([^ :]*\).*/\2/p' "$out"); do
    f="$top/build/integration-logs/$t/test.out"
    [ -f "$f" ] && grep -h '^FIGURES' "$f"
  done
  line=$(grep -E '^INTEGRATION [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -1)
  if [ -z "$line" ]; then
    echo "   round $i gave no summary (see $out)"; failed=$((failed + 1))
  else
    set -- $line
    passed=$((passed + $2)); failed=$((failed + $4))
  fi
  i=$((i + 1))
done
echo "torture: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
