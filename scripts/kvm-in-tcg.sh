#!/usr/bin/env bash
# Run carapace's KVM tests on a machine without a usable /dev/kvm, inside a small Linux VM that
# QEMU emulates in software (TCG). QEMU's TCG emulates AMD SVM (`-cpu max`), so Debian's own
# kvm_amd module loads in that VM and gives it a real /dev/kvm: carapace, its jailed helpers and
# its guests run there on the real kernel KVM code, only slower. Not part of CI (a machine with
# /dev/kvm runs the same tests directly); a developer's tool, see docs/TESTING.md.
#
#   scripts/kvm-in-tcg.sh BUILD_DIR [meson test arguments...]
#     e.g. scripts/kvm-in-tcg.sh build --suite kvm
#          scripts/kvm-in-tcg.sh build runner-direct-layout-boot -v
#   scripts/kvm-in-tcg.sh BUILD_DIR --exec SCRIPT [arguments...]
#     runs `bash SCRIPT arguments...` in the VM instead (from the source directory), for
#     investigations: strace, a single carapace run, QEMU with KVM.
#
# The VM sees this machine's root file system read-only (9p) and BUILD_DIR read-write at the
# same path, so the build's absolute paths hold. It gets its own /tmp, /run, /dev, a cgroup2
# mount, and /dev/kvm owned by group kvm (as udev would set it). Its kernel is Debian's
# linux-image-amd64 and its init is busybox-static's busybox: both downloaded once with
# `apt-get download` into .cache/l1/ and unpacked there, never installed.
#
# Environment: L1_MEM (MiB, default 6144), L1_SMP (default 1), L1_TCG (QEMU's TCG threading, multi
# or single; default multi), L1_TIMEOUT (seconds, default 7200), L1_SILENCE (seconds without a
# line from the VM after which it counts as hung and is stopped, default 300; 0: never). One CPU by default: with two,
# the VM locked up in 2 of 8 runs of the test command's KVM stage, with one in 2 of 13
# (docs/TESTING.md). A nested guest still gets its vCPUs (threads on that one CPU).
# Exit status: meson test's (or the --exec script's); 125 when this machine cannot do it (no QEMU,
# a download failed, kvm_amd did not load in the VM: nothing was tested); 124 when the VM never
# reported a status (it hung: silent for L1_SILENCE or past L1_TIMEOUT, or crashed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 1 ] || { sed -n '8,13p' "$0" >&2; exit 125; }
build=$(cd "$1" && pwd) || exit 125
shift
[ -f "$build/build.ninja" ] || { echo "kvm-in-tcg: $build is not a meson build directory" >&2; exit 125; }
command -v qemu-system-x86_64 >/dev/null || { echo "kvm-in-tcg: qemu-system-x86_64 is not installed" >&2; exit 125; }
cache=$here/.cache/l1
mkdir -p "$cache"

# Debian's kernel image package, unpacked into the cache (vmlinuz and the few modules needed).
if ! ls "$cache"/boot/vmlinuz-* >/dev/null 2>&1; then
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	[ -n "$pkg" ] || { echo "kvm-in-tcg: linux-image-amd64 not found in apt" >&2; exit 125; }
	echo "kvm-in-tcg: fetching $pkg (the VM's kernel; not installed)" >&2
	rm -rf "$cache/deb" && mkdir -p "$cache/deb"
	(cd "$cache/deb" && apt-get download "$pkg" >/dev/null 2>&1) || { echo "kvm-in-tcg: could not download $pkg" >&2; exit 125; }
	dpkg-deb -x "$cache"/deb/*.deb "$cache/x"
	mkdir -p "$cache/boot" "$cache/mods"
	kdir=$(ls -d "$cache"/x/lib/modules/*/kernel)
	for m in drivers/virtio/virtio drivers/virtio/virtio_ring drivers/virtio/virtio_pci_legacy_dev \
		drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci fs/netfs/netfs \
		fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p virt/lib/irqbypass \
		arch/x86/kvm/kvm drivers/crypto/ccp/ccp arch/x86/kvm/kvm-amd; do
		f=$(ls "$kdir/$m".ko* 2>/dev/null | head -1)
		[ -n "$f" ] || { echo "kvm-in-tcg: $pkg has no module $m" >&2; exit 125; }
		case $f in
		*.xz) xz -dc "$f" >"$cache/mods/$(basename "$m").ko" ;;
		*.zst) zstd -qdc "$f" >"$cache/mods/$(basename "$m").ko" ;;
		*) cp "$f" "$cache/mods/$(basename "$m").ko" ;;
		esac
	done
	cp "$cache"/x/boot/vmlinuz-* "$cache/boot/"
	rm -rf "$cache/x" "$cache/deb"
