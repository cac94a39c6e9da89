/* The management API's request core: a const route table, one validating reader per body
 * (common/jread), and the configuration each accepted request leaves behind. Pure. */
#include "runner/api/api_core.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/jread.h"
#include "devices/devkinds.h"
#include "runner/config.h"

static const char *const level_names[] = { "Off", "Error", "Warning", "Info", "Debug", "Trace" };

int api_log_level_parse(const char *s, enum api_log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (!strcasecmp(s, level_names[i])) {
			*out = (enum api_log_level)i;
			return 0;
		}
	return -EINVAL;
}

const char *api_log_level_name(enum api_log_level l)
{
	return (size_t)l < ARRAY_SIZE(level_names) ? level_names[l] : "?";
}

const char *api_state_name(enum api_vm_state st)
{
	/* InstanceInfo.state's enum; a failed start is still "Not started" to Firecracker's clients. */
	return st == API_RUNNING ? "Running" : st == API_PAUSED ? "Paused" : "Not started";
}

void api_config_free(struct api_config *c)
{
	free(c->kernel);
	free(c->initrd);
	free(c->boot_args);
	for (unsigned i = 0; i < c->ndrives; i++) {
		free(c->drives[i].path);
		free(c->drives[i].partuuid);
	}
	free(c->vsock_uds);
	free(c->log_path);
	free(c->metrics_path);
	free(c->confidential);
	free(c->platform);
	free(c->firmware);
	free(c->id_block);
	free(c->id_auth);
	free(c->policy);
	free(c->tcti);
	free(c->state_dir);
	memset(c, 0, sizeof(*c));
}

unsigned api_device_count(const struct api_config *c)
{
	return c->ndrives + c->nnets + (c->entropy ? 1 : 0) + (c->vsock_uds ? 1 : 0);
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return -ENOMEM;
	return 0;
}

int api_config_copy(struct api_config *dst, const struct api_config *src)
{
	int r = 0;

	*dst = *src;
	/* Every pointer is re-owned; on failure the partial copy is freed whole. */
	r |= dup_str(&dst->kernel, src->kernel);
	r |= dup_str(&dst->initrd, src->initrd);
	r |= dup_str(&dst->boot_args, src->boot_args);
	for (unsigned i = 0; i < src->ndrives; i++) {
		r |= dup_str(&dst->drives[i].path, src->drives[i].path);
		r |= dup_str(&dst->drives[i].partuuid, src->drives[i].partuuid);
	}
	r |= dup_str(&dst->vsock_uds, src->vsock_uds);
	r |= dup_str(&dst->log_path, src->log_path);
	r |= dup_str(&dst->metrics_path, src->metrics_path);
	r |= dup_str(&dst->confidential, src->confidential);
	r |= dup_str(&dst->platform, src->platform);
	r |= dup_str(&dst->firmware, src->firmware);
	r |= dup_str(&dst->id_block, src->id_block);
	r |= dup_str(&dst->id_auth, src->id_auth);
	r |= dup_str(&dst->policy, src->policy);
	r |= dup_str(&dst->tcti, src->tcti);
	r |= dup_str(&dst->state_dir, src->state_dir);
	if (r) {
		api_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void api_state_init(struct api_state *s, const char *id, const char *version)
{
	memset(s, 0, sizeof(*s));
	s->cfg.vcpus = 1;     /* Firecracker's defaults (GET /machine-config before any PUT) */
	s->cfg.mem_mib = 128;
	s->cfg.level = API_LOG_INFO;
	snprintf(s->id, sizeof(s->id), "%s", id && *id ? id : "anonymous-instance");
	s->version = version;
}

void api_state_free(struct api_state *s)
{
	api_config_free(&s->cfg);
}

void api_txn_free(struct api_txn *txn)
{
	api_config_free(&txn->cfg);
	free(txn->body);
	txn->body = NULL;
}

/* ---- request context ---- */

struct req {
	struct api_state *s;
	struct api_txn *txn;
	struct cp_jread r;
	struct cp_err err;
	struct json_object *body; /* NULL for a request without one */
	const char *id;           /* the {id} path segment */
};

static int set_str(struct req *q, char **dst, const char *v)
{
	char *c = strdup(v);
	if (!c)
		return cp_err_set(&q->err, ENOMEM, "out of memory");
	free(*dst);
	*dst = c;
	return 0;
}

/* Read member `key` as a string of at most max bytes; absent leaves *out untouched (returns 0)
 * unless required. An empty string is refused: every string field here names something. */
static int read_str(struct req *q, struct json_object *o, const char *key, size_t max, bool required, char **out)
{
	struct json_object *v = cp_jread_member(o, key);
	size_t saved;
	const char *s;
	int r;

	if (!v && required) {
		saved = cp_jread_push_key(&q->r, key);
		r = cp_jread_fail(&q->r, "required field is missing");
		cp_jread_pop(&q->r, saved);
		return r;
	}
	if (!v)
		return 0;
	saved = cp_jread_push_key(&q->r, key);
	r = cp_jread_string(&q->r, v, max, &s);
	if (r == 0 && !*s)
		r = cp_jread_fail(&q->r, "must not be empty");
	if (r == 0 && out)
		r = set_str(q, out, s);
	cp_jread_pop(&q->r, saved);
	return r;
}

static int read_bool(struct req *q, struct json_object *o, const char *key, bool required, bool *out)
{
	size_t saved;
	int r;

	if (!cp_jread_member(o, key) && required) {
		saved = cp_jread_push_key(&q->r, key);
		r = cp_jread_fail(&q->r, "required field is missing");
		cp_jread_pop(&q->r, saved);
		return r;
	}
	return cp_jread_opt_bool(&q->r, o, key, out);
}

/* One of names[] (exact, as Firecracker's serde enums are); absent leaves *out alone. */
static int read_enum(struct req *q, struct json_object *o, const char *key, const char *const names[], size_t n,
		     int *out)
{
	struct json_object *v = cp_jread_member(o, key);
	size_t saved;
	int r;

	if (!v)
		return 0;
	saved = cp_jread_push_key(&q->r, key);
	r = cp_jread_enum(&q->r, v, names, n, out);
	cp_jread_pop(&q->r, saved);
	return r;
}

/* Rate limiters are not implemented: an empty or null one is accepted (clients send them so),
 * anything that would limit is refused rather than silently ignored. */
static int read_no_limiter(struct req *q, struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	size_t saved;
	int r = 0;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	saved = cp_jread_push_key(&q->r, key);
	if (!json_object_is_type(v, json_type_object))
		r = cp_jread_fail(&q->r, "expected an object, got %s", cp_jread_type_name(v));
	else if (json_object_object_length(v))
		r = cp_jread_fail(&q->r, "rate limiters are not supported by carapace (use the cgroup limits of a "
					     "launch policy); send none");
	cp_jread_pop(&q->r, saved);
	return r;
}

static int need_body(struct req *q, const char *const fields[])
{
	if (!q->body)
		return cp_jread_fail(&q->r, "this request needs a JSON body");
	return cp_jread_object(&q->r, q->body, fields);
}

static int need_no_body(struct req *q)
{
	return q->body ? cp_jread_fail(&q->r, "this request takes no body") : 0;
}

/* A path id: what Firecracker accepts (alphanumerics and '_'), bounded. */
static int check_id(struct req *q, const char *field)
{
	size_t n = strlen(q->id);
	if (!n || n > API_ID_MAX)
		return cp_jread_fail(&q->r, "%s: must be 1 to %u characters", field, API_ID_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = q->id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return cp_jread_fail(&q->r, "%s: '%c' is not allowed (letters, digits and '_' only)", field, c);
	}
	return 0;
}

/* The body's id must be the path's (Firecracker: "The id from the path does not match the id
 * from the body!"). */
static int body_id_matches(struct req *q, const char *field)
{
	_cleanup_free_ char *bid = NULL;
	int r = read_str(q, q->body, field, API_ID_MAX, true, &bid);
	if (r < 0)
		return r;
	if (strcmp(bid, q->id)) {
		size_t saved = cp_jread_push_key(&q->r, field);
		r = cp_jread_fail(&q->r, "'%s' does not match the id in the path ('%s')", bid, q->id);
		cp_jread_pop(&q->r, saved);
	}
	return r;
}

/* ---- handlers: each reads its body into q->txn->cfg ---- */

static int h_get_instance(struct req *q)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(q->s->id));
	json_object_object_add(o, "state", json_object_new_string(api_state_name(q->s->st)));
	json_object_object_add(o, "vmm_version", json_object_new_string(q->s->version ? q->s->version : "0"));
	json_object_object_add(o, "app_name", json_object_new_string("carapace"));
	q->txn->body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return need_no_body(q);
}

