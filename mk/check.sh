#!/bin/sh
# Runs every unit-test binary given as an argument, then the integration
# suite, and ends with the line "N passed, N failed, N skipped".
# Exits non-zero when anything failed.
top=$(cd "$(dirname "$0")/.." && pwd)
passed=0; failed=0; skipped=0
logdir="$top/build/test-logs"
mkdir -p "$logdir"
for bin in "$@"; do
  name=$(basename "$bin")
  echo "== unit: $name"
  out="$logdir/$name.log"
  timeout 600 "$bin" --gtest_brief=1 >"$out" 2>&1
  rc=$?
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
  p=${p:-0}; f=${f:-0}; s=${s:-0}
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "   $name exited $rc without a gtest summary"; f=1
  fi
  [ "$f" -ne 0 ] && grep -E '^\[  FAILED  \]|Failure|error' "$out" | head -40
  echo "   $p passed, $f failed, $s skipped"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done
# Module boundaries (CONVENTIONS.md): no include of another module's private header.
echo "== includes: module boundaries"
if sh "$top/mk/check-includes.sh" >"$logdir/includes.log" 2>&1; then
  echo "   1 passed, 0 failed, 0 skipped"; passed=$((passed + 1))
else
  head -20 "$logdir/includes.log"
  echo "   0 passed, 1 failed, 0 skipped"; failed=$((failed + 1))
fi
# Formatting is part of the contract (CONVENTIONS.md): one counted check.
if command -v clang-format >/dev/null 2>&1; then
  echo "== format: clang-format --dry-run"
  files=$(cd "$top" && find src include tests -name '*.cc' -o -name '*.h')
  if (cd "$top" && clang-format --dry-run -Werror $files) >"$logdir/format.log" 2>&1; then
    echo "   1 passed, 0 failed, 0 skipped"; passed=$((passed + 1))
  else
    head -20 "$logdir/format.log"; echo "   run 'make format'"
    echo "   0 passed, 1 failed, 0 skipped"; failed=$((failed + 1))
  fi
fi
# The fuzz targets' committed corpora, replayed by the $CXX build of each target (make
# fuzz-replay; no clang needed): every input that ever reached new code or crashed stays
# checked. One counted check, like the format check.
fuzz_names=$(cd "$top/tests/fuzz" 2>/dev/null && ls -- *_fuzzer.cc 2>/dev/null | sed 's/_fuzzer\.cc$//')
if [ -n "$fuzz_names" ]; then
  echo "== fuzz: corpus replay"
  fuzz_dir=${GREGOR_FUZZ_REPLAY_DIR:-build/fuzz-replay}
  case $fuzz_dir in /*) ;; *) fuzz_dir="$top/$fuzz_dir" ;; esac
  fuzz_ok=1
  : >"$logdir/fuzz-replay.log"
  for n in $fuzz_names; do
    if [ ! -x "$fuzz_dir/${n}_fuzzer" ]; then
      echo "   $fuzz_dir/${n}_fuzzer is not built (make fuzz-replay)"; fuzz_ok=0; continue
    fi
    # Under make check-sanitize, undefined behaviour fails the replay as it fails make fuzz.
    if UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
        timeout 600 "$fuzz_dir/${n}_fuzzer" "$top/tests/fuzz/corpus/$n" >>"$logdir/fuzz-replay.log" 2>&1; then
      tail -1 "$logdir/fuzz-replay.log" | sed 's/^/   /'
    else
      tail -20 "$logdir/fuzz-replay.log"; fuzz_ok=0
    fi
  done
  if [ $fuzz_ok -eq 1 ]; then
    echo "   1 passed, 0 failed, 0 skipped"; passed=$((passed + 1))
  else
    echo "   0 passed, 1 failed, 0 skipped"; failed=$((failed + 1))
  fi
fi
# The Debian package (make deb): built with dpkg-buildpackage from the programs above, and
# lintian finds no error in it. One counted check; lintian's findings are printed.
if [ -z "$GREGOR_UNIT_ONLY" ]; then
  echo "== package: make deb, lintian"
  if sh "$top/mk/deb.sh" >"$logdir/deb.log" 2>&1 && grep -q '^lintian: 0 errors' "$logdir/deb.log"; then
    grep '^lintian:' "$logdir/deb.log" | sed 's/^/   /'
    echo "   1 passed, 0 failed, 0 skipped"; passed=$((passed + 1))
  else
    tail -20 "$logdir/deb.log"
    echo "   0 passed, 1 failed, 0 skipped"; failed=$((failed + 1))
  fi
fi
if [ -x "$top/integration/run" ] && [ -z "$GREGOR_UNIT_ONLY" ]; then
  echo "== integration"
  out="$logdir/integration.log"
  "$top/integration/run" 2>&1 | tee "$out"
  line=$(grep -E '^INTEGRATION [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -1)
  if [ -z "$line" ]; then
    echo "   integration runner gave no summary"; failed=$((failed + 1))
  else
    set -- $line
    passed=$((passed + $2)); failed=$((failed + $4)); skipped=$((skipped + $6))
  fi
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
