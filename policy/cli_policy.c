/* `carapace policy check|show|eval`: the thin shell that reads files and prints what the pure
 * parser and evaluator decide. Exit 0 ok, 1 launch denied (eval), 2 invalid input or usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/cli.h"
#include "policy/cli.h"
#include "common/util.h"
#include "policy/policy.h"

static void policy_cli_usage(FILE *out)
{
	fprintf(out,
		"Usage: carapace policy check FILE\n"
		"       carapace policy show FILE\n"
		"       carapace policy eval FILE REQUEST\n\n"
		"check  validate a launch policy; on error print the JSON path at fault (exit 2)\n"
		"show   print the effective policy, every default filled in, as JSON\n"
		"eval   decide a launch request (JSON, see docs/policy.md) against the policy:\n"
		"       exit 0 allowed, 1 denied (the first rule broken is named), 2 invalid input\n");
}

static int policy_cli_load(const char *path, struct policy *p)
{
	struct cp_err err = { 0 };

	if (policy_load_file(path, p, &err)) {
		fprintf(stderr, "carapace policy: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int policy_cli_eval(const char *policy_path, const char *req_path)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct policy_request_store *store = NULL;
	struct policy_launch_request req;
	struct policy_violation v;
	struct cp_err err = { 0 };
	struct policy p;
	size_t len;
	int ret;

	if (policy_cli_load(policy_path, &p))
		return CP_EXIT_USAGE;
	if (cp_file_read(req_path, POLICY_DOC_MAX, &buf, &len, &err) ||
	    policy_request_parse((const char *)buf, len, &req, &store, &err)) {
		fprintf(stderr, "carapace policy: %s: %s\n", req_path, err.msg);
		policy_free(&p);
		return CP_EXIT_USAGE;
	}
	ret = policy_eval(&p, &req, &v);
	policy_request_free(store);
	policy_free(&p);
	if (ret == 0) {
		printf("allowed\n");
		return CP_EXIT_OK;
	}
	fprintf(stderr, "carapace policy: launch %s by rule %s\n",
		ret == -EPERM ? "denied" : "request invalid", v.msg);
	return ret == -EPERM ? CP_EXIT_FAILURE : CP_EXIT_USAGE;
}

int policy_cli(int argc, char **argv)
{
	struct policy p;
	char *json;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		policy_cli_usage(stdout);
		return CP_EXIT_OK;
	}
	if (argc == 3 && !strcmp(argv[1], "check")) {
		if (policy_cli_load(argv[2], &p))
			return CP_EXIT_USAGE;
		printf("%s: policy \"%s\" is valid\n", argv[2], p.name);
		policy_free(&p);
		return CP_EXIT_OK;
	}
	if (argc == 3 && !strcmp(argv[1], "show")) {
		if (policy_cli_load(argv[2], &p))
			return CP_EXIT_USAGE;
		json = policy_to_json(&p);
		policy_free(&p);
		if (!json) {
			fprintf(stderr, "carapace policy: out of memory\n");
			return CP_EXIT_FAILURE;
		}
		printf("%s\n", json);
		free(json);
		return CP_EXIT_OK;
	}
	if (argc == 4 && !strcmp(argv[1], "eval"))
		return policy_cli_eval(argv[2], argv[3]);
	policy_cli_usage(stderr);
	return CP_EXIT_USAGE;
}
