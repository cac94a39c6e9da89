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

finish() {
	echo "$passes passed, $fails failed"
	[ "$fails" -eq 0 ]
}