static json_object *machine_json(const struct api_config *c)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "vcpu_count", json_object_new_int64(c->vcpus));
	json_object_object_add(o, "mem_size_mib", json_object_new_int64((int64_t)c->mem_mib));
	json_object_object_add(o, "smt", json_object_new_boolean(false));
	json_object_object_add(o, "track_dirty_pages", json_object_new_boolean(false));
	json_object_object_add(o, "huge_pages", json_object_new_string("None"));
	return o;
}

static char *to_text(json_object *o)
{
	char *t = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return t;
}

static int h_get_machine(struct req *q)
{
	q->txn->body = to_text(machine_json(&q->s->cfg));
	return need_no_body(q);
}

static void add_opt_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static int h_get_vm_config(struct req *q)
{
	const struct api_config *c = &q->s->cfg;
	json_object *o = json_object_new_object(), *drives = json_object_new_array(), *nets = json_object_new_array();

	if (c->kernel) {
		json_object *b = json_object_new_object();
		add_opt_str(b, "kernel_image_path", c->kernel);
		add_opt_str(b, "initrd_path", c->initrd);
		add_opt_str(b, "boot_args", c->boot_args);
		json_object_object_add(o, "boot-source", b);
	}
	for (unsigned i = 0; i < c->ndrives; i++) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "drive_id", json_object_new_string(c->drives[i].id));
		json_object_object_add(d, "is_root_device", json_object_new_boolean(c->drives[i].root));
		json_object_object_add(d, "is_read_only", json_object_new_boolean(c->drives[i].read_only));
		json_object_object_add(d, "cache_type", json_object_new_string(c->drives[i].writeback ? "Writeback" : "Unsafe"));
		add_opt_str(d, "path_on_host", c->drives[i].path);
		add_opt_str(d, "partuuid", c->drives[i].partuuid);
		json_object_array_add(drives, d);
	}
	json_object_object_add(o, "drives", drives);
	json_object_object_add(o, "machine-config", machine_json(c));
	for (unsigned i = 0; i < c->nnets; i++) {
		json_object *n = json_object_new_object();
		json_object_object_add(n, "iface_id", json_object_new_string(c->nets[i].id));
		json_object_object_add(n, "host_dev_name", json_object_new_string(c->nets[i].tap));
		if (c->nets[i].mac[0])
			json_object_object_add(n, "guest_mac", json_object_new_string(c->nets[i].mac));
		json_object_array_add(nets, n);
	}
	json_object_object_add(o, "network-interfaces", nets);
	if (c->entropy)
		json_object_object_add(o, "entropy", json_object_new_object());
	if (c->vsock_uds) {
		json_object *v = json_object_new_object();
		json_object_object_add(v, "guest_cid", json_object_new_int64(c->vsock_cid));
		json_object_object_add(v, "uds_path", json_object_new_string(c->vsock_uds));
		json_object_object_add(o, "vsock", v);
	}
	if (c->logger) {
		json_object *l = json_object_new_object();
		add_opt_str(l, "log_path", c->log_path);
		json_object_object_add(l, "level", json_object_new_string(api_log_level_name(c->level)));
		json_object_object_add(l, "show_level", json_object_new_boolean(c->show_level));
		json_object_object_add(l, "show_log_origin", json_object_new_boolean(c->show_origin));
		json_object_object_add(o, "logger", l);
	}
	if (c->metrics_path) {
		json_object *m = json_object_new_object();
		json_object_object_add(m, "metrics_path", json_object_new_string(c->metrics_path));
		json_object_object_add(o, "metrics", m);
	}
	q->txn->body = to_text(o);
	return need_no_body(q);
}

static int h_put_machine(struct req *q)
{
	static const char *const fields[] = { "vcpu_count", "mem_size_mib", "smt", "track_dirty_pages", "cpu_template",
					      "huge_pages", NULL };
	static const char *const templates[] = { "None" }, *const huge[] = { "None" };
	struct api_config *c = &q->txn->cfg;
	uint64_t v;
	bool smt = false, dirty = false;
	int e = 0, r;

	if ((r = need_body(q, fields)) < 0 ||
	    (r = cp_jread_req_uint(&q->r, q->body, "vcpu_count", 1, API_VCPUS_MAX, &v)) < 0)
		return r;
	c->vcpus = (unsigned)v;
	/* carapace's --memory takes bytes; 1 TiB bounds the product (run_opts_validate judges the host). */
	if ((r = cp_jread_req_uint(&q->r, q->body, "mem_size_mib", 1, 1u << 20, &c->mem_mib)) < 0 ||
	    (r = read_bool(q, q->body, "smt", false, &smt)) < 0 ||
	    (r = read_bool(q, q->body, "track_dirty_pages", false, &dirty)) < 0 ||
	    (r = read_enum(q, q->body, "cpu_template", templates, 1, &e)) < 0 ||
	    (r = read_enum(q, q->body, "huge_pages", huge, 1, &e)) < 0)
		return r;
	/* What carapace cannot do is refused, never silently dropped. */
	if (smt) {
		size_t saved = cp_jread_push_key(&q->r, "smt");
		r = cp_jread_fail(&q->r, "carapace gives the guest no SMT topology; send false");
		cp_jread_pop(&q->r, saved);
		return r;
	}
	if (dirty) {
		size_t saved = cp_jread_push_key(&q->r, "track_dirty_pages");
		r = cp_jread_fail(&q->r, "carapace has no snapshots, so no dirty-page tracking; send false");
		cp_jread_pop(&q->r, saved);
		return r;
	}
	return 0;
}

static int h_put_boot_source(struct req *q)
{
	static const char *const fields[] = { "kernel_image_path", "initrd_path", "boot_args", NULL };
	struct api_config *c = &q->txn->cfg;
	_cleanup_free_ char *k = NULL, *i = NULL, *b = NULL;
	int r;

	if ((r = need_body(q, fields)) < 0 || (r = read_str(q, q->body, "kernel_image_path", API_PATH_MAX, true, &k)) < 0 ||
	    (r = read_str(q, q->body, "initrd_path", API_PATH_MAX, false, &i)) < 0)
		return r;
	/* boot_args may be empty: an explicit empty command line. */
	if (cp_jread_member(q->body, "boot_args")) {
		const char *s;
		size_t saved = cp_jread_push_key(&q->r, "boot_args");
		r = cp_jread_string(&q->r, cp_jread_member(q->body, "boot_args"), 2048, &s);
		cp_jread_pop(&q->r, saved);
		if (r < 0 || (r = set_str(q, &b, s)) < 0)
			return r;
	}
	/* PUT replaces the whole boot source (absent fields are cleared). */
	free(c->kernel);
	free(c->initrd);
	free(c->boot_args);
	c->kernel = TAKE_PTR(k);
	c->initrd = TAKE_PTR(i);
	c->boot_args = TAKE_PTR(b);
	return 0;
}

