/* Pure labelling decisions: MCS category-pair allocation and the contexts of carapace's helpers
 * and files. No libselinux here; label_selinux.c is the shell that applies them. */
#include "label/label.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const object_types[LABEL_OBJ__COUNT] = {
	[LABEL_OBJ_IMAGE] = "carapace_image_t",
	[LABEL_OBJ_IMAGE_RO] = "carapace_image_ro_t",
	[LABEL_OBJ_SOCKET] = "carapace_sock_t",
};

const char *label_helper_type(enum label_helper h)
{
	const struct devkind *dk = devkind_get((enum devkind_id)h);

	return dk ? dk->selinux_type : NULL;
}

const char *label_helper_exec_type(enum label_helper h)
{
	const struct devkind *dk = devkind_get((enum devkind_id)h);

	return dk ? dk->selinux_exec_type : NULL;
}

const char *label_object_type(enum label_object o)
{
	return (unsigned)o < LABEL_OBJ__COUNT ? object_types[o] : NULL;
}

/* Number of categories in the range, n*(n-1)/2 pairs. */
static uint32_t mcs_ncats(const struct label_mcs_alloc *a)
{
	return a->cat_hi - a->cat_lo + 1;
}

int label_mcs_init(struct label_mcs_alloc *a, uint32_t cat_lo, uint32_t cat_hi, struct cp_err *err)
{
	uint32_t n;

	memset(a, 0, sizeof(*a));
	if (cat_hi >= LABEL_MCS_CATS || cat_lo >= cat_hi)
		return cp_err_set(err, EINVAL, "label: category range c%u..c%u invalid (need lo < hi <= c%u)",
				  cat_lo, cat_hi, LABEL_MCS_CATS - 1);
	n = cat_hi - cat_lo + 1;
	a->cat_lo = cat_lo;
	a->cat_hi = cat_hi;
	a->npairs = n * (n - 1) / 2;
	a->used = calloc((a->npairs + 7) / 8, 1);
	if (!a->used)
		return cp_err_set(err, ENOMEM, "label: out of memory");
	return 0;
}

void label_mcs_fini(struct label_mcs_alloc *a)
{
	free(a->used);
	memset(a, 0, sizeof(*a));
}

static bool mcs_pair_valid(const struct label_mcs_alloc *a, const struct label_mcs_pair *p)
{
	return p->c1 >= a->cat_lo && p->c2 <= a->cat_hi && p->c1 < p->c2;
}

int label_mcs_pair_index(const struct label_mcs_alloc *a, const struct label_mcs_pair *p,
			 uint32_t *index)
{
	uint32_t n = mcs_ncats(a), i = p->c1 - a->cat_lo, j = p->c2 - a->cat_lo;

	if (!mcs_pair_valid(a, p))
		return -EINVAL;
	/* Pairs starting below i: sum over k < i of (n - 1 - k). */
	*index = i * (2 * n - i - 1) / 2 + (j - i - 1);
	return 0;
}

void label_mcs_pair_at(const struct label_mcs_alloc *a, uint32_t index, struct label_mcs_pair *p)
{
	uint32_t n = mcs_ncats(a), i = 0;

	while (index >= n - 1 - i) {
		index -= n - 1 - i;
		i++;
	}
	p->c1 = (uint16_t)(a->cat_lo + i);
	p->c2 = (uint16_t)(a->cat_lo + i + 1 + index);
}

static bool mcs_test(const struct label_mcs_alloc *a, uint32_t i)
{
	return a->used[i / 8] & (1u << (i % 8));
}

