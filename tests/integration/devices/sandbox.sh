#!/bin/bash
# Sandbox tests for every device helper: a forbidden system call after the filter is loaded
# kills the helper with SIGSYS (test hook, only in -Dtest_hooks=true builds), and from inside
# the jail the helper cannot see the host file system, other processes, or the network.
set -u
BUILD=${CARAPACE_BUILD_ROOT:?}
tmp=$(mktemp -d /tmp/carapace-sandbox.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
truncate -s 1M "$tmp/disk.img"
fail=0

helper_args() { # name -> args after --socket-path
	case $1 in
	blk) echo "--image $tmp/disk.img" ;;
	console) echo "--output $tmp/console.out" ;;
	*) echo "" ;;
	esac
}

for h in blk rng console; do
	bin=$BUILD/devices/carapace-$h
	# Hooks absent (release-like build): the option must be refused, and we skip visibly.
	if ! "$bin" --help 2>/dev/null | grep -q . ; then echo "no $bin"; exit 1; fi
	"$bin" --test-hook=none --help >/dev/null 2>&1
	if [ $? -eq 2 ]; then
		echo "SKIP: $bin built without -Dtest_hooks=true: the SIGSYS hook does not exist (as in release)"
		exit 77
	fi

	# 1. Forbidden system call after the filter: killed by SIGSYS (128 + 31), reported by the shell.
	"$bin" --socket-path "$tmp/$h.sock" $(helper_args $h) --test-hook=forbidden-syscall 2>"$tmp/$h.err"
	st=$?
	if [ $st -ne 159 ]; then
		echo "FAIL: carapace-$h forbidden syscall: exit status $st, expected 159 (SIGSYS)"; cat "$tmp/$h.err"; fail=1
	elif grep -q "NOT killed" "$tmp/$h.err"; then
		echo "FAIL: carapace-$h survived the forbidden call"; fail=1
	else
		echo "ok: carapace-$h killed by SIGSYS on socket(AF_INET) after the filter loaded"
	fi

	# 2. What the jailed helper sees (probe runs inside the jail, just before seccomp).
	timeout -s TERM 1 "$bin" --socket-path "$tmp/$h.sock" $(helper_args $h) --test-hook=probe 2>"$tmp/$h.probe"
	for want in "probe: /etc/passwd absent" "probe: /proc pids 1" "probe: /proc pid 1" "probe: uid 0 euid 0"; do
		if ! grep -qx "$want" "$tmp/$h.probe"; then
			echo "FAIL: carapace-$h probe lacks '$want'"; cat "$tmp/$h.probe"; fail=1
		fi
	done
	ifs=$(sed -n 's/^probe: net interfaces: //p' "$tmp/$h.probe")
	if [ "$ifs" != "lo " ]; then
		echo "FAIL: carapace-$h sees network interfaces '$ifs', expected only lo"; fail=1
	else
		echo "ok: carapace-$h sees no host files, only itself in /proc, only lo"
	fi
	[ -e "$tmp/$h.sock" ] && { echo "FAIL: socket $tmp/$h.sock left behind"; fail=1; }
done

# --no-jail (tests on hosts without user namespaces): loud, and seccomp still applies.
"$BUILD/devices/carapace-rng" --socket-path "$tmp/nj.sock" --no-jail --test-hook=forbidden-syscall 2>"$tmp/nj.err"
st=$?
if [ $st -ne 159 ] || ! grep -q -- "--no-jail: rng runs WITHOUT namespaces" "$tmp/nj.err"; then
	echo "FAIL: --no-jail: status $st (expected 159) or no loud warning"; cat "$tmp/nj.err"; fail=1
else
	echo "ok: --no-jail warns loudly and still kills a forbidden call with SIGSYS"
fi
exit $fail
