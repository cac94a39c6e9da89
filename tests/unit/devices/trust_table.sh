#!/bin/bash
# docs/ARCHITECTURE.md's trust table must equal what carapace-trust-table prints (devices/devkinds.c).
set -u
gen=${CARAPACE_BUILD_ROOT:?}/devices/carapace-trust-table
doc=${CARAPACE_SOURCE_ROOT:?}/docs/ARCHITECTURE.md
block=$(sed -n '/^<!-- BEGIN trust table/,/^<!-- END trust table/p' "$doc" | sed '1d;$d')
if [ -z "$block" ]; then
	echo "FAIL: docs/ARCHITECTURE.md has no trust-table block"
	exit 1
fi
diff -u <(printf '%s\n' "$block") <("$gen") && \
	echo "ok: docs/ARCHITECTURE.md matches carapace-trust-table" && exit 0
echo "FAIL: docs/ARCHITECTURE.md differs from the trust table; regenerate the block with $gen"
exit 1