static int h_put_drive(struct req *q)
{
	static const char *const fields[] = { "drive_id", "path_on_host", "is_root_device", "is_read_only", "partuuid",
					      "cache_type", "rate_limiter", "io_engine", "socket", NULL };
	static const char *const caches[] = { "Unsafe", "Writeback" }, *const engines[] = { "Sync", "Async" };
	struct api_config *c = &q->txn->cfg;
	struct api_drive d = { 0 };
	unsigned slot;
	int cache = 0, engine = 0, r;

	if ((r = check_id(q, "drive_id")) < 0 || (r = need_body(q, fields)) < 0 || (r = body_id_matches(q, "drive_id")) < 0)
		return r;
	if (cp_jread_member(q->body, "socket")) {
		size_t saved = cp_jread_push_key(&q->r, "socket");
		r = cp_jread_fail(&q->r, "an outside vhost-user-blk back-end is not supported: carapace runs its own "
					     "jailed back-end; give path_on_host");
		cp_jread_pop(&q->r, saved);
		return r;
	}
	if ((r = read_bool(q, q->body, "is_root_device", true, &d.root)) < 0 ||
	    (r = read_bool(q, q->body, "is_read_only", false, &d.read_only)) < 0 ||
	    (r = read_enum(q, q->body, "cache_type", caches, 2, &cache)) < 0 ||
	    (r = read_enum(q, q->body, "io_engine", engines, 2, &engine)) < 0 ||
	    (r = read_no_limiter(q, q->body, "rate_limiter")) < 0 ||
	    (r = read_str(q, q->body, "path_on_host", API_PATH_MAX, true, &d.path)) < 0 ||
	    (r = read_str(q, q->body, "partuuid", 64, false, &d.partuuid)) < 0)
		goto fail;
	/* carapace's --device blk,path= takes no commas in the path: refuse one here, not at start. */
	if (strchr(d.path, ',')) {
		size_t saved = cp_jread_push_key(&q->r, "path_on_host");
		r = cp_jread_fail(&q->r, "a path with ',' cannot be passed to the block device");
		cp_jread_pop(&q->r, saved);
		goto fail;
	}
	d.writeback = cache == 1;
	snprintf(d.id, sizeof(d.id), "%s", q->id);
	for (slot = 0; slot < c->ndrives && strcmp(c->drives[slot].id, q->id); slot++)
		;
	/* At most one root device (Firecracker: "A root block device already exists!"). */
	for (unsigned i = 0; d.root && i < c->ndrives; i++)
		if (i != slot && c->drives[i].root) {
			size_t saved = cp_jread_push_key(&q->r, "is_root_device");
			r = cp_jread_fail(&q->r, "drive '%s' is already the root device", c->drives[i].id);
			cp_jread_pop(&q->r, saved);
			goto fail;
		}
	if (slot == c->ndrives) {
		if (api_device_count(c) >= API_DEVICES_MAX || c->ndrives >= API_MAX_DRIVES) {
			r = cp_jread_fail(&q->r, "too many devices: at most %u in all", API_DEVICES_MAX);
			goto fail;
		}
		c->ndrives++;
	} else {
		free(c->drives[slot].path);
		free(c->drives[slot].partuuid);
	}
	c->drives[slot] = d;
	return 0;
fail:
	free(d.path);
	free(d.partuuid);
	return r;
}

static int h_patch_drive(struct req *q)
{
	static const char *const fields[] = { "drive_id", "path_on_host", "rate_limiter", NULL };
	struct api_drive *d;
	char *path = NULL;
	unsigned slot;
	int r;

	if ((r = check_id(q, "drive_id")) < 0 || (r = need_body(q, fields)) < 0 || (r = body_id_matches(q, "drive_id")) < 0)
		return r;
	for (slot = 0; slot < q->s->cfg.ndrives && strcmp(q->s->cfg.drives[slot].id, q->id); slot++)
		;
	if (slot == q->s->cfg.ndrives)
		return cp_jread_fail(&q->r, "no drive with id '%s'", q->id);
	if ((r = read_no_limiter(q, q->body, "rate_limiter")) < 0 ||
	    (r = read_str(q, q->body, "path_on_host", API_PATH_MAX, false, &path)) < 0)
		return r;
	if (!path)
		return 0; /* nothing to change: an empty update, as Firecracker accepts */
	/* Block hot-plug (Kata's placeholder drives): the controller opens the file as the drive's
	 * is_read_only says, the launch policy judges it, and the drive's jailed helper swaps it in;
	 * the copy below becomes the configuration only once all of that succeeded. */
	d = &q->txn->cfg.drives[slot];
	free(d->path);
	d->path = path;
	q->txn->drive = slot;
	q->txn->action = API_ACT_SWAP_DRIVE;
	return 0;
}

static bool mac_valid(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		char c = s[i];
		bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		if (i % 3 == 2 ? c != ':' : !hex)
			return false;
	}
	return true;
}

static int h_put_net(struct req *q)
{
	static const char *const fields[] = { "iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter", "tx_rate_limiter", NULL };
	struct api_config *c = &q->txn->cfg;
	_cleanup_free_ char *tap = NULL, *mac = NULL;
	unsigned slot;
	int r;

	if ((r = check_id(q, "iface_id")) < 0 || (r = need_body(q, fields)) < 0 || (r = body_id_matches(q, "iface_id")) < 0 ||
	    (r = read_str(q, q->body, "host_dev_name", 15, true, &tap)) < 0 ||
	    (r = read_str(q, q->body, "guest_mac", 17, false, &mac)) < 0 ||
	    (r = read_no_limiter(q, q->body, "rx_rate_limiter")) < 0 || (r = read_no_limiter(q, q->body, "tx_rate_limiter")) < 0)
		return r;
	if (mac && !mac_valid(mac)) {
		size_t saved = cp_jread_push_key(&q->r, "guest_mac");
		r = cp_jread_fail(&q->r, "'%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", mac);
		cp_jread_pop(&q->r, saved);
		return r;
	}
	if (strpbrk(tap, ",=/ ")) {
		size_t saved = cp_jread_push_key(&q->r, "host_dev_name");
		r = cp_jread_fail(&q->r, "'%s' is not a network interface name", tap);
		cp_jread_pop(&q->r, saved);
		return r;
	}
	for (slot = 0; slot < c->nnets && strcmp(c->nets[slot].id, q->id); slot++)
		;
	for (unsigned i = 0; i < c->nnets; i++)
		if (i != slot && !strcmp(c->nets[i].tap, tap)) {
			size_t saved = cp_jread_push_key(&q->r, "host_dev_name");
			r = cp_jread_fail(&q->r, "'%s' is already used by interface '%s'", tap, c->nets[i].id);
			cp_jread_pop(&q->r, saved);
			return r;
		}
	if (slot == c->nnets) {
		if (api_device_count(c) >= API_DEVICES_MAX || c->nnets >= API_MAX_NETS)
			return cp_jread_fail(&q->r, "too many devices: at most %u in all", API_DEVICES_MAX);
		c->nnets++;
	}
	memset(&c->nets[slot], 0, sizeof(c->nets[slot]));
	snprintf(c->nets[slot].id, sizeof(c->nets[slot].id), "%s", q->id);
	snprintf(c->nets[slot].tap, sizeof(c->nets[slot].tap), "%s", tap);
	if (mac)
		snprintf(c->nets[slot].mac, sizeof(c->nets[slot].mac), "%s", mac);
	return 0;
}

