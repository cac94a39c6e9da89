#!/bin/bash
# SELinux module tests (docs/mac.md, "Analysis"). Modes:
#   build      the module builds with selinux-policy-dev's Makefile (scratch copy of selinux/)
#   analysis   link it with refpolicy's base.pp (selinux-policy-default), expand to a kernel
#              policy, then: libsepol access decisions (check-access) + setools queries
#   mutations  each known-bad change to the module must make the analysis fail (the tests
#              can fail, and fail for the rule they guard)
# Usage: selinux_module.sh MODE SELINUX_SRC_DIR SCRATCH_DIR CHECK_ACCESS_BINARY
set -uo pipefail

mode=$1 src=$2 scratch=$3 checker=$4
analyser=$(dirname "$0")/analyse.py
devel=/usr/share/selinux/devel/Makefile
base=${CARAPACE_SELINUX_BASE:-/usr/share/selinux/default/base.pp.bz2}  # refpolicy base (selinux-policy-default)
helpers="blk rng console net vsock"

skip() { echo "SKIP: $*"; exit 77; }

[ -f "$devel" ] || skip "selinux-policy-dev is not installed ($devel missing)"
for tool in make m4 checkmodule semodule_package; do
	command -v $tool >/dev/null || skip "$tool not found"
done

# build_module DIR [MUTATION-SCRIPT]: copy the sources, apply a mutation, build carapace.pp.
build_module() {
	local dir=$1 mutate=${2:-}
	rm -rf "$dir" && mkdir -p "$dir" || return 1
	cp "$src"/carapace.te "$src"/carapace.if "$src"/carapace.fc "$dir"/ || return 1
	if [ -n "$mutate" ]; then (cd "$dir" && eval "$mutate") || return 1; fi
	if ! (cd "$dir" && make -f "$devel" carapace.pp) >"$dir/make.log" 2>&1; then
		cat "$dir/make.log"
		return 1
	fi
	# m4 complains on stderr about bad quoting without failing the build: treat it as failure.
	if grep -q '^m4:' "$dir/make.log"; then
		cat "$dir/make.log"
		return 1
	fi
	[ -s "$dir/carapace.pp" ]
}

# link_policy DIR: refpolicy base + carapace -> DIR/policy.bin (a kernel policy).
link_policy() {
	local dir=$1
	[ -s "$scratch.base.pp" ] || bzcat "$base" >"$scratch.base.pp" || return 1
	semodule_link -o "$dir/linked.pp" "$scratch.base.pp" "$dir/carapace.pp" >"$dir/link.log" 2>&1 &&
		semodule_expand "$dir/linked.pp" "$dir/policy.bin" >>"$dir/link.log" 2>&1 ||
		{ cat "$dir/link.log"; return 1; }
}

# analyse DIR: libsepol access decisions, then policy-wide setools queries. Non-zero on failure.
analyse() {
	local dir=$1 rc=0
	"$checker" "$dir/policy.bin" >"$dir/check-access.log" 2>&1 || rc=1
	grep -E '^FAIL' "$dir/check-access.log"
	tail -1 "$dir/check-access.log"
	/usr/bin/python3 "$analyser" "$dir/policy.bin" || rc=1
	return $rc
}

