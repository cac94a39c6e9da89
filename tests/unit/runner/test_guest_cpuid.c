/* The --cpu model: the parser's errors, and what each model does to a supported CPUID table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/guest_cpuid.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* A plausible host: everything up to AVX-512 and PKU, XSAVE components x87 SSE AVX AVX-512 PKRU. */
static void host_table(struct cpuid_table *t)
{
	static const struct kvm_cpuid_entry2 e[] = {
		{ .function = 0, .eax = 0xd, .ebx = 0x68747541 },
		{ .function = 1, .eax = 0xa00f11, .ecx = 0xfef83203u | 1u << 17 | 1u << 23 | 1u << 26 | 1u << 28 | 1u << 2,
		  .edx = 0x178bfbffu },
		{ .function = 7, .index = 0, .flags = SIG, .ebx = 0xf1bf07abu, .ecx = 0x0040574eu, .edx = 0xac000410u },
		{ .function = 0xd, .index = 0, .flags = SIG, .eax = 0x2e7, .ebx = 0x340, .ecx = 0xa88 },
		{ .function = 0xd, .index = 1, .flags = SIG, .eax = 0xf, .ecx = 0x1800 },
		{ .function = 0xd, .index = 2, .flags = SIG, .eax = 0x100, .ebx = 0x240 },
		{ .function = 0xd, .index = 5, .flags = SIG, .eax = 0x40, .ebx = 0x340 },
		{ .function = 0xd, .index = 9, .flags = SIG, .eax = 0x8, .ebx = 0xa80 },
		{ .function = 0xd, .index = 11, .flags = SIG, .eax = 0x10, .ecx = 1 },
		{ .function = 0x80000001, .ecx = 0x75c237ffu, .edx = 0x2fd3fbffu },
	};
	memset(t, 0, sizeof(*t));
	memcpy(t->e, e, sizeof(e));
	t->nent = sizeof(e) / sizeof(e[0]);
}

static const struct kvm_cpuid_entry2 *find(const struct cpuid_table *t, uint32_t f, uint32_t i)
{
	for (unsigned k = 0; k < t->nent; k++)
		if (t->e[k].function == f && (!(t->e[k].flags & SIG) || t->e[k].index == i))
			return &t->e[k];
	fail_msg("leaf 0x%x.%u missing", f, i);
	return NULL;
}

static int build(const char *spec, struct cpuid_table *out, struct cp_err *err)
{
	struct guest_cpu_model m;
	struct cpuid_table sup;
	int r = guest_cpu_parse(spec, &m, err);
	if (r < 0)
		return r;
	host_table(&sup);
	return guest_cpuid_build(&m, &sup, 0, 1, out, err);
}

