#!/usr/bin/env bash
# Hostile conditions around a running VM (issue 18), end to end with KVM: Ctrl-Z/fg (SIGSTOP and
# SIGCONT) on carapace and its helpers while running and during teardown, a stalled helper that
# must not defeat --timeout or SIGTERM, and a compromised helper (an fd attached to a reply)
# that must cost its device or end the VM with a message, never a SIGSYS. Skips without KVM; the
# same classes are proven without KVM by runner-sandbox_stop, devices-stop-continue,
# devices-hostile-helper and devices-io-wait.
# usage: hostile.sh CARAPACE GUEST_ELF
. "$(dirname "$0")/lib.sh"
C=$1; G=$2
need_kvm

verdict() { # name ok(0/1) message
	if [ "$2" = 0 ]; then echo "ok   $1"; passes=$((passes + 1))
	else echo "FAIL $1: $3"; sed 's/^/    | /' "$TMP/out" "$TMP/err" | head -30; fails=$((fails + 1)); fi
}

# Every process of the run: carapace, the helper's reaper and the jailed helper.
family() { local p; for p in "$@"; do echo "$p"; family $(pgrep -P "$p"); done; }
stopcont() { local p; for p in $(family "$1"); do kill -STOP "$p" 2>/dev/null; done; sleep 0.2
	for p in $(family "$1"); do kill -CONT "$p" 2>/dev/null; done; }
wait_for() { for _ in $(seq 200); do grep -q "$1" "$2" && return 0; sleep 0.05; done; return 1; }

# Ctrl-Z then fg, three times, while the guest runs: the VM goes on to its --timeout (status 4).
"$C" run --kernel "$G" --cmdline spin --debug-exit --timeout 4 --device rng >"$TMP/out" 2>"$TMP/err" & pid=$!
wait_for "scenario spin" "$TMP/out"
for _ in 1 2 3; do stopcont $pid; sleep 0.1; done
wait $pid; rc=$?
[ "$rc" = 4 ] && ! grep -q "Bad system call\|signal 31" "$TMP/err"
verdict "stop/continue while running: the VM and its helper survive (status 4 at --timeout)" $? "status $rc"

# Stop and continue during teardown (after SIGTERM): a clean 143.
"$C" run --kernel "$G" --cmdline spin --debug-exit --timeout 30 --device rng >"$TMP/out" 2>"$TMP/err" & pid=$!
wait_for "scenario spin" "$TMP/out"
fam=$(family $pid)
kill -TERM $pid
for _ in 1 2 3 4 5; do for p in $fam; do kill -STOP "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null; done; done
wait $pid; rc=$?
[ "$rc" = 143 ] && ! grep -q "Bad system call\|signal 31" "$TMP/err"
verdict "stop/continue during teardown: status 143, no SIGSYS" $? "status $rc"

# A stalled helper (never answers SET_VRING_KICK): --timeout still ends the VM.
timeout 60 "$C" run --kernel "$G" --cmdline virtio-rng --debug-exit --timeout 2 \
	--device rng,test-hook=stall-ring-start >"$TMP/out" 2>"$TMP/err"; rc=$?
[ "$rc" = 4 ] && grep -q "timeout: the guest was still running" "$TMP/err"
verdict "a stalled helper does not defeat --timeout" $? "status $rc"

"$C" run --kernel "$G" --cmdline virtio-rng --debug-exit --device rng,test-hook=stall-ring-start \
	>"$TMP/out" 2>"$TMP/err" & pid=$!
sleep 1; kill -TERM $pid
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && { kill -KILL $pid; echo "(still running 10 s after SIGTERM)"; }
wait $pid; rc=$?
[ "$rc" = 143 ]
verdict "a stalled helper does not defeat SIGTERM" $? "status $rc"

# A compromised helper attaches an fd to its reply: the VM ends naming the device, or goes on
# without it with --on-device-failure continue; never SIGSYS.
timeout 60 "$C" run --kernel "$G" --cmdline virtio-rng --debug-exit --timeout 10 \
	--device rng,test-hook=fd-in-reply >"$TMP/out" 2>"$TMP/err"; rc=$?
[ "$rc" = 1 ] && grep -q "device rng0: its helper failed starting a ring" "$TMP/err"
verdict "an fd attached to a reply ends the VM with the device's name" $? "status $rc"

timeout 60 "$C" run --kernel "$G" --cmdline virtio-rng --debug-exit --timeout 3 --on-device-failure continue \
	--device rng,test-hook=fd-in-reply >"$TMP/out" 2>"$TMP/err"; rc=$?
[ "$rc" != 159 ] && grep -q "it needs a reset, the VM goes on" "$TMP/err"
verdict "--on-device-failure continue: the compromised helper costs its device only" $? "status $rc"

finish