/* Firecracker's Vsock: guest_cid (>= 3, required), uds_path (required), vsock_id (deprecated,
 * accepted and not used). One device per VM: a second PUT replaces the first. */
static int h_put_vsock(struct req *q)
{
	static const char *const fields[] = { "guest_cid", "uds_path", "vsock_id", NULL };
	struct api_config *c = &q->txn->cfg;
	/* The ranges are the --device vsock options' (devices/devkinds.c), checked by their one
	 * checker: what is accepted here is what carapace run accepts at InstanceStart. */
	const struct devkind *vk = devkind_get(DEVKIND_VSOCK);
	const struct devkind_arg *acid = devkind_arg_find(vk, "cid"), *auds = devkind_arg_find(vk, "uds");
	_cleanup_free_ char *uds = NULL;
	char canon[128], why[256];
	uint64_t cid;
	int r;

	if ((r = need_body(q, fields)) < 0 ||
	    (r = cp_jread_req_uint(&q->r, q->body, "guest_cid", acid->min_val, acid->max_val, &cid)) < 0 ||
	    (r = read_str(q, q->body, "uds_path", auds->max_len, true, &uds)) < 0 ||
	    (r = read_str(q, q->body, "vsock_id", API_ID_MAX, false, NULL)) < 0)
		return r;
	if (devkind_arg_check(auds, uds, canon, sizeof(canon), why, sizeof(why)) < 0) {
		size_t saved = cp_jread_push_key(&q->r, "uds_path");
		r = cp_jread_fail(&q->r, "%s", why);
		cp_jread_pop(&q->r, saved);
		return r;
	}
	if (strchr(uds, ',')) {
		size_t saved = cp_jread_push_key(&q->r, "uds_path");
		r = cp_jread_fail(&q->r, "'%s' contains a comma, which carapace's device option cannot carry", uds);
		cp_jread_pop(&q->r, saved);
		return r;
	}
	if (!c->vsock_uds && api_device_count(c) >= API_DEVICES_MAX)
		return cp_jread_fail(&q->r, "too many devices: at most %u in all", API_DEVICES_MAX);
	free(c->vsock_uds);
	c->vsock_uds = TAKE_PTR(uds);
	c->vsock_cid = (uint32_t)cid;
	return 0;
}

static int h_put_entropy(struct req *q)
{
	static const char *const fields[] = { "rate_limiter", NULL };
	struct api_config *c = &q->txn->cfg;
	int r;

	if ((r = need_body(q, fields)) < 0 || (r = read_no_limiter(q, q->body, "rate_limiter")) < 0)
		return r;
	if (!c->entropy && api_device_count(c) >= API_DEVICES_MAX)
		return cp_jread_fail(&q->r, "too many devices: at most %u in all", API_DEVICES_MAX);
	c->entropy = true;
	return 0;
}

static int h_put_logger(struct req *q)
{
	static const char *const fields[] = { "log_path", "level", "show_level", "show_log_origin", "module", NULL };
	struct api_config *c = &q->txn->cfg;
	_cleanup_free_ char *path = NULL, *level = NULL;
	int r;

	if (q->s->cfg.logger)
		return cp_jread_fail(&q->r, "the logger is already configured");
	if ((r = need_body(q, fields)) < 0 || (r = read_str(q, q->body, "log_path", API_PATH_MAX, false, &path)) < 0 ||
	    (r = read_str(q, q->body, "level", 16, false, &level)) < 0 ||
	    (r = read_bool(q, q->body, "show_level", false, &c->show_level)) < 0 ||
	    (r = read_bool(q, q->body, "show_log_origin", false, &c->show_origin)) < 0 ||
	    (r = read_str(q, q->body, "module", 256, false, NULL)) < 0)
		return r;
	if (level && api_log_level_parse(level, &c->level) < 0) {
		size_t saved = cp_jread_push_key(&q->r, "level");
		r = cp_jread_fail(&q->r, "'%s' is not Error, Warning, Info, Debug, Trace or Off", level);
		cp_jread_pop(&q->r, saved);
		return r;
	}
	c->logger = true;
	free(c->log_path);
	c->log_path = TAKE_PTR(path);
	q->txn->action = c->log_path ? API_ACT_OPEN_LOGGER : API_ACT_NONE;
	return 0;
}

static int h_put_metrics(struct req *q)
{
	static const char *const fields[] = { "metrics_path", NULL };
	struct api_config *c = &q->txn->cfg;
	int r;

	if (q->s->cfg.metrics_path)
		return cp_jread_fail(&q->r, "metrics are already configured");
	if ((r = need_body(q, fields)) < 0 || (r = read_str(q, q->body, "metrics_path", API_PATH_MAX, true, &c->metrics_path)) < 0)
		return r;
	q->txn->action = API_ACT_OPEN_METRICS;
	return 0;
}

static const char *not_after = "The requested operation is not supported after starting the microVM.";
static const char *not_before = "The requested operation is not supported before starting the microVM.";

static int h_put_actions(struct req *q)
{
	static const char *const fields[] = { "action_type", NULL };
	static const char *const types[] = { "InstanceStart", "SendCtrlAltDel", "FlushMetrics" };
	int t = -1, r;

	if ((r = need_body(q, fields)) < 0)
		return r;
	if (!cp_jread_member(q->body, "action_type")) {
		size_t saved = cp_jread_push_key(&q->r, "action_type");
		r = cp_jread_fail(&q->r, "required field is missing");
		cp_jread_pop(&q->r, saved);
		return r;
	}
	if ((r = read_enum(q, q->body, "action_type", types, 3, &t)) < 0)
		return r;
	switch (t) {
	case 0: {
		struct cp_err err = { 0 };
		char **opts = NULL;
		if (q->s->st != API_NOT_STARTED)
			return cp_jread_fail(&q->r, "InstanceStart: %s", not_after);
		if (!q->s->cfg.kernel)
			return cp_jread_fail(&q->r, "InstanceStart: cannot start the microVM without a kernel: "
							"PUT /boot-source first");
		/* The same option checks as the command line, so a bad value is a 400 here. */
		if (api_config_to_options(&q->s->cfg, &opts, &err) < 0)
			return cp_jread_fail(&q->r, "InstanceStart: %s", err.msg);
		api_options_free(opts);
		q->txn->action = API_ACT_START;
		return 0;
	}
	case 1:
		if (q->s->st == API_NOT_STARTED || q->s->st == API_FAILED)
			return cp_jread_fail(&q->r, "SendCtrlAltDel: %s", not_before);
		q->txn->action = API_ACT_CTRL_ALT_DEL;
		return 0;
	default:
		if (!q->s->cfg.metrics_path)
			return cp_jread_fail(&q->r, "FlushMetrics: the metrics system is not configured (PUT /metrics)");
		q->txn->action = API_ACT_FLUSH_METRICS;
		return 0;
	}
}