static void test_parse_errors(void **state)
{
	struct guest_cpu_model m;
	struct cp_err err = { 0 };
	static const struct {
		const char *spec, *needle;
	} bad[] = {
		{ "pentium", "unknown model 'pentium'" },
		{ "host,xsave", "'xsave' is not a feature edit" },
		{ "host,-", "'-' is not a feature edit" },
		{ "host,", "'' is not a feature edit" },
		{ "host,,-xsave", "'' is not a feature edit" },
		{ "host,-nosuch", "unknown feature 'nosuch'" },
		{ "host,-xsave,+xsave", "feature 'xsave' is edited twice" },
		{ "host,-XSAVE", "unknown feature 'XSAVE'" },
		{ ",-xsave", "unknown model ''" },
		{ "host ,-xsave", "unknown model 'host '" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cp_err_clear(&err);
		assert_int_equal(guest_cpu_parse(bad[i].spec, &m, &err), -EINVAL);
		if (!strstr(err.msg, bad[i].needle))
			fail_msg("%s: '%s' lacks '%s'", bad[i].spec, err.msg, bad[i].needle);
	}
	/* The list of known names comes with an unknown one. */
	cp_err_clear(&err);
	guest_cpu_parse("host,+avx9", &m, &err);
	assert_non_null(strstr(err.msg, "popcnt"));
	char big[GUEST_CPU_SPEC_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	cp_err_clear(&err);
	assert_int_equal(guest_cpu_parse(big, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "longer than"));
}

static void test_host_is_the_filtered_supported_table(void **state)
{
	struct cpuid_table a, b, sup;
	struct cp_err err = { 0 };
	(void)state;
	assert_int_equal(build(NULL, &a, &err), 0);
	assert_int_equal(build("host", &b, &err), 0);
	host_table(&sup);
	cpuid_filter(&sup, 0, 1);
	assert_memory_equal(&a, &sup, sizeof(sup));
	assert_memory_equal(&b, &sup, sizeof(sup));
}

/* The tests' model: the nested emulator cannot run XSAVE, CLAC/STAC or POPCNT. */
static void test_host_minus_xsave_smap_popcnt(void **state)
{
	struct cpuid_table t;
	struct cp_err err = { 0 };
	(void)state;
	assert_int_equal(build("host,-xsave,-smap,-popcnt", &t, &err), 0);
	assert_false(guest_cpuid_has(&t, "xsave"));
	assert_false(guest_cpuid_has(&t, "smap"));
	assert_false(guest_cpuid_has(&t, "popcnt"));
	/* everything that needs XSAVE went with it */
	for (const char *const *n = (const char *const[]){ "avx", "avx2", "fma", "f16c", "avx512f", "avx512vl",
							    "xsaveopt", "xsaves", "pku", "vaes", NULL }; *n; n++)
		if (guest_cpuid_has(&t, *n))
			fail_msg("%s survived -xsave", *n);
	/* and nothing else did */
	for (const char *const *n = (const char *const[]){ "pni", "sse4_2", "smep", "bmi2", "rdrand", "x2apic",
							    "rdtscp", "lahf_lm", "aes", NULL }; *n; n++)
		if (!guest_cpuid_has(&t, *n))
			fail_msg("%s removed by -xsave,-smap,-popcnt", *n);
	for (uint32_t i = 0; i < 12; i++) {
		for (unsigned k = 0; k < t.nent; k++)
			if (t.e[k].function == 0xd && t.e[k].index == i)
				assert_true((t.e[k].eax | t.e[k].ebx | t.e[k].ecx | t.e[k].edx) == 0);
	}
	assert_true(find(&t, 1, 0)->ecx >> 31 & 1); /* still a hypervisor guest */
}

static void test_minus_avx_trims_xsave_components(void **state)
{
	struct cpuid_table t;
	struct cp_err err = { 0 };
	(void)state;
	assert_int_equal(build("host,-avx", &t, &err), 0);
	assert_true(guest_cpuid_has(&t, "xsave"));
	assert_false(guest_cpuid_has(&t, "avx2"));
	assert_false(guest_cpuid_has(&t, "avx512f"));
	assert_int_equal(find(&t, 0xd, 0)->eax, 0x203); /* x87 SSE PKRU: no YMM, no AVX-512 state */
	assert_int_equal(find(&t, 0xd, 2)->eax, 0);
	assert_int_equal(find(&t, 0xd, 5)->eax, 0);
	assert_int_equal(find(&t, 0xd, 9)->eax, 0x8);   /* PKRU kept */
	assert_int_equal(find(&t, 0xd, 1)->ecx, 0x1800); /* XSAVES kept: its supervisor states too */
}

static void test_plus_needs_prerequisite(void **state)
{
	struct cpuid_table t;
	struct cp_err err = { 0 };
	(void)state;
	assert_int_equal(build("host,-xsave,+avx", &t, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "+avx needs xsave"));
	cp_err_clear(&err);
	assert_int_equal(build("x86-64-v2,+avx2", &t, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "+avx2 needs avx"));
}

static void test_unsupported_feature_refused(void **state)
{
	struct cpuid_table sup, t;
	struct guest_cpu_model m;
	struct cp_err err = { 0 };
	(void)state;
	host_table(&sup);
	sup.e[2].ebx &= ~(1u << 20); /* a host without SMAP */
	assert_int_equal(guest_cpu_parse("host,+smap", &m, &err), 0);
	assert_int_equal(guest_cpuid_build(&m, &sup, 0, 1, &t, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "+smap: this host's KVM does not offer it"));
	/* A named model names itself when the host lacks one of its features. */
	host_table(&sup);
	sup.e[1].ecx &= ~(1u << 23); /* no POPCNT */
	cp_err_clear(&err);
	assert_int_equal(guest_cpu_parse("x86-64-v2", &m, &err), 0);
	assert_int_equal(guest_cpuid_build(&m, &sup, 0, 1, &t, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "popcnt: this host's KVM does not offer it"));
	assert_non_null(strstr(err.msg, "x86-64-v2"));
	/* ... unless the edit removes it */
	cp_err_clear(&err);
	assert_int_equal(guest_cpu_parse("x86-64-v2,-popcnt", &m, &err), 0);
	assert_int_equal(guest_cpuid_build(&m, &sup, 0, 1, &t, &err), 0);
}

static void test_named_models_are_exact(void **state)
{
	struct cpuid_table t;
	struct cp_err err = { 0 };
	(void)state;
	assert_int_equal(build("x86-64-v1", &t, &err), 0);
	assert_int_equal(find(&t, 1, 0)->ecx, (1u << 31) | (1u << 21)); /* hypervisor, x2apic */
	assert_int_equal(find(&t, 1, 0)->edx, 0x078bfbffu);
	assert_int_equal(find(&t, 7, 0)->ebx, 0);
	assert_int_equal(find(&t, 7, 0)->ecx, 0);
	assert_int_equal(find(&t, 7, 0)->edx, 0xac000410u); /* speculation control: the host's */
	assert_int_equal(find(&t, 0x80000001, 0)->ecx, 0);
	assert_int_equal(find(&t, 0x80000001, 0)->edx, 0x2193fbffu & 0x2fd3fbffu);
	assert_int_equal(find(&t, 0xd, 0)->eax, 0);

	assert_int_equal(build("x86-64-v3", &t, &err), 0);
	assert_true(guest_cpuid_has(&t, "avx2"));
	assert_true(guest_cpuid_has(&t, "movbe"));
	assert_false(guest_cpuid_has(&t, "avx512f"));
	assert_false(guest_cpuid_has(&t, "smap"));
	assert_false(guest_cpuid_has(&t, "xsaveopt"));
	assert_int_equal(find(&t, 0xd, 0)->eax, 0x7);    /* x87 SSE YMM */
	assert_int_equal(find(&t, 0xd, 9)->eax, 0);      /* no PKRU state without pku */
	assert_int_equal(find(&t, 0xd, 11)->eax, 0);     /* nor a component the model does not know */
	assert_int_equal(find(&t, 0xd, 1)->ecx, 0);

	assert_int_equal(build("x86-64-v4,+pku,-avx512vl", &t, &err), 0);
	assert_true(guest_cpuid_has(&t, "avx512bw"));
	assert_false(guest_cpuid_has(&t, "avx512vl"));
	assert_true(guest_cpuid_has(&t, "pku"));
	assert_int_equal(find(&t, 0xd, 0)->eax, 0x2e7);
}

static void test_filter_still_applies(void **state)
{
	struct cpuid_table sup, t;
	struct guest_cpu_model m;
	struct cp_err err = { 0 };
	(void)state;
	host_table(&sup);
	assert_int_equal(guest_cpu_parse("host,-popcnt", &m, &err), 0);
	assert_int_equal(guest_cpuid_build(&m, &sup, 3, 4, &t, &err), 0);
	assert_int_equal(find(&t, 1, 0)->ebx >> 24, 3);
	assert_false(find(&t, 0x80000001, 0)->ecx >> 2 & 1); /* SVM */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_host_is_the_filtered_supported_table),
		cmocka_unit_test(test_host_minus_xsave_smap_popcnt),
		cmocka_unit_test(test_minus_avx_trims_xsave_components),
		cmocka_unit_test(test_plus_needs_prerequisite),
		cmocka_unit_test(test_unsupported_feature_refused),
		cmocka_unit_test(test_named_models_are_exact),
		cmocka_unit_test(test_filter_still_applies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
