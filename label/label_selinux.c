/* The real label_ops: libselinux, nothing else. Kept this thin so everything that decides is
 * tested with a fake (tests/unit/label/test_label.c); SELinux is off on the build machines. */
#include "label/label.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <selinux/selinux.h>

#include "common/log.h"

static int label_selinux_enabled(void *ctx)
{
	return is_selinux_enabled() > 0;
}

static int label_selinux_enforcing(void *ctx)
{
	int r = security_getenforce();

	return r < 0 ? -(errno ? errno : EIO) : r;
}

static int label_selinux_set_exec(void *ctx, const char *con)
{
	return setexeccon(con) ? -(errno ? errno : EIO) : 0;
}

static int label_selinux_set_sockcreate(void *ctx, const char *con)
{
	return setsockcreatecon(con) ? -(errno ? errno : EIO) : 0;
}

static int label_selinux_get_file(void *ctx, const char *path, char **con)
{
	char *c = NULL;

	/* l*: never follow a symlink the guest's owner may have planted. _raw: carapace computes
	 * raw contexts itself, and untranslated calls are one lgetxattr / lsetxattr each, all the
	 * label monitor's filter allows (no mcstrans socket, label/label_monitor_filter.c). */
	if (lgetfilecon_raw(path, &c) < 0)
		return -(errno ? errno : EIO);
	*con = strdup(c);
	freecon(c);
	return *con ? 0 : -ENOMEM;
}

static int label_selinux_set_file(void *ctx, const char *path, const char *con)
{
	return lsetfilecon_raw(path, con) ? -(errno ? errno : EIO) : 0;
}

static void label_selinux_notice(void *ctx, const char *msg)
{
	cp_warn("%s", msg);
}

const struct label_ops label_ops_libselinux = {
	.enabled = label_selinux_enabled,
	.enforcing = label_selinux_enforcing,
	.set_exec = label_selinux_set_exec,
	.set_sockcreate = label_selinux_set_sockcreate,
	.get_file = label_selinux_get_file,
	.set_file = label_selinux_set_file,
	.notice = label_selinux_notice,
};
