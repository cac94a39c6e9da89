/* The management API's request core, request by request as Firecracker's API document states
 * them: status codes, fault messages naming the field, pre-/post-boot rules, nothing half-applied,
 * and the mapping onto carapace's run options. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "runner/api/api_core.h"
#include "runner/config.h"

static struct api_state S;
#define START "{\"action_type\": \"InstanceStart\"}"

static int setup(void **state)
{
	api_state_init(&S, "vm0", "0.1.0");
	return 0;
}

static int teardown(void **state)
{
	api_state_free(&S);
	return 0;
}

/* One request; the shell's action (if any) succeeds. Returns the status; *fault gets the body. */
static int req(const char *method, const char *path, const char *body, char **reply)
{
	struct api_txn t;
	int st;

	api_request(&S, method, path, body, body ? strlen(body) : 0, &t);
	if (t.status != 400 && t.action != API_ACT_NONE)
		api_txn_finish(&S, &t, NULL);
	st = t.status;
	if (reply)
		*reply = t.body ? strdup(t.body) : NULL;
	api_txn_free(&t);
	return st;
}

static void expect_fault(const char *method, const char *path, const char *body, const char *needle)
{
	char *b = NULL;
	int st = req(method, path, body, &b);
	if (st != 400 || !b || !strstr(b, "\"fault_message\"") || !strstr(b, needle))
		fail_msg("%s %s %s: status %d body %s, wanted 400 with '%s'", method, path, body ? body : "", st,
			 b ? b : "(none)", needle);
	free(b);
}

static void expect_status(const char *method, const char *path, const char *body, int want)
{
	char *b = NULL;
	int st = req(method, path, body, &b);
	if (st != want)
		fail_msg("%s %s %s: status %d (%s), wanted %d", method, path, body ? body : "", st, b ? b : "", want);
	free(b);
}

/* Where option name starts in an api_config_to_options() vector (NULL: not there). */
static char **find_opt(char **o, const char *name)
{
	for (size_t i = 0; o && o[i]; i += 2)
		if (!strcmp(o[i], name))
			return o + i;
	return NULL;
}

static void test_instance_info(void **state)
{
	char *b = NULL;
	assert_int_equal(req("GET", "/", NULL, &b), 200);
	assert_non_null(strstr(b, "\"state\":\"Not started\""));
	assert_non_null(strstr(b, "\"id\":\"vm0\""));
	free(b);
	assert_int_equal(req("GET", "/machine-config", NULL, &b), 200);
	assert_non_null(strstr(b, "\"vcpu_count\":1"));
	assert_non_null(strstr(b, "\"mem_size_mib\":128"));
	free(b);
}

static void test_machine_config(void **state)
{
	char *b = NULL;
	expect_status("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": false}", 204);
	expect_fault("PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 256}", "vcpu_count");
	expect_fault("PUT", "/machine-config", "{\"vcpu_count\": 33, \"mem_size_mib\": 256}", "vcpu_count");
	expect_fault("PUT", "/machine-config", "{\"vcpu_count\": \"2\", \"mem_size_mib\": 256}", "vcpu_count");
	expect_fault("PUT", "/machine-config", "{\"mem_size_mib\": 256}", "vcpu_count: required");
	expect_fault("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"bogus\": 1}", "bogus");
	expect_fault("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": true}", "smt");
	expect_fault("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"cpu_template\": \"T2\"}",
		     "cpu_template");
	expect_fault("PUT", "/machine-config", "{\"vcpu_count\": 2,", "truncated JSON");
	expect_fault("PUT", "/machine-config", "[1]", "expected a JSON object");
	expect_fault("PUT", "/machine-config", "{\"vcpu_count\": 2} x", "offset 18");
	expect_fault("PUT", "/machine-config", NULL, "needs a JSON body");
	/* None of the refusals changed anything. */
	assert_int_equal(req("GET", "/machine-config", NULL, &b), 200);
	assert_non_null(strstr(b, "\"vcpu_count\":2"));
	assert_non_null(strstr(b, "\"mem_size_mib\":256"));
	free(b);
}

static void test_routes(void **state)
{
	expect_fault("GET", "/nope", NULL, "Invalid request method and/or path: GET /nope.");
	expect_fault("DELETE", "/machine-config", NULL, "Invalid request method and/or path");
	expect_fault("PUT", "/drives/", "{}", "Invalid request method and/or path");
	expect_fault("PUT", "/drives/a/b", "{}", "Invalid request method and/or path");
	expect_fault("GET", "/", "{}", "takes no body");
}

static void test_oversized(void **state)
{
	struct api_txn t;
	char *big = malloc(API_BODY_MAX + 2);
	memset(big, ' ', API_BODY_MAX + 1);
	big[API_BODY_MAX + 1] = 0;
	api_request(&S, "PUT", "/machine-config", big, API_BODY_MAX + 1, &t);
	assert_int_equal(t.status, 400);
	assert_non_null(strstr(t.body, "larger than"));
	api_txn_free(&t);
	free(big);
}

