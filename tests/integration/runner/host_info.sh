#!/usr/bin/env bash
# carapace host-info on this real host: its facts agree with the kernel's own, and every
# unavailable feature comes with a reason.
. "$(dirname "$0")/lib.sh"
C=$1
need_kvm
check text 0 "KVM: API 12" -- "$C" host-info
check bad-option 2 "unknown option '--bogus'" -- "$C" host-info --bogus
json=$("$C" host-info --json)
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$json"; }
[ "$(jget 'd["kvm"]["api_version"]')" = 12 ]; r=$?
[ $r = 0 ] && { echo "ok   json api_version 12"; passes=$((passes+1)); } || { echo "FAIL api_version"; fails=$((fails+1)); }
# SNP is available exactly when KVM lists VM type 4 (and guest_memfd); TDX when it lists type 5.
types=$(jget 'd["kvm"]["vm_types"]')
snp=$(jget 'd["sev_snp"]["available"]'); tdx=$(jget 'd["tdx"]["available"]')
if { [ $((types & 16)) -ne 0 ] || [ "$snp" = False ]; } && { [ $((types & 32)) -ne 0 ] || [ "$tdx" = False ]; }; then
	echo "ok   verdicts follow KVM_CAP_VM_TYPES = $types"; passes=$((passes+1))
else echo "FAIL vm_types $types but snp=$snp tdx=$tdx"; fails=$((fails+1)); fi
for k in sev sev_es sev_snp tdx; do
	if [ "$(jget "d['$k']['available']")" = False ] && [ -z "$(jget "d['$k']['reason']")" ]; then
		echo "FAIL $k unavailable without a reason"; fails=$((fails+1))
	else echo "ok   $k: $(jget "d['$k']['reason']")"; passes=$((passes+1)); fi
done
# The module parameter, when the kernel exposes it, is what carapace read.
if [ -r /sys/module/kvm_amd/parameters/sev_snp ] && [ "$(cat /sys/module/kvm_amd/parameters/sev_snp)" = N ]; then
	[ "$snp" = False ] && { echo "ok   kvm_amd.sev_snp=N agrees"; passes=$((passes+1)); } || { echo "FAIL sev_snp=N but available"; fails=$((fails+1)); }
fi
finish