case $mode in
build)
	build_module "$scratch" || { echo "FAIL: the module does not build with $devel"; exit 1; }
	echo "ok: carapace.pp built ($(stat -c %s "$scratch/carapace.pp") bytes)"
	# The interfaces in carapace.if are compiled only when used: use each from a test module.
	cat >"$scratch/carapace_iftest.te" <<-'EOF'
	policy_module(carapace_iftest, 1.0)
	gen_require(`
		type sysadm_t, tmp_t;
		role sysadm_r;
	')
	carapace_run(sysadm_t, sysadm_r)
	carapace_domtrans(sysadm_t)
	carapace_manage_images(sysadm_t)
	carapace_vsock_peer(sysadm_t)
	carapace_vsock_uds_dir(tmp_t)
	EOF
	if ! (cd "$scratch" && make -f "$devel" carapace_iftest.pp) >"$scratch/iftest.log" 2>&1 ||
		grep -q '^m4:' "$scratch/iftest.log"; then
		cat "$scratch/iftest.log"
		echo "FAIL: a module using carapace_run/carapace_domtrans/carapace_manage_images/carapace_vsock_* does not build"
		exit 1
	fi
	echo "ok: the interfaces of carapace.if build when used"
	;;
analysis | mutations)
	[ -f "$base" ] || skip "selinux-policy-default is not installed ($base missing): no refpolicy base to link against"
	for tool in semodule_link semodule_expand bzcat; do
		command -v $tool >/dev/null || skip "$tool not found (semodule-utils)"
	done
	/usr/bin/python3 -c 'import setools' 2>/dev/null || skip "python3-setools (package setools) not importable"
	;;&
analysis)
	build_module "$scratch" || { echo "FAIL: module build"; exit 1; }
	link_policy "$scratch" || { echo "FAIL: linking with the refpolicy base"; exit 1; }
	if analyse "$scratch"; then echo "ok: analysis passed"; exit 0; fi
	echo "FAIL: analysis"
	exit 1
	;;
mutations)
	# name | shell run in the scratch copy to break one rule. Each must be caught.
	mutations=(
		"blk opens /dev/kvm|echo 'dev_rw_kvm(carapace_blk_t)' >> carapace.te"
		"helpers not MCS-constrained|sed -i '/mcs_constrained(carapace_\$1_t)/d' carapace.if"
		"rng executes programs|echo 'corecmd_exec_bin(carapace_rng_t)' >> carapace.te"
		"console reaches the network|printf 'allow carapace_console_t self:tcp_socket create_socket_perms;\ncorenet_tcp_connect_all_ports(carapace_console_t)\n' >> carapace.te"
		"blk uses TAP|echo 'corenet_rw_tun_tap_dev(carapace_blk_t)' >> carapace.te"
		"vsock reaches the network|echo 'allow carapace_vsock_t self:udp_socket create_socket_perms;' >> carapace.te"
		"blk writes shared images|echo 'allow carapace_blk_t carapace_image_ro_t:file write;' >> carapace.te"
		"runner cannot open /dev/kvm|sed -i '/^dev_rw_kvm(carapace_t)/d' carapace.te"
		"runner cannot start blk|sed -i '/domtrans_pattern(carapace_t, carapace_\$1_exec_t/d' carapace.if"
		"runner reads home directories|printf 'gen_require(\`type user_home_t;'\"'\"')\nallow carapace_t user_home_t:file { open read };\n' >> carapace.te"
		"runner opens TCP sockets|echo 'allow carapace_t self:tcp_socket create_socket_perms;' >> carapace.te"
		"init enters a helper|printf 'gen_require(\`type initrc_t;'\"'\"')\ndomtrans_pattern(initrc_t, carapace_net_exec_t, carapace_net_t)\n' >> carapace.te"
	)
	bad=0
	for m in "${mutations[@]}"; do
		name=${m%%|*} script=${m#*|}
		dir="$scratch/m"
		if ! build_module "$dir" "$script" >"$scratch.buildlog" 2>&1; then
			cat "$scratch.buildlog"
			echo "FAIL: mutation '$name' does not build (the mutation itself is broken)"
			bad=$((bad + 1))
			continue
		fi
		link_policy "$dir" >/dev/null || { echo "FAIL: mutation '$name' does not link"; bad=$((bad + 1)); continue; }
		# The access checker is quick and catches most; setools only when it passes.
		if "$checker" "$dir/policy.bin" >"$scratch.log" 2>&1 &&
			/usr/bin/python3 "$analyser" "$dir/policy.bin" >>"$scratch.log" 2>&1; then
			echo "FAIL: mutation '$name' passed the analysis: a broken rule went unnoticed"
			bad=$((bad + 1))
		else
			echo "ok: mutation '$name' caught: $(grep -m1 -E '^FAIL' "$scratch.log" | cut -c1-220)"
		fi
	done
	exit $((bad > 0))
	;;
*)
	echo "unknown mode $mode" >&2
	exit 2
	;;
esac
