#!/usr/bin/env bash
# carapace run --policy: what the launch policy refuses never starts, and the refusal names the rule.
# The runner describes the launch as data (--print-launch-request shows it) and the pure evaluator
# judges it; cgroup limits count only when the host really applied them.
# usage: policy_run.sh CARAPACE GUEST_ELF
. "$(dirname "$0")/lib.sh"
C=$1; G=$2
need_kvm
mkdir -p "$TMP/images" "$TMP/elsewhere" "$TMP/kernels"
truncate -s 1M "$TMP/images/disk.img" "$TMP/elsewhere/secret.img"
ln -s "$TMP/elsewhere/secret.img" "$TMP/images/link.img"
cp "$G" "$TMP/kernels/guest.elf"
cat >"$TMP/p.json" <<JSON
{
  "schema": 1,
  "name": "test-tenant",
  "isolation": { "type": "none" },
  "devices": {
    "blk": { "max": 1, "read_only": true, "images": [ "$TMP/images/*.img" ] },
    "rng": { "max": 1 }
  },
  "resources": { "memory_max_mib": 256, "vcpus_max": 2,
                 "cgroup": { "cpu_quota_us": 100000, "memory_max_mib": 512, "pids_max": 64 } },
  "boot": { "kernel": [ "$TMP/kernels/*" ], "allow_cmdline": true }
}
JSON
sed 's/"type": "none"/"type": "snp", "confidential": "required"/' "$TMP/p.json" >"$TMP/snp.json"
echo '{"schema": 1, "name": "x", "bogus": 1}' >"$TMP/bad.json"
P="--policy $TMP/p.json"

# Rules judged before the cgroup limits, on any host.
check too-many-vcpus   5 "resources.vcpus_max: 4 vCPUs, 1 to 2 allowed" -- "$C" run $P --vcpus 4
check too-much-memory  5 "resources.memory_max_mib: 512 MiB of guest memory, at most 256 allowed" -- "$C" run $P --memory 512M
check snp-required     5 "refused by launch policy 'test-tenant': isolation" -- "$C" run --policy "$TMP/snp.json"
# A confidential launch is judged by the same policy: 'preferred' on a host without SNP falls back
# to a plain VM, which a policy requiring SNP refuses; the request says what was asked and got.
if "$C" host-info --json | grep -A1 '"sev_snp"' | grep -q '"available":false'; then
	check snp-preferred-fallback 5 "isolation.confidential" -- "$C" run --policy "$TMP/snp.json" --confidential preferred
	"$C" run --policy "$TMP/snp.json" --confidential preferred --print-launch-request 2>/dev/null | tr -d ' \n' >"$TMP/r.json"
	grep -q '"requested":"snp","obtained":"none"' "$TMP/r.json" && { echo "ok   the request records snp asked, none obtained"; passes=$((passes+1)); } \
		|| { echo "FAIL request isolation: $(cat "$TMP/r.json")"; fails=$((fails+1)); }
fi
check policy-invalid   2 "bogus" -- "$C" run --policy "$TMP/bad.json"
check policy-missing   2 "cannot open" -- "$C" run --policy "$TMP/none.json"

# The cgroup limits: applied where cgroup v2 has cpu, memory and pids; otherwise the launch is
# refused (fail closed) with the reason the limits could not be applied.
"$C" run $P --device rng --cmdline hello >"$TMP/out" 2>"$TMP/err"; rc=$?
if grep -q "cgroup limits cannot be applied" "$TMP/err"; then
	[ "$rc" = 5 ] && grep -q "resources.cgroup" "$TMP/err"
	verdict_rc=$?
	echo "     (this host: $(grep -o 'cgroup v2 at.*' "$TMP/err" | cut -c1-100))"
	[ $verdict_rc = 0 ] && { echo "ok   no cgroup v2 controllers here: the launch is refused, with the reason"; passes=$((passes+1)); } \
		|| { echo "FAIL cgroup refusal: status $rc"; cat "$TMP/err"; fails=$((fails+1)); }
else
	[ "$rc" = 0 ] && grep -q "launch policy 'test-tenant' allows this VM" "$TMP/err"
	[ $? = 0 ] && { echo "ok   cgroup limits applied, the VM ran"; passes=$((passes+1)); } || { echo "FAIL allowed run: $rc"; cat "$TMP/err"; fails=$((fails+1)); }
fi

# What the runner asks for, judged by the same evaluator with the limits a cgroup-v2 host applies.
judge() { # name want-status needle -- run-args...
	local name=$1 want=$2 needle=$3; shift 4
	if ! "$C" run $P --print-launch-request "$@" >"$TMP/req.json" 2>"$TMP/err"; then
		echo "FAIL $name: --print-launch-request failed"; cat "$TMP/err"; fails=$((fails+1)); return
	fi
	python3 - "$TMP/req.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["cgroup"] = {"cpu_quota_us": 100000, "cpu_period_us": 100000, "memory_max_mib": 512, "pids_max": 64}
json.dump(r, open(sys.argv[1], "w"))
PY
	check "$name" "$want" "$needle" -- "$C" policy eval "$TMP/p.json" "$TMP/req.json"
}
judge allowed            0 "" -- --device rng --device "blk,path=$TMP/images/disk.img,readonly=on"
judge allowed-kernel     0 "" -- --kernel "$TMP/kernels/guest.elf" --cmdline hello
judge writable-disk      1 "read_only" -- --device "blk,path=$TMP/images/disk.img"
judge image-elsewhere    1 "images" -- --device "blk,path=$TMP/elsewhere/secret.img,readonly=on"
judge image-via-symlink  1 "images" -- --device "blk,path=$TMP/images/link.img,readonly=on"
judge two-rngs           1 "devices.rng" -- --device rng --device rng
judge kernel-not-listed  1 "boot.kernel" -- --kernel "$G" --cmdline hello
# The symlink was resolved before judging: the request names the real file.
"$C" run $P --print-launch-request --device "blk,path=$TMP/images/link.img,readonly=on" 2>/dev/null | grep -q "\"image\":\"$TMP/elsewhere/secret.img\"" \
	&& { echo "ok   a symlinked image is judged by the file it points to"; passes=$((passes+1)); } \
	|| { echo "FAIL symlink not resolved in the request"; fails=$((fails+1)); }
# Nothing starts before the verdict: no helper ran for a refused launch.
out=$("$C" run $P --vcpus 4 --device rng 2>&1)
if grep -q "carapace-rng" <<<"$out"; then echo "FAIL a helper ran before the refusal"; fails=$((fails+1)); else echo "ok   refused before any helper started"; passes=$((passes+1)); fi
finish
