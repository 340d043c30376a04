/* SPDX-License-Identifier: ISC */
/*
 * Secret handling: wiping memory that held key material, and comparing
 * authenticators in constant time.  Kept free of OpenSSL so that every
 * layer (including xfrm/, which links only libmnl) can use it.
 */
#ifndef XK_SECRET_H
#define XK_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Overwrite n bytes with zeros in a way the compiler may not elide. */
void xk_wipe(void *p, size_t n);

/*
 * True if the n bytes at a and b are equal.  Runs in time that depends
 * only on n, never on where the first difference lies.
 */
bool xk_ct_equal(const void *a, const void *b, size_t n);

/* free() that wipes the buffer first. */
void xk_free_secret(void *p, size_t n);

#endif
