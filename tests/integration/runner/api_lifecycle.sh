#!/usr/bin/env bash
# carapace run --api-sock with a running guest, as Firecracker's API document describes the
# lifecycle: configure, InstanceStart, GET / says Running, PATCH /vm Paused and Resumed,
# pre-boot requests refused after the start, the end by SIGTERM, by SendCtrlAltDel (the guest
# reads the keys from the i8042 and resets) and by the guest's own exit; the vcpu metrics the VM
# process counts, in FlushMetrics' line and the one at exit; --config-file boots at once.
# usage: api_lifecycle.sh CARAPACE GUEST_ELF
. "$(dirname "$0")/lib.sh"
C=$1; G=$(realpath "$2")
need_kvm
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
. "$(dirname "$0")/api_lib.sh"

start
api machine-config PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}' 204 ""
api boot-source PUT /boot-source "{\"kernel_image_path\": \"$G\", \"boot_args\": \"spin\"}" 204 ""
api instance-start PUT /actions '{"action_type": "InstanceStart"}' 204 ""
api running GET / "" 200 '"state":"Running"'
# Under the API the vCPU threads have Firecracker's names, in the VM process (the API's child);
# the API process itself has none (docs/kata.md: what Kata's GetThreadIDs sees).
vmpid=$(cat /proc/"$PID"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -m1 .)
vm_names=$(cat /proc/"$vmpid"/task/*/comm 2>/dev/null | tr '\n' ',')
api_names=$(cat /proc/"$PID"/task/*/comm 2>/dev/null | tr '\n' ',')
if [ -n "$vmpid" ] && grep -q ',fc_vcpu 0,\|^fc_vcpu 0,' <<<"$vm_names" && ! grep -q 'vcpu' <<<"$api_names" && grep -q fc_api <<<"$api_names"; then
	echo "ok   vCPU thread 'fc_vcpu 0' in the VM process $vmpid; the API process has none"; passes=$((passes + 1))
else echo "FAIL thread names: VM process '$vmpid' [$vm_names], API process [$api_names]"; fails=$((fails + 1)); fi
api pause PATCH /vm '{"state": "Paused"}' 204 ""
api paused GET / "" 200 '"state":"Paused"'
api pause-again PATCH /vm '{"state": "Paused"}' 204 ""
api resume PATCH /vm '{"state": "Resumed"}' 204 ""
api resumed GET / "" 200 '"state":"Running"'
api no-second-start PUT /actions '{"action_type": "InstanceStart"}' 400 "not supported after starting the microVM"
api no-pre-boot-change PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}' 400 "not supported after starting"
api patch-unknown-drive PATCH /drives/none '{"drive_id": "none"}' 400 "no drive with id 'none'"
api vm-config-after GET /vm/config "" 200 '"mem_size_mib":32'
kill -TERM "$PID"; wait "$PID"; rc=$?; PID=
if [ "$rc" = 143 ] && grep -q "stopped by signal 15" "$TMP/out"; then
	echo "ok   SIGTERM ends the VM (status 143)"; passes=$((passes + 1))
else echo "FAIL SIGTERM: status $rc"; cat "$TMP/out"; fails=$((fails + 1)); fi

