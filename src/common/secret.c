/* SPDX-License-Identifier: ISC */
#define _DEFAULT_SOURCE
#include "secret.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void xk_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

bool xk_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= x[i] ^ y[i];
	return acc == 0;
}

void xk_free_secret(void *p, size_t n)
{
	xk_wipe(p, n);
	free(p);
}
