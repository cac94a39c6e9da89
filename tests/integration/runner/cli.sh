#!/usr/bin/env bash
# `carapace run` command line and config: every bad input gets an exact error and a nonzero status.
# usage: cli.sh CARAPACE GUEST_ELF
. "$(dirname "$0")/lib.sh"
C=$1; G=$2
need_kvm

printf '{"memory": "64M", "vcpus": 1, "debug-exit": true, "cmdline": "hello", "kernel": "%s"}' "$G" > "$TMP/ok.json"
echo '{"kernal": "x"}' > "$TMP/unknown.json"
echo '{"vcpus": "2"}' > "$TMP/type.json"
echo '{"vcpus": 2' > "$TMP/broken.json"
echo '{"vcpus": 1, "print-launch-request": true}' > "$TMP/cli-only.json"
echo '{"quiet": true, "pcr": 3}' > "$TMP/pcr.json"
head -c 8192 /dev/urandom > "$TMP/random.bin"
printf 'not a kernel\n' > "$TMP/text.txt"

check help              0 "Usage: carapace run"              -- "$C" run --help
check top-help          0 "Commands:"                        -- "$C" --help
check no-command        2 "Usage: carapace COMMAND"          -- "$C"
check unknown-command   2 "unknown command 'frobnicate'"     -- "$C" frobnicate
check unknown-option    2 "unknown option '--bogus'"         -- "$C" run --bogus
check missing-value     2 "option '--memory' needs a value"  -- "$C" run --memory
check stray-argument    2 "unexpected argument 'extra'"      -- "$C" run extra
check config-ok         1 "debug-exit port"                  -- "$C" run --config "$TMP/ok.json"
check config-unknown    2 "config $TMP/unknown.json: unknown key 'kernal'" -- "$C" run --config "$TMP/unknown.json"
check config-type       2 "key 'vcpus' must be a non-negative integer, not a string" -- "$C" run --config "$TMP/type.json"
check config-broken     2 "not valid JSON"                   -- "$C" run --config "$TMP/broken.json"
check config-missing    2 "$TMP/nope.json: cannot open: No such file or directory" -- "$C" run --config "$TMP/nope.json"
check config-dir        2 "is a directory"                   -- "$C" run --config "$TMP"
check flag-overrides    2 "vcpus: 0 is out of range"         -- "$C" run --config "$TMP/ok.json" --vcpus 0
check config-cli-only   2 "key 'print-launch-request' is for the command line only (--print-launch-request): a one-shot action" -- "$C" run --config "$TMP/cli-only.json"
check config-pcr        2 "--pcr: PCR 3 belongs to the firmware's boot measurements" -- "$C" run --config "$TMP/pcr.json"
check kernel-missing    2 "kernel: $TMP/none: cannot open: No such file or directory" -- "$C" run --kernel "$TMP/none"
check kernel-random     2 "not a kernel carapace can boot"   -- "$C" run --kernel "$TMP/random.bin"
check kernel-text       2 "not a kernel carapace can boot"   -- "$C" run --kernel "$TMP/text.txt"
: > "$TMP/empty.bin"
check kernel-empty      2 "not a kernel carapace can boot"   -- "$C" run --kernel "$TMP/empty.bin"
check kernel-device     2 "not a regular file"               -- "$C" run --kernel /dev/zero
check mem-small         2 "memory: 1024 KiB is too small"    -- "$C" run --memory 1M
check mem-huge          2 "more than this host can give"     -- "$C" run --memory 64T
check mem-junk          2 "--memory: 'lots' is not a size"   -- "$C" run --memory lots
check vcpus-zero        2 "vcpus: 0 is out of range 1..254"  -- "$C" run --vcpus 0
check vcpus-many        2 "vcpus: 300 is out of range"       -- "$C" run --vcpus 300
check vcpus-word        2 "--vcpus: 'two' is not a whole number" -- "$C" run --vcpus two
check timeout-bad       2 "--timeout: '-1' is not a number of seconds" -- "$C" run --timeout -1
check initrd-alone      2 "initrd: given without a kernel"   -- "$C" run --initrd "$TMP/text.txt"
check console-bad       2 "console: 'tty' is not stdout"     -- "$C" run --console tty
check console-nodir     2 "console: cannot open $TMP/no/such/file for writing" -- "$C" run --console "file:$TMP/no/such/file"
check console-nosock    2 "console: cannot connect to $TMP/sock" -- "$C" run --console "unix:$TMP/sock"
check confidential-bad  2 "confidential: 'maybe' is not required, preferred or off" -- "$C" run --confidential maybe
check platform-bad      2 "platform: 'sev' is not snp or tdx" -- "$C" run --confidential required --platform sev
# Confidential launches against this host's real capabilities: where SNP/TDX is absent, required
# refuses with host-info's reason and preferred runs a plain VM with a loud warning.
if "$C" host-info --json | grep -A1 '"sev_snp"' | grep -q '"available":false' && \
   "$C" host-info --json | grep -A1 '"tdx"' | grep -q '"available":false'; then
	check confidential-required  1 "--confidential required: no confidential platform on this host: SEV-SNP:" -- "$C" run --confidential required
	check confidential-preferred 0 "WARNING: running a PLAIN VM: the host can read and change its memory" -- "$C" run --confidential preferred
	# Options for confidential guests are never dropped silently: on a fallback they are named.
	check certs-fallback  0 "WARNING: --snp-certs is unused: this VM fell back to plain KVM" -- "$C" run --confidential preferred --snp-certs "$TMP/text.txt"
else
	echo "skip confidential-required/preferred: this host offers SEV-SNP or TDX"
fi
# Confidential-only options without --confidential are refused, never ignored.
check certs-plain       2 "--snp-certs needs --confidential"  -- "$C" run --snp-certs "$TMP/text.txt"
check quote-plain       2 "--quote-service needs --confidential" -- "$C" run --quote-service /run/qgs.sock
check tsc-plain         2 "--tsc-khz needs --confidential"    -- "$C" run --tsc-khz 2000000
check idblock-plain     2 "--id-block needs --confidential"   -- "$C" run --id-block "$TMP/text.txt"
check firmware-plain    2 "--firmware needs --confidential"   -- "$C" run --firmware /usr/share/ovmf/OVMF.fd
check tsc-word          2 "--tsc-khz: 'fast' is not a whole number" -- "$C" run --tsc-khz fast
check demo              0 "guest requested a reset"          -- "$C" run
check demo-file         0 "reset"                            -- "$C" run --console "file:$TMP/console.txt"
if ! grep -q . "$TMP/console.txt"; then echo "FAIL console file is empty"; fails=$((fails+1)); fi

# No access to /dev/kvm: run as nobody when we can switch users (root), and expect the fix.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ "$(stat -c %a /dev/kvm)" != 666 ]; then
	check kvm-denied 1 "Add your user to the 'kvm' group" -- setpriv --reuid=65534 --regid=65534 --clear-groups "$C" run
else
	echo "skip kvm-denied: needs root and a /dev/kvm that is not world-accessible"
fi
finish
