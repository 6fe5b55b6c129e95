#!/bin/sh
# Compares two benchmark result tables written by mk/bench.sh (BENCH_OUT,
# default build/bench/last.tsv), e.g. before and after a change:
#
#   BENCH_OUT=/tmp/before.tsv make bench   # on the old commit
#   BENCH_OUT=/tmp/after.tsv make bench    # on the new one
#   sh mk/bench-compare.sh /tmp/before.tsv /tmp/after.tsv
#
# Prints, per metric, gregord old -> new with new/old, and the same for the
# mock. The mock's column is the noise gauge: the mock did not change, so
# when its ratio is far from 1 the machine was busier in one run, and
# gregord's ratio should be read relative to it ("normalized": gregord
# new/old divided by mock new/old).
# Exit status: 0, or 2 on bad usage.
set -u
if [ $# -ne 2 ] || [ ! -r "$1" ] || [ ! -r "$2" ]; then
  echo "usage: $0 OLD.tsv NEW.tsv   (tables from mk/bench.sh, see BENCH_OUT)" >&2
  exit 2
fi
awk -F'\t' '
  function ratio(a, b) { return (a != "n/a" && b != "n/a" && a + 0 > 0) ? b / a : "" }
  function fmt(r) { return r == "" ? "n/a" : sprintf("%.2f", r) }
  NR == FNR { key = $1 SUBSEP $2; og[key] = $3; om[key] = $4; next }
  {
    key = $1 SUBSEP $2
    if (!(key in og)) { og[key] = "n/a"; om[key] = "n/a" }
    rg = ratio(og[key], $3); rm = ratio(om[key], $4)
    norm = (rg != "" && rm != "" && rm > 0) ? fmt(rg / rm) : "n/a"
    if (!header++) printf "%-18s %-10s %12s %12s %7s   %12s %12s %7s   %10s\n", "run", "metric",
      "gregord old", "new", "new/old", "mock old", "new", "new/old", "normalized"
    printf "%-18s %-10s %12s %12s %7s   %12s %12s %7s   %10s\n", ($1 == last ? "" : $1), $2,
      og[key], $3, fmt(rg), om[key], $4, fmt(rm), norm
    last = $1
  }' "$1" "$2"
echo "(latency rows: below 1 is better; all other rows: above 1 is better)"