static void mcs_set(struct label_mcs_alloc *a, uint32_t i, bool on)
{
	if (on)
		a->used[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		a->used[i / 8] &= (uint8_t)~(1u << (i % 8));
}

int label_mcs_acquire(struct label_mcs_alloc *a, uint32_t hint, label_mcs_claim_fn claim,
		      void *ctx, struct label_mcs_pair *out, struct cp_err *err)
{
	if (!a->used)
		return cp_err_set(err, EINVAL, "label: category allocator not initialised");
	for (uint32_t k = 0; k < a->npairs; k++) {
		uint32_t i = (uint32_t)(((uint64_t)hint + k) % a->npairs);
		struct label_mcs_pair p;
		int ret;

		if (mcs_test(a, i))
			continue;
		label_mcs_pair_at(a, i, &p);
		if (claim) {
			ret = claim(ctx, &p);
			/* Another runner's VM: skip it this time, but do not remember it, since
			 * that runner may release it while this one lives on. */
			if (ret == -EEXIST)
				continue;
			if (ret)
				return cp_err_set(err, -ret, "label: claiming categories c%u,c%u failed",
						  p.c1, p.c2);
		}
		mcs_set(a, i, true);
		a->nused++;
		*out = p;
		return 0;
	}
	return cp_err_set(err, ENOSPC,
			  "label: all %u MCS category pairs of c%u..c%u are in use; no VM can be given unique categories",
			  a->npairs, a->cat_lo, a->cat_hi);
}

int label_mcs_reserve(struct label_mcs_alloc *a, const struct label_mcs_pair *p, struct cp_err *err)
{
	uint32_t i;

	if (label_mcs_pair_index(a, p, &i))
		return cp_err_set(err, EINVAL, "label: c%u,c%u is not a pair of c%u..c%u", p->c1,
				  p->c2, a->cat_lo, a->cat_hi);
	if (mcs_test(a, i))
		return cp_err_set(err, EEXIST, "label: categories c%u,c%u already in use", p->c1, p->c2);
	mcs_set(a, i, true);
	a->nused++;
	return 0;
}

int label_mcs_release(struct label_mcs_alloc *a, const struct label_mcs_pair *p, struct cp_err *err)
{
	uint32_t i;

	if (label_mcs_pair_index(a, p, &i))
		return cp_err_set(err, EINVAL, "label: c%u,c%u is not a pair of c%u..c%u", p->c1,
				  p->c2, a->cat_lo, a->cat_hi);
	if (!mcs_test(a, i))
		return cp_err_set(err, ENOENT, "label: categories c%u,c%u released but not in use",
				  p->c1, p->c2);
	mcs_set(a, i, false);
	a->nused--;
	return 0;
}

static int parse_cat(const char **s, uint16_t *out)
{
	unsigned v = 0;
	int digits = 0;

	if (**s != 'c')
		return -EINVAL;
	(*s)++;
	while (**s >= '0' && **s <= '9' && digits < 5) {
		v = v * 10 + (unsigned)(**s - '0');
		(*s)++;
		digits++;
	}
	if (!digits || v >= LABEL_MCS_CATS || (digits > 1 && (*s)[-digits] == '0'))
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int label_mcs_pair_parse(const char *level, struct label_mcs_pair *p, struct cp_err *err)
{
	const char *s = level;
	struct label_mcs_pair q;

	if (strncmp(s, "s0:", 3))
		goto bad;
	s += 3;
	if (parse_cat(&s, &q.c1) || *s++ != ',' || parse_cat(&s, &q.c2) || *s || q.c1 >= q.c2)
		goto bad;
	*p = q;
	return 0;
bad:
	return cp_err_set(err, EINVAL, "label: level \"%.40s\" is not \"s0:cA,cB\" with A < B < %u",
			  level, LABEL_MCS_CATS);
}

static int format_context(char *buf, size_t len, const char *role, const char *type,
			  const struct label_mcs_pair *p, struct cp_err *err)
{
	int n;

	if (p)
		n = snprintf(buf, len, "system_u:%s:%s:s0:c%u,c%u", role, type, p->c1, p->c2);
	else
		n = snprintf(buf, len, "system_u:%s:%s:s0", role, type);
	if (n < 0 || (size_t)n >= len)
		return cp_err_set(err, ENOSPC, "label: context does not fit in %zu bytes", len);
	return 0;
}

static int check_pair(const struct label_mcs_pair *p, struct cp_err *err)
{
	if (!p || p->c1 >= p->c2 || p->c2 >= LABEL_MCS_CATS)
		return cp_err_set(err, EINVAL, "label: a VM's categories must be c1 < c2 < c%u", LABEL_MCS_CATS);
	return 0;
}

int label_helper_context(enum label_helper h, const struct label_mcs_pair *p, char *buf,
			 size_t len, struct cp_err *err)
{
	int ret;

	if (!label_helper_type(h))
		return cp_err_set(err, EINVAL, "label: unknown helper %u", (unsigned)h);
	if ((ret = check_pair(p, err)))
		return ret;
	return format_context(buf, len, "system_r", label_helper_type(h), p, err);
}

int label_object_context(enum label_object o, const struct label_mcs_pair *p, char *buf,
			 size_t len, struct cp_err *err)
{
	int ret;

	if ((unsigned)o >= LABEL_OBJ__COUNT)
		return cp_err_set(err, EINVAL, "label: unknown object kind %u", (unsigned)o);
	if (o == LABEL_OBJ_IMAGE_RO)
		return format_context(buf, len, "object_r", object_types[o], NULL, err);
	if ((ret = check_pair(p, err)))
		return ret;
	return format_context(buf, len, "object_r", object_types[o], p, err);
}