static void test_drives_and_options(void **state)
{
	char **o = NULL, *b = NULL;
	struct cp_err err = { 0 };
	size_t i;
	int ndev = 0;
	const char *cmd = NULL;

	expect_fault("PUT", "/drives/rootfs", "{\"drive_id\": \"other\", \"is_root_device\": true, \"path_on_host\": \"/r\"}",
		     "does not match");
	expect_fault("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\"}", "is_root_device");
	expect_fault("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"is_root_device\": true}", "path_on_host");
	expect_fault("PUT", "/drives/ro%ot", "{\"drive_id\": \"ro%ot\", \"is_root_device\": true, \"path_on_host\": \"/r\"}",
		     "drive_id");
	expect_fault("PUT", "/drives/rootfs",
		     "{\"drive_id\": \"rootfs\", \"is_root_device\": true, \"path_on_host\": \"/r\", \"rate_limiter\": "
		     "{\"bandwidth\": {\"size\": 1, \"refill_time\": 1}}}", "rate_limiter");
	expect_status("PUT", "/drives/rootfs",
		      "{\"drive_id\": \"rootfs\", \"is_root_device\": true, \"is_read_only\": true, \"path_on_host\": "
		      "\"/img/root\", \"rate_limiter\": {}, \"cache_type\": \"Unsafe\", \"io_engine\": \"Sync\"}", 204);
	expect_status("PUT", "/drives/data", "{\"drive_id\": \"data\", \"is_root_device\": false, \"path_on_host\": \"/d\"}", 204);
	expect_fault("PUT", "/drives/second", "{\"drive_id\": \"second\", \"is_root_device\": true, \"path_on_host\": \"/s\"}",
		     "already the root device");
	expect_status("PUT", "/network-interfaces/eth0",
		      "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"02:00:00:00:00:01\"}", 204);
	expect_fault("PUT", "/network-interfaces/eth1", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap0\"}", "already used");
	expect_fault("PUT", "/network-interfaces/eth1", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\", \"guest_mac\": \"zz\"}",
		     "guest_mac");
	expect_status("PUT", "/entropy", "{}", 204);
	expect_fault("PUT", "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"/v\"}", "guest_cid");
	expect_fault("PUT", "/vsock", "{\"guest_cid\": 4294967295, \"uds_path\": \"/v\"}", "guest_cid");
	expect_fault("PUT", "/vsock", "{\"guest_cid\": 3}", "uds_path: required field is missing");
	expect_fault("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/a,b\"}", "contains a comma");
	/* the --device vsock option's own check (devices/devkinds.c), so InstanceStart cannot refuse it later */
	expect_fault("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"run/v\"}", "uds_path: uds=run/v: expected an absolute path");
	expect_status("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\", \"vsock_id\": \"root\"}", 204);
	expect_status("PUT", "/vsock", "{\"guest_cid\": 7, \"uds_path\": \"/run/vm/kata.hvsock\"}", 204);
	expect_fault("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", "without a kernel");
	expect_status("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0\"}", 204);

	assert_int_equal(api_config_to_options(&S.cfg, &o, &err), 0);
	for (i = 0; o[i]; i += 2) {
		if (!strcmp(o[i], "device")) {
			/* the root device first, then the others; then the net, rng and vsock devices */
			const char *want[] = { "blk,path=/img/root,readonly=on", "blk,path=/d", "net,tap=tap0,mac=02:00:00:00:00:01", "rng",
					       "vsock,cid=7,uds=/run/vm/kata.hvsock" };
			assert_string_equal(o[i + 1], want[ndev]);
			ndev++;
		}
		if (!strcmp(o[i], "cmdline"))
			cmd = o[i + 1];
		if (!strcmp(o[i], "memory"))
			assert_string_equal(o[i + 1], "128M");
	}
	assert_int_equal(ndev, 5);
	assert_non_null(cmd);
	assert_string_equal(cmd, "console=ttyS0 root=/dev/vda ro");
	api_options_free(o);

	assert_int_equal(req("GET", "/vm/config", NULL, &b), 200);
	assert_non_null(strstr(b, "\"kernel_image_path\":\"/k\""));
	assert_non_null(strstr(b, "\"drive_id\":\"data\""));
	assert_non_null(strstr(b, "\"host_dev_name\":\"tap0\""));
	assert_non_null(strstr(b, "\"vsock\":{\"guest_cid\":7,\"uds_path\":\"/run/vm/kata.hvsock\"}"));
	free(b);
}

/* Kata's Firecracker driver: the rootfs drive, a pool of 8 placeholder drives (createDiskPool),
 * an interface, vsock and entropy: 12 devices, within the 16 a VM may have; the 17th is refused
 * and changes nothing. Every device reaches carapace run as a --device option. */