# Firecracker's vcpu metrics, counted in the VM process: a guest doing port I/O (1000 OUTs to the
# UART's scratch register, then its console lines) shows them in FlushMetrics' line, asked of the
# VM process on the control socket; the line written at exit has the VM process's last record.
start
api metrics-vcpu PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}" 204 ""
api boot-source-io PUT /boot-source "{\"kernel_image_path\": \"$G\", \"boot_args\": \"io-loop count=1000\"}" 204 ""
api start-io PUT /actions '{"action_type": "InstanceStart"}' 204 ""
if wait_for "$PID" "$TMP/out" "io-loop: done" 120; then
	api flush-vcpu PUT /actions '{"action_type": "FlushMetrics"}' 204 ""
	if flushed=$(python3 -c '
import json, sys
m = json.loads(open(sys.argv[1]).read().splitlines()[-1])
v = m["vcpu"]
assert sorted(v) == ["exit_io_in", "exit_io_out", "exit_mmio_read", "exit_mmio_write", "failures"], v
assert v["exit_io_out"] >= 1000 and v["exit_io_in"] >= 1 and v["failures"] == 0, v
assert m["seccomp"] == {"num_faults": 0}, m["seccomp"]
print(v["exit_io_out"])' "$TMP/metrics"); then
		echo "ok   FlushMetrics: vcpu.exit_io_out $flushed from the VM process, seccomp.num_faults 0"; passes=$((passes + 1))
	else echo "FAIL vcpu metrics after FlushMetrics: $(tail -1 "$TMP/metrics")"; fails=$((fails + 1)); flushed=1000; fi
	kill -TERM "$PID"; wait "$PID"; PID=
	# Each line has the change since the line before (Firecracker's deltas): the lines add up to
	# at least what FlushMetrics saw, and the line at exit has a vcpu group of its own.
	if python3 -c '
import json, sys
l = [json.loads(x) for x in open(sys.argv[1])]
assert "vcpu" in l[-1], l[-1]
assert sum(m.get("vcpu", {}).get("exit_io_out", 0) for m in l) >= int(sys.argv[2]), l
assert sum(m.get("vcpu", {}).get("failures", 0) for m in l) == 0, l' "$TMP/metrics" "$flushed"; then
		echo "ok   the line at exit has the VM process's last vcpu counters"; passes=$((passes + 1))
	else echo "FAIL vcpu metrics at exit: $(tail -1 "$TMP/metrics")"; cat "$TMP/out"; fails=$((fails + 1)); fi
else
	echo "FAIL io-loop guest: no 'io-loop: done'"; cat "$TMP/out"; fails=$((fails + 1)); stop
fi

# A VM process that answers the metrics request with a bad record (test hook: a wrong version)
# is cut off: the line goes without the vcpu group, the error names the field, and the VM ends
# (its control socket hung up) instead of being trusted further.
if [ "${CARAPACE_TEST_HOOKS:-0}" = 1 ]; then
	start --test-hook vm-bad-metrics-record
	api metrics-bad PUT /metrics "{\"metrics_path\": \"$TMP/metrics-bad\"}" 204 ""
	api boot-source-bad PUT /boot-source "{\"kernel_image_path\": \"$G\", \"boot_args\": \"spin\"}" 204 ""
	api start-bad PUT /actions '{"action_type": "InstanceStart"}' 204 ""
	api flush-bad PUT /actions '{"action_type": "FlushMetrics"}' 204 ""
	wait "$PID"; rc=$?; PID=
	if [ "$rc" = 1 ] && grep -q "metrics record: version 3, this controller reads version 2: the VM process's control channel is cut off" "$TMP/out" &&
		grep -q "the management API's controller went away" "$TMP/out" &&
		python3 -c 'import json, sys; l = [json.loads(x) for x in open(sys.argv[1])]; assert l and all("vcpu" not in m for m in l), l' "$TMP/metrics-bad"; then
		echo "ok   a bad metrics record cuts the VM process off (status 1, no vcpu group)"; passes=$((passes + 1))
	else echo "FAIL bad metrics record: status $rc; metrics: $(cat "$TMP/metrics-bad")"; cat "$TMP/out"; fails=$((fails + 1)); fi
	# The same VM process, taken over, ignoring its controller's end and running on (test hook):
	# carapace waits 10 s for it, kills it and ends with its status (137, SIGKILL).
	start --test-hook vm-bad-metrics-record-and-stay
	api metrics-stay PUT /metrics "{\"metrics_path\": \"$TMP/metrics-stay\"}" 204 ""
	api boot-source-stay PUT /boot-source "{\"kernel_image_path\": \"$G\", \"boot_args\": \"spin\"}" 204 ""
	api start-stay PUT /actions '{"action_type": "InstanceStart"}' 204 ""
	api flush-stay PUT /actions '{"action_type": "FlushMetrics"}' 204 ""
	t0=$(date +%s); wait "$PID"; rc=$?; PID=
	if [ "$rc" = 137 ] && grep -q "the VM process's control channel is cut off" "$TMP/out" &&
		grep -q "the VM process did not end within 10 s after its control channel closed: killed" "$TMP/out" &&
		! grep -q "the management API's controller went away" "$TMP/out"; then
		echo "ok   a cut-off VM process that does not end is killed after 10 s (status 137, $(( $(date +%s) - t0 )) s)"; passes=$((passes + 1))
	else echo "FAIL cut-off VM process that stays: status $rc"; cat "$TMP/out"; fails=$((fails + 1)); fi
else
	echo "SKIP vm-bad-metrics-record: needs a build with -Dtest_hooks=true"
fi

# The guest's own exit ends carapace with the VM's status, as Firecracker exits on a guest reset.
start
api boot-source-reset PUT /boot-source "{\"kernel_image_path\": \"$G\", \"boot_args\": \"reset\"}" 204 ""
api start-reset PUT /actions '{"action_type": "InstanceStart"}' 204 ""
wait "$PID"; rc=$?; PID=
if [ "$rc" = 0 ] && grep -q "guest requested a reset through the i8042" "$TMP/out"; then
	echo "ok   the guest's reset ends carapace with status 0"; passes=$((passes + 1))
else echo "FAIL guest exit: status $rc"; cat "$TMP/out"; fails=$((fails + 1)); fi
[ -e "$S" ] && { echo "FAIL the API socket is left behind"; fails=$((fails + 1)); }

# SendCtrlAltDel: the keys reach the guest through the i8042; it resets, carapace ends with 0.
start
api boot-source-cad PUT /boot-source "{\"kernel_image_path\": \"$G\", \"boot_args\": \"ctrl-alt-del\"}" 204 ""
api start-cad PUT /actions '{"action_type": "InstanceStart"}' 204 ""
api ctrl-alt-del PUT /actions '{"action_type": "SendCtrlAltDel"}' 204 ""
wait "$PID"; rc=$?; PID=
if [ "$rc" = 0 ] && grep -q "ctrl-alt-del: received" "$TMP/out"; then
	echo "ok   SendCtrlAltDel reaches the guest, which resets (status 0)"; passes=$((passes + 1))
else echo "FAIL SendCtrlAltDel: status $rc"; cat "$TMP/out"; fails=$((fails + 1)); fi

# The attestation extension: the launch recorded in a TPM (swtpm), evidence for a nonce.
if command -v swtpm >/dev/null; then
	mkdir -p "$TMP/tpm" "$TMP/state"
	swtpm socket --tpmstate dir="$TMP/tpm" --tpm2 --server type=unixio,path="$TMP/tpm.s" \
		--ctrl type=unixio,path="$TMP/tpm.s.ctrl" --flags not-need-init,startup-clear --daemon --pid file="$TMP/tpm.pid"
	start
	api attest-setup PUT /carapace/attestation-setup "{\"tcti\": \"swtpm:path=$TMP/tpm.s\", \"state_dir\": \"$TMP/state\"}" 204 ""
	api attest-boot PUT /boot-source "{\"kernel_image_path\": \"$G\", \"boot_args\": \"spin\"}" 204 ""
	api attest-start PUT /actions '{"action_type": "InstanceStart"}' 204 ""
	api attest-evidence PUT /carapace/attestation '{"nonce": "00112233445566778899aabbccddeeff"}' 200 'carapace-evidence'
	stop
	kill "$(cat "$TMP/tpm.pid")" 2>/dev/null
else
	echo "SKIP attestation: swtpm is not installed"
fi

echo "{\"boot-source\": {\"kernel_image_path\": \"$G\", \"boot_args\": \"reset\"}, \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 32}}" >"$TMP/vm.json"
check config-file-boots 0 "carapace-test-guest: PASS" -- "$C" run --config-file "$TMP/vm.json"
finish
