/* SPDX-License-Identifier: ISC */
/*
 * The SPD of one direction: policies by selectors, grouped by prefix
 * shape for the datapath's lookup (spd.h says why).
 */
#include "esp-soft/spd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

static size_t addr_len(uint8_t family)
{
	return family == XK_AF_INET ? 4 : 16;
}

static bool ts_same(const struct xk_ts *a, const struct xk_ts *b)
{
	return a->family == b->family && a->proto == b->proto && a->port_lo == b->port_lo &&
	       a->port_hi == b->port_hi && !memcmp(a->lo, b->lo, 16) && !memcmp(a->hi, b->hi, 16);
}

static bool ts_match(const struct xk_ts *t, const struct esp_flow *f, const uint8_t *addr,
		     uint16_t port)
{
	size_t n = addr_len(f->family);

	return t->family == f->family && (t->proto == 0 || t->proto == f->proto) &&
	       port >= t->port_lo && port <= t->port_hi && memcmp(t->lo, addr, n) <= 0 &&
	       memcmp(addr, t->hi, n) <= 0;
}

static bool pol_match(const struct esp_pol *pol, const struct esp_flow *f)
{
	return ts_match(&pol->p.src, f, f->src, f->sport) &&
	       ts_match(&pol->p.dst, f, f->dst, f->dport);
}

/* a before b: the lower priority value, then the first installed. */
static bool better(const struct esp_pol *a, const struct esp_pol *b)
{
	return !b || a->p.priority < b->p.priority ||
	       (a->p.priority == b->p.priority && a->order < b->order);
}

/* ---- by selectors ---- */

static uint64_t ts_hash(uint64_t h, const struct xk_ts *t)
{
	const uint16_t ports[2] = { t->port_lo, t->port_hi };

	h = xk_hash_bytes(h, &t->family, sizeof(t->family));
	h = xk_hash_bytes(h, &t->proto, sizeof(t->proto));
	h = xk_hash_bytes(h, ports, sizeof(ports));
	h = xk_hash_bytes(h, t->lo, sizeof(t->lo));
	return xk_hash_bytes(h, t->hi, sizeof(t->hi));
}

static size_t sel_bucket(const struct esp_spd *s, const struct xk_policy *p)
{
	uint64_t h = ts_hash(ts_hash(XK_HASH_INIT ^ s->seed, &p->src), &p->dst);

	return (size_t)((h ^ h >> 31) & (s->cap - 1));
}

static struct esp_pol **sel_find(const struct esp_spd *s, const struct xk_policy *p)
{
	struct esp_pol **pp;

	if (!s->cap)
		return NULL;
	for (pp = &s->by_sel[sel_bucket(s, p)]; *pp; pp = &(*pp)->next_sel)
		if (ts_same(&(*pp)->p.src, &p->src) && ts_same(&(*pp)->p.dst, &p->dst))
			return pp;
	return NULL;
}

/* Room for one more: the selector hash doubles when full. */
static int sel_reserve(struct esp_spd *s)
{
	size_t cap = s->cap ? 2 * s->cap : 16, old_cap = s->cap;
	struct esp_pol **h, **old = s->by_sel;

	if (s->n < s->cap)
		return 0;
	h = calloc(cap, sizeof(*h));
	if (!h)
		return -ENOMEM;
	s->by_sel = h;
	s->cap = cap;
	for (size_t b = 0; b < old_cap; b++) {
		while (old[b]) {
			struct esp_pol *pol = old[b];
			size_t nb = sel_bucket(s, &pol->p);

			old[b] = pol->next_sel;
			pol->next_sel = h[nb];
			h[nb] = pol;
		}
	}
	free(old);
	return 0;
}

/* ---- groups by prefix shape ---- */

