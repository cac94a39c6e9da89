#!/usr/bin/env bash
# The VM process's own confinement, checked from outside while a guest runs: every thread has a
# seccomp filter and no_new_privs, no thread has a capability, vCPU threads are named; a call
# outside a thread's allowlist kills the process; carapace runs as an unprivileged user that can
# open /dev/kvm and nothing more; the documented allowlists are the ones in the code.
# usage: hardening.sh CARAPACE GUEST_ELF HARDENING_MD
. "$(dirname "$0")/lib.sh"
C=$1; G=$2; DOC=$3
need_kvm

# -- the documented tables are the code's tables
"$C" run --print-seccomp-policy >"$TMP/policy.md"
awk '/<!-- seccomp-policy:begin -->/{f=1;next} /<!-- seccomp-policy:end -->/{f=0} f' "$DOC" >"$TMP/doc.md"
if diff -u "$TMP/doc.md" "$TMP/policy.md" >"$TMP/diff"; then echo "ok   docs/HARDENING.md lists exactly the filters in the code"; passes=$((passes+1))
else echo "FAIL docs/HARDENING.md differs from carapace run --print-seccomp-policy:"; cat "$TMP/diff"; fails=$((fails+1)); fi

inspect() { # PID CHECK_BOUNDING -> checks every task
	local pid=$1 bnd=$2 bad=0 names=""
	for t in /proc/$pid/task/*; do
		st=$(cat "$t/status" 2>/dev/null) || continue
		names="$names $(cat "$t/comm")"
		grep -q '^Seccomp:[[:space:]]*2$' <<<"$st" || { echo "    task $t: $(grep ^Seccomp: <<<"$st")"; bad=1; }
		grep -q '^NoNewPrivs:[[:space:]]*1$' <<<"$st" || { echo "    task $t: $(grep ^NoNewPrivs <<<"$st")"; bad=1; }
		grep -q '^CapEff:[[:space:]]*0000000000000000$' <<<"$st" || { echo "    task $t: $(grep ^CapEff <<<"$st")"; bad=1; }
		grep -q '^CapPrm:[[:space:]]*0000000000000000$' <<<"$st" || { echo "    task $t: $(grep ^CapPrm <<<"$st")"; bad=1; }
		[ "$bnd" = 0 ] || grep -q '^CapBnd:[[:space:]]*0000000000000000$' <<<"$st" || { echo "    task $t: $(grep ^CapBnd <<<"$st")"; bad=1; }
	done
	for want in vcpu0 vcpu1; do grep -qw "$want" <<<"$names" || { echo "    no thread named $want (threads:$names)"; bad=1; }; done
	# The host's file system is out of reach: an empty root in a mount namespace of its own.
	if [ "$(readlink /proc/$pid/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ]; then echo "    shares our mount namespace"; bad=1; fi
	if [ -n "$(ls -A /proc/$pid/root/ 2>/dev/null)" ]; then echo "    its root is not empty: $(ls /proc/$pid/root | head -5 | tr '\n' ' ')"; bad=1; fi
	grep -q '^Max core file size *0 *0' /proc/$pid/limits || { echo "    core dumps allowed: $(grep core /proc/$pid/limits)"; bad=1; }
	nofile=$(awk '/^Max open files/{print $4}' /proc/$pid/limits)
	[ "$nofile" -le 256 ] || { echo "    RLIMIT_NOFILE $nofile is not bounded"; bad=1; }
	return $bad
}

# An unprivileged process cannot empty its bounding set (that needs CAP_SETPCAP); with
# no_new_privs nothing it executes can gain a capability from it, so only root's run checks it.
run_and_inspect() { # label, check-bounding (0/1), prefix-command...
	local label=$1 bnd=$2; shift 2
	# The guest spins until the TERM below; --timeout only ends a run the test lost. It is long:
	# on KVM inside an emulator (scripts/kvm-in-tcg.sh) a process start takes seconds.
	"$@" "$C" run --kernel "$G" --cmdline spin --vcpus 2 --debug-exit --timeout 600 >"$TMP/out" 2>"$TMP/err" & local pid=$!
	# wait until the guest is spinning (both vCPU threads exist before the guest runs)
	wait_for "$pid" "$TMP/out" "scenario spin"
	kill -0 "$pid" 2>/dev/null || { echo "    the VM process ended before inspection:"; sed 's/^/    | /' "$TMP/err"; }
	if inspect "$pid" "$bnd"; then echo "ok   $label: all threads filtered, no_new_privs, no capabilities, empty root, rlimits"; passes=$((passes+1))
	else echo "FAIL $label"; fails=$((fails+1)); fi
	kill -TERM "$pid"; wait "$pid"
}

# -- started as root, the VM process keeps no capability (skip the root part otherwise)
if [ "$(id -u)" = 0 ]; then run_and_inspect "as root" 1; fi

# -- as an unprivileged user who can open /dev/kvm (and nothing more)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	kvm_gid=$(stat -c %g /dev/kvm)
	chmod 755 "$TMP"
	run_and_inspect "as nobody with the kvm group" 0 setpriv --reuid=65534 --regid=65534 --groups="$kvm_gid" --inh-caps=-all
	check unprivileged-guest 1 "wrote 0x0 to the debug-exit port" -- \
		setpriv --reuid=65534 --regid=65534 --groups="$kvm_gid" --inh-caps=-all "$C" run --kernel "$G" --cmdline hello --debug-exit
	check unprivileged-demo 0 "reset through the i8042" -- \
		setpriv --reuid=65534 --regid=65534 --groups="$kvm_gid" --inh-caps=-all "$C" run
else
	echo "skip unprivileged runs: need root to switch to nobody"
fi

# -- a call outside a thread's allowlist kills the process (test-only hooks)
check vcpu-forbidden-syscall 159 "" -- "$C" run --kernel "$G" --cmdline hello --debug-exit --test-hook vcpu-forbidden-syscall
check main-forbidden-syscall 159 "" -- "$C" run --kernel "$G" --cmdline spin --debug-exit --timeout 20 --test-hook main-forbidden-syscall
# ... and the same hook with the filters in log mode is NOT killed: the hook itself reports it.
check log-mode-is-loud 1 "seccomp is 'log'" -- "$C" run --kernel "$G" --cmdline hello --debug-exit --seccomp log --test-hook vcpu-forbidden-syscall
check log-mode-not-confined 1 "socket() was allowed" -- "$C" run --kernel "$G" --cmdline hello --debug-exit --seccomp log --test-hook vcpu-forbidden-syscall
check off-mode-is-loud 1 "NOT confined at all" -- "$C" run --kernel "$G" --cmdline hello --debug-exit --seccomp off
check seccomp-bad 2 "seccomp: 'maybe' is not on, log or off" -- "$C" run --seccomp maybe

finish
