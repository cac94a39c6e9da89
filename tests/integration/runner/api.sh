#!/usr/bin/env bash
# carapace run --api-sock: Firecracker's REST API, driven with curl over the UNIX socket as
# Firecracker's API document describes it (src/firecracker/swagger/firecracker.yaml): every
# error class is a 400 with a fault_message naming the field and the reason, and leaves the
# configuration as it was. Needs no KVM: InstanceStart is judged (and refused by a launch
# policy) before a VM would be created. The lifecycle with a running guest is api_lifecycle.sh.
# usage: api.sh CARAPACE GUEST_ELF
. "$(dirname "$0")/lib.sh"
C=$1; G=$(realpath "$2")
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
. "$(dirname "$0")/api_lib.sh"

start
api instance-info GET / "" 200 '"state":"Not started"'
api instance-id GET / "" 200 '"id":"it0"'
api machine-config-default GET /machine-config "" 200 '"mem_size_mib":128'
api machine-config PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}' 204 ""
# Error classes, each refused with the field and the reason, nothing applied.
api unknown-path GET /nope "" 400 "Invalid request method and/or path: GET /nope."
api wrong-method DELETE /machine-config "" 400 "Invalid request method and/or path"
api unknown-field PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "turbo": true}' 400 "turbo: unknown key (expected one of: vcpu_count"
api wrong-type PUT /machine-config '{"vcpu_count": "1", "mem_size_mib": 64}' 400 "vcpu_count: expected an integer"
api out-of-range PUT /machine-config '{"vcpu_count": 33, "mem_size_mib": 64}' 400 "vcpu_count"
api missing-field PUT /boot-source '{"boot_args": "x"}' 400 "kernel_image_path: required field is missing"
api malformed-json PUT /boot-source '{"kernel_image_path": ' 400 "truncated JSON"
api not-an-object PUT /entropy '[]' 400 "expected a JSON object"
big=$(head -c 60000 /dev/zero | tr '\0' ' ')
api oversized-body PUT /boot-source "{\"kernel_image_path\": \"/k\"$big}" 400 "larger than 51200 bytes"
api id-mismatch PUT /drives/rootfs '{"drive_id": "other", "is_root_device": true, "path_on_host": "/x"}' 400 "does not match the id in the path"
api bad-id PUT '/drives/a-b' '{"drive_id": "a-b", "is_root_device": true, "path_on_host": "/x"}' 400 "drive_id"
api rate-limiter PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "rx_rate_limiter": {"ops": {"size": 1, "refill_time": 100}}}' 400 "rate limiters are not supported"
# PUT /vsock, as Firecracker's Vsock: guest_cid >= 3 and uds_path required, vsock_id accepted.
api vsock-cid-reserved PUT /vsock '{"guest_cid": 2, "uds_path": "/tmp/v.sock"}' 400 "PUT /vsock: guest_cid"
api vsock-cid-any PUT /vsock '{"guest_cid": 4294967295, "uds_path": "/tmp/v.sock"}' 400 "guest_cid"
api vsock-cid-type PUT /vsock '{"guest_cid": "3", "uds_path": "/tmp/v.sock"}' 400 "guest_cid: expected an integer"
api vsock-no-uds PUT /vsock '{"guest_cid": 3}' 400 "uds_path: required field is missing"
api vsock-no-cid PUT /vsock '{"uds_path": "/tmp/v.sock"}' 400 "guest_cid: required key is missing"
api vsock-empty-uds PUT /vsock '{"guest_cid": 3, "uds_path": ""}' 400 "uds_path: must not be empty"
long=/tmp/$(printf 'v%.0s' $(seq 1 110))
api vsock-long-uds PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$long\"}" 400 "uds_path"
api vsock-relative-uds PUT /vsock '{"guest_cid": 3, "uds_path": "v.sock"}' 400 "uds_path: uds=v.sock: expected an absolute path"
api vsock-comma-uds PUT /vsock '{"guest_cid": 3, "uds_path": "/tmp/a,b"}' 400 "uds_path: '/tmp/a,b' contains a comma"
api vsock-unknown-field PUT /vsock '{"guest_cid": 3, "uds_path": "/tmp/v.sock", "port": 52}' 400 "port: unknown key"
api vsock-id-type PUT /vsock '{"guest_cid": 3, "uds_path": "/tmp/v.sock", "vsock_id": 1}' 400 "vsock_id"
api vsock-none-yet GET /vm/config "" 200 '"drives":[]'
if curl -s --unix-socket "$S" http://localhost/vm/config | grep -q '"vsock"'; then
	echo "FAIL a refused PUT /vsock left a vsock device behind"; fails=$((fails + 1))