/* The prefix length the selector's range is, or -1 if it is none. */
static int prefix_len(const struct xk_ts *t)
{
	size_t n = addr_len(t->family);
	int len = 0;
	size_t i = 0;

	/* Equal leading bytes, then one byte lo 0..0 / hi 1..1, then 00 / ff. */
	while (i < n && t->lo[i] == t->hi[i]) {
		i++;
		len += 8;
	}
	if (i < n) {
		uint8_t diff = t->lo[i] ^ t->hi[i];

		/* diff must be 0..01..1 with lo's ones-part zero. */
		if ((diff & (diff + 1)) || (t->lo[i] & diff) || (t->hi[i] & diff) != diff)
			return -1;
		while (diff) {
			diff >>= 1;
			len--;
		}
		len += 8;
		for (i++; i < n; i++)
			if (t->lo[i] != 0 || t->hi[i] != 0xff)
				return -1;
	}
	return len;
}

/* addr with every bit from `len` on cleared, into out (n bytes). */
static void mask(const uint8_t *addr, size_t n, unsigned len, uint8_t *out)
{
	size_t full = len / 8;

	memcpy(out, addr, full);
	if (full < n) {
		out[full] = (uint8_t)(addr[full] & (0xff00u >> (len % 8)));
		memset(out + full + 1, 0, n - full - 1);
	}
}

static uint64_t key_hash(const struct esp_spd *s, const uint8_t *src, const uint8_t *dst,
			 size_t n)
{
	uint64_t h = xk_hash_bytes(XK_HASH_INIT ^ s->seed, src, n);

	h = xk_hash_bytes(h, dst, n);
	return h ^ h >> 29;
}

static struct esp_spd_group *group_of(const struct esp_spd *s, uint8_t family, int slen,
				      int dlen)
{
	for (size_t i = 0; i < s->n_groups; i++) {
		struct esp_spd_group *g = &s->groups[i];

		if (g->family == family && g->slen == slen && g->dlen == dlen)
			return g;
	}
	return NULL;
}

static void group_link(const struct esp_spd *s, struct esp_spd_group *g, struct esp_pol *pol)
{
	size_t b = key_hash(s, pol->p.src.lo, pol->p.dst.lo, addr_len(g->family)) & (g->cap - 1);

	pol->next_key = g->bk[b];
	g->bk[b] = pol;
}

/* Room for one more in g: its buckets double when it is full. */
static int group_reserve(const struct esp_spd *s, struct esp_spd_group *g)
{
	size_t cap = g->cap ? 2 * g->cap : 16;
	struct esp_pol **old = g->bk;
	size_t old_cap = g->cap;

	if (g->n < g->cap)
		return 0;
	g->bk = calloc(cap, sizeof(*g->bk));
	if (!g->bk) {
		g->bk = old;
		return -ENOMEM;
	}
	g->cap = cap;
	for (size_t b = 0; b < old_cap; b++) {
		while (old[b]) {
			struct esp_pol *pol = old[b];

			old[b] = pol->next_key;
			group_link(s, g, pol);
		}
	}
	free(old);
	return 0;
}

static struct esp_spd_group *group_add(struct esp_spd *s, uint8_t family, int slen, int dlen)
{
	struct esp_spd_group *g = group_of(s, family, slen, dlen), *v;

	if (g)
		return g;
	v = realloc(s->groups, (s->n_groups + 1) * sizeof(*v));
	if (!v)
		return NULL;
	s->groups = v;
	g = &v[s->n_groups++];
	*g = (struct esp_spd_group){ .family = family, .slen = (uint8_t)slen,
				     .dlen = (uint8_t)dlen };
	return g;
}

/* ---- ranges ---- */

