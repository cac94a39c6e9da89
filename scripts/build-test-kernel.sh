#!/usr/bin/env bash
# Builds carapace's test kernel: Debian's linux-source-6.1, `make tinyconfig` plus the fragments in
# tests/linux/kernel/ (base.config and any optional ones named on the command line), with the
# documented test-only patches in tests/linux/kernel/patches/. The result (vmlinux, bzImage,
# .config) is cached under .cache/test-kernel/ by a hash of every input, so a second run is free.
#
#   scripts/build-test-kernel.sh [FRAGMENT...]   e.g. `scripts/build-test-kernel.sh acpi smp`
#
# Prints the output directory on its last stdout line; .cache/test-kernel/NAME links to it, where
# NAME is "base" or "base+acpi+smp" (fragments in the order given). Fails loudly (non-zero) when
# the source package is missing, a patch does not apply, or a fragment line does not survive
# Kconfig: the tests must never run a kernel that is not the one described here.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kdir=$here/tests/linux/kernel
src=${CARAPACE_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
cache=$here/.cache/test-kernel

die() { echo "build-test-kernel: $*" >&2; exit 1; }

[ -r "$src" ] || die "$src not found: install Debian's linux-source-6.1 (scripts/packages.txt) or set CARAPACE_LINUX_SOURCE"
for t in make gcc flex bison bc patch xz lz4 sha256sum flock; do
	command -v "$t" >/dev/null || die "'$t' is missing (scripts/packages.txt lists the build tools)"
done

frags=("$kdir/base.config") name=base
for f in "$@"; do
	[ -r "$kdir/$f.config" ] || die "no fragment tests/linux/kernel/$f.config (have: $(cd "$kdir" && ls *.config | tr '\n' ' '))"
	frags+=("$kdir/$f.config"); name+="+$f"
done
patches=("$kdir"/patches/*.patch)

# Every input that changes the result: the source tarball, fragments, patches, this script, the compiler.
hash=$( { sha256sum "$src" | cut -d' ' -f1
	  sha256sum "${frags[@]}" "${patches[@]}" "${BASH_SOURCE[0]}" | cut -d' ' -f1
	  gcc --version | head -1; } | sha256sum | cut -c1-16)
out=$cache/$name-$hash

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9 # one build at a time; a second caller waits and then finds the cached result

if [ ! -f "$out/done" ]; then
	echo "build-test-kernel: building $name ($hash) from $src; log in $out/build.log" >&2
	rm -rf "$out" "$cache/tree"
	mkdir -p "$out" "$cache/tree"
	log=$out/build.log
	t0=$(date +%s)
	tree=$cache/tree/linux
	mkdir -p "$tree"
	tar -xJf "$src" -C "$tree" --strip-components=1 \
		|| die "could not unpack $src"
	for p in "${patches[@]}"; do
		patch -d "$tree" -p1 --forward --quiet <"$p" >>"$log" 2>&1 || die "patch $(basename "$p") does not apply (see $log)"
	done
	# Reproducible: no host name, user or date in the image.
	mk=(make -C "$tree" -j"$(nproc)" KBUILD_BUILD_TIMESTAMP='1970-01-01' KBUILD_BUILD_USER=carapace
	    KBUILD_BUILD_HOST=carapace)
	"${mk[@]}" tinyconfig >>"$log" 2>&1 || die "make tinyconfig failed (see $log)"
	(cd "$tree" && scripts/kconfig/merge_config.sh -m .config "${frags[@]}") >>"$log" 2>&1 \
		|| die "merging the fragments failed (see $log)"
	"${mk[@]}" olddefconfig >>"$log" 2>&1 || die "make olddefconfig failed (see $log)"
	# Kconfig silently drops a symbol whose dependencies are unmet: refuse that.
	missing=$(grep -h '^CONFIG_' "${frags[@]}" | while read -r line; do
		grep -qx -- "$line" "$tree/.config" || echo "$line"; done)
	[ -z "$missing" ] || die "these fragment lines did not survive Kconfig: $(echo $missing)"
	"${mk[@]}" vmlinux bzImage >>"$log" 2>&1 || { tail -30 "$log" >&2; die "kernel build failed (see $log)"; }
	cp "$tree/vmlinux" "$tree/arch/x86/boot/bzImage" "$out/"
	cp "$tree/.config" "$out/config"
	rm -rf "$cache/tree"
	echo "$(( $(date +%s) - t0 ))" >"$out/build-seconds"
	touch "$out/done"
	echo "build-test-kernel: built in $(cat "$out/build-seconds")s: $(stat -c %s "$out/vmlinux") bytes vmlinux, $(stat -c %s "$out/bzImage") bytes bzImage" >&2
fi
ln -sfn "$(basename "$out")" "$cache/$name"
for old in "$cache/$name"-*; do # earlier builds of this configuration
	[ "$old" = "$out" ] || rm -rf "$old"
done
echo "$out"
