#!/usr/bin/env bash
# The real test kernel (scripts/build-test-kernel.sh) booted by carapace on KVM with jailed devices.
# One case per run, so meson runs the cases in parallel; each is one boot (two for helper-killed)
# and checks everything that boot can honestly show. Times are reported, never asserted.
#   pvh            vmlinux through its PVH entry, 1 vCPU, --cpu host,-xsave,-smap,-popcnt: a
#                  read-only ext2 root on carapace-blk (mounted read-only; image untouched),
#                  virtio-rng initialising the kernel's RNG, the kernel log on hvc0 reaching
#                  carapace-console's file, /init reached, the panic's reset reported as status 0
#   bzimage        the LZ4 bzImage (Linux boot protocol), a writable ext2 root: mounted read-write,
#                  the kernel's superblock write reaches the image
#   helper-killed  the disk's helper killed while the kernel waits for its root (rootdelay):
#                  default policy stops the VM naming the device (status 1); with
#                  --on-device-failure continue the rng helper's death is reported and the kernel
#                  runs on to /init (status 0)
#   direct-acpi    KERNEL_DIR is the acpi+smp build: the bzImage through the firmware-less direct
#                  layout (--direct-layout, what SEV-SNP and TDX boot), 2 vCPUs (1 without
#                  svm/vmx, see smp): the kernel parses
#                  carapace's RSDP, XSDT, FACP, DSDT and MADT without an ACPI error, brings up both
#                  CPUs from the MADT, finds the virtio-mmio devices through the DSDT alone (no
#                  virtio_mmio.device= on its command line) and mounts its root from carapace-blk
#   smp            KERNEL_DIR is the acpi+smp build, booted the ordinary way with 2 vCPUs: the APs
#                  start through INIT/SIPI from the MP table. Needs hardware virtualization
#                  (svm/vmx in /proc/cpuinfo): the instruction emulator behind the development
#                  machines' /dev/kvm stalls at "x86: Booting SMP configuration" (docs/TESTING.md)
# usage: carapace_boot.sh CASE CARAPACE KERNEL_DIR   (CARAPACE_TEST_LINUX overrides KERNEL_DIR;
#        CARAPACE_TEST_LINUX_ACPI for direct-acpi and smp)
set -u
CASE=$1 C=$2 K=${CARAPACE_TEST_LINUX:-$3}
case $CASE in direct-acpi|smp) K=${CARAPACE_TEST_LINUX_ACPI:-$3} ;; esac
. "$(dirname "$0")/../integration/runner/lib.sh"
need_kvm
if ! [ -f "$K/vmlinux" ] || ! [ -f "$K/bzImage" ]; then
	echo "SKIP: no test kernel in $K: scripts/build-test-kernel.sh builds it (\"acpi smp\" for direct-acpi and smp; scripts/setup.sh test does)"
	exit 77
fi
command -v mkfs.ext2 >/dev/null || { echo "SKIP: mkfs.ext2 (e2fsprogs) is not installed"; exit 77; }

# What the nested KVM emulator of the test machines cannot execute is hidden through the CPU
# model; INT3 is handled by the kernel's test-only patch; user space (SYSCALL) is never reached:
# the kernel has no binfmt, fails to run /init and panics; panic=-1 resets at once.
CPU=host,-xsave,-smap,-popcnt
BASE="console=ttyS0 root=/dev/vda panic=-1 init=/init"
mkdir -p "$TMP/root/dev" "$TMP/root/etc"
echo "carapace test root" >"$TMP/root/etc/carapace-marker"
printf '#!/bin/sh\n' >"$TMP/root/init" && chmod 755 "$TMP/root/init"
mkfs.ext2 -q -F -L carapace-root -d "$TMP/root" "$TMP/root.img" 4M || { echo "mkfs.ext2 failed"; exit 1; }