static int ranges_add(struct esp_spd *s, struct esp_pol *pol)
{
	size_t i;

	if (s->n_ranges == s->cap_ranges) {
		size_t cap = s->cap_ranges ? 2 * s->cap_ranges : 8;
		struct esp_pol **v = realloc(s->ranges, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->ranges = v;
		s->cap_ranges = cap;
	}
	/* Sorted: the first match is the best of them. */
	for (i = s->n_ranges; i > 0 && better(pol, s->ranges[i - 1]); i--)
		s->ranges[i] = s->ranges[i - 1];
	s->ranges[i] = pol;
	s->n_ranges++;
	return 0;
}

/* ---- the SPD ---- */

void esp_spd_init(struct esp_spd *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
}

struct esp_pol *esp_spd_find(const struct esp_spd *s, const struct xk_policy *p)
{
	struct esp_pol **pp = sel_find(s, p);

	return pp ? *pp : NULL;
}

int esp_spd_add(struct esp_spd *s, struct esp_pol *pol)
{
	int slen = prefix_len(&pol->p.src), dlen = prefix_len(&pol->p.dst);
	struct esp_spd_group *g = NULL;
	size_t b;
	int err;

	if (sel_find(s, &pol->p))
		return -EEXIST;
	err = sel_reserve(s);
	if (err < 0)
		return err;
	if (slen >= 0 && dlen >= 0) {
		g = group_add(s, pol->p.src.family, slen, dlen);
		if (!g || group_reserve(s, g) < 0)
			return -ENOMEM;
		group_link(s, g, pol);
		g->n++;
	} else {
		err = ranges_add(s, pol);
		if (err < 0)
			return err;
	}
	b = sel_bucket(s, &pol->p);
	pol->next_sel = s->by_sel[b];
	s->by_sel[b] = pol;
	s->n++;
	return 0;
}

struct esp_pol *esp_spd_del(struct esp_spd *s, const struct xk_policy *p)
{
	struct esp_pol **pp = sel_find(s, p), *pol;
	int slen, dlen;

	if (!pp)
		return NULL;
	pol = *pp;
	*pp = pol->next_sel;
	s->n--;
	slen = prefix_len(&pol->p.src);
	dlen = prefix_len(&pol->p.dst);
	if (slen >= 0 && dlen >= 0) {
		struct esp_spd_group *g = group_of(s, pol->p.src.family, slen, dlen);
		size_t n = addr_len(g->family);

		pp = &g->bk[key_hash(s, pol->p.src.lo, pol->p.dst.lo, n) & (g->cap - 1)];
		while (*pp != pol)
			pp = &(*pp)->next_key;
		*pp = pol->next_key;
		g->n--;
	} else {
		size_t i = 0;

		while (s->ranges[i] != pol)
			i++;
		memmove(&s->ranges[i], &s->ranges[i + 1],
			(s->n_ranges - i - 1) * sizeof(s->ranges[0]));
		s->n_ranges--;
	}
	return pol;
}

struct esp_pol *esp_spd_lookup(const struct esp_spd *s, const struct esp_flow *f)
{
	size_t n = addr_len(f->family);
	struct esp_pol *best = NULL;
	uint8_t src[16], dst[16];

	for (size_t i = 0; i < s->n_groups; i++) {
		const struct esp_spd_group *g = &s->groups[i];
		struct esp_pol *pol;

		if (g->family != f->family || !g->n)
			continue;
		mask(f->src, n, g->slen, src);
		mask(f->dst, n, g->dlen, dst);
		for (pol = g->bk[key_hash(s, src, dst, n) & (g->cap - 1)]; pol; pol = pol->next_key)
			if (better(pol, best) && pol_match(pol, f))
				best = pol;
	}
	for (size_t i = 0; i < s->n_ranges; i++) {
		struct esp_pol *pol = s->ranges[i];

		if (!better(pol, best))
			break;
		if (pol_match(pol, f))
			return pol;
	}
	return best;
}

void esp_spd_flush(struct esp_spd *s)
{
	for (size_t b = 0; b < s->cap; b++) {
		while (s->by_sel[b]) {
			struct esp_pol *pol = s->by_sel[b];

			s->by_sel[b] = pol->next_sel;
			free(pol);
		}
	}
	for (size_t i = 0; i < s->n_groups; i++) {
		struct esp_spd_group *g = &s->groups[i];

		if (g->cap)
			memset(g->bk, 0, g->cap * sizeof(*g->bk));
		g->n = 0;
	}
	s->n = 0;
	s->n_ranges = 0;
}

void esp_spd_free(struct esp_spd *s)
{
	esp_spd_flush(s);
	for (size_t i = 0; i < s->n_groups; i++)
		free(s->groups[i].bk);
	free(s->groups);
	free(s->by_sel);
	free(s->ranges);
	memset(s, 0, sizeof(*s));
}
