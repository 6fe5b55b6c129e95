#!/bin/sh
# Module boundaries (CONVENTIONS.md): a file under src/<m>/ or tests/<m>/ may include
# another module's headers only through include/gregor/<module>/, never that module's
# private src/<module>/ headers. Prints each crossing include; exits 1 if there is one.
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
bad=0
for f in $(find src tests -name '*.cc' -o -name '*.h'); do
  m=$(echo "$f" | cut -d/ -f2)
  for inc in $(sed -n 's/^#include "\([a-z_0-9]*\/[^"]*\)".*/\1/p' "$f"); do
    dir=${inc%%/*}
    [ "$dir" = gregor ] && continue
    [ "$dir" = "$m" ] && continue
    if [ -e "src/$inc" ]; then
      echo "$f includes src/$inc, private to module $dir (use include/gregor/$dir/)"
      bad=1
    fi
  done
done
exit $bad
