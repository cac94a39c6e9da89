#!/usr/bin/env bash
# The test guest on carapace, on real /dev/kvm: every scenario of the microvm cross-boot list
# must give QEMU's transcript (minus VMM-dependent "info:" lines), and every hostile scenario
# must end with a clear status and message, never a crash or a hang.
# usage: guests.sh CARAPACE GUEST_ELF CROSS_BOOT_LIST EXPECTED_DIR
. "$(dirname "$0")/lib.sh"
C=$1; G=$2; LIST=$3; EXP=$4
need_kvm

run() { # vcpus cmdline... -> $TMP/out (stdout), $TMP/err (stderr), $rc
	local vcpus=$1; shift
	timeout 120 "$C" run --kernel "$G" --cmdline "$*" --vcpus "$vcpus" --memory 64M --debug-exit \
		--timeout 60 >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	tr -d '\r' <"$TMP/out" | grep -v '^info:' >"$TMP/txt"
}

verdict() { # name ok(0/1) message
	if [ "$2" = 0 ]; then echo "ok   $1"; passes=$((passes + 1))
	else echo "FAIL $1: $3"; sed 's/^/    | /' "$TMP/out" "$TMP/err" | head -30; fails=$((fails + 1)); fi
}

# carapace's status for each label where it differs from QEMU's, and why:
#  reset, demo: the i8042 reset is a clean end (0); QEMU microvm has no i8042.
#  triple-fault: carapace reports a crash (3); QEMU -no-reboot exits 0.
#  mmio-*, oob-write: carapace stops the guest at the unmapped access (3) — the transcript is
#  then a prefix of QEMU's, which lets the guest go on reading all-ones.
declare -A cstatus=([reset]=0 [demo]=0 [triple-fault]=3 [mmio-read]=3 [mmio-write]=3 [oob-write]=3)
declare -A prefix=([mmio-read]=1 [mmio-write]=1 [oob-write]=1)
declare -A needle=([reset]="reset through the i8042" [demo]="reset through the i8042"
	[triple-fault]="triple fault (shutdown) at RIP" [mmio-read]="read from unmapped guest-physical address 0xd0000000"
	[mmio-write]="wrote to unmapped guest-physical address 0xd0000000" [oob-write]="wrote to unmapped guest-physical address")

while read -r label status vcpus devices cmdline; do
	case "$label" in ''|'#'*) continue ;; esac
	# Guests that never stop are tested below with --timeout.
	[ "$status" = hang ] && continue
	if [ "$devices" != - ] && [ "$devices" != noacpi ]; then
		echo "skip $label: needs virtio device(s) '$devices' wired into carapace run (see below)"; continue
	fi
	if [[ "$cmdline" == *cpus=acpi* ]] || [ "$label" = smp-too-many ]; then
		# carapace describes vCPUs with an MP table only (no ACPI yet): the guest must say so
		# (with 17 vCPUs QEMU's guest reads the ACPI MADT, carapace's falls back from the MP table).
		run "$vcpus" $cmdline
		[ "$rc" = 11 ] && grep -q "FAIL: smp" "$TMP/out"
		verdict "$label: no ACPI MADT in carapace, the guest reports it" $? "status $rc"
		continue
	fi
	want=${cstatus[$label]:-$status}
	run "$vcpus" $cmdline
	if [ "$rc" != "$want" ]; then verdict "$label" 1 "exit status $rc, expected $want"; continue; fi
	if [ -n "${needle[$label]:-}" ] && ! grep -qF "${needle[$label]}" "$TMP/err"; then
		verdict "$label" 1 "stderr lacks '${needle[$label]}'"; continue
	fi
	if [ -n "${prefix[$label]:-}" ]; then
		n=$(wc -l <"$TMP/txt")
		if [ "$n" -lt 2 ] || ! head -n "$n" "$EXP/$label.txt" | cmp -s - "$TMP/txt"; then
			verdict "$label" 1 "transcript is not a prefix of QEMU's $EXP/$label.txt"; continue
		fi
	elif ! diff -u "$EXP/$label.txt" "$TMP/txt" >"$TMP/diff"; then
		cat "$TMP/diff" >>"$TMP/err"; verdict "$label" 1 "transcript differs from QEMU's"; continue
	fi
	verdict "$label (same transcript as QEMU microvm)" 0 ""
done <"$LIST"

# Scenarios QEMU's TCG cannot reproduce, or that must be stopped from outside.
run 1 bad-insn
[ "$rc" = 3 ] && grep -q "KVM internal error (suberror 1: KVM could not emulate an instruction)" "$TMP/err"
verdict "bad-insn: KVM cannot execute it, carapace says so" $? "status $rc"

timeout 30 "$C" run --kernel "$G" --cmdline spin --debug-exit --timeout 1.5 >"$TMP/out" 2>"$TMP/err"; rc=$?
[ "$rc" = 4 ] && grep -q "timeout: the guest was still running after 1.500 s" "$TMP/err"
verdict "spin: --timeout ends a guest that never stops" $? "status $rc"

timeout 30 "$C" run --kernel "$G" --cmdline hlt --debug-exit --timeout 1 >"$TMP/out" 2>"$TMP/err"; rc=$?
[ "$rc" = 4 ]
verdict "hlt: a halted vCPU with interrupts off is ended by --timeout" $? "status $rc"

timeout 120 "$C" run --kernel "$G" --cmdline "uart-flood count=100000" --debug-exit --timeout 100 \
	>"$TMP/out" 2>"$TMP/err"; rc=$?
bytes=$(wc -c <"$TMP/out")
[ "$rc" = 1 ] && [ "$bytes" -gt 100000 ]
verdict "uart-flood 100000: every byte arrives ($bytes bytes)" $? "status $rc, $bytes bytes"

timeout 120 "$C" run --kernel "$G" --cmdline "uart-flood count=50000" --debug-exit --timeout 100 \
	--console-limit 1000 >"$TMP/out" 2>"$TMP/err"; rc=$?
bytes=$(wc -c <"$TMP/out")
[ "$rc" = 1 ] && [ "$bytes" -eq 1000 ] && grep -q "console limit reached" "$TMP/err"
verdict "uart-flood with --console-limit 1000: output capped, guest unharmed" $? "status $rc, $bytes bytes"

timeout 60 "$C" run --kernel "$G" --cmdline "io-loop count=100" --strict-io --debug-exit >"$TMP/out" 2>"$TMP/err"; rc=$?
[ "$rc" = 1 ]
verdict "io-loop under --strict-io uses only known ports" $? "status $rc"

# SIGTERM: a clean stop with 128+15, threads joined, RAM wiped (the ASan build checks for leaks).
"$C" run --kernel "$G" --cmdline spin --debug-exit >"$TMP/out" 2>"$TMP/err" & pid=$!
sleep 0.5; kill -TERM $pid; wait $pid; rc=$?
[ "$rc" = 143 ] && grep -q "stopped by signal 15" "$TMP/err"
verdict "SIGTERM stops the VM cleanly (status 143)" $? "status $rc"

finish