else echo "ok   refused PUT /vsock requests left nothing behind"; passes=$((passes + 1)); fi
api vsock PUT /vsock "{\"vsock_id\": \"root\", \"guest_cid\": 3, \"uds_path\": \"$TMP/old.vsock\"}" 204 ""
api vsock-replaced PUT /vsock "{\"guest_cid\": 52, \"uds_path\": \"$TMP/kata.hvsock\"}" 204 ""
api vsock-in-config GET /vm/config "" 200 "\"vsock\":{\"guest_cid\":52,\"uds_path\":\"$TMP/kata.hvsock\"}"
api pause-before-boot PATCH /vm '{"state": "Paused"}' 400 "not supported before starting the microVM"
api cad-before-boot PUT /actions '{"action_type": "SendCtrlAltDel"}' 400 "not supported before starting"
api patch-drive-before-boot PATCH /drives/rootfs '{"drive_id": "rootfs"}' 400 "not supported before starting"
api unknown-action PUT /actions '{"action_type": "Reboot"}' 400 "action_type"
api attestation-before-boot PUT /carapace/attestation '{"nonce": "00ff"}' 400 "not supported before starting"
api attestation-setup-bad PUT /carapace/attestation-setup '{"pcr": 1}' 400 "pcr: 1 is not 16 or 23"
api start-without-kernel PUT /actions '{"action_type": "InstanceStart"}' 400 "without a kernel"
api flush-without-metrics PUT /actions '{"action_type": "FlushMetrics"}' 400 "metrics system is not configured"
api second-root PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"is_root_device\": true, \"is_read_only\": true, \"path_on_host\": \"$TMP/disk.img\"}" 204 ""
api second-root-refused PUT /drives/other '{"drive_id": "other", "is_root_device": true, "path_on_host": "/y"}' 400 "already the root device"
api logger-bad-path PUT /logger '{"log_path": "/nonexistent/dir/log"}' 400 "log_path: /nonexistent/dir/log: No such file or directory"
api logger PUT /logger "{\"log_path\": \"$TMP/log\", \"level\": \"Info\", \"show_level\": true}" 204 ""
api logger-twice PUT /logger "{\"log_path\": \"$TMP/log\"}" 400 "already configured"
api metrics PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}" 204 ""
api flush-metrics PUT /actions '{"action_type": "FlushMetrics"}' 204 ""
# Nothing of the refused requests was applied.
api config-unchanged GET /vm/config "" 200 '"machine-config":{"vcpu_count":1,"mem_size_mib":64'
if curl -s --unix-socket "$S" http://localhost/vm/config | grep -q 'other\|eth0\|"/k"'; then
	echo "FAIL a refused request left something behind"; fails=$((fails + 1))
else echo "ok   refused requests left nothing behind"; passes=$((passes + 1)); fi
# Metrics as Firecracker writes them: one JSON object per line with its counter names.
if python3 -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; m=l[-1]; assert m["put_api_requests"]["machine_cfg_fails"]==3 and m["put_api_requests"]["machine_cfg_count"]==1 and "utc_timestamp_ms" in m
a = m["api_server"]; assert sorted(a) == ["process_startup_time_cpu_us", "process_startup_time_us"] and a["process_startup_time_us"] > 0 and a["process_startup_time_cpu_us"] > 0, a' "$TMP/metrics"; then
	echo "ok   metrics line with Firecracker's counters and its api_server startup times"; passes=$((passes + 1))
