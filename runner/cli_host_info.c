/* carapace host-info [--json]: what this host offers, and for each missing piece, why. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "common/cli.h"
#include "runner/cli.h"
#include "runner/host_info.h"

static void verdict_json(json_object *o, const char *key, const struct host_verdict *v)
{
	json_object *e = json_object_new_object();
	json_object_object_add(e, "available", json_object_new_boolean(v->available));
	json_object_object_add(e, "reason", json_object_new_string(v->reason));
	json_object_object_add(o, key, e);
}

int runner_cli_host_info(int argc, char **argv)
{
	struct host_facts f;
	struct host_assessment a;
	int json = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: carapace host-info [--json]\n\nReport what this host offers for plain and "
			       "confidential (SEV, SEV-ES, SEV-SNP, TDX) VMs, and why anything is missing.\n");
			return CP_EXIT_OK;
		} else {
			fprintf(stderr, "carapace host-info: unknown option '%s'\n", argv[i]);
			return CP_EXIT_USAGE;
		}
	}
	host_info_probe(&kvm_ops_sys, NULL, &f);
	host_info_assess(&f, &a);
	if (json) {
		json_object *o = json_object_new_object(), *k = json_object_new_object();
		json_object_object_add(k, "api_version", json_object_new_int(f.api_version));
		json_object_object_add(k, "vm_types", json_object_new_int64((int64_t)f.vm_types));
		json_object_object_add(k, "guest_memfd", json_object_new_int(f.cap_guest_memfd));
		json_object_object_add(k, "user_memory2", json_object_new_int(f.cap_user_memory2));
		json_object_object_add(k, "memory_attributes", json_object_new_int(f.cap_memory_attributes));
		json_object_object_add(k, "memory_fault_info", json_object_new_int(f.cap_memory_fault_info));
		json_object_object_add(k, "max_vcpus", json_object_new_int(f.max_vcpus));
		json_object_object_add(o, "kvm", k);
		json_object_object_add(o, "cpu_vendor", json_object_new_string(f.vendor));
		json_object_object_add(k, "sev_snp_req_certs", json_object_new_int(f.snp_req_certs));
		if (a.tdx.available) {
			/* What the VMM may set in a TD's CPUID; any bit outside these masks the TDX module fixes. */
			json_object *t = json_object_new_object(), *arr = json_object_new_array();
			char hex[24];
			snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)f.tdx_attrs);
			json_object_object_add(t, "supported_attributes", json_object_new_string(hex));
			snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)f.tdx_xfam);
			json_object_object_add(t, "supported_xfam", json_object_new_string(hex));
			for (unsigned i = 0; i < f.tdx_cpuid_n && i < HOST_TDX_CPUID; i++) {
				json_object *e = json_object_new_object();
				const uint32_t v[] = { f.tdx_cpuid[i].function, f.tdx_cpuid[i].index, f.tdx_cpuid[i].eax,
						       f.tdx_cpuid[i].ebx, f.tdx_cpuid[i].ecx, f.tdx_cpuid[i].edx };
				const char *names[] = { "leaf", "subleaf", "eax", "ebx", "ecx", "edx" };
				for (int j = 0; j < 6; j++) {
					snprintf(hex, sizeof(hex), "0x%08x", v[j]);
					json_object_object_add(e, names[j], json_object_new_string(hex));
				}
				json_object_array_add(arr, e);
			}
			json_object_object_add(t, "configurable_cpuid", arr);
			json_object_object_add(t, "configurable_cpuid_leaves", json_object_new_int((int)f.tdx_cpuid_n));
			json_object_object_add(o, "tdx_capabilities", t);
		}
		verdict_json(o, "plain", &a.plain);
		verdict_json(o, "guest_memfd", &a.guest_memfd);
		verdict_json(o, "sev", &a.sev);
		verdict_json(o, "sev_es", &a.sev_es);
		verdict_json(o, "sev_snp", &a.snp);
		verdict_json(o, "tdx", &a.tdx);
		verdict_json(o, "sev_snp_certs", &a.snp_certs);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		const struct host_verdict *v[] = { &a.plain, &a.guest_memfd, &a.sev, &a.sev_es, &a.snp, &a.snp_certs, &a.tdx };
		printf("CPU: %s; KVM_CAP_VM_TYPES = 0x%llx\n", f.vendor, (unsigned long long)f.vm_types);
		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			printf("[%s] %s\n", v[i]->available ? "yes" : " no", v[i]->reason);
	}
	return a.plain.available ? CP_EXIT_OK : CP_EXIT_FAILURE;
}
