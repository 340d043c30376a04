/* SPDX-License-Identifier: ISC */
/*
 * The byte hash of every layer's tables (SAs by identity, routes, esp-soft
 * policies): FNV-1a over the bytes, from a starting value the caller may
 * key so that what a peer chooses does not aim at one bucket.  For
 * spreading entries, not for anything that must resist forgery.
 */
#ifndef XK_HASH_H
#define XK_HASH_H

#include <stddef.h>
#include <stdint.h>

#define XK_HASH_INIT 0xcbf29ce484222325ULL

static inline uint64_t xk_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

#endif
