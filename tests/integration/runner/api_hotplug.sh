#!/usr/bin/env bash
# Block hot-plug through Firecracker's API: PATCH /drives/{id} with a new path_on_host, as Kata's
# Firecracker driver sends it for its placeholder drives (fc.go: hotplugBlockDevice). carapace's
# controller opens the file (read-only when the drive is), the launch policy judges the opened
# file, the drive's jailed carapace-blk gets the fd and checks it again; every refusal is a 400
# naming the reason and leaves the old file serving. The post-boot part needs KVM (a running VM);
# without it that part is reported as skipped (exit 77) after the checks that need none.
# usage: api_hotplug.sh CARAPACE GUEST_ELF
. "$(dirname "$0")/lib.sh"
C=$1; G=$(realpath "$2")
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
. "$(dirname "$0")/api_lib.sh"

mkdir -p "$TMP/ok" "$TMP/other"
head -c 1048576 /dev/zero >"$TMP/ok/placeholder0.img"
head -c 1048576 /dev/zero >"$TMP/ok/placeholder1.img"
head -c 4194304 /dev/zero | tr '\0' 'B' >"$TMP/ok/container.img"
head -c 1000 /dev/zero >"$TMP/ok/odd.img"
: >"$TMP/ok/empty.img" # Kata's placeholders are empty raw files (fc.go createJailedDrive)
head -c 1048576 /dev/zero >"$TMP/other/elsewhere.img"
mkfifo "$TMP/ok/fifo.img"
drive() { # drive ID PATH READ_ONLY
	echo "{\"drive_id\": \"$1\", \"is_root_device\": false, \"is_read_only\": $3, \"path_on_host\": \"$2\"}"
}
patch() { echo "{\"drive_id\": \"$1\", \"path_on_host\": \"$2\"}"; }

# -- before the VM runs: a PATCH is refused, and nothing changes
start
api put-drive PUT /drives/drive_0 "$(drive drive_0 "$TMP/ok/placeholder0.img" false)" 204 ""
api patch-before-boot PATCH /drives/drive_0 "$(patch drive_0 "$TMP/ok/container.img")" 400 "not supported before starting the microVM"
api config-unchanged GET /vm/config "" 200 "placeholder0.img"
stop

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "$passes passed, $fails failed"
	[ "$fails" -eq 0 ] || exit 1
	echo "SKIP: the swaps into a running VM need /dev/kvm, which is not usable here"; exit 77
fi

# -- a running VM with two placeholder drives (one read-only), as Kata's disk pool
start
api machine-config PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}' 204 ""
api boot-source PUT /boot-source "{\"kernel_image_path\": \"$G\", \"boot_args\": \"spin\"}" 204 ""
api drive-0 PUT /drives/drive_0 "$(drive drive_0 "$TMP/ok/placeholder0.img" false)" 204 ""
api drive-1 PUT /drives/drive_1 "$(drive drive_1 "$TMP/ok/placeholder1.img" true)" 204 ""
api metrics PUT /metrics "{\"metrics_path\": \"$TMP/metrics\"}" 204 ""
api start PUT /actions '{"action_type": "InstanceStart"}' 204 ""
# Refused, each with its reason; the old file stays.
api size-not-sectors PATCH /drives/drive_0 "$(patch drive_0 "$TMP/ok/odd.img")" 400 "not a multiple of 512"
api fifo PATCH /drives/drive_0 "$(patch drive_0 "$TMP/ok/fifo.img")" 400 "not a regular file or block device"
api missing PATCH /drives/drive_0 "$(patch drive_0 "$TMP/ok/none.img")" 400 "cannot open"
api directory PATCH /drives/drive_0 "$(patch drive_0 "$TMP/ok")" 400 "not a regular file"
api wrong-type PATCH /drives/drive_0 '{"drive_id": "drive_0", "path_on_host": 7}' 400 "path_on_host"
api unknown-field PATCH /drives/drive_0 '{"drive_id": "drive_0", "is_read_only": true}' 400 "is_read_only: unknown key"
api unknown-drive PATCH /drives/drive_9 "$(patch drive_9 "$TMP/ok/container.img")" 400 "no drive with id 'drive_9'"
api still-old GET /vm/config "" 200 "placeholder0.img"
# Accepted: the container's disk replaces the placeholder; then back (Kata's unplug).
api hotplug PATCH /drives/drive_0 "$(patch drive_0 "$TMP/ok/container.img")" 204 ""
api config-new GET /vm/config "" 200 "container.img"
api hotplug-read-only PATCH /drives/drive_1 "$(patch drive_1 "$TMP/ok/container.img")" 204 ""
api unplug PATCH /drives/drive_0 "$(patch drive_0 "$TMP/ok/empty.img")" 204 ""
api running GET / "" 200 '"state":"Running"'
api flush PUT /actions '{"action_type": "FlushMetrics"}' 204 ""
# Each line has the change since the line before: their sums are the totals.
m=$(python3 -c 'import json,sys
l = [json.loads(x)["patch_api_requests"] for x in open(sys.argv[1])]
print(json.dumps({k: sum(x[k] for x in l) for k in l[0]}, sort_keys=True))' "$TMP/metrics")
if grep -q '"drive_count": [1-9]' <<<"$m" && grep -q '"drive_fails": [1-9]' <<<"$m"; then
	echo "ok   Firecracker's patch_api_requests counters: $m"; passes=$((passes + 1))
else echo "FAIL patch_api_requests counters: $m"; fails=$((fails + 1)); fi
n=$(grep -c "backing file replaced" "$TMP/out")
if [ "$n" = 3 ]; then echo "ok   the helpers replaced their files 3 times"; passes=$((passes + 1))
else echo "FAIL expected 3 replacements in the helpers' log, saw $n"; cat "$TMP/out"; fails=$((fails + 1)); fi
stop

# -- the guest sees it: the test guest waits for the configuration interrupt, then re-reads the
#    capacity (ConfigGeneration moved) and reads the new disk's first and last sectors
start
api g-machine PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}' 204 ""
api g-boot PUT /boot-source "{\"kernel_image_path\": \"$G\", \"boot_args\": \"virtio-blk-hotplug\"}" 204 ""
api g-drive PUT /drives/drive_0 "$(drive drive_0 "$TMP/ok/placeholder0.img" false)" 204 ""
api g-metrics PUT /metrics "{\"metrics_path\": \"$TMP/metrics-g\"}" 204 ""
api g-start PUT /actions '{"action_type": "InstanceStart"}' 204 ""
while ! grep -q "waiting for a configuration change" "$TMP/out"; do
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
api g-hotplug PATCH /drives/drive_0 "$(patch drive_0 "$TMP/ok/container.img")" 204 ""
# The guest parks after its PASS line (no debug-exit port through the API); meson's time-out
# bounds a guest that never sees the change.
while ! grep -q "carapace-test-guest: \(PASS\|FAIL\)" "$TMP/out"; do
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
if grep -q "virtio-blk-hotplug: capacity 2048 -> 8192 sectors, sector 0 starts 42, last sector read" "$TMP/out"; then
	echo "ok   the guest took the configuration interrupt and reads the new disk"; passes=$((passes + 1))
