#!/bin/bash
# `carapace policy check|show|eval` end to end: exit codes, messages on stderr, and that the
# effective policy printed by `show` is itself a valid policy.
# Usage: cli.sh CARAPACE_BINARY GOLDEN_DIR SCRATCH_DIR
set -u
bin=$1 golden=$2 scratch=$3
fails=0
rm -rf "$scratch" && mkdir -p "$scratch"

# expect_run NAME WANT_RC STDERR_SUBSTRING -- ARGS...
expect_run() {
	local name=$1 want=$2 needle=$3 rc
	shift 4
	"$bin" policy "$@" >"$scratch/out" 2>"$scratch/err"
	rc=$?
	if [ $rc -ne "$want" ]; then
		echo "FAIL $name: exit $rc, expected $want"; cat "$scratch/err"; fails=$((fails + 1)); return
	fi
	if [ -n "$needle" ] && ! grep -qF -- "$needle" "$scratch/err" "$scratch/out"; then
		echo "FAIL $name: output lacks '$needle'"; cat "$scratch/err" "$scratch/out"; fails=$((fails + 1)); return
	fi
	echo "ok   $name"
}

expect_run "check valid" 0 'policy "snp-tenant" is valid' -- check "$golden/pass/snp-tenant.json"
expect_run "check invalid names the field" 2 "devices.blk.images[1]: '.' or '..' component" -- check "$golden/fail/parse-blk-images-dotdot.json"
expect_run "check missing file" 2 "/nonexistent.json" -- check /nonexistent.json
expect_run "show" 0 '"guest_policy": "0x30133"' -- show "$golden/pass/snp-tenant.json"
for f in "$golden"/pass/*.json; do
	case $f in *.request.json) continue ;; esac
	n=$(basename "$f" .json)
	"$bin" policy show "$f" >"$scratch/$n.show.json" 2>"$scratch/err" || { echo "FAIL show $n"; fails=$((fails + 1)); continue; }
	expect_run "show output of $n is a valid policy" 0 "is valid" -- check "$scratch/$n.show.json"
done
expect_run "show fills defaults" 0 '"on_device_failure": "stop"' -- show "$golden/pass/minimal.json"
grep -q '"pids_max": 64' "$scratch/out" || { echo "FAIL default pids_max not shown"; fails=$((fails + 1)); }
expect_run "eval allowed" 0 "allowed" -- eval "$golden/pass/snp-tenant.json" "$golden/pass/snp-tenant.request.json"
expect_run "eval denied names the rule" 1 "launch denied by rule devices.blk.read_only:" -- eval "$golden/pass/snp-tenant.json" "$golden/fail/eval-dev-blk-writable.request.json"
expect_run "eval malformed request" 2 "request invalid by rule request:" -- eval "$golden/pass/snp-tenant.json" "$golden/fail/eval-req-image-dotdot.request.json"
printf '{"requested": "sev"}' >"$scratch/bad-request.json"
expect_run "eval unparsable request" 2 'request: requested: expected one of "none", "snp", "tdx", got "sev"' -- eval "$golden/pass/snp-tenant.json" "$scratch/bad-request.json"
expect_run "usage" 2 "Usage: carapace policy" -- frobnicate
expect_run "help" 0 "Usage: carapace policy" -- --help
[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