static void test_kata_device_set(void **state)
{
	char **o = NULL, body[256], path[64];
	struct cp_err err = { 0 };
	int ndev = 0;

	expect_status("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"is_root_device\": false, \"is_read_only\": true, "
		      "\"path_on_host\": \"/kata/rootfs.img\"}", 204);
	for (int i = 0; i < 8; i++) {
		snprintf(path, sizeof(path), "/drives/drive_%d", i);
		snprintf(body, sizeof(body), "{\"drive_id\": \"drive_%d\", \"is_root_device\": false, \"path_on_host\": \"/kata/p%d\"}", i, i);
		expect_status("PUT", path, body, 204);
	}
	expect_status("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}", 204);
	expect_status("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/kata/kata.hvsock\"}", 204);
	expect_status("PUT", "/entropy", "{}", 204);
	for (int i = 8; i < 12; i++) {
		snprintf(path, sizeof(path), "/drives/drive_%d", i);
		snprintf(body, sizeof(body), "{\"drive_id\": \"drive_%d\", \"is_root_device\": false, \"path_on_host\": \"/kata/p%d\"}", i, i);
		expect_status("PUT", path, body, 204);
	}
	assert_int_equal(api_device_count(&S.cfg), 16);
	expect_fault("PUT", "/drives/drive_12", "{\"drive_id\": \"drive_12\", \"is_root_device\": false, \"path_on_host\": \"/x\"}",
		     "too many devices: at most 16 in all");
	expect_fault("PUT", "/network-interfaces/eth1", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\"}", "at most 16");
	/* Replacing an existing device is not a new one. */
	expect_status("PUT", "/drives/drive_0", "{\"drive_id\": \"drive_0\", \"is_root_device\": false, \"path_on_host\": \"/kata/q\"}", 204);
	expect_status("PUT", "/vsock", "{\"guest_cid\": 4, \"uds_path\": \"/kata/kata.hvsock\"}", 204);
	expect_status("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", 204);
	assert_int_equal(api_config_to_options(&S.cfg, &o, &err), 0);
	for (size_t i = 0; o[i]; i += 2)
		if (!strcmp(o[i], "device"))
			ndev++;
	assert_int_equal(ndev, 16);
	api_options_free(o);
}

