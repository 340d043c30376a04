/* SPDX-License-Identifier: ISC */
/*
 * The anti-replay window of RFC 4303 section 3.4.3, kept as the ring of
 * 64-bit blocks of RFC 6479: sliding the window clears whole blocks instead
 * of shifting bits, so a jump costs at most one pass over the ring.  Pure
 * functions over a struct; the caller serialises them (esp.c holds the SA's
 * lock) and calls commit only for packets that authenticated.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "esp-soft/esp.h"

int esp_replay_init(struct esp_replay *r, uint32_t window)
{
	uint32_t words = 1;

	memset(r, 0, sizeof(*r));
	r->bmp = r->small;
	if (window == 0)
		return 0;
	if (window < ESP_REPLAY_MIN)
		window = ESP_REPLAY_MIN;
	if (window > ESP_REPLAY_MAX)
		window = ESP_REPLAY_MAX;
	window = (window + 63) & ~63u;
	/* One block more than the window, rounded to a power of two (mask). */
	while (words < window / 64 + 1)
		words <<= 1;
	/* Most SAs keep the default window: no allocation for those. */
	if (words > ESP_REPLAY_INLINE) {
		r->bmp = calloc(words, sizeof(*r->bmp));
		if (!r->bmp) {
			r->bmp = r->small;
			return -ENOMEM;
		}
	}
	r->window = window;
	r->words = words;
	return 0;
}

void esp_replay_free(struct esp_replay *r)
{
	if (r->bmp && r->bmp != r->small)
		free(r->bmp);
	r->bmp = r->small;
}

uint64_t esp_replay_infer(const struct esp_replay *r, uint32_t seq_lo, bool esn)
{
	uint32_t w = r->window ? r->window : ESP_REPLAY_MIN;
	uint32_t tl = (uint32_t)r->top, th = (uint32_t)(r->top >> 32);
	uint32_t bottom = tl - w + 1; /* modulo 2^32 */
	uint64_t hi;

	if (!esn)
		return seq_lo;
	if (tl >= w - 1) {
		/* Case A: the window lies within one 2^32 subspace. */
		if (seq_lo >= bottom)
			hi = th;
		else if (th == UINT32_MAX)
			return 0; /* would wrap 2^64: never valid */
		else
			hi = (uint64_t)th + 1;
	} else {
		/* Case B: the window spans two subspaces. */
		if (seq_lo >= bottom) {
			if (th == 0)
				return 0; /* before the first packet */
			hi = th - 1;
		} else {
			hi = th;
		}
	}
	return hi << 32 | seq_lo;
}

int esp_replay_check(const struct esp_replay *r, uint64_t seq)
{
	uint64_t word;

	/* Sequence numbers start at 1 (RFC 4303 3.3.3); 0 is never sent. */
	if (seq == 0)
		return -ESTALE;
	if (r->window == 0 || seq > r->top)
		return 0;
	if (r->top - seq >= r->window)
		return -ESTALE;
	word = r->bmp[(seq >> 6) & (r->words - 1)];
	return (word >> (seq & 63)) & 1 ? -EALREADY : 0;
}

int esp_replay_commit(struct esp_replay *r, uint64_t seq)
{
	int err = esp_replay_check(r, seq);

	if (err)
		return err;
	if (seq > r->top) {
		uint64_t cur = r->top >> 6, diff = (seq >> 6) - cur;

		/* Blocks passed over by the slide start empty; at most all. */
		if (diff > r->words)
			diff = r->words;
		for (uint64_t i = 1; r->window && i <= diff; i++)
			r->bmp[(cur + i) & (r->words - 1)] = 0;
		r->top = seq;
	}
	if (r->window)
		r->bmp[(seq >> 6) & (r->words - 1)] |= 1ull << (seq & 63);
	return 0;
}