static int h_patch_vm(struct req *q)
{
	static const char *const fields[] = { "state", NULL };
	static const char *const states[] = { "Paused", "Resumed" };
	int t = -1, r;

	if ((r = need_body(q, fields)) < 0)
		return r;
	if (!cp_jread_member(q->body, "state")) {
		size_t saved = cp_jread_push_key(&q->r, "state");
		r = cp_jread_fail(&q->r, "required field is missing");
		cp_jread_pop(&q->r, saved);
		return r;
	}
	if ((r = read_enum(q, q->body, "state", states, 2, &t)) < 0)
		return r;
	q->txn->action = t == 0 ? API_ACT_PAUSE : API_ACT_RESUME;
	return 0;
}

/* ---- carapace extensions (documented as such in docs/kata.md and carapace-run(1)) ---- */

static int h_put_confidential(struct req *q)
{
	static const char *const fields[] = { "mode", "platform", "firmware", "id_block", "id_auth", NULL };
	static const char *const modes[] = { "required", "preferred", "off" }, *const plats[] = { "snp", "tdx" };
	struct api_config *c = &q->txn->cfg;
	int m = 2, p = -1, r;

	if ((r = need_body(q, fields)) < 0)
		return r;
	if (!cp_jread_member(q->body, "mode")) {
		size_t saved = cp_jread_push_key(&q->r, "mode");
		r = cp_jread_fail(&q->r, "required field is missing");
		cp_jread_pop(&q->r, saved);
		return r;
	}
	if ((r = read_enum(q, q->body, "mode", modes, 3, &m)) < 0 || (r = read_enum(q, q->body, "platform", plats, 2, &p)) < 0)
		return r;
	/* PUT replaces the whole setting. */
	free(c->firmware), c->firmware = NULL;
	free(c->id_block), c->id_block = NULL;
	free(c->id_auth), c->id_auth = NULL;
	if ((r = read_str(q, q->body, "firmware", API_PATH_MAX, false, &c->firmware)) < 0 ||
	    (r = read_str(q, q->body, "id_block", API_PATH_MAX, false, &c->id_block)) < 0 ||
	    (r = read_str(q, q->body, "id_auth", API_PATH_MAX, false, &c->id_auth)) < 0 ||
	    (r = set_str(q, &c->confidential, modes[m])) < 0)
		return r;
	free(c->platform);
	c->platform = NULL;
	if (p >= 0 && (r = set_str(q, &c->platform, plats[p])) < 0)
		return r;
	return 0;
}

static int h_put_policy(struct req *q)
{
	static const char *const fields[] = { "path", NULL };
	int r;

	if (q->s->policy_locked)
		return cp_jread_fail(&q->r, "the launch policy is fixed by the command line (--policy) and "
						"cannot be changed through the API");
	if ((r = need_body(q, fields)) < 0)
		return r;
	return read_str(q, q->body, "path", API_PATH_MAX, true, &q->txn->cfg.policy);
}

static int h_put_attest_setup(struct req *q)
{
	static const char *const fields[] = { "tcti", "state_dir", "pcr", NULL };
	struct api_config *c = &q->txn->cfg;
	uint64_t pcr = 0;
	int r;

	if ((r = need_body(q, fields)) < 0)
		return r;
	free(c->tcti), c->tcti = NULL;
	free(c->state_dir), c->state_dir = NULL;
	if ((r = read_str(q, q->body, "tcti", 256, false, &c->tcti)) < 0 ||
	    (r = read_str(q, q->body, "state_dir", API_PATH_MAX, false, &c->state_dir)) < 0 ||
	    (r = cp_jread_opt_uint(&q->r, q->body, "pcr", 0, 23, &pcr)) < 0)
		return r;
	if (pcr && pcr != 16 && pcr != 23) {
		size_t saved = cp_jread_push_key(&q->r, "pcr");
		r = cp_jread_fail(&q->r, "%u is not 16 or 23 (resettable from locality 0)", (unsigned)pcr);
		cp_jread_pop(&q->r, saved);
		return r;
	}
	c->pcr = (unsigned)pcr;
	c->attest = true;
	return 0;
}

static int h_put_attestation(struct req *q)
{
	static const char *const fields[] = { "nonce", NULL };
	_cleanup_free_ char *nonce = NULL;
	size_t n;
	int r;

	if ((r = need_body(q, fields)) < 0 || (r = read_str(q, q->body, "nonce", 128, true, &nonce)) < 0)
		return r;
	n = strlen(nonce);
	if (n % 2 || strspn(nonce, "0123456789abcdefABCDEF") != n) {
		size_t saved = cp_jread_push_key(&q->r, "nonce");
		r = cp_jread_fail(&q->r, "must be an even number (2 to 128) of hexadecimal digits");
		cp_jread_pop(&q->r, saved);
		return r;
	}
	if (!q->s->cfg.attest)
		return cp_jread_fail(&q->r, "the launch was not recorded in a TPM: PUT /carapace/attestation-setup "
						"before InstanceStart");
	memcpy(q->txn->nonce, nonce, n + 1);
	q->txn->action = API_ACT_ATTEST;
	return 0;
}

/* ---- the route table ---- */

enum when { ANY_TIME, PRE_BOOT, POST_BOOT };

struct route {
	const char *method;
	const char *path;   /* a trailing '/' takes one {id} segment */
	enum when when;
	int (*fn)(struct req *q);
	enum api_counter ok, fail; /* API_M_COUNT: not counted */
};

#define NC API_M_COUNT
static const struct route routes[] = {
	{ "GET", "/", ANY_TIME, h_get_instance, API_M_GET_INSTANCE_INFO, NC },
	{ "GET", "/machine-config", ANY_TIME, h_get_machine, API_M_GET_MACHINE_CFG, NC },
	{ "GET", "/vm/config", ANY_TIME, h_get_vm_config, API_M_GET_VM_CFG, NC },
	{ "PUT", "/machine-config", PRE_BOOT, h_put_machine, API_M_PUT_MACHINE_CFG, API_M_PUT_MACHINE_CFG_FAILS },
	{ "PUT", "/boot-source", PRE_BOOT, h_put_boot_source, API_M_PUT_BOOT_SOURCE, API_M_PUT_BOOT_SOURCE_FAILS },
	{ "PUT", "/drives/", PRE_BOOT, h_put_drive, API_M_PUT_DRIVE, API_M_PUT_DRIVE_FAILS },
	{ "PATCH", "/drives/", POST_BOOT, h_patch_drive, API_M_PATCH_DRIVE, API_M_PATCH_DRIVE_FAILS },
	{ "PUT", "/network-interfaces/", PRE_BOOT, h_put_net, API_M_PUT_NETWORK, API_M_PUT_NETWORK_FAILS },
	{ "PUT", "/vsock", PRE_BOOT, h_put_vsock, API_M_PUT_VSOCK, API_M_PUT_VSOCK_FAILS },
	{ "PUT", "/entropy", PRE_BOOT, h_put_entropy, API_M_PUT_ENTROPY, API_M_PUT_ENTROPY_FAILS },
	{ "PUT", "/logger", PRE_BOOT, h_put_logger, API_M_PUT_LOGGER, API_M_PUT_LOGGER_FAILS },
	{ "PUT", "/metrics", PRE_BOOT, h_put_metrics, API_M_PUT_METRICS, API_M_PUT_METRICS_FAILS },
	{ "PUT", "/actions", ANY_TIME, h_put_actions, API_M_PUT_ACTIONS, API_M_PUT_ACTIONS_FAILS },
	{ "PATCH", "/vm", POST_BOOT, h_patch_vm, API_M_PATCH_VM, API_M_PATCH_VM_FAILS },
	{ "PUT", "/carapace/confidential", PRE_BOOT, h_put_confidential, NC, NC },
	{ "PUT", "/carapace/launch-policy", PRE_BOOT, h_put_policy, NC, NC },
	{ "PUT", "/carapace/attestation-setup", PRE_BOOT, h_put_attest_setup, NC, NC },
	{ "PUT", "/carapace/attestation", POST_BOOT, h_put_attestation, NC, NC },
};