static void test_lifecycle(void **state)
{
	struct api_txn t;
	char *b = NULL;

	expect_fault("PATCH", "/vm", "{\"state\": \"Paused\"}", "not supported before starting");
	expect_fault("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", "not supported before starting");
	expect_fault("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", "not configured");
	expect_fault("PUT", "/actions", "{\"action_type\": \"Reboot\"}", "action_type");
	expect_fault("PUT", "/actions", "{}", "action_type: required");
	expect_status("PUT", "/metrics", "{\"metrics_path\": \"/m\"}", 204);
	expect_fault("PUT", "/metrics", "{\"metrics_path\": \"/m2\"}", "already configured");
	/* A failed logger open changes nothing. */
	const char *lg = "{\"log_path\": \"/l\", \"level\": \"debug\"}";
	api_request(&S, "PUT", "/logger", lg, strlen(lg), &t);
	assert_int_equal(t.action, API_ACT_OPEN_LOGGER);
	api_txn_finish(&S, &t, "log_path: /l: Permission denied");
	assert_int_equal(t.status, 400);
	assert_non_null(strstr(t.body, "Permission denied"));
	api_txn_free(&t);
	assert_false(S.cfg.logger);
	expect_status("PUT", "/logger", "{\"log_path\": \"/l\", \"level\": \"debug\", \"show_level\": true}", 204);
	assert_true(S.cfg.logger);
	assert_int_equal(S.cfg.level, API_LOG_DEBUG);

	expect_status("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", 204);
	api_request(&S, "PUT", "/actions", START, strlen(START), &t);
	assert_int_equal(t.action, API_ACT_START);
	assert_int_equal(S.st, API_NOT_STARTED); /* not before the shell says so */
	api_txn_finish(&S, &t, NULL);
	api_txn_free(&t);
	assert_int_equal(S.st, API_RUNNING);

	expect_fault("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}", "not supported after starting");
	expect_fault("PUT", "/boot-source", "{\"kernel_image_path\": \"/k2\"}", "not supported after starting");
	expect_fault("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", "not supported after starting");
	expect_status("PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	assert_int_equal(req("GET", "/", NULL, &b), 200);
	assert_non_null(strstr(b, "\"state\":\"Paused\""));
	free(b);
	expect_fault("PATCH", "/vm", "{\"state\": \"paused\"}", "state");
	expect_status("PATCH", "/vm", "{\"state\": \"Resumed\"}", 204);
	assert_int_equal(S.st, API_RUNNING);
	expect_status("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", 204);
	expect_status("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 204);
	expect_fault("PATCH", "/drives/nope", "{\"drive_id\": \"nope\"}", "no drive");

	{
		const struct api_startup_times st = { 0, 0 };
		struct api_metrics_mark prev = { 0 }, next;
		b = api_metrics_line(&S, NULL, &st, &prev, &next, 1234);
	}
	assert_non_null(strstr(b, "\"utc_timestamp_ms\":1234"));
	assert_non_null(strstr(b, "\"put_api_requests\":{"));
	assert_non_null(strstr(b, "\"actions_count\":"));
	assert_non_null(strstr(b, "\"vm_count\":2"));
	free(b);
}

static void test_failed_start(void **state)
{
	struct api_txn t;
	expect_status("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", 204);
	api_request(&S, "PUT", "/actions", START, strlen(START), &t);
	api_txn_finish(&S, &t, "refused by launch policy 'p': memory 512 MiB is more than 256");
	assert_int_equal(t.status, 400);
	assert_non_null(strstr(t.body, "refused by launch policy"));
	api_txn_free(&t);
	assert_int_equal(S.st, API_FAILED);
	expect_fault("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", "not supported after starting");
	expect_fault("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", "failed to start");
	expect_status("GET", "/", NULL, 200);
}

static void test_option_checks(void **state)
{
	/* An option the command line refuses is refused at InstanceStart, before anything starts. */
	expect_status("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", 204);
	expect_status("PUT", "/carapace/confidential", "{\"mode\": \"required\", \"platform\": \"snp\"}", 204);
	expect_fault("PUT", "/carapace/confidential", "{\"mode\": \"always\"}", "mode");
	expect_fault("PUT", "/carapace/launch-policy", "{}", "path: required");
	expect_status("PUT", "/carapace/launch-policy", "{\"path\": \"/p.json\"}", 204);
	expect_status("PUT", "/drives/a", "{\"drive_id\": \"a\", \"is_root_device\": false, \"path_on_host\": \"/x\"}", 204);
	expect_fault("PUT", "/drives/b", "{\"drive_id\": \"b\", \"is_root_device\": false, \"path_on_host\": \"/x,y\"}", "','");
	expect_status("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	assert_string_equal(S.cfg.confidential, "required");
	assert_string_equal(S.cfg.policy, "/p.json");
}

/* The attestation extension: set up before the start (--attest and its flags for the VM process),
 * asked for after it with a nonce; the evidence itself is the shell's (carapace attest). */
static void test_attestation(void **state)
{
	struct api_txn t;
	char **f = NULL, **o = NULL;
	struct cp_err err = { 0 };
	const char *ask = "{\"nonce\": \"00aaBB\"}";

	expect_fault("PUT", "/carapace/attestation", ask, "not supported before starting");
	expect_fault("PUT", "/carapace/attestation-setup", "{\"pcr\": 7}", "pcr: 7 is not 16 or 23");
	expect_fault("PUT", "/carapace/attestation-setup", "{\"tcti\": 1}", "tcti");
	/* The attestation options are among the run options (api_config_to_options, the one
	 * conversion); the test reads them from where --attest starts. */
	assert_int_equal(api_config_to_options(&S.cfg, &o, &err), 0);
	f = find_opt(o, "attest");
	assert_null(f); /* nothing asked: no flags */
	api_options_free(o);
	expect_status("PUT", "/carapace/attestation-setup", "{\"tcti\": \"swtpm:port=2321\", \"pcr\": 16}", 204);
	assert_int_equal(api_config_to_options(&S.cfg, &o, &err), 0);
	f = find_opt(o, "attest");
	assert_non_null(f);
	assert_string_equal(f[0], "attest");
	assert_null(f[1]);
	assert_string_equal(f[2], "tcti");
	assert_string_equal(f[3], "swtpm:port=2321");
	assert_string_equal(f[4], "pcr");
	assert_string_equal(f[5], "16");
	/* a resettable PCR, as the command line takes it: with --allow-resettable-pcr */
	assert_string_equal(f[6], "allow-resettable-pcr");
	assert_null(f[7]);
	assert_null(f[8]);
	api_options_free(o);
	expect_status("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", 204);
	expect_status("PUT", "/actions", START, 204);
	expect_fault("PUT", "/carapace/attestation", "{\"nonce\": \"abc\"}", "nonce: must be an even number");
	expect_fault("PUT", "/carapace/attestation", "{\"nonce\": \"zz\"}", "nonce");
	expect_fault("PUT", "/carapace/attestation", "{}", "nonce: required");
	api_request(&S, "PUT", "/carapace/attestation", ask, strlen(ask), &t);
	assert_int_equal(t.action, API_ACT_ATTEST);
	assert_string_equal(t.nonce, "00aaBB");
	api_txn_finish(&S, &t, NULL);
	api_txn_free(&t);
}

/* ---- every extension setting becomes the option value the command line yields ---- */

/* The API's configuration through its one conversion, applied row by row (run_opts_set). */
static void api_run_opts(struct run_opts *ro)
{
	struct cp_err err = { 0 };
	char **o = NULL;

	assert_int_equal(api_config_to_options(&S.cfg, &o, &err), 0);
	run_opts_init(ro);
	for (size_t i = 0; o[i]; i += 2)
		if (run_opts_set(ro, o[i], o[i + 1], &err) < 0)
			fail_msg("--%s %s: %s", o[i], o[i + 1] ? o[i + 1] : "", err.msg);
	api_options_free(o);
}

/* A `carapace run` command line through the command line's own reader. */
static void cli_run_opts(struct run_opts *ro, const char *const *args)
{
	char *argv[64];
	struct run_arg vm_args[64];
	struct run_cli cli;
	struct cp_err err = { 0 };
	unsigned n = 0;
	int argc = 0;

	argv[argc++] = "run";
	while (*args && argc < 63)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	run_cli_init(&cli);
	run_opts_init(ro);
	if (run_args_parse(argc, argv, &cli, vm_args, &n, &err) < 0 || run_opts_apply_args(ro, vm_args, n, &err) < 0)
		fail_msg("command line: %s", err.msg);
	run_cli_free(&cli);
}

static void same_str(const char *what, const char *api, const char *cli)
{
	if ((api == NULL) != (cli == NULL) || (api && strcmp(api, cli)))
		fail_msg("%s: the API gives '%s', the command line '%s'", what, api ? api : "(none)", cli ? cli : "(none)");
}

/* Field by field: what the API set and what the command line set are the same run options. */
static void same_run_opts(const struct run_opts *a, const struct run_opts *c)
{
	same_str("kernel", a->kernel, c->kernel);
	assert_int_equal(a->memory, c->memory);
	assert_int_equal(a->vcpus, c->vcpus);
	same_str("confidential", a->confidential, c->confidential);
	same_str("platform", a->platform, c->platform);
	same_str("firmware", a->firmware, c->firmware);
	same_str("id-block", a->id_block, c->id_block);
	same_str("id-auth", a->id_auth, c->id_auth);
	same_str("policy", a->policy, c->policy);
	assert_int_equal(a->attest, c->attest);
	same_str("tcti", a->tcti, c->tcti);
	same_str("state-dir", a->state_dir, c->state_dir);
	assert_int_equal(a->pcr, c->pcr);
	assert_int_equal(a->allow_resettable_pcr, c->allow_resettable_pcr);
}

static void test_extensions_as_command_line(void **state)
{
	struct run_opts a, c, bare;
	struct cp_err err = { 0 };
	char **o = NULL;

	expect_status("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", 204);
	expect_status("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}", 204);
	expect_status("PUT", "/carapace/confidential", "{\"mode\": \"required\", \"platform\": \"snp\", \"firmware\": "
		      "\"/fw.fd\", \"id_block\": \"/id.bin\", \"id_auth\": \"/auth.bin\"}", 204);
	expect_status("PUT", "/carapace/launch-policy", "{\"path\": \"/p.json\"}", 204);
	expect_status("PUT", "/carapace/attestation-setup", "{\"tcti\": \"swtpm:port=2321\", \"state_dir\": \"/var/lib/c\", "
		      "\"pcr\": 23}", 204);
	api_run_opts(&a);
	cli_run_opts(&c, (const char *const[]){ "--kernel", "/k", "--vcpus", "2", "--memory", "256M", "--confidential",
						"required", "--platform", "snp", "--firmware", "/fw.fd", "--id-block",
						"/id.bin", "--id-auth", "/auth.bin", "--policy", "/p.json", "--attest",
						"--tcti", "swtpm:port=2321", "--state-dir", "/var/lib/c", "--pcr", "23",
						"--allow-resettable-pcr", NULL });
	same_run_opts(&a, &c);
	assert_int_equal(run_opts_validate(&a, UINT64_MAX, &err), 0);
	assert_int_equal(run_opts_validate(&c, UINT64_MAX, &err), 0);
	run_opts_free(&c);
	/* PCR 23 without the allowance is what the command line refuses; the API's is not that. */
	cli_run_opts(&bare, (const char *const[]){ "--kernel", "/k", "--attest", "--pcr", "23", NULL });
	err = (struct cp_err){ 0 };
	assert_int_equal(run_opts_validate(&bare, UINT64_MAX, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--pcr: PCR 23 can be reset after boot"));
	assert_non_null(strstr(err.msg, "(--allow-resettable-pcr)"));
	run_opts_free(&bare);
	run_opts_free(&a);

	/* Each setting replaced: PUT replaces the whole extension, and so do the options. */
	expect_status("PUT", "/carapace/confidential", "{\"mode\": \"preferred\"}", 204);
	expect_status("PUT", "/carapace/attestation-setup", "{}", 204);
	api_run_opts(&a);
	cli_run_opts(&c, (const char *const[]){ "--kernel", "/k", "--vcpus", "2", "--memory", "256M", "--confidential",
						"preferred", "--policy", "/p.json", "--attest", NULL });
	same_run_opts(&a, &c);
	assert_int_equal(a.pcr, 13); /* the launch log's default PCR, not resettable */
	assert_false(a.allow_resettable_pcr);
	run_opts_free(&a);
	run_opts_free(&c);

	/* The table's check is the last word, even on a configuration the request reader did not
	 * make: a PCR of the firmware's boot log is refused with the command line's message. */
	S.cfg.pcr = 7;
	err = (struct cp_err){ 0 }; /* the first error is kept: start afresh */
	assert_int_equal(api_config_to_options(&S.cfg, &o, &err), -EINVAL);
	assert_null(o);
	if (!strstr(err.msg, "--pcr: PCR 7 belongs to the firmware's boot measurements"))
		fail_msg("%s", err.msg);
	S.cfg.pcr = 16;
	api_run_opts(&a);
	assert_int_equal(a.pcr, 16);
	assert_true(a.allow_resettable_pcr);
	run_opts_free(&a);
	/* and InstanceStart, which runs the same conversion, refuses it as a 400 */
	S.cfg.pcr = 3;
	expect_fault("PUT", "/actions", START, "InstanceStart: --pcr: PCR 3 belongs to the firmware's boot measurements");
	S.cfg.pcr = 0;
	expect_status("PUT", "/actions", START, 204);
}

static void test_attestation_not_set_up(void **state)
{
	expect_status("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", 204);
	expect_status("PUT", "/actions", START, 204);
	expect_fault("PUT", "/carapace/attestation", "{\"nonce\": \"00\"}", "not recorded in a TPM");
}

static void test_config_file(void **state)
{
	struct cp_err err = { 0 };
	const char *ok = "{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": \"x\"},"
			 " \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 64},"
			 " \"drives\": [{\"drive_id\": \"r\", \"is_root_device\": true, \"path_on_host\": \"/r\"}],"
			 " \"network-interfaces\": [], \"metrics\": {\"metrics_path\": \"/m\"}}";
	const char *bad = "{\"boot-source\": {\"kernel_image_path\": \"/k2\"}, \"drives\": [{\"drive_id\": \"r\"}]}";

	assert_int_equal(api_config_file(&S, ok, strlen(ok), &err), 0);
	assert_string_equal(S.cfg.kernel, "/k");
	assert_int_equal(S.cfg.vcpus, 2);
	assert_int_equal(S.cfg.ndrives, 1);
	assert_string_equal(S.cfg.metrics_path, "/m");
	assert_true(api_config_file(&S, bad, strlen(bad), &err) < 0);
	assert_non_null(strstr(err.msg, "is_root_device"));
	assert_string_equal(S.cfg.kernel, "/k"); /* nothing of the bad file applied */
	const char *mmds = "{\"mmds-config\": {}}";
	cp_err_clear(&err);
	assert_true(api_config_file(&S, mmds, strlen(mmds), &err) < 0);
	assert_non_null(strstr(err.msg, "mmds-config"));
}

/* PATCH /drives/{id} with path_on_host (block hot-plug, Kata's placeholder drives): the shell is
 * asked to swap the drive's file; its failure changes nothing, its success is the new path. The
 * drive's device index follows carapace run's --device order: the root first. */
static void test_patch_drive(void **state)
{
	const char *patch = "{\"drive_id\": \"drive_1\", \"path_on_host\": \"/new.img\"}";
	struct api_txn t;
	char *b = NULL;

	expect_status("PUT", "/drives/drive_0", "{\"drive_id\": \"drive_0\", \"is_root_device\": false, \"path_on_host\": \"/p0\"}", 204);
	expect_status("PUT", "/drives/drive_1", "{\"drive_id\": \"drive_1\", \"is_root_device\": false, \"is_read_only\": true, \"path_on_host\": \"/p1\"}", 204);
	expect_status("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"is_root_device\": true, \"path_on_host\": \"/r\"}", 204);
	assert_int_equal(api_drive_device_index(&S.cfg, 2), 0); /* rootfs */
	assert_int_equal(api_drive_device_index(&S.cfg, 0), 1);
	assert_int_equal(api_drive_device_index(&S.cfg, 1), 2);
	expect_fault("PATCH", "/drives/drive_1", patch, "not supported before starting");
	expect_status("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", 204);
	expect_status("PUT", "/actions", START, 204);

	/* The shell refuses (the helper said why): nothing changes, the counter counts a failure. */
	api_request(&S, "PATCH", "/drives/drive_1", patch, strlen(patch), &t);
	assert_int_equal(t.status, 204);
	assert_int_equal(t.action, API_ACT_SWAP_DRIVE);
	assert_int_equal(t.drive, 1);
	assert_string_equal(t.cfg.drives[1].path, "/new.img");
	assert_true(t.cfg.drives[1].read_only);
	api_txn_finish(&S, &t, "PATCH /drives/drive_1: path_on_host: /new.img: size 1000 bytes is not a multiple of 512");
	assert_int_equal(t.status, 400);
	assert_non_null(strstr(t.body, "not a multiple of 512"));
	api_txn_free(&t);
	assert_string_equal(S.cfg.drives[1].path, "/p1");
	assert_int_equal(S.counters[API_M_PATCH_DRIVE_FAILS], 1);
	/* Accepted: GET /vm/config shows the new file. */
	expect_status("PATCH", "/drives/drive_1", patch, 204);
	assert_string_equal(S.cfg.drives[1].path, "/new.img");
	assert_int_equal(req("GET", "/vm/config", NULL, &b), 200);
	assert_non_null(strstr(b, "\"\\/new.img\"") ? strstr(b, "\"\\/new.img\"") : strstr(b, "\"/new.img\""));
	free(b);
	/* An update without path_on_host changes nothing and needs no shell. */
	api_request(&S, "PATCH", "/drives/drive_0", "{\"drive_id\": \"drive_0\"}", 23, &t);
	assert_int_equal(t.status, 204);
	assert_int_equal(t.action, API_ACT_NONE);
	api_txn_free(&t);
	expect_fault("PATCH", "/drives/drive_0", "{\"drive_id\": \"drive_0\", \"path_on_host\": 7}", "path_on_host");
	expect_fault("PATCH", "/drives/drive_0", "{\"drive_id\": \"drive_0\", \"is_read_only\": true}", "is_read_only");
	expect_fault("PATCH", "/drives/drive_0", "{\"drive_id\": \"drive_1\", \"path_on_host\": \"/x\"}", "does not match");
}

static int64_t field(json_object *o, const char *group, const char *name)
{
	json_object *g, *v;
	if (!json_object_object_get_ex(o, group, &g) || !json_object_object_get_ex(g, name, &v))
		fail_msg("no %s.%s in the metrics line", group, name);
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

/* The metrics line's vcpu and seccomp groups under Firecracker's names (VcpuMetrics,
 * SeccompMetrics in its src/vmm/src/logger/metrics.rs); no vcpu group when the counters are not
 * known, never made-up zeros. */
static void test_metrics_line_vm_groups(void **state)
{
	const struct api_vm_metrics vm = { .nvcpus = 2, .c = { 3, 17, 5, 9, 1 } };
	const struct api_startup_times st = { 1500, 700 };
	struct api_metrics_mark prev = { 0 }, next;
	json_object *o, *g;
	char *b;

	b = api_metrics_line(&S, &vm, &st, &prev, &next, 99);
	o = json_tokener_parse(b);
	assert_non_null(o);
	assert_int_equal(field(o, "vcpu", "exit_io_in"), 3);
	assert_int_equal(field(o, "vcpu", "exit_io_out"), 17);
	assert_int_equal(field(o, "vcpu", "exit_mmio_read"), 5);
	assert_int_equal(field(o, "vcpu", "exit_mmio_write"), 9);
	assert_int_equal(field(o, "vcpu", "failures"), 1);
	assert_true(json_object_object_get_ex(o, "vcpu", &g));
	assert_int_equal(json_object_object_length(g), 5);
	assert_int_equal(field(o, "seccomp", "num_faults"), 0);
	assert_int_equal(field(o, "put_api_requests", "actions_count"), 0);
	assert_int_equal(field(o, "api_server", "process_startup_time_us"), 1500);
	assert_int_equal(field(o, "api_server", "process_startup_time_cpu_us"), 700);
	json_object_put(o);
	free(b);
	assert_int_equal(next.vcpu[API_VCPU_EXIT_IO_OUT], 17);

	b = api_metrics_line(&S, NULL, &st, &prev, &next, 99);
	o = json_tokener_parse(b);
	assert_non_null(o);
	assert_false(json_object_object_get_ex(o, "vcpu", &g));
	assert_int_equal(field(o, "seccomp", "num_faults"), 0);
	json_object_put(o);
	free(b);
	assert_int_equal(next.vcpu[API_VCPU_EXIT_IO_OUT], 0); /* no group: the mark stays */
}

/* Firecracker writes each counter as its change since the line before (SharedIncMetric), and a
 * value that stays (SharedStoreMetric, api_server's) as it is: a reader that adds the lines up
 * gets the totals. A line not written moves no mark, so the next one carries its counts. */
static void test_metrics_line_deltas(void **state)
{
	const struct api_startup_times st = { 1500, 700 };
	struct api_vm_metrics vm = { .nvcpus = 1, .c = { 10, 20, 30, 40, 0 } };
	struct api_metrics_mark mark = { 0 }, next;
	json_object *o;
	char *b;

	S.counters[API_M_PUT_DRIVE] = 3;
	b = api_metrics_line(&S, &vm, &st, &mark, &next, 1);
	o = json_tokener_parse(b);
	assert_int_equal(field(o, "put_api_requests", "drive_count"), 3);
	assert_int_equal(field(o, "vcpu", "exit_mmio_write"), 40);
	json_object_put(o);
	free(b);
	mark = next; /* written */

	S.counters[API_M_PUT_DRIVE] = 5;
	vm.c[API_VCPU_EXIT_MMIO_WRITE] = 47;
	vm.c[API_VCPU_FAILURES] = 1;
	b = api_metrics_line(&S, &vm, &st, &mark, &next, 2);
	o = json_tokener_parse(b);
	assert_int_equal(field(o, "put_api_requests", "drive_count"), 2);
	assert_int_equal(field(o, "vcpu", "exit_mmio_write"), 7);
	assert_int_equal(field(o, "vcpu", "exit_io_in"), 0);
	assert_int_equal(field(o, "vcpu", "failures"), 1);
	assert_int_equal(field(o, "api_server", "process_startup_time_us"), 1500);
	json_object_put(o);
	free(b);
	/* not written (mark kept): the next line carries the same changes and more */
	S.counters[API_M_PUT_DRIVE] = 6;
	b = api_metrics_line(&S, NULL, &st, &mark, &next, 3);
	o = json_tokener_parse(b);
	assert_int_equal(field(o, "put_api_requests", "drive_count"), 3);
	json_object_put(o);
	free(b);
	mark = next;
	b = api_metrics_line(&S, &vm, &st, &mark, &next, 4);
	o = json_tokener_parse(b);
	assert_int_equal(field(o, "put_api_requests", "drive_count"), 0);
	assert_int_equal(field(o, "vcpu", "exit_mmio_write"), 7); /* the vcpu group left out above kept its mark */
	json_object_put(o);
	free(b);
}

/* Firecracker's device groups: `block`, `net`, `entropy`, `vsock` summed over the VM's devices
 * of that kind, and `block_<drive_id>` / `net_<iface_id>` per device, from the VM process's record
 * in the order the VM process was given its devices (the root drive first); each a change since
 * the line before. */
static void test_metrics_line_devices(void **state)
{
	const struct api_startup_times st = { 1, 1 };
	struct api_vm_metrics vm = { .nvcpus = 1, .ndevs = 5 };
	struct api_metrics_mark mark = { 0 }, next;
	json_object *o, *g;
	char *b;

	/* "data" is added first, but the root device comes first in the VM */
	expect_status("PUT", "/drives/data", "{\"drive_id\": \"data\", \"is_root_device\": false, \"path_on_host\": \"/d\"}", 204);
	expect_status("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"is_root_device\": true, \"path_on_host\": \"/r\"}", 204);
	expect_status("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}", 204);
	expect_status("PUT", "/entropy", "{}", 204);
	expect_status("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\"}", 204);
	vm.dev[0].kind = DEVKIND_BLK; /* rootfs */
	vm.dev[0].c[DS_BLK_READ_BYTES] = 8192;
	vm.dev[0].c[DS_BLK_READ_COUNT] = 2;
	vm.dev[1].kind = DEVKIND_BLK; /* data */
	vm.dev[1].c[DS_BLK_READ_BYTES] = 512;
	vm.dev[1].c[DS_BLK_READ_COUNT] = 1;
	vm.dev[1].c[DS_BLK_WRITE_COUNT] = 4;
	vm.dev[2].kind = DEVKIND_NET;
	vm.dev[2].c[DS_NET_TX_PACKETS] = 3;
	vm.dev[3].kind = DEVKIND_RNG;
	vm.dev[3].c[DS_RNG_BYTES] = 64;
	vm.dev[4].kind = DEVKIND_VSOCK;
	vm.dev[4].c[DS_VSOCK_CONNS_ADDED] = 1;

	b = api_metrics_line(&S, &vm, &st, &mark, &next, 1);
	o = json_tokener_parse(b);
	assert_non_null(o);
	assert_int_equal(field(o, "block_rootfs", "read_bytes"), 8192);
	assert_int_equal(field(o, "block_data", "read_bytes"), 512);
	assert_int_equal(field(o, "block_data", "write_count"), 4);
	assert_int_equal(field(o, "block", "read_bytes"), 8704);
	assert_int_equal(field(o, "block", "read_count"), 3);
	assert_int_equal(field(o, "net_eth0", "tx_packets_count"), 3);
	assert_int_equal(field(o, "net", "tx_packets_count"), 3);
	assert_int_equal(field(o, "entropy", "entropy_bytes"), 64);
	assert_int_equal(field(o, "vsock", "conns_added"), 1);
	/* every counter of the kind, under Firecracker's names */
	assert_true(json_object_object_get_ex(o, "block", &g));
	assert_int_equal(json_object_object_length(g), DS_BLK__N);
	assert_true(json_object_object_get_ex(o, "entropy", &g));
	assert_int_equal(json_object_object_length(g), DS_RNG__N);
	/* entropy and vsock have no per-device groups in Firecracker */
	assert_false(json_object_object_get_ex(o, "entropy_0", &g));
	json_object_put(o);
	free(b);
	mark = next;

	vm.dev[1].c[DS_BLK_READ_BYTES] = 1024;
	b = api_metrics_line(&S, &vm, &st, &mark, &next, 2);
	o = json_tokener_parse(b);
	assert_int_equal(field(o, "block_rootfs", "read_bytes"), 0);
	assert_int_equal(field(o, "block_data", "read_bytes"), 512);
	assert_int_equal(field(o, "block", "read_bytes"), 512);
	assert_int_equal(field(o, "entropy", "entropy_bytes"), 0);
	json_object_put(o);
	free(b);

	/* counters not known: no device group at all */
	b = api_metrics_line(&S, NULL, &st, &mark, &next, 3);
	o = json_tokener_parse(b);
	assert_false(json_object_object_get_ex(o, "block", &g));
	assert_false(json_object_object_get_ex(o, "block_data", &g));
	json_object_put(o);
	free(b);
	/* before the VM ran (a record of no devices): the sums are zeros, no per-device groups */
	{
		const struct api_vm_metrics none = { 0 };
		struct api_metrics_mark zero = { 0 };
		b = api_metrics_line(&S, &none, &st, &zero, &next, 4);
		o = json_tokener_parse(b);
		assert_int_equal(field(o, "block", "write_bytes"), 0);
		assert_int_equal(field(o, "net", "rx_bytes_count"), 0);
		assert_false(json_object_object_get_ex(o, "block_data", &g));
		json_object_put(o);
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_instance_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drives_and_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kata_device_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_option_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attestation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attestation_not_set_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extensions_as_command_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patch_drive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_line_vm_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_line_deltas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_line_devices, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
