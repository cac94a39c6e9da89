#!/usr/bin/env bash
# carapace's one set-up script: installs every Debian package from scripts/packages.txt,
# builds, and runs either the demo or the whole test suite.
#
#   scripts/setup.sh demo   install, build, run the built-in demo guest (attested)
#   scripts/setup.sh test   install, build the test kernel (cached), build, run the test suite: normal build, ASan+UBSan
#                           build, then every fuzz target for a bounded time (clang)
#   scripts/setup.sh deps   install packages and test inputs only
#   scripts/setup.sh build  install and build only
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
mode=${1:-demo}
shift || true

log() { printf '\n==> %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"
	elif command -v sudo >/dev/null; then sudo "$@"
	else echo "setup.sh: need root (or sudo) to install packages: $*" >&2; exit 1
	fi
}

install_deps() {
	local pkgs missing=()
	mapfile -t pkgs < <(grep -v '^\s*#' scripts/packages.txt | grep -v '^\s*$')
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing ${#missing[@]} Debian packages: ${missing[*]}"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
	fi
}

# Debian's real cloud kernel is an *input* for the Linux boot-protocol loader tests (it is not
# booted: see docs/TESTING.md). It is unpacked into .cache/, never installed into /boot.
fetch_test_kernel() {
	local dir="$here/.cache/linux-image" deb pkg
	[ -n "$(ls "$dir"/boot/vmlinuz-* 2>/dev/null)" ] && return 0
	mkdir -p "$dir"
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}') || true
	if [ -z "$pkg" ]; then
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
		pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}') || true
	fi
	if [ -z "$pkg" ]; then
		echo "setup.sh: linux-image-cloud-amd64 not found in apt; Linux loader tests will skip" >&2
		return 0
	fi
	log "fetching $pkg (a test input for the Linux loader; not installed)"
	(cd "$dir" && apt-get download "$pkg" >/dev/null 2>&1) || {
		echo "setup.sh: could not download $pkg; Linux loader tests will skip" >&2; return 0; }
	deb=$(ls "$dir"/*.deb | head -1)
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards './boot/vmlinuz-*'
	rm -f "$deb"
}

configure() { # dir [meson options...]
	local dir=$1; shift
	if [ -d "$dir/meson-private" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
	meson compile -C "$dir"
}

# Sum meson's per-test results from every build dir into one closing line.
summary() {
	python3 - "$@" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0, "EXPECTEDFAIL": 0, "UNEXPECTEDPASS": 0, "TIMEOUT": 0, "ERROR": 0}
for d in sys.argv[1:]:
    try:
        with open(d if d.endswith(".json") else f"{d}/meson-logs/testlog.json") as f:
            for line in f:
                r = json.loads(line)["result"]
                counts[r] = counts.get(r, 0) + 1
    except FileNotFoundError:
        pass
passed = counts["OK"] + counts["EXPECTEDFAIL"]
failed = counts["FAIL"] + counts["TIMEOUT"] + counts["ERROR"] + counts["UNEXPECTEDPASS"]
print(f"Total: {passed} passed, {failed} failed, {counts['SKIP']} skipped")
PY
}

# Runs meson tests NAMES... in build/ on KVM inside a TCG VM (scripts/kvm-in-tcg.sh); its output
# goes to stderr, its status to stdout. The VM's console is a terminal: meson redraws a progress
# line there, filtered out here, a line at a time (a CI log shows where a hung VM stopped).
# Timeouts x3: everything in that VM runs under an emulator. One test at a time: both lock-ups
# of the one-CPU VM came with two nested guests running at once (docs/TESTING.md).
kvm_in_tcg() {
	{ L1_TIMEOUT=${L1_TIMEOUT:-1200} scripts/kvm-in-tcg.sh build --print-errorlogs --num-processes 1 -t 3 "$@" </dev/null
	  echo $? >build/kvm-in-tcg.status; } | stdbuf -oL tr '\r' '\n' | grep --line-buffered -avF $'\e[K[' >&2 || true
	cat build/kvm-in-tcg.status
}

run_tests() {
	local rc=0 dirs=()
	export CARAPACE_TEST_VECTORS=${CARAPACE_TEST_VECTORS:-$here/../shared/test-vectors}
	export CARAPACE_TEST_BZIMAGE=${CARAPACE_TEST_BZIMAGE:-$(ls "$here"/.cache/linux-image/boot/vmlinuz-* 2>/dev/null | head -1)}

	# The real Linux the tests boot (tests/linux/): built once per change of its inputs, then cached.
	log "test kernel: Debian's linux-source-6.1, tinyconfig + tests/linux/kernel/ (cached in .cache/test-kernel)"
	scripts/build-test-kernel.sh >/dev/null || rc=1
	log "test kernel with ACPI and SMP (the direct layout's tables, two vCPUs)"
	scripts/build-test-kernel.sh acpi smp >/dev/null || rc=1

	log "build 1/3: release-style build with test hooks (gcc)"
	configure build -Dtest_hooks=true
	meson test -C build --print-errorlogs --num-processes 2 || rc=1
	dirs+=(build)

	# Without a usable /dev/kvm the KVM tests above skipped. The ones below run on a real KVM
	# all the same: Debian's kvm_amd inside a VM that QEMU emulates (scripts/kvm-in-tcg.sh). The
	# boots of the real kernel (PVH, bzImage, a helper killed, the direct layout with ACPI, SMP),
	# the test guest's direct layout and TDX stub, the runner's own KVM tests and the demo.
	# Status 125: this machine cannot host that VM (reported, nothing claimed). The rest of the
	# KVM suite runs the same way by hand (docs/TESTING.md); CARAPACE_KVM_IN_TCG=0 skips this.
	if { ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; } && [ "${CARAPACE_KVM_IN_TCG:-1}" != 0 ]; then
		log "KVM tests on KVM inside a TCG VM (no usable /dev/kvm here)"
		local l1rc again
		mv build/meson-logs/testlog.json build/meson-logs/testlog-host.json
		rm -f build/meson-logs/testlog-kvm-in-tcg.json
		local stage=(linux-boot-pvh linux-boot-bzimage linux-boot-helper-killed linux-boot-direct-acpi
			linux-boot-smp runner-direct-layout-boot runner-kvm demo)
		l1rc=$(kvm_in_tcg "${stage[@]}")
		# The TCG VM itself hung (silent for L1_SILENCE: its emulator or kernel stopped, about one
		# run in ten on 2026-12-06, docs/TESTING.md): once more, in a new VM.
		if [ "$l1rc" = 124 ]; then
			log "KVM inside a TCG VM: the VM hung; the stage once more in a new one"
			rm -f build/meson-logs/testlog.json
			l1rc=$(kvm_in_tcg "${stage[@]}")
		fi
		mv build/meson-logs/testlog.json build/meson-logs/testlog-kvm-in-tcg.json 2>/dev/null || true
		# The emulator under that KVM is not perfect (a guest kernel has triple-faulted there once
		# in some 25 boots): a test that failed runs once more, both runs are printed, and only
		# a test that fails twice fails the command. What passed on its second run is named.
		if [ "$l1rc" != 0 ] && [ "$l1rc" != 125 ] && [ "$l1rc" != 124 ] && [ -f build/meson-logs/testlog-kvm-in-tcg.json ]; then
			mapfile -t again < <(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["result"] not in ("OK", "SKIP", "EXPECTEDFAIL"): print(r["name"].split(" / ")[-1])' \
				build/meson-logs/testlog-kvm-in-tcg.json)
			if [ ${#again[@]} -gt 0 ]; then
				log "KVM inside a TCG VM: running again what failed: ${again[*]}"
				l1rc=$(kvm_in_tcg "${again[@]}")
				python3 -c 'import json,sys
first = [json.loads(l) for l in open(sys.argv[1])]
second = {r["name"]: r for r in map(json.loads, open(sys.argv[2]))}
with open(sys.argv[1], "w") as f:
    for r in first:
        f.write(json.dumps(second.get(r["name"], r)) + "\n")' \
					build/meson-logs/testlog-kvm-in-tcg.json build/meson-logs/testlog.json 2>/dev/null || l1rc=1
				rm -f build/meson-logs/testlog.json
				[ "$l1rc" = 0 ] && echo "setup.sh: passed on their second run under the emulator: ${again[*]}"
			fi
		fi
		mv build/meson-logs/testlog-host.json build/meson-logs/testlog.json
		case $l1rc in
		0) dirs+=(build/meson-logs/testlog-kvm-in-tcg.json) ;;
		125) echo "setup.sh: NOT RUN: this machine cannot host the TCG VM with KVM (see above); the KVM tests were skipped" ;;
		124) # The VM itself stopped answering twice (its emulator or its kernel hung): it says
		     # nothing about carapace, and nothing is counted. Printed so that nobody reads it as
		     # a pass.
		     echo "setup.sh: INCONCLUSIVE: the TCG VM hung twice (no status); its KVM tests are not counted" ;;
		*) dirs+=(build/meson-logs/testlog-kvm-in-tcg.json); rc=1 ;;
		esac
	fi

	log "build 2/3: AddressSanitizer + UndefinedBehaviorSanitizer (gcc)"
	configure build-san -Dtest_hooks=true -Db_sanitize=address,undefined -Db_lundef=false
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-san --print-errorlogs --num-processes 2 --no-suite bench || rc=1
	dirs+=(build-san)

	log "build 3/3: libFuzzer targets, each for a bounded time (clang)"
	CC=clang configure build-fuzz -Dtest_hooks=true -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz_seconds=10
	meson test -C build-fuzz --print-errorlogs --suite fuzz --num-processes 2 || rc=1
	dirs+=(build-fuzz)

	echo
	summary "${dirs[@]}"
	return $rc
}

case "$mode" in
deps)  install_deps; fetch_test_kernel ;;
build) install_deps; configure build ;;
test)  install_deps; fetch_test_kernel; run_tests ;;
demo)  install_deps; configure build; exec scripts/demo.sh "$@" ;;
*) echo "usage: scripts/setup.sh demo|test|deps|build" >&2; exit 2 ;;
esac
