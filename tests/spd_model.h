/* SPDX-License-Identifier: ISC */
/*
 * The SPD's reference model for tests/unit/test_spd.c and the fuzz_spd
 * target: the best policy that selects a packet is found by a walk of all
 * of them, lowest priority value first, then the first installed.  What
 * src/esp-soft/spd.c answers must always be what this walk answers.
 */
#ifndef XK_TEST_SPD_MODEL_H
#define XK_TEST_SPD_MODEL_H

#include <string.h>

#include "esp-soft/spd.h"

static inline bool spd_model_ts_hit(const struct xk_ts *t, const struct esp_flow *f,
				    const uint8_t *a, uint16_t port)
{
	size_t n = f->family == XK_AF_INET ? 4 : 16;

	return t->family == f->family && (!t->proto || t->proto == f->proto) &&
	       port >= t->port_lo && port <= t->port_hi && memcmp(t->lo, a, n) <= 0 &&
	       memcmp(a, t->hi, n) <= 0;
}

static inline struct esp_pol *spd_model_lookup(struct esp_pol *const *pols, size_t n,
					       const struct esp_flow *f)
{
	struct esp_pol *best = NULL;

	for (size_t i = 0; i < n; i++) {
		struct esp_pol *p = pols[i];

		if (!spd_model_ts_hit(&p->p.src, f, f->src, f->sport) ||
		    !spd_model_ts_hit(&p->p.dst, f, f->dst, f->dport))
			continue;
		if (!best || p->p.priority < best->p.priority ||
		    (p->p.priority == best->p.priority && p->order < best->order))
			best = p;
	}
	return best;
}

#endif