else echo "FAIL the guest did not see the new disk"; cat "$TMP/out"; fails=$((fails + 1)); fi
# Firecracker's block metrics, counted by the jailed carapace-blk on its counter page: the
# guest's reads of the new disk (its first and last sector) and the swap, in `block_drive_0`
# and the `block` sum, as changes since the line before (the lines add up).
api g-flush PUT /actions '{"action_type": "FlushMetrics"}' 204 ""
if m=$(python3 -c '
import json, sys
l = [json.loads(x) for x in open(sys.argv[1])]
tot = lambda g, k: sum(x.get(g, {}).get(k, 0) for x in l)
assert "block_drive_0" in l[-1], l[-1]
assert tot("block_drive_0", "read_count") >= 2 and tot("block_drive_0", "read_bytes") >= 2 * 512, l
assert tot("block_drive_0", "update_count") == 1 and tot("block_drive_0", "update_fails") == 0, l
assert tot("block_drive_0", "queue_event_count") >= 2 and tot("block_drive_0", "invalid_reqs_count") == 0, l
for k in l[-1]["block"]:
    assert tot("block", k) == tot("block_drive_0", k), k
print(tot("block_drive_0", "read_count"), tot("block_drive_0", "read_bytes"))' "$TMP/metrics-g"); then
	echo "ok   block metrics from the helper's counter page: read_count/read_bytes $m, update_count 1"; passes=$((passes + 1))
else echo "FAIL block metrics: $(cat "$TMP/metrics-g")"; fails=$((fails + 1)); fi
stop

# -- with the node's launch policy: only images under $TMP/ok
cat >"$TMP/p.json" <<JSON
{
  "schema": 1,
  "name": "hotplug-tenant",
  "isolation": { "type": "none" },
  "devices": { "blk": { "max": 2, "images": [ "$TMP/ok/*.img" ] } },
  "resources": { "memory_max_mib": 64, "vcpus_max": 1,
                 "cgroup": { "cpu_quota_us": 100000, "memory_max_mib": 512, "pids_max": 64 } },
  "boot": { "kernel": [ "/*" ], "allow_cmdline": true }
}
JSON
start --policy "$TMP/p.json"
api p-machine PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}' 204 ""
api p-boot PUT /boot-source "{\"kernel_image_path\": \"$G\", \"boot_args\": \"spin\"}" 204 ""
api p-drive PUT /drives/drive_0 "$(drive drive_0 "$TMP/ok/placeholder0.img" false)" 204 ""
out=$(curl -s --unix-socket "$S" -X PUT http://localhost/actions --data-binary '{"action_type": "InstanceStart"}' -w '\n%{http_code}')
if [ "${out##*$'\n'}" = 204 ]; then
	api p-outside PATCH /drives/drive_0 "$(patch drive_0 "$TMP/other/elsewhere.img")" 400 "refused by launch policy 'hotplug-tenant': devices.blk.images"
	api p-inside PATCH /drives/drive_0 "$(patch drive_0 "$TMP/ok/container.img")" 204 ""
elif grep -q "cgroup" <<<"$out"; then
	echo "SKIP the policy part: this host cannot apply the policy's cgroup limits, so the policy refuses every launch"
else
	echo "FAIL InstanceStart with the policy: $out"; fails=$((fails + 1))
fi
stop
finish