ok() { echo "ok   $*"; passes=$((passes + 1)); }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
has() { # file 'fixed string or ERE' what
	if grep -qE -- "$2" "$1"; then ok "$3"
	else bad "$3: $(basename "$1") lacks '$2'"; tail -30 "$1" | sed 's/^/    | /'; fi
}
report_time() { # name t0 t1 log
	local at
	at=$(tr -d '\r' <"$4" | sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' | head -1)
	printf 'time %s: %.1f s wall clock for the whole run; kernel timestamp at "Run /init": %s s\n' \
		"$1" "$(echo "$3 - $2" | bc)" "${at:-(not reached)}"
}
run_vm() { # name expected-status carapace-args...: the ttyS0 log is $TMP/name.log
	local name=$1 want=$2 t0 t1 rc; shift 2
	t0=$(date +%s.%N)
	timeout 900 "$C" run --memory 256M --timeout 600 --console "file:$TMP/$name.log" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err"
	rc=$?
	t1=$(date +%s.%N)
	report_time "$name" "$t0" "$t1" "$TMP/$name.log"
	if [ "$rc" != "$want" ]; then
		bad "$name: carapace exited with status $rc, expected $want"
		sed 's/^/    err| /' "$TMP/$name.err" | head -20; tail -30 "$TMP/$name.log" | sed 's/^/    | /'
		return 1
	fi
	ok "$name: carapace exited with status $want"
}

case "$CASE" in
pvh)
	sum=$(sha256sum <"$TMP/root.img")
	if run_vm pvh 0 --kernel "$K/vmlinux" --cpu "$CPU" --cmdline "$BASE rw console=hvc0" \
		--device "blk,path=$TMP/root.img,readonly=on" --device rng --device "console,path=$TMP/hvc0.log"; then
		L=$TMP/pvh.log
		has "$L" 'virtio_blk virtio[0-9]+: \[vda\]' "carapace-blk's disk is vda"
		has "$L" 'VFS: Mounted root \(ext2 filesystem\) readonly on device 254:0' \
			"the ext2 root on a read-only device is mounted read-only"
		has "$L" 'random: crng init done' "the kernel's RNG is initialised (virtio-rng through carapace-rng)"
		has "$L" 'Run /init as init process' "the kernel reaches /init"
		has "$TMP/hvc0.log" 'Run /init as init process' "the kernel log on hvc0 reaches carapace-console's file"
		if [ "$(sha256sum <"$TMP/root.img")" = "$sum" ]; then ok "the read-only image is unchanged"
		else bad "the read-only image changed"; fi
	fi
	;;
bzimage)
	mc() { dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Mount count: *//p'; }
	before=$(mc "$TMP/root.img")
	if run_vm bzimage 0 --kernel "$K/bzImage" --cpu "$CPU" --cmdline "$BASE rw" \
		--device "blk,path=$TMP/root.img"; then
		L=$TMP/bzimage.log
		has "$L" 'virtio_blk virtio[0-9]+: \[vda\]' "carapace-blk's disk is vda"
		has "$L" 'VFS: Mounted root \(ext2 filesystem\) on device 254:0' "the ext2 root is mounted read-write"
		has "$L" 'Run /init as init process' "the kernel reaches /init"
		after=$(mc "$TMP/root.img")
		if [ -n "$before" ] && [ "$after" = $((before + 1)) ]; then
			ok "the kernel's superblock write reached the image (mount count $before -> $after)"
		else bad "mount count '$before' -> '$after': the kernel's write did not reach the image"; fi
	fi
	;;
helper-killed)
	descendants() { # PID: every process below PID
		local c
		for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do echo "$c"; descendants "$c"; done
	}
	# kill_helper_when NAME KIND NEEDLE: once NAME's kernel log shows NEEDLE, SIGKILL the
	# carapace-KIND process below the background job $bg. rootdelay keeps the kernel waiting there.
	kill_helper_when() {
		local log=$TMP/$1.log kind=$2 needle=$3 hp= p
		for _ in $(seq 9000); do
			grep -qE -- "$needle" "$log" 2>/dev/null && break
			kill -0 "$bg" 2>/dev/null || return 1
			sleep 0.1
		done
		for p in $(descendants "$bg"); do
			[ "$(cat /proc/"$p"/comm 2>/dev/null)" = "carapace-$kind" ] && hp=$p
		done
		[ -n "$hp" ] || { echo "no carapace-$kind process below $bg"; return 1; }
		echo "killing carapace-$kind (pid $hp) after the kernel printed '$needle'"
		kill -KILL "$hp"
	}
	args=(--kernel "$K/vmlinux" --cpu "$CPU" --cmdline "$BASE ro rootdelay=20"
	      --device "blk,path=$TMP/root.img,readonly=on" --device rng)
	run_vm killed-stop 1 "${args[@]}" >"$TMP/stop.txt" & bg=$!
	kill_helper_when killed-stop blk 'virtio_blk virtio[0-9]+: \[vda\]'
	wait "$bg"; rc=$?
	cat "$TMP/stop.txt"
	if grep -q '^ok ' "$TMP/stop.txt"; then
		passes=$((passes + 1))
		has "$TMP/killed-stop.err" 'device blk0: its helper killed by signal 9' \
			"default policy: the VM stops, naming the device and the signal"
	else fails=$((fails + 1)); fi

	run_vm killed-continue 0 "${args[@]}" --on-device-failure continue >"$TMP/cont.txt" & bg=$!
	kill_helper_when killed-continue rng 'virtio_blk virtio[0-9]+: \[vda\]'
	wait "$bg"; rc=$?
	cat "$TMP/cont.txt"
	if grep -q '^ok ' "$TMP/cont.txt"; then
		passes=$((passes + 1))
		has "$TMP/killed-continue.err" 'device rng[0-9]+ \(rng\) killed by signal 9 \(Killed\); it needs a reset, the VM goes on' \
			"--on-device-failure continue: the death is reported and the VM goes on"
		has "$TMP/killed-continue.log" 'Run /init as init process' "the kernel runs on to /init without its entropy device"
		echo "note: kernel lines about the devices after the kill:"
		grep -iE 'virtio|hwrng|random' "$TMP/killed-continue.log" | sed 's/^/    | /' | tail -8
	else fails=$((fails + 1)); fi
	;;
