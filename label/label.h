/* SELinux labels for carapace's processes and files (the sVirt model, docs/mac.md): per-VM MCS
 * category pairs, the contexts computed from them (pure), and a thin libselinux layer behind an
 * ops table so the decisions are unit-tested with a fake. */
#ifndef CARAPACE_LABEL_LABEL_H
#define CARAPACE_LABEL_LABEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "policy/policy.h"

#define LABEL_MCS_CATS 1024 /* c0..c1023, what refpolicy's MCS build defines */
#define LABEL_CONTEXT_MAX 128

/* One VM's categories: c1 < c2, both inside the allocator's range. */
struct label_mcs_pair {
	uint16_t c1, c2;
};

/* Pairs in use, one bit each. Unique while in use; released pairs may be handed out again. */
struct label_mcs_alloc {
	uint32_t cat_lo, cat_hi; /* inclusive */
	uint32_t npairs, nused;
	uint8_t *used;
};

/* A cross-process claim (the runner's shell: e.g. an O_EXCL lock file per pair). Returns 0 if
 * the pair is now ours, -EEXIST if another process holds it, another -errno to stop. */
typedef int (*label_mcs_claim_fn)(void *ctx, const struct label_mcs_pair *pair);

int label_mcs_init(struct label_mcs_alloc *a, uint32_t cat_lo, uint32_t cat_hi, struct cp_err *err);
void label_mcs_fini(struct label_mcs_alloc *a);
/* Take the first free pair at or after index `hint` (mod the number of pairs), asking claim
 * (may be NULL) for each candidate. The runner passes a random hint, tests a fixed one, so
 * allocation is deterministic for a given hint and set of pairs in use. -ENOSPC when every
 * pair is taken. */
int label_mcs_acquire(struct label_mcs_alloc *a, uint32_t hint, label_mcs_claim_fn claim,
		      void *ctx, struct label_mcs_pair *out, struct cp_err *err);
/* Mark a pair found in use elsewhere (e.g. at start-up); -EEXIST if already marked. */
int label_mcs_reserve(struct label_mcs_alloc *a, const struct label_mcs_pair *p, struct cp_err *err);
/* Give a pair back; -ENOENT if it was not in use (a double release is a bug, said loudly). */
int label_mcs_release(struct label_mcs_alloc *a, const struct label_mcs_pair *p, struct cp_err *err);

/* The runner's claim: one flock()ed file per pair in a directory shared by all runners
 * (label/label_claim.c). A dead runner's lock vanishes with it. */
#define LABEL_CLAIMS_MAX 16
struct label_mcs_claims {
	int dirfd;
	size_t n;
	struct {
		struct label_mcs_pair pair;
		int fd;
	} held[LABEL_CLAIMS_MAX];
};
int label_claims_open(struct label_mcs_claims *c, const char *dir, struct cp_err *err);
int label_claims_claim(void *ctx, const struct label_mcs_pair *p); /* a label_mcs_claim_fn */
int label_claims_release(struct label_mcs_claims *c, const struct label_mcs_pair *p,
			 struct cp_err *err);
void label_claims_close(struct label_mcs_claims *c);

/* Index <-> pair, in lexicographic order of (c1, c2). */
int label_mcs_pair_index(const struct label_mcs_alloc *a, const struct label_mcs_pair *p,
			 uint32_t *index);
void label_mcs_pair_at(const struct label_mcs_alloc *a, uint32_t index, struct label_mcs_pair *p);

/* Parse "s0:c12,c345" (the level part of a context) back into a pair. */
int label_mcs_pair_parse(const char *level, struct label_mcs_pair *p, struct cp_err *err);

/* Helper domains, one per device kind: the rows of devices/devkinds.h (their SELinux types). */
enum label_helper {
	LABEL_HELPER_BLK = DEVKIND_BLK,
	LABEL_HELPER_RNG = DEVKIND_RNG,
	LABEL_HELPER_CONSOLE = DEVKIND_CONSOLE,
	LABEL_HELPER_NET = DEVKIND_NET,
	LABEL_HELPER_VSOCK = DEVKIND_VSOCK,
	LABEL_HELPER__COUNT = DEVKIND__COUNT,
};