static void fault(struct api_txn *txn, const char *msg)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "fault_message", json_object_new_string(msg));
	free(txn->body);
	txn->body = to_text(o);
	txn->status = 400;
	txn->action = API_ACT_NONE;
}

static const struct route *find_route(const char *method, const char *path, const char **id, bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		size_t n = strlen(routes[i].path);
		bool match;
		if (routes[i].path[n - 1] == '/' && n > 1)
			match = !strncmp(path, routes[i].path, n) && path[n] && !strchr(path + n, '/');
		else
			match = !strcmp(path, routes[i].path);
		if (!match)
			continue;
		*path_known = true;
		if (strcmp(method, routes[i].method))
			continue;
		*id = path + n;
		return &routes[i];
	}
	return NULL;
}

void api_request(struct api_state *s, const char *method, const char *path, const char *body, size_t len,
		 struct api_txn *txn)
{
	struct req q = { .s = s, .txn = txn };
	const struct route *rt;
	bool known;
	char what[96];
	int r;

	memset(txn, 0, sizeof(*txn));
	txn->fail_counter = API_M_COUNT;
	rt = find_route(method, path, &q.id, &known);
	if (!rt) {
		char msg[API_PATH_MAX + 96];
		/* Firecracker's wording (RequestError::InvalidPathMethod). */
		snprintf(msg, sizeof(msg), "Invalid request method and/or path: %.16s %.512s.", method, path);
		fault(txn, msg);
		return;
	}
	txn->fail_counter = rt->fail;
	snprintf(what, sizeof(what), "%s %s%s", rt->method, rt->path, rt->path[strlen(rt->path) - 1] == '/' ? "{id}" : "");
	q.r = (struct cp_jread){ .err = &q.err, .what = what };
	if (rt->when == PRE_BOOT && s->st != API_NOT_STARTED) {
		fault(txn, s->st == API_FAILED ? "The microVM failed to start; it can only be inspected now." : not_after);
		return;
	}
	if (rt->when == POST_BOOT && (s->st == API_NOT_STARTED || s->st == API_FAILED)) {
		fault(txn, not_before);
		return;
	}
	if (len > API_BODY_MAX) {
		cp_jread_fail(&q.r, "the body of %zu bytes is larger than %u bytes", len, API_BODY_MAX);
		fault(txn, q.err.msg);
		return;
	}
	/* An empty body is "no body"; anything else must be one JSON object. */
	if (len && cp_jread_parse_doc(&q.r, body, len, &q.body) < 0) {
		fault(txn, q.err.msg);
		return;
	}
	if (q.body && !json_object_is_type(q.body, json_type_object)) {
		cp_jread_fail(&q.r, "expected a JSON object, got %s", cp_jread_type_name(q.body));
		json_object_put(q.body);
		fault(txn, q.err.msg);
		return;
	}
	if (api_config_copy(&txn->cfg, &s->cfg) < 0) {
		json_object_put(q.body);
		fault(txn, "out of memory");
		return;
	}
	txn->status = txn->body ? 200 : 204;
	r = rt->fn(&q);
	json_object_put(q.body);
	if (r < 0) {
		api_config_free(&txn->cfg);
		fault(txn, q.err.msg[0] ? q.err.msg : "invalid request");
		if (rt->fail != API_M_COUNT)
			s->counters[rt->fail]++;
		return;
	}
	if (txn->body)
		txn->status = 200;
	if (rt->ok != API_M_COUNT)
		s->counters[rt->ok]++;
	if (txn->action == API_ACT_NONE)
		api_txn_finish(s, txn, NULL);
}

void api_txn_finish(struct api_state *s, struct api_txn *txn, const char *failure)
{
	if (failure) {
		if (txn->action == API_ACT_START)
			s->st = API_FAILED;
		if (txn->fail_counter != API_M_COUNT)
			s->counters[txn->fail_counter]++;
		api_config_free(&txn->cfg);
		fault(txn, failure);
		return;
	}
	switch (txn->action) {
	case API_ACT_START:
	case API_ACT_RESUME:
		s->st = API_RUNNING;
		break;
	case API_ACT_PAUSE:
		s->st = API_PAUSED;
		break;
	default:
		break;
	}
	/* The copy becomes the configuration: everything the request changed, at once. */
	api_config_free(&s->cfg);
	s->cfg = txn->cfg;
	memset(&txn->cfg, 0, sizeof(txn->cfg));
	txn->action = API_ACT_NONE;
}

/* ---- mapping onto carapace's run options ---- */

struct optv {
	char **v;
	size_t n, cap;
	int err;
};

static void push(struct optv *o, const char *name, const char *value)
{
	if (o->err)
		return;
	if (o->n + 3 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 32;
		char **v = realloc(o->v, cap * sizeof(*v));
		if (!v) {
			o->err = -ENOMEM;
			return;
		}
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n] = strdup(name);
	o->v[o->n + 1] = value ? strdup(value) : NULL;
	o->v[o->n + 2] = NULL;
	if (!o->v[o->n] || (value && !o->v[o->n + 1])) {
		free(o->v[o->n]);
		free(o->v[o->n + 1]);
		o->v[o->n] = NULL;
		o->err = -ENOMEM;
		return;
	}
	o->n += 2;
}

void api_options_free(char **opts)
{
	for (size_t i = 0; opts && opts[i]; i += 2) {
		free(opts[i]);
		free(opts[i + 1]);
	}
	free(opts);
}

unsigned api_drive_device_index(const struct api_config *c, unsigned slot)
{
	unsigned root = c->ndrives, idx = 1;

	for (unsigned i = 0; i < c->ndrives; i++)
		if (c->drives[i].root)
			root = i;
	if (root == c->ndrives)
		return slot;
	if (slot == root)
		return 0;
	for (unsigned i = 0; i < slot; i++)
		if (i != root)
			idx++;
	return idx;
}

unsigned api_config_devices(const struct api_config *c, struct api_device out[API_DEVICES_MAX])
{
	unsigned n = 0, root = c->ndrives;

	for (unsigned i = 0; i < c->ndrives; i++)
		if (c->drives[i].root)
			root = i;
	/* the root device first (vda), then the others as added (api_drive_device_index) */
	for (unsigned k = 0; k <= c->ndrives && n < API_DEVICES_MAX; k++) {
		unsigned i = k == 0 ? root : k - 1;
		if (i >= c->ndrives || (k > 0 && i == root))
			continue;
		out[n++] = (struct api_device){ DEVKIND_BLK, i };
	}
	for (unsigned i = 0; i < c->nnets && n < API_DEVICES_MAX; i++)
		out[n++] = (struct api_device){ DEVKIND_NET, i };
	if (c->entropy && n < API_DEVICES_MAX)
		out[n++] = (struct api_device){ DEVKIND_RNG, 0 };
	if (c->vsock_uds && n < API_DEVICES_MAX)
		out[n++] = (struct api_device){ DEVKIND_VSOCK, 0 };
	return n;
}

