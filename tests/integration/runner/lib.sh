# Shared helpers for carapace's shell integration tests.
# Each test: check NAME EXPECTED_STATUS NEEDLE -- COMMAND...  (NEEDLE must appear in stdout+stderr)
set -u
fails=0; passes=0
TMP=$(mktemp -d /tmp/carapace-it.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

check() {
	local name=$1 want=$2 needle=$3; shift 4
	local out rc
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL $name: exit status $rc, expected $want"; echo "$out" | head -20 | sed 's/^/    /'
		fails=$((fails + 1)); return
	fi
	if [ -n "$needle" ] && ! grep -qF -- "$needle" <<<"$out"; then
		echo "FAIL $name: output lacks '$needle'"; echo "$out" | head -20 | sed 's/^/    /'
		fails=$((fails + 1)); return
	fi
	echo "ok   $name"; passes=$((passes + 1))
}

need_kvm() {
	if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then echo "SKIP: /dev/kvm is not usable here"; exit 77; fi
}

# True when the binaries under test have the test-only hooks (-Dtest_hooks=true). A step that
# needs one says "skip NAME: ..." and the rest of the script runs: a default build passes.
have_test_hooks() {
	case "${CARAPACE_TEST_HOOKS:-}" in
	1) return 0 ;;
	0) return 1 ;;
	*) echo "FAIL: CARAPACE_TEST_HOOKS is not set (run through 'meson test', which sets it)" >&2; exit 1 ;;
	esac
}

# wait_for PID FILE PATTERN [SECONDS]: until FILE holds PATTERN (grep -E), PID has ended, or
# SECONDS (default 300) of wall clock have passed. Never a count of iterations: on KVM inside an
# emulator (scripts/kvm-in-tcg.sh) starting a process takes seconds. True when PATTERN was seen.
wait_for() {
	local pid=$1 file=$2 pat=$3 end=$((SECONDS + ${4:-300}))
	while [ $SECONDS -lt $end ]; do
		grep -qE -- "$pat" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { grep -qE -- "$pat" "$file" 2>/dev/null; return; }
		sleep 0.05
	done
	return 1
}

finish() {
	echo "$passes passed, $fails failed"
	[ "$fails" -eq 0 ]
}