fi
kernel=$(ls "$cache"/boot/vmlinuz-* | head -1)
if ! [ -x "$cache/busybox" ]; then
	rm -rf "$cache/deb" && mkdir -p "$cache/deb"
	(cd "$cache/deb" && apt-get download busybox-static >/dev/null 2>&1) ||
		{ echo "kvm-in-tcg: could not download busybox-static" >&2; exit 125; }
	dpkg-deb -x "$cache"/deb/*.deb "$cache/x"
	cp "$cache/x/bin/busybox" "$cache/busybox"
	rm -rf "$cache/x" "$cache/deb"
fi
bb=$cache/busybox

# The initramfs: busybox, the modules, and an init that loads them (three passes, so a module
# whose dependency comes later in the list loads on the next; one already loaded just fails), mounts this machine's root and the build
# directory, and switches to that root (a chroot would forbid the helpers' user namespaces).
ir=$(mktemp -d)
trap 'rm -rf "$ir"' EXIT
mkdir -p "$ir"/bin "$ir"/mods "$ir"/proc "$ir"/sys "$ir"/dev "$ir"/mnt
cp "$bb" "$ir/bin/busybox"
cp "$cache"/mods/*.ko "$ir/mods/"
kvm_gid=$(getent group kvm | cut -d: -f3 || true)
# The VM gets fresh tmpfs on /tmp and /run, which hide this machine's: a checkout there (a CI
# clone in /tmp, say) is shared on its own and mounted over them, read-only like the root.
src_share=() src_mount=:
case "$here" in
/tmp | /tmp/* | /run | /run/*)
	src_share=(-virtfs "local,path=$here,mount_tag=src,security_model=none,readonly=on,multidevs=remap")
	src_mount="mkdir -p \"/mnt$here\"; mount -t 9p -o \$o src \"/mnt$here\" || { echo \"kvm-in-tcg: cannot mount the checkout\"; poweroff -f; }"
	;;
esac
cat >"$ir/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for pass in 1 2 3; do for m in virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \\
	fscache netfs 9pnet 9pnet_virtio 9p irqbypass kvm ccp kvm-amd; do insmod /mods/\$m.ko 2>/dev/null; done; done
[ -c /dev/kvm ] || echo "kvm-in-tcg: kvm_amd did not load: no /dev/kvm in the VM"
o=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o \$o hostroot /mnt || { echo "kvm-in-tcg: cannot mount the host root"; poweroff -f; }
mount -t proc proc /mnt/proc; mount -t sysfs sys /mnt/sys; mount -t devtmpfs dev /mnt/dev
mount -t cgroup2 cgroup2 /mnt/sys/fs/cgroup
mkdir -p /mnt/dev/pts /mnt/dev/shm; mount -t devpts devpts /mnt/dev/pts; mount -t tmpfs shm /mnt/dev/shm
mount -t tmpfs tmp /mnt/tmp; mount -t tmpfs run /mnt/run
$src_mount
mkdir -p "/mnt$build" 2>/dev/null; mount -t 9p -o \$o build "/mnt$build" || { echo "kvm-in-tcg: cannot mount the build directory"; poweroff -f; }
[ -n "$kvm_gid" ] && chgrp "$kvm_gid" /mnt/dev/kvm; chmod 0660 /mnt/dev/kvm 2>/dev/null
echo 1 >/proc/sys/kernel/sysrq
exec switch_root /mnt /bin/sh "$build/meson-logs/kvm-in-tcg.run"
EOF
chmod +x "$ir/init"
# What the VM runs, in the build directory (its /tmp is a fresh tmpfs); the status comes back there.
mkdir -p "$build/meson-logs"
rm -f "$build/meson-logs/kvm-in-tcg.rc"
{
	echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root'
	printf '[ -c /dev/kvm ] || { echo "kvm-in-tcg: no /dev/kvm in the VM (kvm_amd did not load)"; echo 125 > %q; sync; echo o > /proc/sysrq-trigger; sleep 60; }\n' \
		"$build/meson-logs/kvm-in-tcg.rc"
	printf 'cd %q || exit 1\n' "$here"
	if [ "${1:-}" = --exec ]; then
		shift
		[ $# -ge 1 ] || { echo "kvm-in-tcg: --exec needs a script" >&2; exit 125; }
		printf 'bash %q' "$(realpath "$1")"; shift
	else
		printf 'meson test -C %q' "$build"
	fi
	printf ' %q' "$@"
	echo
	printf 'echo $? > %q\n' "$build/meson-logs/kvm-in-tcg.rc"
	echo 'sync; echo o > /proc/sysrq-trigger; sleep 60'
} >"$build/meson-logs/kvm-in-tcg.run"
(cd "$ir" && find . | "$bb" cpio -o -H newc 2>/dev/null) | gzip -1 >"$cache/initramfs.gz"

# The VM's console, a line at a time (meson's progress line, redrawn with \r several times a
# second while a test runs, becomes lines): a VM that prints nothing for L1_SILENCE seconds has
# hung (its emulator or its kernel stopped; seen on 2026-12-06, docs/TESTING.md) and is stopped
# then, rather than at L1_TIMEOUT. L1_SILENCE=0: no such watch (an --exec script may be quiet).
silence=${L1_SILENCE:-300}
timeout "${L1_TIMEOUT:-7200}" qemu-system-x86_64 -accel "tcg,thread=${L1_TCG:-multi}" -cpu max \
	-smp "${L1_SMP:-1}" -m "${L1_MEM:-6144}" -nographic -no-reboot -monitor none \
	-kernel "$kernel" -initrd "$cache/initramfs.gz" -append "console=ttyS0 quiet panic=-1" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	"${src_share[@]}" \
	-virtfs "local,path=$build,mount_tag=build,security_model=none,multidevs=remap" \
	-pidfile "$ir/qemu.pid" </dev/null 2>&1 | stdbuf -oL tr '\r' '\n' | {
	while :; do
		if [ "$silence" = 0 ]; then
			IFS= read -r line && st=0 || st=$?
		else
			IFS= read -r -t "$silence" line && st=0 || st=$?
		fi
		if [ "$st" -gt 128 ]; then
			echo "kvm-in-tcg: the VM printed nothing for $silence s: it hung; stopping it" >&2
			kill "$(cat "$ir/qemu.pid" 2>/dev/null)" 2>/dev/null || true
			cat >/dev/null
			break
		fi
		[ "$st" = 0 ] || { [ -n "$line" ] && printf '%s\n' "$line"; break; } # the end of the output
		printf '%s\n' "$line"
	done
} || true
rc=$(cat "$build/meson-logs/kvm-in-tcg.rc" 2>/dev/null || echo 124)
echo "kvm-in-tcg: the command in the VM exited with status $rc"
exit "$rc"
