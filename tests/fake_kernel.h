/* SPDX-License-Identifier: ISC */
/*
 * A fake ESP backend for tests: keeps SAs, allocated SPIs and policies in
 * arrays so that tests can look at exactly what the engine installed.
 */
#ifndef XK_TEST_FAKE_KERNEL_H
#define XK_TEST_FAKE_KERNEL_H

#include "common/sa.h"

#define FK_MAX 1024

struct fake_kernel {
	struct xk_sa sas[FK_MAX];
	/*
	 * When each SA was added (a counter): of several outbound SAs with one
	 * reqid the kernel sends on the newest.
	 */
	unsigned added[FK_MAX];
	unsigned n_added;
	size_t n_sas;
	uint32_t spis[FK_MAX]; /* allocated, not yet used by an SA; freed by del_sa */
	size_t n_spis;
	struct xk_policy pols[FK_MAX];
	size_t n_pols;
	uint32_t next_spi;
	int fail_add_sa; /* >0: the n-th add_sa from now fails */
	unsigned moves;  /* move_sa calls that found their SA */
};

extern const struct xk_kernel_ops fake_kernel_ops;

void fake_kernel_init(struct fake_kernel *k, uint32_t spi_base);
const struct xk_sa *fake_kernel_find(const struct fake_kernel *k, uint32_t spi);
/* True if nothing at all is left installed or allocated. */
int fake_kernel_empty(const struct fake_kernel *k);

#endif