/* File objects carapace labels. IMAGE and SOCKET carry the VM's pair; IMAGE_RO is a read-only
 * image shared by several VMs, at s0 with no categories (every helper may read, none write). */
enum label_object {
	LABEL_OBJ_IMAGE,
	LABEL_OBJ_IMAGE_RO,
	LABEL_OBJ_SOCKET,
	LABEL_OBJ__COUNT,
};

/* SELinux type names, also used by tests that check the compiled module defines them. */
const char *label_helper_type(enum label_helper h);
const char *label_helper_exec_type(enum label_helper h);
const char *label_object_type(enum label_object o);

/* "system_u:system_r:carapace_blk_t:s0:c12,c345". -EINVAL for a bad helper or pair. */
int label_helper_context(enum label_helper h, const struct label_mcs_pair *p, char *buf,
			 size_t len, struct cp_err *err);
/* "system_u:object_r:carapace_image_t:s0:c12,c345" (p ignored for IMAGE_RO: "...:s0"). */
int label_object_context(enum label_object o, const struct label_mcs_pair *p, char *buf,
			 size_t len, struct cp_err *err);

/* ---- thin libselinux layer ---- */

/* Every call returns 0 or -errno; get_file returns a malloc'd context. */
struct label_ops {
	int (*enabled)(void *ctx);   /* 1 enabled, 0 disabled */
	int (*enforcing)(void *ctx); /* 1 enforcing, 0 permissive, -errno */
	int (*set_exec)(void *ctx, const char *con);
	int (*set_sockcreate)(void *ctx, const char *con); /* NULL = back to the default */
	int (*get_file)(void *ctx, const char *path, char **con);
	int (*set_file)(void *ctx, const char *path, const char *con);
	void (*notice)(void *ctx, const char *msg); /* one line for the operator */
};

extern const struct label_ops label_ops_libselinux;

enum label_mode { LABEL_MODE_DISABLED, LABEL_MODE_PERMISSIVE, LABEL_MODE_ENFORCING };

struct label_session {
	const struct label_ops *ops;
	void *ctx;
	enum label_mode mode;
	bool told_disabled;
};

/* A file's label before carapace changed it, so it can be put back on exit. */
struct label_saved {
	char *path;
	char *old; /* NULL: nothing to restore */
};

/* Learn the host's mode. Disabled: say so once through ops->notice, then every call below is a
 * no-op returning 0. Enforcing: any labelling failure is returned (the launch must stop).
 * Permissive: failures are reported through ops->notice and the launch goes on. */
int label_session_open(struct label_session *s, const struct label_ops *ops, void *ctx,
		       struct cp_err *err);
/* Set the context the next execve of this thread gets: call in the forked child right before
 * exec'ing helper h of the VM with pair p. */
int label_session_exec_helper(struct label_session *s, enum label_helper h,
			      const struct label_mcs_pair *p, struct cp_err *err);
/* Sockets this thread creates next (the socketpair for helper h of the VM with pair p) get
 * the helper's context, so the MCS-constrained helper can use them; call
 * label_session_socket_reset right after creating them. */
int label_session_socket_for_helper(struct label_session *s, enum label_helper h,
				    const struct label_mcs_pair *p, struct cp_err *err);
int label_session_socket_reset(struct label_session *s, struct cp_err *err);
/* Label path as object o of the VM with pair p, remembering its old label in *saved. */
int label_session_file_apply(struct label_session *s, const char *path, enum label_object o,
			     const struct label_mcs_pair *p, struct label_saved *saved,
			     struct cp_err *err);
/* Put the remembered label back and release *saved (safe on an empty one). */
int label_session_file_restore(struct label_session *s, struct label_saved *saved,
			       struct cp_err *err);

#endif
