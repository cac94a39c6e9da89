/* The device helpers' option tables and their one reader (see helper_cli.h). */
#include "devices/helper_cli.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "devices/blk/blk.h"
#include "devices/vhost/proto.h"

/* sockaddr_un.sun_path holds 108 bytes with the NUL. */
#define DEV_CLI_SUN_MAX 107u
/* --socket-path binds "<path>.tmp" first (helper_serve.c dev_listen). */
#define DEV_CLI_SOCKET_MAX (DEV_CLI_SUN_MAX - 5u)
#define DEV_CLI_PATH_MAX 4095u /* PATH_MAX with its NUL */

enum { GROUP_SOCKET = 1, GROUP_HELPER = 2 };

/* The common rows: the front-end's socket first (as usage reads), then the rest. Their
 * indices are what dev_cli_parse stores into struct dev_opts. */
enum { COMMON_SOCKET_PATH, COMMON_FD, COMMON_NO_JAIL, COMMON_VERBOSE, COMMON_STATS_FD, COMMON_HELP, COMMON_TEST_HOOK };
const struct dev_cli_opt dev_cli_common[] = {
	[COMMON_SOCKET_PATH] = { "socket-path", DEV_CLI_STR, GROUP_SOCKET, true, 1, DEV_CLI_SOCKET_MAX, "PATH" },
	[COMMON_FD] = { "fd", DEV_CLI_FD, GROUP_SOCKET, true, 0, 0, "N" },
	[COMMON_NO_JAIL] = { "no-jail", DEV_CLI_FLAG },
	[COMMON_VERBOSE] = { "verbose", DEV_CLI_FLAG },
	/* the counter page the VM process reads for its metrics lines (devices/devstats.h) */
	[COMMON_STATS_FD] = { "stats-fd", DEV_CLI_FD, 0, false, 0, 0, "N" },
	[COMMON_HELP] = { "help", DEV_CLI_FLAG, .hidden = true },
#ifdef CARAPACE_TEST_HOOKS
	/* The option does not exist in other builds (an unknown option there). */
	[COMMON_TEST_HOOK] = { "test-hook", DEV_CLI_STR, 0, false, 1, 64, "NAME", .hidden = true },
#endif
};
const size_t dev_cli_ncommon = ARRAY_SIZE(dev_cli_common);

static const struct dev_cli_opt blk_rows[BLK_CLI__N] = {
	[BLK_CLI_IMAGE] = { "image", DEV_CLI_STR, GROUP_HELPER, true, 1, DEV_CLI_PATH_MAX, "FILE" },
	/* the runner opened the image and had the launch policy judge that very file */
	[BLK_CLI_IMAGE_FD] = { "image-fd", DEV_CLI_FD, GROUP_HELPER, true, 0, 0, "N" },
	[BLK_CLI_READONLY] = { "readonly", DEV_CLI_FLAG },
	[BLK_CLI_NUM_QUEUES] = { "num-queues", DEV_CLI_UINT, 0, false, 1, VU_QUEUE_MAX, "N" },
	/* GET_ID's 20 bytes (not NUL-terminated at 20): a longer one would be cut short */
	[BLK_CLI_SERIAL] = { "serial", DEV_CLI_STR, 0, false, 1, BLK_ID_BYTES, "ID" },
	/* the swap channel over which a new image arrives (PATCH /drives/{id}) */
	[BLK_CLI_SWAP_FD] = { "swap-fd", DEV_CLI_FD, 0, false, 0, 0, "N" },
};

static const struct dev_cli_opt console_rows[CONSOLE_CLI__N] = {
	[CONSOLE_CLI_OUTPUT] = { "output", DEV_CLI_STR, GROUP_HELPER, true, 1, DEV_CLI_PATH_MAX, "FILE" },
	[CONSOLE_CLI_PTY] = { "pty", DEV_CLI_FLAG, GROUP_HELPER, true },
	[CONSOLE_CLI_UNIX] = { "unix", DEV_CLI_STR, GROUP_HELPER, true, 1, DEV_CLI_SUN_MAX, "PATH" },
};

