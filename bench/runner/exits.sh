#!/usr/bin/env bash
# Exit-path cost of the seccomp filters: a guest doing N port writes (one exit each), with the
# filters on and off, same run. Per-exit time = (t(N2) - t(N1)) / (N2 - N1), which removes
# start-up and teardown. usage: exits.sh STARTUP_TOOL CARAPACE GUEST_ELF [ITERATIONS]
set -euo pipefail
tool=$1 c=$2 g=$3 iters=${4:-10}
n1=2000 n2=20000
out=$("$tool" "$iters" \
	on-$n1 -- "$c" run --kernel "$g" --cmdline "io-loop count=$n1" --debug-exit --quiet --seccomp on --- \
	on-$n2 -- "$c" run --kernel "$g" --cmdline "io-loop count=$n2" --debug-exit --quiet --seccomp on --- \
	off-$n1 -- "$c" run --kernel "$g" --cmdline "io-loop count=$n1" --debug-exit --quiet --seccomp off --- \
	off-$n2 -- "$c" run --kernel "$g" --cmdline "io-loop count=$n2" --debug-exit --quiet --seccomp off)
echo "$out"
echo "$out" | awk -v n1=$n1 -v n2=$n2 '
	$1 ~ /^(on|off)-/ { t[$1] = $3 }
	END {
		on = (t["on-" n2] - t["on-" n1]) / (n2 - n1); off = (t["off-" n2] - t["off-" n1]) / (n2 - n1);
		printf "per exit: filters on %.2f us, off %.2f us\n", on * 1000, off * 1000;
		printf "exits/s: filters on %.0f, off %.0f; ratio on/off %.3f\n", 1000 / on, 1000 / off, off / on;
	}'