else echo "FAIL metrics file: $(cat "$TMP/metrics")"; fails=$((fails + 1)); fi
# Each counter is its change since the line before (Firecracker's SharedIncMetric): one more
# refused machine-config shows as 1 in the next line, and the lines add up to the totals.
api machine-config-again PUT /machine-config '{"vcpu_count": 0, "mem_size_mib": 64}' 400 "vcpu_count"
api flush-metrics-again PUT /actions '{"action_type": "FlushMetrics"}' 204 ""
if python3 -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]
assert len(l) >= 2 and l[-1]["put_api_requests"]["machine_cfg_fails"] == 1 and l[-1]["put_api_requests"]["machine_cfg_count"] == 0, l[-1]
assert sum(x["put_api_requests"]["machine_cfg_fails"] for x in l) == 4
assert sum(x["put_api_requests"]["actions_count"] for x in l) == 2' "$TMP/metrics"; then
	echo "ok   metrics lines carry the change since the line before"; passes=$((passes + 1))
else echo "FAIL metrics deltas: $(cat "$TMP/metrics")"; fails=$((fails + 1)); fi
if grep -q '^[0-9T:.-]* \[it0:fc_api:Info\] The API server received a PUT request on "/metrics".$' "$TMP/log"; then
	echo "ok   log lines in Firecracker's format"; passes=$((passes + 1))
else echo "FAIL log file: $(head -3 "$TMP/log")"; fails=$((fails + 1)); fi
# A launch policy's refusal comes back as InstanceStart's fault message, with the policy's reason.
truncate -s 1M "$TMP/disk.img"
cat >"$TMP/policy.json" <<JSON
{ "schema": 1, "name": "api-tenant", "isolation": { "type": "none" },
  "devices": { "blk": { "max": 1, "read_only": true, "images": [ "$TMP/*.img" ] } },
  "resources": { "memory_max_mib": 32, "vcpus_max": 1,
                 "cgroup": { "cpu_quota_us": 100000, "memory_max_mib": 256, "pids_max": 64 } },
  "boot": { "kernel": [ "$G" ], "allow_cmdline": true } }
JSON
api boot-source PUT /boot-source "{\"kernel_image_path\": \"$G\", \"boot_args\": \"reset\"}" 204 ""
api launch-policy PUT /carapace/launch-policy "{\"path\": \"$TMP/policy.json\"}" 204 ""
api policy-refuses PUT /actions '{"action_type": "InstanceStart"}' 400 "refused by launch policy 'api-tenant': resources.memory_max_mib: 64 MiB"
api after-failed-start PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}' 400 "failed to start"
api still-inspectable GET / "" 200 '"state":"Not started"'
# Bounded connections: with 16 open (idle) a 17th gets no answer; once they close, service resumes.
if python3 - "$S" <<'PY'
import socket, sys
def conn(wait=60):
    c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); c.settimeout(wait); return c
def get(c):
    c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        return c.recv(4096)
    except OSError:
        return b""
held = [conn() for _ in range(16)]
assert get(held[0]).startswith(b"HTTP/1.1 200"), "a held connection is served"
extra = conn(3)  # never answered while 16 are held: the wait only bounds the test's time
assert not get(extra).startswith(b"HTTP/1.1 200"), "a 17th connection was served"
for c in held + [extra]:
    c.close()
assert get(conn()).startswith(b"HTTP/1.1 200"), "service did not resume"
PY
then echo "ok   at most 16 connections; service resumes when they close"; passes=$((passes + 1))
else echo "FAIL connection limit"; fails=$((fails + 1)); fi
stop

# The host's policy on the command line: the API cannot replace it, and it judges the launch.
start --policy "$TMP/policy.json"
api policy-locked PUT /carapace/launch-policy '{"path": "/tmp/laxer.json"}' 400 "fixed by the command line"
api boot-source-locked PUT /boot-source "{\"kernel_image_path\": \"$G\"}" 204 ""
api policy-judges PUT /actions '{"action_type": "InstanceStart"}' 400 "refused by launch policy 'api-tenant': resources.memory_max_mib: 128 MiB"
stop