static const struct dev_cli_opt net_rows[NET_CLI__N] = {
	/* IFNAMSIZ with its NUL: a longer name would be cut short and name another interface */
	[NET_CLI_TAP] = { "tap", DEV_CLI_STR, GROUP_HELPER, true, 1, 15, "NAME" },
	[NET_CLI_TAP_FD] = { "tap-fd", DEV_CLI_FD, GROUP_HELPER, true, 0, 0, "N" },
	/* xx:xx:xx:xx:xx:xx; its digits and unicast bit are carapace-net's to judge */
	[NET_CLI_MAC] = { "mac", DEV_CLI_STR, 0, false, 17, 17, "MAC" },
};

static const struct dev_cli_opt vsock_rows[VSOCK_CLI__N] = {
	/* 0-2 are reserved (hypervisor, local, host); U32_MAX is VMADDR_CID_ANY */
	[VSOCK_CLI_CID] = { "cid", DEV_CLI_UINT, 0, true, 3, UINT32_MAX - 1, "N" },
	/* the helper also needs room for <uds-path>_<port> and says so itself */
	[VSOCK_CLI_UDS_PATH] = { "uds-path", DEV_CLI_STR, 0, true, 1, DEV_CLI_SUN_MAX, "PATH" },
};

const struct dev_cli_spec dev_cli_specs[DEVKIND__COUNT] = {
	[DEVKIND_BLK] = { DEVKIND_BLK, blk_rows, BLK_CLI__N },
	[DEVKIND_RNG] = { DEVKIND_RNG, NULL, 0 },
	[DEVKIND_CONSOLE] = { DEVKIND_CONSOLE, console_rows, CONSOLE_CLI__N },
	[DEVKIND_NET] = { DEVKIND_NET, net_rows, NET_CLI__N },
	[DEVKIND_VSOCK] = { DEVKIND_VSOCK, vsock_rows, VSOCK_CLI__N },
};

/* Strict decimal: digits only, no leading zero (an octal reader would take 010 as 8), no
 * overflow. */
static int dev_cli_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s[0] || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

int dev_cli_fd(const char *s, int *fd)
{
	uint64_t v;

	if (!s || dev_cli_u64(s, &v) < 0)
		return -EINVAL;
	if (v < 3 || v > INT32_MAX)
		return -ERANGE;
	*fd = (int)v;
	return 0;
}

/* The combined table: the common socket rows, the helper's rows, the other common rows (the
 * order of usage). Returns the row of position i, and whether it is a common one (*idx: its
 * index in its own table). */
static const struct dev_cli_opt *row_at(const struct dev_cli_spec *spec, size_t i, bool *common, size_t *idx)
{
	if (i < 2) {
		*common = true, *idx = i;
		return &dev_cli_common[i];
	}
	i -= 2;
	if (i < spec->nopts) {
		*common = false, *idx = i;
		return &spec->opts[i];
	}
	i -= spec->nopts;
	if (i + 2 < dev_cli_ncommon) {
		*common = true, *idx = i + 2;
		return &dev_cli_common[i + 2];
	}
	return NULL;
}

static size_t rows_count(const struct dev_cli_spec *spec)
{
	return dev_cli_ncommon + spec->nopts;
}