int api_config_to_options(const struct api_config *c, char ***out, struct cp_err *err)
{
	struct optv o = { 0 };
	struct run_opts ro;
	char buf[API_PATH_MAX + 64], cmdline[4096];
	unsigned root = c->ndrives;
	int r = 0;

	*out = NULL;
	snprintf(buf, sizeof(buf), "%uM", (unsigned)c->mem_mib);
	push(&o, "memory", buf);
	snprintf(buf, sizeof(buf), "%u", c->vcpus);
	push(&o, "vcpus", buf);
	if (c->kernel)
		push(&o, "kernel", c->kernel);
	if (c->initrd)
		push(&o, "initrd", c->initrd);
	/* Drives in Firecracker's order: the root device first (vda), then the others as added
	 * (api_drive_device_index says the same of one drive). */
	for (unsigned i = 0; i < c->ndrives; i++)
		if (c->drives[i].root)
			root = i;
	cmdline[0] = '\0';
	if (c->boot_args)
		snprintf(cmdline, sizeof(cmdline), "%s", c->boot_args);
	if (root < c->ndrives) {
		size_t n = strlen(cmdline);
		/* Firecracker appends the root device to the boot arguments (vmm/src/builder.rs). */
		if (c->drives[root].partuuid)
			snprintf(cmdline + n, sizeof(cmdline) - n, "%sroot=PARTUUID=%s %s", n ? " " : "",
				 c->drives[root].partuuid, c->drives[root].read_only ? "ro" : "rw");
		else
			snprintf(cmdline + n, sizeof(cmdline) - n, "%sroot=/dev/vda %s", n ? " " : "",
				 c->drives[root].read_only ? "ro" : "rw");
	}
	if (c->boot_args || root < c->ndrives)
		push(&o, "cmdline", cmdline);
	{
		struct api_device devs[API_DEVICES_MAX];
		unsigned ndevs = api_config_devices(c, devs);
		for (unsigned d = 0; d < ndevs; d++) {
			const struct api_drive *dr = &c->drives[devs[d].slot];
			const struct api_net *ni = &c->nets[devs[d].slot];
			switch (devs[d].kind) {
			case DEVKIND_BLK:
				snprintf(buf, sizeof(buf), "blk,path=%s%s", dr->path, dr->read_only ? ",readonly=on" : "");
				break;
			case DEVKIND_NET:
				snprintf(buf, sizeof(buf), "net,tap=%s%s%s", ni->tap, ni->mac[0] ? ",mac=" : "", ni->mac);
				break;
			case DEVKIND_RNG:
				snprintf(buf, sizeof(buf), "rng");
				break;
			case DEVKIND_VSOCK:
				snprintf(buf, sizeof(buf), "vsock,cid=%u,uds=%s", c->vsock_cid, c->vsock_uds);
				break;
			default:
				continue; /* api_config_devices gives no other kind */
			}
			push(&o, "device", buf);
		}
	}
	if (c->confidential)
		push(&o, "confidential", c->confidential);
	if (c->platform)
		push(&o, "platform", c->platform);
	if (c->firmware)
		push(&o, "firmware", c->firmware);
	if (c->id_block)
		push(&o, "id-block", c->id_block);
	if (c->id_auth)
		push(&o, "id-auth", c->id_auth);
	if (c->policy)
		push(&o, "policy", c->policy);
	/* PUT /carapace/attestation-setup: --attest and its settings, rows of the same table. */
	if (c->attest) {
		push(&o, "attest", NULL);
		if (c->tcti)
			push(&o, "tcti", c->tcti);
		if (c->state_dir)
			push(&o, "state-dir", c->state_dir);
		if (c->pcr) {
			snprintf(buf, sizeof(buf), "%u", c->pcr);
			push(&o, "pcr", buf);
			/* The API's pcr names only a PCR the host can reset (16 or 23): choosing one is
			 * the explicit allowance the command line asks for, and it says so the same way. */
			if (c->pcr >= 16)
				push(&o, "allow-resettable-pcr", NULL);
		}
	}
	if (o.err) {
		api_options_free(o.v);
		return cp_err_set(err, ENOMEM, "out of memory");
	}
	/* The command line's own checks (host limits are the launch's to judge: no host here). */
	run_opts_init(&ro);
	for (size_t i = 0; o.v && o.v[i] && r == 0; i += 2)
		r = run_opts_set(&ro, o.v[i], o.v[i + 1], err);
	if (r == 0)
		r = run_opts_validate(&ro, UINT64_MAX, err);
	run_opts_free(&ro);
	if (r < 0) {
		api_options_free(o.v);
		return r;
	}
	*out = o.v;
	return 0;
}

/* ---- Firecracker's --config-file ---- */

int api_config_file(struct api_state *s, const char *json, size_t len, struct cp_err *err)
{
	/* Each section is the body of its PUT; arrays are one PUT per element (by its id). */
	static const struct { const char *key, *path, *id_key; } sections[] = {
		{ "machine-config", "/machine-config", NULL },
		{ "boot-source", "/boot-source", NULL },
		{ "drives", "/drives/", "drive_id" },
		{ "network-interfaces", "/network-interfaces/", "iface_id" },
		{ "vsock", "/vsock", NULL },
		{ "entropy", "/entropy", NULL },
		{ "logger", "/logger", NULL },
		{ "metrics", "/metrics", NULL },
		{ "carapace-confidential", "/carapace/confidential", NULL },
		{ "carapace-launch-policy", "/carapace/launch-policy", NULL },
		{ "carapace-attestation-setup", "/carapace/attestation-setup", NULL },
	};
	struct cp_jread r = { .err = err, .what = "config file" };
	struct json_object *root;
	struct api_state tmp;
	int rc = 0;

	if (cp_jread_parse_doc(&r, json, len, &root) < 0)
		return -EINVAL;
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return cp_err_set(err, EINVAL, "config file: expected a JSON object");
	}
	tmp = *s;
	if (api_config_copy(&tmp.cfg, &s->cfg) < 0) {
		json_object_put(root);
		return cp_err_set(err, ENOMEM, "out of memory");
	}
	json_object_object_foreach(root, key, val) {
		size_t k;
		for (k = 0; k < ARRAY_SIZE(sections) && strcmp(sections[k].key, key); k++)
			;
		if (k == ARRAY_SIZE(sections)) {
			rc = cp_err_set(err, EINVAL, "config file: unknown section '%s'", key);
			break;
		}
		size_t n = sections[k].id_key ? (json_object_is_type(val, json_type_array) ? json_object_array_length(val) : 0)
					      : 1;
		if (sections[k].id_key && !json_object_is_type(val, json_type_array)) {
			rc = cp_err_set(err, EINVAL, "config file: '%s' must be an array", key);
			break;
		}
		for (size_t i = 0; i < n && rc == 0; i++) {
			struct json_object *el = sections[k].id_key ? json_object_array_get_idx(val, i) : val;
			struct json_object *idv = NULL;
			char path[API_ID_MAX + 64];
			const char *text;
			struct api_txn txn;

			if (sections[k].id_key) {
				if (!json_object_is_type(el, json_type_object) ||
				    !json_object_object_get_ex(el, sections[k].id_key, &idv) ||
				    !json_object_is_type(idv, json_type_string) ||
				    json_object_get_string_len(idv) > (int)API_ID_MAX) {
					rc = cp_err_set(err, EINVAL, "config file: %s[%zu]: needs a string '%s'", key, i,
							sections[k].id_key);
					break;
				}
				snprintf(path, sizeof(path), "%s%s", sections[k].path, json_object_get_string(idv));
			} else {
				snprintf(path, sizeof(path), "%s", sections[k].path);
			}
			text = json_object_to_json_string_ext(el, JSON_C_TO_STRING_PLAIN);
			api_request(&tmp, "PUT", path, text, strlen(text), &txn);
			if (txn.status == 400) {
				json_object *f = NULL, *fo = json_tokener_parse(txn.body);
				if (fo && json_object_object_get_ex(fo, "fault_message", &f))
					rc = cp_err_set(err, EINVAL, "config file: %s: %s", key, json_object_get_string(f));
				else
					rc = cp_err_set(err, EINVAL, "config file: %s: refused", key);
				json_object_put(fo);
			} else if (txn.action != API_ACT_NONE) {
				/* Logger/metrics files are opened by the shell: commit the path now. */
				api_txn_finish(&tmp, &txn, NULL);
			}
			api_txn_free(&txn);
		}
		if (rc < 0)
			break;
	}
	json_object_put(root);
	if (rc < 0) {
		api_config_free(&tmp.cfg);
		return rc;
	}
	api_config_free(&s->cfg);
	*s = tmp;
	return 0;
}

