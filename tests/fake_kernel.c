/* SPDX-License-Identifier: ISC */
#include "fake_kernel.h"

#include <errno.h>
#include <string.h>

void fake_kernel_init(struct fake_kernel *k, uint32_t spi_base)
{
	memset(k, 0, sizeof(*k));
	k->next_spi = spi_base;
}

static int fk_alloc_spi(void *ctx, const struct xk_addr *src, const struct xk_addr *dst,
			uint32_t *spi)
{
	struct fake_kernel *k = ctx;

	(void)src;
	(void)dst;
	if (k->n_spis == FK_MAX)
		return -ENOSPC;
	*spi = k->next_spi++;
	k->spis[k->n_spis++] = *spi;
	return 0;
}

static int fk_add_sa(void *ctx, const struct xk_sa *sa)
{
	struct fake_kernel *k = ctx;

	if (k->fail_add_sa && --k->fail_add_sa == 0)
		return -ENOMEM;
	if (k->n_sas == FK_MAX)
		return -ENOSPC;
	if (fake_kernel_find(k, sa->spi))
		return -EEXIST;
	k->added[k->n_sas] = ++k->n_added;
	k->sas[k->n_sas++] = *sa;
	/* Like the kernel's larval SA from ALLOCSPI, replaced by the real one. */
	for (size_t i = 0; i < k->n_spis; i++) {
		if (k->spis[i] == sa->spi) {
			k->spis[i] = k->spis[--k->n_spis];
			break;
		}
	}
	return 0;
}

/*
 * Like XFRM: a marked SA is found only by a lookup whose mark matches it,
 * and a policy is told from another of the same selectors by its mark and
 * interface ID.
 */
static bool sa_match(const struct xk_sa *sa, const struct xk_sa_id *id)
{
	return sa->spi == id->spi && xk_addr_ip_eq(&sa->dst, &id->dst) &&
	       ((id->mark & id->mark_mask) & sa->mark_mask) == sa->mark;
}

static bool pol_match(const struct xk_policy *a, const struct xk_policy *b)
{
	return memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	       memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0 && a->dir == b->dir &&
	       a->if_id == b->if_id && ((b->mark & b->mark_mask) & a->mark_mask) == a->mark;
}

static int fk_del_sa(void *ctx, const struct xk_sa_id *id)
{
	struct fake_kernel *k = ctx;
	int found = -ESRCH;

	for (size_t i = 0; i < k->n_sas; i++) {
		if (sa_match(&k->sas[i], id)) {
			k->sas[i] = k->sas[--k->n_sas];
			k->added[i] = k->added[k->n_sas];
			found = 0;
			break;
		}
	}
	for (size_t i = 0; i < k->n_spis; i++) {
		if (k->spis[i] == id->spi) {
			k->spis[i] = k->spis[--k->n_spis];
			found = 0;
			break;
		}
	}
	return found;
}

static int fk_add_policy(void *ctx, const struct xk_policy *p)
{
	struct fake_kernel *k = ctx;

	if (k->n_pols == FK_MAX)
		return -ENOSPC;
	/* Like the kernel: one policy per selector, direction, mark and interface. */
	for (size_t i = 0; i < k->n_pols; i++)
		if (pol_match(&k->pols[i], p) && k->pols[i].mark_mask == p->mark_mask)
			return -EEXIST;
	k->pols[k->n_pols++] = *p;
	return 0;
}

static int fk_del_policy(void *ctx, const struct xk_policy *p)
{
	struct fake_kernel *k = ctx;

	for (size_t i = 0; i < k->n_pols; i++) {
		if (pol_match(&k->pols[i], p)) {
			k->pols[i] = k->pols[--k->n_pols];
			return 0;
		}
	}
	return -ENOENT;
}

static int fk_move_sa(void *ctx, const struct xk_sa_id *id, const struct xk_addr *src,
		      const struct xk_addr *dst)
{
	struct fake_kernel *k = ctx;

	for (size_t i = 0; i < k->n_sas; i++) {
		if (sa_match(&k->sas[i], id)) {
			k->sas[i].src = *src;
			k->sas[i].dst = *dst;
			k->moves++;
			return 0;
		}
	}
	return -ESRCH;
}

const struct xk_kernel_ops fake_kernel_ops = {
	.move_sa = fk_move_sa,
	.alloc_spi = fk_alloc_spi,
	.add_sa = fk_add_sa,
	.del_sa = fk_del_sa,
	.add_policy = fk_add_policy,
	.del_policy = fk_del_policy,
};

const struct xk_sa *fake_kernel_find(const struct fake_kernel *k, uint32_t spi)
{
	for (size_t i = 0; i < k->n_sas; i++)
		if (k->sas[i].spi == spi)
			return &k->sas[i];
	return NULL;
}

int fake_kernel_empty(const struct fake_kernel *k)
{
	return k->n_sas == 0 && k->n_spis == 0 && k->n_pols == 0;
}