/* "--a or --b" (sep " or ") for the members of a group. */
static void group_names(const struct dev_cli_spec *spec, unsigned group, const char *sep, char *buf, size_t len)
{
	size_t n = 0;
	bool c;
	size_t k;

	buf[0] = '\0';
	for (size_t i = 0; i < rows_count(spec); i++) {
		const struct dev_cli_opt *o = row_at(spec, i, &c, &k);
		if (o && o->name && o->group == group && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s--%s", n ? sep : "", o->name);
	}
}

int dev_cli_parse(const struct dev_cli_spec *spec, int argc, char *const argv[], struct dev_cli *out, char *why,
		  size_t why_len)
{
	bool cset[16] = { false };
	const char *cstr[16] = { NULL };
	uint64_t cnum[16] = { 0 };

	memset(out, 0, sizeof(*out));
	out->common.fd = -1;
	why[0] = '\0';
	if (!spec || spec->nopts > DEV_CLI_MAX || (spec->nopts && !spec->opts) || dev_cli_ncommon > 16 ||
	    (unsigned)spec->kind >= DEVKIND__COUNT) {
		snprintf(why, why_len, "no option table");
		return -EINVAL;
	}
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *eq, *val = NULL;
		const struct dev_cli_opt *o = NULL;
		size_t nlen, idx = 0;
		bool common = false;

		if (!arg) {
			snprintf(why, why_len, "argument %d is missing", i);
			return -EINVAL;
		}
		if (!strcmp(arg, "-h"))
			return DEV_CLI_HELP;
		if (strncmp(arg, "--", 2) || !arg[2]) {
			snprintf(why, why_len, "unexpected argument '%.64s'%s", arg,
				 arg[0] == '-' ? " (options are --name or --name=value)" : "");
			return -EINVAL;
		}
		name = arg + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		/* Exact names only: an abbreviation is refused, not guessed. */
		for (size_t r = 0; r < rows_count(spec) && !o; r++) {
			const struct dev_cli_opt *c = row_at(spec, r, &common, &idx);
			if (c && c->name && strlen(c->name) == nlen && !strncmp(c->name, name, nlen))
				o = c;
		}
		if (!o) {
			snprintf(why, why_len, "unknown option --%.*s", (int)(nlen > 64 ? 64 : nlen), name);
			return -EINVAL;
		}
		if (common && idx == COMMON_HELP) {
			if (eq) {
				snprintf(why, why_len, "--help takes no value");
				return -EINVAL;
			}
			return DEV_CLI_HELP;
		}
		if (common ? cset[idx] : out->set[idx]) {
			snprintf(why, why_len, "--%s is given twice", o->name);
			return -EINVAL;
		}
		if (o->type == DEV_CLI_FLAG) {
			if (eq) {
				snprintf(why, why_len, "--%s takes no value", o->name);
				return -EINVAL;
			}
		} else if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc && argv[i + 1]) {
			val = argv[++i];
		} else {
			snprintf(why, why_len, "--%s needs a value (%s)", o->name, o->word);
			return -EINVAL;
		}
		uint64_t num = 0;
		switch (o->type) {
		case DEV_CLI_FLAG:
			break;
		case DEV_CLI_STR: {
			size_t len = strlen(val);
			if (len < o->min || len > o->max) {
				snprintf(why, why_len, "--%s: %s of %zu bytes; expected %llu to %llu", o->name, o->word, len,
					 (unsigned long long)o->min, (unsigned long long)o->max);
				return -EINVAL;
			}
			break;
		}
		case DEV_CLI_FD: {
			int fd, r = dev_cli_fd(val, &fd);
			if (r < 0) {
				snprintf(why, why_len, "--%s %.32s: %s", o->name, val,
					 r == -ERANGE && strlen(val) == 1 ? "0, 1 and 2 are the standard streams, not a "
									    "descriptor for a device"
									  : "expected a descriptor number from 3 to 2147483647");
				return -EINVAL;
			}
			num = (uint64_t)fd;
			break;
		}
		case DEV_CLI_UINT:
			if (dev_cli_u64(val, &num) < 0 || num < o->min || num > o->max) {
				snprintf(why, why_len, "--%s %.32s: expected a decimal number from %llu to %llu", o->name, val,
					 (unsigned long long)o->min, (unsigned long long)o->max);
				return -EINVAL;
			}
			break;
		default:
			snprintf(why, why_len, "--%s: option of an unknown type", o->name);
			return -EINVAL;
		}
		if (common) {
			cset[idx] = true, cstr[idx] = val, cnum[idx] = num;
		} else {
			out->set[idx] = true, out->str[idx] = val, out->num[idx] = num;
		}
	}
	/* Groups: at most one of each; required rows (or groups): present. */
	for (size_t r = 0; r < rows_count(spec); r++) {
		bool c, given = false;
		size_t k;
		const struct dev_cli_opt *o = row_at(spec, r, &c, &k);
		char names[160];

		if (!o || !o->name)
			continue;
		if (o->group) {
			unsigned n = 0;
			for (size_t s = 0; s < rows_count(spec); s++) {
				bool c2;
				size_t k2;
				const struct dev_cli_opt *p = row_at(spec, s, &c2, &k2);
				if (p && p->name && p->group == o->group && (c2 ? cset[k2] : out->set[k2]))
					n++;
			}
			if (n > 1) {
				group_names(spec, o->group, " and ", names, sizeof(names));
				snprintf(why, why_len, "%s exclude each other: give one", names);
				return -EINVAL;
			}
			if (n == 0 && o->required) {
				group_names(spec, o->group, " or ", names, sizeof(names));
				snprintf(why, why_len, "one of %s is needed", names);
				return -EINVAL;
			}
			continue;
		}
		given = c ? cset[k] : out->set[k];
		if (o->required && !given) {
			snprintf(why, why_len, "--%s %s is needed", o->name, o->word);
			return -EINVAL;
		}
	}
	out->common.socket_path = cset[COMMON_SOCKET_PATH] ? cstr[COMMON_SOCKET_PATH] : NULL;
	out->common.fd = cset[COMMON_FD] ? (int)cnum[COMMON_FD] : -1;
	out->common.no_jail = cset[COMMON_NO_JAIL];
	out->common.verbose = cset[COMMON_VERBOSE];
	out->common.stats_fd = cset[COMMON_STATS_FD] ? (int)cnum[COMMON_STATS_FD] : -1;
	out->common.test_hook = cset[COMMON_TEST_HOOK] ? cstr[COMMON_TEST_HOOK] : NULL;
	return 0;
}