# The vsock device reaches carapace run as --device vsock,cid=N,uds=PATH: the VM process names
# the directory of uds_path once (it must exist), before the policy judges it.
start
api vsock-boot PUT /boot-source "{\"kernel_image_path\": \"$G\"}" 204 ""
api vsock-put PUT /vsock '{"guest_cid": 3, "uds_path": "/nonexistent/dir/v.sock"}' 204 ""
api vsock-no-dir PUT /actions '{"action_type": "InstanceStart"}' 400 "device 0 (vsock0): device vsock: uds=/nonexistent/dir/v.sock: directory: No such file or directory"
stop
echo "{\"boot-source\": {\"kernel_image_path\": \"$G\"}, \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/nonexistent/v.sock\"}}" >"$TMP/vsock.json"
check config-file-vsock 1 "uds=/nonexistent/v.sock: directory" -- "$C" run --config-file "$TMP/vsock.json"
# What the launch policy judges: the device class, its three queues and the resolved uds_path
# (the runner's own request, printed; its cgroup limits filled in as a host with cgroups has them).
cat >"$TMP/vsock-policy.json" <<JSON
{ "schema": 1, "name": "vsock-tenant", "isolation": { "type": "none" },
  "devices": { "vsock": { "uds_paths": [ "$TMP/allowed/*" ] }, "net": {}, "console": {} },
  "resources": { "memory_max_mib": 64, "vcpus_max": 1,
                 "cgroup": { "cpu_quota_us": 100000, "memory_max_mib": 256, "pids_max": 64 } },
  "boot": { "kernel": [ "$G" ], "allow_cmdline": true } }
JSON
mkdir -p "$TMP/allowed"
judge() { # judge NAME UDS WANT_STATUS NEEDLE
	"$C" run --kernel "$G" --memory 32M --device "vsock,cid=3,uds=$2" --policy "$TMP/vsock-policy.json" \
		--print-launch-request 2>/dev/null >"$TMP/req.json"
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["cgroup"]={"cpu_quota_us":100000,"cpu_period_us":100000,"memory_max_mib":256,"pids_max":64}; json.dump(r,open(sys.argv[1],"w"))' "$TMP/req.json"
	check "$1" "$3" "$4" -- "$C" policy eval "$TMP/vsock-policy.json" "$TMP/req.json"
}
check vsock-cid-2 2 "device vsock: cid=2: expected a number from 3 to 4294967294" -- "$C" run --kernel "$G" --device vsock,cid=2,uds=/tmp/v.sock
check vsock-needs-uds 2 "device vsock: uds=PATH is required" -- "$C" run --kernel "$G" --device vsock,cid=3
check vsock-no-path 2 "device vsock: unknown option 'path'" -- "$C" run --kernel "$G" --device vsock,cid=3,uds=/tmp/v.sock,path=/x
judge vsock-policy-allows "$TMP/allowed/../allowed/v.sock" 0 ""
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["devices"]; assert d==[{"kind":"vsock","uds_path":sys.argv[2],"queues":3,"queue_size":256}], d' "$TMP/req.json" "$TMP/allowed/v.sock" &&
	{ echo "ok   vsock request: canonical uds_path, 3 queues"; passes=$((passes + 1)); } ||
	{ echo "FAIL vsock request: $(cat "$TMP/req.json")"; fails=$((fails + 1)); }