/* ---- metrics ---- */

/* A counter's change since the last line; a total below the mark (never, for totals that only
 * grow: api_vm_metrics_read refuses a record that goes back) is written as 0. */
static int64_t metric_delta(uint64_t now, uint64_t then)
{
	uint64_t d = now >= then ? now - then : 0;
	return d > INT64_MAX ? INT64_MAX : (int64_t)d;
}

/* The device groups of a metrics line (api_metrics_line): per kind with counters the sum of its
 * devices' changes, and per drive or interface its own group. */
static void metrics_devices(const struct api_state *s, const struct api_vm_metrics *vm,
			    const struct api_metrics_mark *prev, struct api_metrics_mark *next, json_object *o)
{
	struct api_device devs[API_DEVICES_MAX];
	unsigned nd = api_config_devices(&s->cfg, devs);
	unsigned ndevs = vm->ndevs <= API_DEVICES_MAX ? vm->ndevs : API_DEVICES_MAX;

	for (unsigned k = 0; k < DEVKIND__COUNT; k++) {
		const struct devstats_kind *dk = devstats_kind((enum devkind_id)k);
		uint64_t sum[DEVSTATS_MAX] = { 0 };
		json_object *agg;

		if (!dk)
			continue;
		for (unsigned d = 0; d < ndevs; d++) {
			json_object *g = NULL;
			const char *id = NULL;
			char name[API_ID_MAX + 16];

			if (vm->dev[d].kind != (enum devkind_id)k)
				continue;
			if (dk->per_device && d < nd && devs[d].kind == vm->dev[d].kind)
				id = k == DEVKIND_BLK ? s->cfg.drives[devs[d].slot].id : s->cfg.nets[devs[d].slot].id;
			if (id) {
				g = json_object_new_object();
				snprintf(name, sizeof(name), "%s_%s", dk->group, id);
			}
			for (unsigned i = 0; i < dk->n; i++) {
				int64_t delta = metric_delta(vm->dev[d].c[i], prev->dev[d][i]);
				next->dev[d][i] = vm->dev[d].c[i];
				sum[i] = sum[i] + (uint64_t)delta > INT64_MAX ? INT64_MAX : sum[i] + (uint64_t)delta;
				if (g)
					json_object_object_add(g, dk->names[i], json_object_new_int64(delta));
			}
			if (g)
				json_object_object_add(o, name, g);
		}
		agg = json_object_new_object();
		for (unsigned i = 0; i < dk->n; i++)
			json_object_object_add(agg, dk->names[i], json_object_new_int64((int64_t)sum[i]));
		json_object_object_add(o, dk->group, agg);
	}
}

char *api_metrics_line(const struct api_state *s, const struct api_vm_metrics *vm, const struct api_startup_times *startup,
		       const struct api_metrics_mark *prev, struct api_metrics_mark *next, uint64_t utc_ms)
{
	static const struct { const char *group, *name; enum api_counter c; } names[] = {
		{ "get_api_requests", "instance_info_count", API_M_GET_INSTANCE_INFO },
		{ "get_api_requests", "machine_cfg_count", API_M_GET_MACHINE_CFG },
		{ "put_api_requests", "actions_count", API_M_PUT_ACTIONS },
		{ "put_api_requests", "actions_fails", API_M_PUT_ACTIONS_FAILS },
		{ "put_api_requests", "boot_source_count", API_M_PUT_BOOT_SOURCE },
		{ "put_api_requests", "boot_source_fails", API_M_PUT_BOOT_SOURCE_FAILS },
		{ "put_api_requests", "drive_count", API_M_PUT_DRIVE },
		{ "put_api_requests", "drive_fails", API_M_PUT_DRIVE_FAILS },
		{ "put_api_requests", "logger_count", API_M_PUT_LOGGER },
		{ "put_api_requests", "logger_fails", API_M_PUT_LOGGER_FAILS },
		{ "put_api_requests", "machine_cfg_count", API_M_PUT_MACHINE_CFG },
		{ "put_api_requests", "machine_cfg_fails", API_M_PUT_MACHINE_CFG_FAILS },
		{ "put_api_requests", "metrics_count", API_M_PUT_METRICS },
		{ "put_api_requests", "metrics_fails", API_M_PUT_METRICS_FAILS },
		{ "put_api_requests", "network_count", API_M_PUT_NETWORK },
		{ "put_api_requests", "network_fails", API_M_PUT_NETWORK_FAILS },
		{ "put_api_requests", "vsock_count", API_M_PUT_VSOCK },
		{ "put_api_requests", "vsock_fails", API_M_PUT_VSOCK_FAILS },
		{ "put_api_requests", "entropy_count", API_M_PUT_ENTROPY },
		{ "put_api_requests", "entropy_fails", API_M_PUT_ENTROPY_FAILS },
		{ "patch_api_requests", "drive_count", API_M_PATCH_DRIVE },
		{ "patch_api_requests", "drive_fails", API_M_PATCH_DRIVE_FAILS },
		{ "patch_api_requests", "vm_count", API_M_PATCH_VM },
		{ "patch_api_requests", "vm_fails", API_M_PATCH_VM_FAILS },
	};
	json_object *o = json_object_new_object();

	*next = *prev;
	json_object_object_add(o, "utc_timestamp_ms", json_object_new_int64((int64_t)utc_ms));
	{
		json_object *g = json_object_new_object();
		json_object_object_add(g, "process_startup_time_us", json_object_new_int64(metric_delta(startup->wall_us, 0)));
		json_object_object_add(g, "process_startup_time_cpu_us", json_object_new_int64(metric_delta(startup->cpu_us, 0)));
		json_object_object_add(o, "api_server", g);
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		json_object *g = NULL;
		if (!json_object_object_get_ex(o, names[i].group, &g)) {
			g = json_object_new_object();
			json_object_object_add(o, names[i].group, g);
		}
		json_object_object_add(g, names[i].name,
				       json_object_new_int64(metric_delta(s->counters[names[i].c], prev->counters[names[i].c])));
		next->counters[names[i].c] = s->counters[names[i].c];
	}
	if (vm) {
		json_object *g = json_object_new_object();
		for (unsigned i = 0; i < API_VCPU_COUNTERS; i++) {
			json_object_object_add(g, api_vcpu_counter_name(i), json_object_new_int64(metric_delta(vm->c[i], prev->vcpu[i])));
			next->vcpu[i] = vm->c[i];
		}
		json_object_object_add(o, "vcpu", g);
	}
	if (vm)
		metrics_devices(s, vm, prev, next, o);
	{
		json_object *g = json_object_new_object();
		json_object_object_add(g, "num_faults", json_object_new_int64(0));
		json_object_object_add(o, "seccomp", g);
	}
	return to_text(o);
}