static void usage_item(FILE *f, const struct dev_cli_opt *o)
{
	if (o->type == DEV_CLI_FLAG)
		fprintf(f, "--%s", o->name);
	else
		fprintf(f, "--%s %s", o->name, o->word);
}

void dev_cli_usage(const struct dev_cli_spec *spec, FILE *f)
{
	const char *prog = spec && (unsigned)spec->kind < DEVKIND__COUNT ? devkinds[spec->kind].binary : "carapace-?";
	unsigned done = 0; /* groups printed (bit per group number) */

	fprintf(f, "usage: %s", prog);
	for (size_t r = 0; spec && r < rows_count(spec); r++) {
		bool c;
		size_t k;
		const struct dev_cli_opt *o = row_at(spec, r, &c, &k);
		bool first = true;

		if (!o || !o->name || o->hidden)
			continue;
		if (!o->group) {
			fputs(o->required ? " " : " [", f);
			usage_item(f, o);
			fputs(o->required ? "" : "]", f);
			continue;
		}
		if (o->group < 32 && (done & (1u << o->group)))
			continue;
		if (o->group < 32)
			done |= 1u << o->group;
		fputs(o->required ? " (" : " [", f);
		for (size_t s = r; s < rows_count(spec); s++) {
			const struct dev_cli_opt *p = row_at(spec, s, &c, &k);
			if (!p || !p->name || p->group != o->group || p->hidden)
				continue;
			fputs(first ? "" : " | ", f);
			usage_item(f, p);
			first = false;
		}
		fputs(o->required ? ")" : "]", f);
	}
	fputs("\n", f);
}