direct-acpi)
	# Two vCPUs where KVM has hardware virtualization; one on the emulator that stalls AP start.
	n=2
	grep -qwE 'svm|vmx' /proc/cpuinfo || { n=1; echo "note: no svm/vmx in /proc/cpuinfo: 1 vCPU (see the smp case)"; }
	if run_vm direct-acpi 0 --kernel "$K/bzImage" --direct-layout --vcpus $n --cpu "$CPU" --cmdline "$BASE ro" \
		--device "blk,path=$TMP/root.img,readonly=on" --device rng; then
		L=$TMP/direct-acpi.log
		for t in RSDP XSDT FACP DSDT APIC; do
			has "$L" "ACPI: $t 0x[0-9A-F]+ .*CRPACE" "the kernel found carapace's $t"
		done
		if grep -qE 'ACPI (BIOS )?Error|Unable to load the System Description Tables' "$L"; then
			bad "the kernel reported an ACPI error:"; grep -E 'ACPI.*(Error|Unable)' "$L" | sed 's/^/    | /'
		else ok "no ACPI error: the namespace (the DSDT) loaded"; fi
		has "$L" 'ACPI: Using ACPI \(MADT\) for SMP configuration information' "the CPUs come from the MADT"
		has "$L" "smp: Brought up 1 node, $n CPUs?" "every vCPU ($n) is up"
		if grep -q 'virtio_mmio.device=' "$L"; then bad "the command line names devices: the DSDT alone must"
		else ok "no virtio_mmio.device= on the command line"; fi
		has "$L" 'virtio_blk virtio[0-9]+: \[vda\]' "carapace-blk's disk, found through the DSDT, is vda"
		has "$L" 'VFS: Mounted root \(ext2 filesystem\) readonly on device 254:0' "the root is mounted from it"
		has "$L" 'random: crng init done' "carapace-rng, found through the DSDT, seeds the RNG"
		has "$L" 'Run /init as init process' "the kernel reaches /init"
	fi
	;;
smp)
	if ! grep -qwE 'svm|vmx' /proc/cpuinfo; then
		echo "SKIP: no svm/vmx in /proc/cpuinfo: this /dev/kvm is an instruction emulator, whose AP start stalls (docs/TESTING.md); scripts/kvm-in-tcg.sh runs this case"
		exit 77
	fi
	if run_vm smp 0 --kernel "$K/bzImage" --vcpus 2 --cpu "$CPU" --cmdline "$BASE ro" \
		--device "blk,path=$TMP/root.img,readonly=on"; then
		L=$TMP/smp.log
		has "$L" 'found SMP MP-table at' "the kernel reads carapace's MP table"
		has "$L" 'x86: Booting SMP configuration' "it starts the AP (INIT/SIPI)"
		has "$L" 'smp: Brought up 1 node, 2 CPUs' "both vCPUs are up"
		has "$L" 'Run /init as init process' "the kernel reaches /init"
	fi
	;;
*) echo "usage: carapace_boot.sh pvh|bzimage|helper-killed|direct-acpi|smp CARAPACE KERNEL_DIR"; exit 2 ;;
esac
finish