judge vsock-policy-uds "$TMP/v.sock" 1 "devices.vsock.uds_paths: device 0: vsock socket \"$TMP/v.sock\" matches no allowed pattern"
# A class allowed with its defaults allows a plain --device of it: net and console have 2 queues
# (devices/devkinds.c) and the default max_queues is the kind's.
"$C" run --kernel "$G" --memory 32M --device net,tap=tap0 --device "console,path=$TMP/con.out" \
	--policy "$TMP/vsock-policy.json" --print-launch-request 2>/dev/null >"$TMP/req.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["cgroup"]={"cpu_quota_us":100000,"cpu_period_us":100000,"memory_max_mib":256,"pids_max":64}; assert [d["queues"] for d in r["devices"]]==[2,2], r; json.dump(r,open(sys.argv[1],"w"))' "$TMP/req.json" &&
	check plain-net-console-default-policy 0 "" -- "$C" policy eval "$TMP/vsock-policy.json" "$TMP/req.json" ||
	{ echo "FAIL plain-net-console-default-policy: $(cat "$TMP/req.json")"; fails=$((fails + 1)); }

# A launch policy that is a FIFO nobody writes: the VM process refuses it at once instead of
# blocking in open() (issue 18 item 9), and the start fails with that reason. (This test used the
# blocking FIFO to hold the VM process while SIGTERM arrived; with the FIFO refused, no file read
# can hold it any more, so that case is covered by runner-api-lifecycle's SIGTERM with KVM.)
mkfifo "$TMP/slow.json"
start
api slow-boot PUT /boot-source "{\"kernel_image_path\": \"$G\"}" 204 ""
api slow-policy PUT /carapace/launch-policy "{\"path\": \"$TMP/slow.json\"}" 204 ""
timeout 60 curl -s --unix-socket "$S" -X PUT http://localhost/actions -d '{"action_type": "InstanceStart"}' >"$TMP/slow.out"
if grep -q "not a regular file" "$TMP/slow.out" || grep -q "not a regular file" "$TMP/out"; then
	echo "ok   a FIFO as the launch policy is refused at once, not waited on"; passes=$((passes + 1))
else echo "FAIL FIFO policy: reply $(cat "$TMP/slow.out")"; cat "$TMP/out"; fails=$((fails + 1)); fi
stop

# The API thread's own seccomp list: a call outside it kills the process (test builds only).
if "$C" run --help | grep -q -- --api-sock && [ "${CARAPACE_SANITIZED:-0}" = 0 ] && [ "${CARAPACE_TEST_HOOKS:-0}" = 1 ]; then
	start --test-hook api-forbidden-syscall
	curl -s --unix-socket "$S" http://localhost/ >/dev/null
	wait "$PID"; rc=$?; PID=
	if [ "$rc" = 159 ]; then echo "ok   a forbidden call in the API thread kills carapace (SIGSYS)"; passes=$((passes + 1))
	else echo "FAIL api-forbidden-syscall: exit status $rc, expected 159 (SIGSYS)"; cat "$TMP/out"; fails=$((fails + 1)); fi
else
	echo "SKIP api-forbidden-syscall: needs a plain build with -Dtest_hooks=true"
fi

# Firecracker's command line.
touch "$TMP/taken.sock"
check api-sock-taken 1 "File exists (remove a stale socket first)" -- "$C" run --api-sock "$TMP/taken.sock"
check no-seccomp-ignored 2 "--no-seccomp is ignored" -- "$C" run --no-seccomp --config-file /nonexistent.json
check fc-flags-alone 2 "go with --api-sock or --config-file" -- "$C" run --id x
check not-combined 2 "cannot be combined with --api-sock" -- "$C" run --api-sock "$TMP/x.sock" --memory 64M
echo '{"boot-source": {"kernel_image_path": "/k"}, "drives": [{"drive_id": "r"}]}' >"$TMP/bad.json"
check config-file-bad 2 "drives: PUT /drives/{id}: is_root_device: required field is missing" -- "$C" run --config-file "$TMP/bad.json"
echo '{"machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}' >"$TMP/nokernel.json"
check config-file-no-kernel 2 "no boot-source" -- "$C" run --config-file "$TMP/nokernel.json"
echo "{\"boot-source\": {\"kernel_image_path\": \"$G\", \"boot_args\": \"reset\"}, \"carapace-launch-policy\": {\"path\": \"$TMP/policy.json\"}}" >"$TMP/refused.json"
check config-file-policy 5 "refused by launch policy 'api-tenant'" -- "$C" run --config-file "$TMP/refused.json"
finish
