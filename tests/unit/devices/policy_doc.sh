#!/bin/bash
# docs/devices.md's seccomp tables must equal what the policy sources generate.
set -u
gen=${CARAPACE_BUILD_ROOT:?}/devices/carapace-devices-policy-doc
doc=${CARAPACE_SOURCE_ROOT:?}/docs/devices.md
diff -u <(sed -n '/^<!-- BEGIN seccomp tables/,/^<!-- END seccomp tables/p' "$doc" | sed '1d;$d') <("$gen") && \
	echo "ok: docs/devices.md matches the seccomp policy sources" && exit 0
echo "FAIL: docs/devices.md differs from the policies; regenerate the block with $gen"
exit 1
